package main

// Every use of the library API that issue 9 adds (lbpolicy, hnsadapter and
// fake seams) is in this file and seams_test.go, written for now with
// stand-ins built from today's API. Each is marked TODO(seam) with the API
// that replaces it; the rest of the proxy calls only what is here, so the
// swap changes bodies, not call sites:
//
//	errNotReady             = hnsadapter.ErrNotReady
//	nodeOptions, nodeFor    → hnsadapter.NodeOptions, hnsadapter.NodeFor (adds the remote subnets)
//	syncStats, hnsMetrics   → type aliases of hnsadapter.SyncStats, hnsadapter.Metrics
//	newReconciler           → opts.Metrics = m; hnsadapter.NewReconciler(c, opts); delete instrumented
//	seam.requireSynced      → t.RequireSynced(hasSynced...)
//	seam.syncSnapshot       → snap := t.Snapshot(); return rec.SyncSnapshot(ctx, &snap)
//	seam.lastSuccessOf      → rec.LastSuccess()
//	healthCheck, healthChecks → lbpolicy.HealthCheck, t.HealthChecks()
//	loadBalancersByKey (seams_test.go) → h.LoadBalancersByKey()
//
// The seam struct then keeps nothing and can go.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"

	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// errNotReady: a sync before the informers synced.
// TODO(seam): replace with hnsadapter.ErrNotReady.
var errNotReady = errors.New("not ready: the informers have not synced yet")

// nodeOptions are the parts of the lbpolicy.Node that neither the v1.Node
// nor the HNS network says. TODO(seam): replace with hnsadapter.NodeOptions.
type nodeOptions struct {
	SourceVIPs            []string
	HostMAC               string
	EnableDSR             bool
	ForwardHealthCheckVIP bool
	HealthzPort           int32
	RootEndpointName      string
}

// syncStats describe one sync, for the metrics.
// TODO(seam): replace with hnsadapter.SyncStats (type syncStats = hnsadapter.SyncStats).
type syncStats struct {
	Full      bool
	Took      time.Duration
	Result    *hnsadapter.Result
	Err       error
	InBackoff int
}

// hnsMetrics receives the Reconciler's measurements.
// TODO(seam): replace with hnsadapter.Metrics.
type hnsMetrics interface {
	SyncDone(syncStats)
	CallDone(op hns.Op, err error, took time.Duration)
}

// healthCheck is one Service's health-check data.
// TODO(seam): replace with lbpolicy.HealthCheck.
type healthCheck struct {
	Service        types.NamespacedName
	NodePort       int32
	LocalEndpoints int
}

// nodeFor builds the lbpolicy.Node of node on the HNS network networkName.
// TODO(seam): replace with hnsadapter.NodeFor(ctx, c, networkName, node, opts),
// which also reads the remote subnets from the network's policies.
func nodeFor(ctx context.Context, c hns.Client, networkName string, node *corev1.Node, opts nodeOptions) (lbpolicy.Node, error) {
	network, err := c.GetNetworkByName(ctx, networkName)
	if err != nil {
		return lbpolicy.Node{}, fmt.Errorf("HNS network %q: %w", networkName, err)
	}
	version, err := c.Version(ctx)
	if err != nil {
		return lbpolicy.Node{}, fmt.Errorf("HNS version: %w", err)
	}
	n := lbpolicy.Node{
		Name:                  node.Name,
		Zone:                  node.Labels[corev1.LabelTopologyZone],
		NetworkType:           lbpolicy.NetworkType(network.Type),
		NetworkName:           networkName,
		SourceVIPs:            opts.SourceVIPs,
		HostMAC:               opts.HostMAC,
		EnableDSR:             opts.EnableDSR,
		ForwardHealthCheckVIP: opts.ForwardHealthCheckVIP,
		HealthzPort:           opts.HealthzPort,
		RootEndpointName:      opts.RootEndpointName,
		HNSVersion:            version.String(),
	}
	seen := map[bool]bool{} // by "is IPv4": one InternalIP per family
	for _, a := range node.Status.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if a.Type != corev1.NodeInternalIP || err != nil || seen[ip.Unmap().Is4()] {
			continue
		}
		seen[ip.Unmap().Is4()] = true
		n.NodeIPs = append(n.NodeIPs, ip.Unmap().String())
	}
	if err := n.Validate(); err != nil {
		return lbpolicy.Node{}, fmt.Errorf("node %s: %w", node.Name, err)
	}
	return n, nil
}

// newReconciler returns the Reconciler, reporting to m.
// TODO(seam): replace with opts.Metrics = m and hnsadapter.NewReconciler(c, opts)
// (no instrumented client).
func newReconciler(c hns.Client, opts hnsadapter.Options, m hnsMetrics) (*hnsadapter.Reconciler, error) {
	return hnsadapter.NewReconciler(instrumented{c: c, m: m}, opts)
}

// seam keeps what the stand-ins need and the new API keeps itself.
type seam struct {
	metrics hnsMetrics

	mu          sync.Mutex
	hasSynced   []func() bool // TODO(seam): kept by Tracker.RequireSynced
	lastSuccess time.Time     // TODO(seam): kept by the Reconciler (LastSuccess)
}

// requireSynced gates syncs on the informers' HasSynced.
// TODO(seam): replace with t.RequireSynced(hasSynced...).
func (s *seam) requireSynced(_ *lbpolicy.Tracker, hasSynced ...func() bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hasSynced = append(s.hasSynced, hasSynced...)
}

// syncSnapshot applies t's Snapshot: nothing (errNotReady) before the
// informers synced, else its changes, or a full sync when the Reconciler
// needs one.
// TODO(seam): replace with snap := t.Snapshot(); rec.SyncSnapshot(ctx, &snap)
// (the gate is snap.Ready(); SyncDone and LastSuccess are the Reconciler's).
func (s *seam) syncSnapshot(ctx context.Context, rec *hnsadapter.Reconciler, t *lbpolicy.Tracker) (hnsadapter.Result, error) {
	s.mu.Lock()
	ready := !slices.ContainsFunc(s.hasSynced, func(f func() bool) bool { return !f() })
	s.mu.Unlock()
	if !ready {
		// Taking no Snapshot keeps its changes for the first real sync.
		return hnsadapter.Result{}, errNotReady
	}
	start := time.Now()
	snap := t.Snapshot()
	plan := snap.Plan()
	res, err := rec.SyncChanges(ctx, &plan, &snap.Changes)
	end := time.Now()
	inBackoff := 0
	for _, e := range res.Errors {
		if e.RetryAt.After(end) {
			inBackoff++
		}
	}
	s.metrics.SyncDone(syncStats{Full: res.Full, Took: end.Sub(start), Result: &res, Err: err, InBackoff: inBackoff})
	if err == nil {
		s.mu.Lock()
		s.lastSuccess = end
		s.mu.Unlock()
	}
	return res, err
}

// lastSuccessOf returns the end of rec's last sync that returned no error.
// TODO(seam): replace with rec.LastSuccess().
func (s *seam) lastSuccessOf(*hnsadapter.Reconciler) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSuccess
}

// healthChecks returns the health-check data of the Services with a
// healthCheckNodePort, sorted by namespace/name: the local endpoints are
// the distinct ready addresses on node, as kube-proxy counts them.
// TODO(seam): replace with t.HealthChecks() (without the listers: the
// Tracker holds what the informers gave it).
func healthChecks(_ *lbpolicy.Tracker, node string, svcLister corelisters.ServiceLister, sliceLister discoverylisters.EndpointSliceLister) []healthCheck {
	svcs, err := svcLister.List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []healthCheck
	for _, svc := range svcs {
		if svc.Spec.HealthCheckNodePort <= 0 || svc.Labels[lbpolicy.LabelServiceProxyName] != "" {
			continue
		}
		sel := labels.SelectorFromSet(labels.Set{discovery.LabelServiceName: svc.Name})
		sls, _ := sliceLister.EndpointSlices(svc.Namespace).List(sel)
		local := map[string]bool{}
		for _, sl := range sls {
			for _, ep := range sl.Endpoints {
				ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
				if ready && ep.NodeName != nil && *ep.NodeName == node && len(ep.Addresses) > 0 {
					local[ep.Addresses[0]] = true
				}
			}
		}
		out = append(out, healthCheck{
			Service:        types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name},
			NodePort:       svc.Spec.HealthCheckNodePort,
			LocalEndpoints: len(local),
		})
	}
	slices.SortFunc(out, func(a, b healthCheck) int {
		return cmp.Or(strings.Compare(a.Service.Namespace, b.Service.Namespace), strings.Compare(a.Service.Name, b.Service.Name))
	})
	return out
}

// instrumented reports every call of c to m.
// TODO(seam): delete with newReconciler's stand-in (Options.Metrics calls CallDone).
type instrumented struct {
	c hns.Client
	m hnsMetrics
}

func timed[T any](m hnsMetrics, op hns.Op, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	m.CallDone(op, err, time.Since(start))
	return v, err
}

func (i instrumented) ListLoadBalancers(ctx context.Context) ([]hns.HostComputeLoadBalancer, error) {
	return timed(i.m, hns.OpListLoadBalancers, func() ([]hns.HostComputeLoadBalancer, error) { return i.c.ListLoadBalancers(ctx) })
}

func (i instrumented) GetLoadBalancer(ctx context.Context, id string) (*hns.HostComputeLoadBalancer, error) {
	return timed(i.m, hns.OpGetLoadBalancer, func() (*hns.HostComputeLoadBalancer, error) { return i.c.GetLoadBalancer(ctx, id) })
}

func (i instrumented) CreateLoadBalancer(ctx context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	return timed(i.m, hns.OpCreateLoadBalancer, func() (*hns.HostComputeLoadBalancer, error) { return i.c.CreateLoadBalancer(ctx, lb) })
}

func (i instrumented) UpdateLoadBalancer(ctx context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	return timed(i.m, hns.OpUpdateLoadBalancer, func() (*hns.HostComputeLoadBalancer, error) { return i.c.UpdateLoadBalancer(ctx, id, lb) })
}

func (i instrumented) DeleteLoadBalancer(ctx context.Context, id string) error {
	_, err := timed(i.m, hns.OpDeleteLoadBalancer, func() (struct{}, error) { return struct{}{}, i.c.DeleteLoadBalancer(ctx, id) })
	return err
}

func (i instrumented) ListEndpoints(ctx context.Context, networkID string) ([]hns.HostComputeEndpoint, error) {
	return timed(i.m, hns.OpListEndpoints, func() ([]hns.HostComputeEndpoint, error) { return i.c.ListEndpoints(ctx, networkID) })
}

func (i instrumented) CreateEndpoint(ctx context.Context, networkID string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	return timed(i.m, hns.OpCreateEndpoint, func() (*hns.HostComputeEndpoint, error) { return i.c.CreateEndpoint(ctx, networkID, ep) })
}

func (i instrumented) DeleteEndpoint(ctx context.Context, id string) error {
	_, err := timed(i.m, hns.OpDeleteEndpoint, func() (struct{}, error) { return struct{}{}, i.c.DeleteEndpoint(ctx, id) })
	return err
}

func (i instrumented) GetNetworkByName(ctx context.Context, name string) (*hns.HostComputeNetwork, error) {
	return timed(i.m, hns.OpGetNetwork, func() (*hns.HostComputeNetwork, error) { return i.c.GetNetworkByName(ctx, name) })
}

func (i instrumented) Version(ctx context.Context) (lbpolicy.Version, error) {
	return timed(i.m, hns.OpVersion, func() (lbpolicy.Version, error) { return i.c.Version(ctx) })
}
