//go:build windows

package hnsadapter_test

// These tests run the real hcn code path — hcsshim's hcn, computenetwork.dll,
// vmcompute.dll — against a fake HNS, through the stand-in DLLs of
// internal/wine/hnsstub. They need those DLLs installed and enabled: under
// Wine, .ci/wine-test.sh runs them with HNSLB_HNSSTUB=1 (see
// internal/wine/README.md); elsewhere they skip. They set the process
// environment (hnsstub.AddrEnv), so none runs in parallel.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"unsafe"

	hcn "github.com/Microsoft/hcsshim/hcn"
	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/internal/wine/hnsstub"
	"github.com/hnslb/hnslb/lbpolicy"
)

func requireStub(t *testing.T) {
	t.Helper()
	if os.Getenv("HNSLB_HNSSTUB") != "1" {
		t.Skip("set HNSLB_HNSSTUB=1 where the stand-in computenetwork.dll and vmcompute.dll are installed " +
			"(under Wine: .ci/wine-test.sh; see internal/wine/README.md)")
	}
}

// serveStub serves h to the stand-in DLLs until the test ends.
func serveStub(t *testing.T, h *fake.HNS) *hnsstub.Server {
	t.Helper()
	requireStub(t)
	srv, err := hnsstub.Start(h)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	t.Setenv(hnsstub.AddrEnv, srv.Addr())
	return srv
}

// newStubHCN returns the hcn backend, talking to the fake srv serves.
func newStubHCN(t *testing.T) *hns.HCN {
	t.Helper()
	b, err := hns.NewHCN(netName, logr.Discard())
	require.NoError(t, err, "NewHCN through the stand-in DLLs")
	return b
}

// stubTwins tells one story twice: to a Reconciler calling a fake directly,
// and to one calling an identical fake through hcn and the stand-in DLLs.
// Every sync must do the same to both.
type stubTwins struct {
	t      *testing.T
	direct *env
	hcn    *env
	srv    *hnsstub.Server
}

// newStubTwins makes the twins; wrap, if set, wraps both backends (the fake
// on one side, the hcn backend on the other).
func newStubTwins(t *testing.T, profile string, wrap func(hns.Client) hns.Client) *stubTwins {
	t.Helper()
	requireStub(t)
	tw := &stubTwins{t: t}
	var direct, viaHCN []envOption
	viaHCN = append(viaHCN, withBackend(func(b hns.Client) hns.Client {
		tw.srv = serveStub(t, b.(*fake.HNS))
		return newStubHCN(t)
	}))
	if wrap != nil {
		direct = append(direct, withBackend(wrap))
		viaHCN = append(viaHCN, withBackend(wrap))
	}
	tw.direct = newEnv(t, profile, direct...)
	tw.hcn = newEnv(t, profile, viaHCN...)
	return tw
}

// outcome is what two syncs of the same plan must agree on.
type outcome struct {
	Calls                              map[hns.Op]int
	Created, Updated, Deleted, Adopted int
	EndpointsCreated, EndpointsDeleted int
	Pending, Errors                    int
	Diagnostics                        []string
	LoadBalancersOwned, EndpointsOwned int
	HNS                                string
	FakeCallsAgreeWithResult           bool
	HandlesClosed                      bool // hcn closes every handle on its success paths
}

func outcomeOf(e *env, res hnsadapter.Result, srv *hnsstub.Server) outcome {
	o := outcome{
		Calls:   calls(res.Calls),
		Created: res.Created, Updated: res.Updated, Deleted: res.Deleted, Adopted: res.Adopted,
		EndpointsCreated: res.EndpointsCreated, EndpointsDeleted: res.EndpointsDeleted,
		Pending: res.Pending, Errors: len(res.Errors),
		HNS:                      e.h.DumpStable(),
		FakeCallsAgreeWithResult: cmp.Equal(calls(e.h.Calls()), calls(res.Calls)),
		HandlesClosed:            srv == nil || srv.OpenHandles() == 0,
	}
	for _, d := range res.Diagnostics {
		o.Diagnostics = append(o.Diagnostics, d.Object+" "+string(d.Reason))
	}
	o.LoadBalancersOwned, o.EndpointsOwned = e.r.Owned()
	return o
}

// sync syncs p on both twins, checks that they agree and that neither
// reported an error, and returns the result through hcn. The server's call
// log is reset first, so that tw.srv.Calls() is this sync's.
func (tw *stubTwins) sync(p *lbpolicy.Plan) hnsadapter.Result {
	tw.t.Helper()
	want := tw.direct.syncClean(p)
	tw.srv.ResetCalls()
	got := tw.hcn.syncClean(p)
	if d := cmp.Diff(outcomeOf(tw.direct, want, nil), outcomeOf(tw.hcn, got, tw.srv)); d != "" {
		tw.t.Errorf("direct and through hcn differ (-direct +hcn):\n%s", d)
	}
	return got
}

// syncChanges is sync with SyncChanges and the changes from prev to p.
func (tw *stubTwins) syncChanges(prev, p *lbpolicy.Plan) hnsadapter.Result {
	tw.t.Helper()
	want := tw.direct.syncChanges(prev, p)
	tw.srv.ResetCalls()
	got := tw.hcn.syncChanges(prev, p)
	if d := cmp.Diff(outcomeOf(tw.direct, want, nil), outcomeOf(tw.hcn, got, tw.srv)); d != "" {
		tw.t.Errorf("direct and through hcn differ (-direct +hcn):\n%s", d)
	}
	return got
}

// fnCalls counts the DLL functions hcn called, by name.
func fnCalls(srv *hnsstub.Server) map[string]int {
	out := map[string]int{}
	for _, c := range srv.Calls() {
		out[c.Fn]++
	}
	return out
}

func mutatingFns(srv *hnsstub.Server) []string {
	var out []string
	for _, c := range srv.Calls() {
		for _, verb := range []string{"Create", "Modify", "Delete"} {
			if strings.HasPrefix(c.Fn, "Hcn"+verb) {
				out = append(out, c.Fn)
			}
		}
	}
	return out
}

func TestHCNStubCreatesFromEmpty(t *testing.T) {
	for _, profile := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		t.Run(profile, func(t *testing.T) {
			tw := newStubTwins(t, profile, nil)
			p := plan(basePlan())

			res := tw.sync(p)

			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(tw.hcn.h)), "load balancers (-plan +HNS)")
			assert.Empty(t, cmp.Diff(planRemoteLines(p, tw.hcn.locals), remoteLines(tw.hcn.h, tw.hcn.netID)), "remote endpoints (-plan +HNS)")
			assert.Equal(t, map[hns.Op]int{
				hns.OpGetNetwork: 1, hns.OpVersion: 1,
				hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1,
				hns.OpCreateEndpoint: 4, hns.OpCreateLoadBalancer: 4,
			}, calls(res.Calls))
			assert.Equal(t, 4, res.Created)
			assert.Equal(t, 4, res.EndpointsCreated)
			fns := fnCalls(tw.srv)
			assert.Equal(t, 4, fns["HcnCreateLoadBalancer"])
			assert.Equal(t, 4, fns["HcnCreateEndpoint"])
			assert.Equal(t, fns["HcnOpenNetwork"], fns["HcnCloseNetwork"], "every network handle closed")
		})
	}
}

func TestHCNStubNoOpResync(t *testing.T) {
	tw := newStubTwins(t, "latest", nil)
	p := plan(basePlan())
	tw.sync(p)

	res := tw.sync(p)

	assert.Equal(t, listOnly, calls(res.Calls))
	assert.Zero(t, res.MutatingCalls())
	assert.Zero(t, tw.hcn.h.Calls().Mutating())
	assert.Empty(t, mutatingFns(tw.srv), "no mutating HCN call")
}

// One backend of web changes twice: latest updates in place (with one
// read-back); ws2022 and ws2025 (15.4, which ignores updates) delete and
// create; a 15.4 that claims 15.5 is caught by the read-back and falls
// back to delete and create.
func TestHCNStubOneEndpointChange(t *testing.T) {
	const webKey = "IPv4/10.96.0.10/TCP/80"
	claim155 := func(b hns.Client) hns.Client {
		return reportingVersion{Client: b, v: lbpolicy.Version{Major: 15, Minor: 5}}
	}
	for _, tt := range []struct {
		name       string
		profile    string
		wrap       func(hns.Client) hns.Client
		firstFns   map[string]int // mutating HCN calls of the first change
		sameIDLast bool
	}{
		{name: "latest", profile: "latest",
			firstFns:   map[string]int{"HcnModifyLoadBalancer": 1, "HcnCreateEndpoint": 1, "HcnDeleteEndpoint": 1},
			sameIDLast: true},
		{name: "ws2022", profile: "ws2022",
			firstFns: map[string]int{"HcnDeleteLoadBalancer": 1, "HcnCreateLoadBalancer": 1, "HcnCreateEndpoint": 1, "HcnDeleteEndpoint": 1}},
		{name: "ws2025", profile: "ws2025",
			firstFns: map[string]int{"HcnDeleteLoadBalancer": 1, "HcnCreateLoadBalancer": 1, "HcnCreateEndpoint": 1, "HcnDeleteEndpoint": 1}},
		{name: "ws2025 claiming 15.5", profile: "ws2025", wrap: claim155,
			firstFns: map[string]int{"HcnModifyLoadBalancer": 1, "HcnDeleteLoadBalancer": 1, "HcnCreateLoadBalancer": 1, "HcnCreateEndpoint": 1, "HcnDeleteEndpoint": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tw := newStubTwins(t, tt.profile, tt.wrap)
			lbs := basePlan()
			tw.sync(plan(lbs))
			before := tw.hcn.lbByKey(webKey)

			lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.9")
			p := plan(lbs)
			res := tw.sync(p)
			assert.Equal(t, 1, res.Updated)
			assert.Equal(t, tt.firstFns, countStrings(mutatingFns(tw.srv)), "mutating HCN calls of the first change")
			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(tw.hcn.h)), "load balancers (-plan +HNS)")

			lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.10")
			p = plan(lbs)
			res = tw.sync(p)
			assert.Equal(t, 1, res.Updated)
			if tt.sameIDLast {
				assert.Equal(t, 1, res.Calls[hns.OpUpdateLoadBalancer])
				assert.Zero(t, res.Calls[hns.OpGetLoadBalancer], "verified once, trusted since")
			} else {
				assert.Zero(t, res.Calls[hns.OpUpdateLoadBalancer], "no update where it does not work")
			}
			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(tw.hcn.h)), "load balancers (-plan +HNS)")
			assert.Equal(t, tt.sameIDLast, strings.EqualFold(before.Id, tw.hcn.lbByKey(webKey).Id), "same ID after updates")
		})
	}
}

// Syncs of change sets through hcn: the first lists, the next touch only
// what changed (no enumeration of load balancers), including a pod that
// moved to another node, whose remote endpoint is replaced once the load
// balancers using it were moved off it.
func TestHCNStubSyncChanges(t *testing.T) {
	tw := newStubTwins(t, "latest", nil)
	p0 := plan(basePlan())
	res := tw.syncChanges(&lbpolicy.Plan{}, p0)
	assert.True(t, res.Full)

	lbs := basePlan()
	lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.9")
	p1 := plan(lbs)
	res = tw.syncChanges(p0, p1)
	assert.False(t, res.Full)
	assert.Equal(t, map[string]int{"HcnModifyLoadBalancer": 1, "HcnCreateEndpoint": 1, "HcnDeleteEndpoint": 1},
		countStrings(mutatingFns(tw.srv)))
	assert.Zero(t, fnCalls(tw.srv)["HcnEnumerateEndpoints"], "no list")
	assert.Empty(t, cmp.Diff(planLines(p1), hnsLines(tw.hcn.h)), "load balancers (-plan +HNS)")

	p2 := plan(lbs)
	for i := range p2.Endpoints {
		if p2.Endpoints[i].IP == ip("10.244.2.7") { // moved behind 10.0.0.5
			p2.Endpoints[i].MACAddress, p2.Endpoints[i].ProviderAddress = "02-11-0a-f4-05-07", ip("10.0.0.5")
		}
	}
	res = tw.syncChanges(p1, p2)
	assert.Equal(t, 2, res.Updated, "web and api use 10.244.2.7")
	// Each is moved off the old endpoint before it is deleted, then onto
	// the new one.
	assert.Equal(t, map[string]int{"HcnModifyLoadBalancer": 4, "HcnCreateEndpoint": 1, "HcnDeleteEndpoint": 1},
		countStrings(mutatingFns(tw.srv)))
	assert.Empty(t, cmp.Diff(planRemoteLines(p2, tw.hcn.locals), remoteLines(tw.hcn.h, tw.hcn.netID)), "remote endpoints (-plan +HNS)")

	res = tw.syncChanges(p2, p2)
	assert.Empty(t, fnCalls(tw.srv), "nothing changed: no HCN call at all")
}

func TestHCNStubServiceDeletion(t *testing.T) {
	tw := newStubTwins(t, "ws2022", nil)
	lbs := basePlan()
	tw.sync(plan(lbs))

	p := plan(lbs[:2]) // dns and its NodePort go
	res := tw.sync(p)
	assert.Equal(t, 2, res.Deleted)
	assert.Equal(t, 1, res.EndpointsDeleted, "10.244.4.4")
	assert.Equal(t, map[string]int{"HcnDeleteLoadBalancer": 2, "HcnDeleteEndpoint": 1}, countStrings(mutatingFns(tw.srv)))
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(tw.hcn.h)))
	assert.Empty(t, cmp.Diff(planRemoteLines(p, tw.hcn.locals), remoteLines(tw.hcn.h, tw.hcn.netID)))

	res = tw.sync(plan(nil))
	assert.Equal(t, 2, res.Deleted)
	assert.Equal(t, 3, res.EndpointsDeleted)
	assert.Empty(t, tw.hcn.h.LoadBalancers())
	assert.Empty(t, remoteLines(tw.hcn.h, tw.hcn.netID))
}

func countStrings(list []string) map[string]int {
	out := map[string]int{}
	for _, s := range list {
		out[s]++
	}
	return out
}

// A load balancer deleted out of band is recreated by the next sync.
func TestHCNStubRepairsOutOfBandDeletion(t *testing.T) {
	tw := newStubTwins(t, "latest", nil)
	p := plan(basePlan())
	tw.sync(p)

	for _, e := range []*env{tw.direct, tw.hcn} {
		require.True(t, e.h.RemoveLoadBalancer(e.lbByKey("IPv4/10.96.0.11/TCP/80").Id))
	}
	res := tw.sync(p)
	assert.Equal(t, 1, res.Created)
	assert.Equal(t, map[hns.Op]int{
		hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1, hns.OpCreateLoadBalancer: 1,
	}, calls(res.Calls))
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(tw.hcn.h)))
}

// A restarted agent — a new HCN backend and a new Reconciler — adopts what
// the plan wants without a mutating call, and manages it afterwards.
func TestHCNStubRestartAdoption(t *testing.T) {
	for _, profile := range []string{"ws2022", "latest"} {
		t.Run(profile, func(t *testing.T) {
			tw := newStubTwins(t, profile, nil)
			lbs := basePlan()
			tw.sync(plan(lbs))
			dump := tw.hcn.h.Dump()

			tw.hcn.be = newStubHCN(t)
			tw.hcn.restart()
			tw.direct.restart()
			res := tw.sync(plan(lbs))
			assert.Zero(t, res.MutatingCalls())
			assert.Empty(t, mutatingFns(tw.srv))
			assert.Equal(t, 4, res.Adopted)
			assert.Equal(t, dump, tw.hcn.h.Dump(), "HNS unchanged, IDs included")

			res = tw.sync(plan(lbs[:2]))
			assert.Equal(t, 2, res.Deleted, "adopted load balancers are its own")
		})
	}
}

// TestHCNStubFromKubernetesObjects: a plan computed from Services and
// EndpointSlices (ClusterIP with DSR, NodePort, session affinity, a
// source VIP endpoint and remote endpoints with provider addresses),
// applied through hcn.
func TestHCNStubFromKubernetesObjects(t *testing.T) {
	tw := newStubTwins(t, "latest", nil)
	node := lbpolicy.Node{
		Name: "win-1", NodeIPs: []string{"10.0.0.1"}, NetworkType: lbpolicy.Overlay, NetworkName: netName,
		SourceVIPs: []string{"10.244.1.254"}, HostMAC: "00-15-5d-a1-b2-c3", EnableDSR: true,
		RemoteSubnets: []lbpolicy.RemoteSubnet{
			{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "10.0.0.2"},
			{DestinationPrefix: "10.244.3.0/24", ProviderAddress: "10.0.0.3"},
		},
	}
	svcs := []*corev1.Service{
		k8sService("web", "10.96.0.10", corev1.ServiceTypeNodePort, 30080, corev1.ServiceAffinityNone),
		k8sService("api", "10.96.0.11", corev1.ServiceTypeClusterIP, 0, corev1.ServiceAffinityClientIP),
	}
	eps := []*discovery.EndpointSlice{
		k8sSlice("web", map[string]string{"10.244.1.2": "win-1", "10.244.2.7": "win-2", "10.244.3.8": "win-3"}),
		k8sSlice("api", map[string]string{"10.244.1.3": "win-1", "10.244.2.9": "win-2"}),
	}
	p, err := lbpolicy.Compute(node, svcs, eps)
	require.NoError(t, err)
	require.Len(t, p.LoadBalancers, 3)

	res := tw.sync(&p)
	assert.Equal(t, 3, res.Created)
	assert.Empty(t, cmp.Diff(planLines(&p), hnsLines(tw.hcn.h)), "load balancers (-plan +HNS)")
	t.Logf("HNS through hcn:\n%s", tw.hcn.h.DumpStable())

	res = tw.sync(&p)
	assert.Zero(t, res.MutatingCalls(), "converged")
}

func k8sService(name, clusterIP string, typ corev1.ServiceType, nodePort int32, affinity corev1.ServiceAffinity) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{
			Type: typ, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}, SessionAffinity: affinity,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: nodePort}},
		},
	}
}

// k8sSlice is the EndpointSlice of Service name: ready endpoints on port
// 8080, by IP and node.
func k8sSlice(name string, nodes map[string]string) *discovery.EndpointSlice {
	portName, port, ready := "http", int32(8080), true
	s := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name + "-1", Labels: map[string]string{discovery.LabelServiceName: name}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &portName, Port: &port}},
	}
	for ip, node := range nodes {
		s.Endpoints = append(s.Endpoints, discovery.Endpoint{
			Addresses: []string{ip}, NodeName: &node, Conditions: discovery.EndpointConditions{Ready: &ready},
		})
	}
	return s
}

// TestHCNStubManyConcurrentCalls: many load balancers, eight HNS calls at a
// time through the DLLs.
func TestHCNStubManyConcurrentCalls(t *testing.T) {
	tw := newStubTwins(t, "latest", nil)
	for _, e := range []*env{tw.direct, tw.hcn} {
		e.opts.Concurrency = 8
		e.restart()
	}
	var lbs []lbpolicy.LoadBalancer
	for i := range 60 {
		lbs = append(lbs, svc(fmt.Sprintf("s%d", i), fmt.Sprintf("10.96.1.%d", i), localIPs[i%len(localIPs)], fmt.Sprintf("10.244.%d.%d", 2+i%5, 10+i)))
	}
	p := plan(lbs)
	res := tw.sync(p)
	assert.Equal(t, 60, res.Created)
	assert.Equal(t, 60, res.EndpointsCreated)
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(tw.hcn.h)))

	res = tw.sync(plan(lbs[:10]))
	assert.Equal(t, 50, res.Deleted)
	assert.Equal(t, 50, res.EndpointsDeleted)
}

// TestHCNStubErrors: failures through the real path carry the fake's code
// and HNS's error record, satisfy both hnsadapter's and hcn's predicates,
// and read as hcn's messages do.
func TestHCNStubErrors(t *testing.T) {
	const missingID = "5D2E5F5A-1B9A-4C55-8E07-0C1B6A0C3C11"
	lb := func(vip string, eps ...string) *hns.HostComputeLoadBalancer {
		return &hns.HostComputeLoadBalancer{
			HostComputeEndpoints: eps, FrontendVIPs: []string{vip},
			PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
			SchemaVersion: hns.V2SchemaVersion(),
		}
	}
	type node struct {
		h    *fake.HNS
		pods []string
	}
	for _, c := range []struct {
		name    string
		profile string
		setup   func(n *node)
		fault   *fake.Fault // injected before each of the two calls
		do      func(ctx context.Context, b hns.Client, n *node) error
		code    hns.Code
		pred    func(error) bool
		hcnPred func(error) bool // hcn's own predicate, where it has one
		fn      string           // the hcn function the message names
	}{
		{name: "frontend taken", profile: "latest",
			setup: func(n *node) { n.h.AddLoadBalancer(*lb("10.96.0.10", n.pods[1])) },
			do: func(ctx context.Context, b hns.Client, n *node) error {
				_, err := b.CreateLoadBalancer(ctx, lb("10.96.0.10", n.pods[0]))
				return err
			},
			code: hns.CodeAlreadyExists, pred: hns.IsAlreadyExists, fn: "hcnCreateLoadBalancer"},
		{name: "port reserved", profile: "latest",
			setup: func(n *node) { n.h.ReservePort("", 6, 80) },
			do: func(ctx context.Context, b hns.Client, n *node) error {
				_, err := b.CreateLoadBalancer(ctx, lb("10.96.0.10", n.pods[0]))
				return err
			},
			code: hns.CodePortAlreadyExists, pred: hns.IsPortAlreadyExists, hcnPred: hcn.IsPortAlreadyExistsError, fn: "hcnCreateLoadBalancer"},
		{name: "no endpoints", profile: "latest",
			do: func(ctx context.Context, b hns.Client, _ *node) error {
				_, err := b.CreateLoadBalancer(ctx, lb("10.96.0.10"))
				return err
			},
			code: hns.CodeInvalidReference, pred: hns.IsInvalidReference, fn: "hcnCreateLoadBalancer"},
		{name: "delete missing", profile: "latest",
			do: func(ctx context.Context, b hns.Client, _ *node) error {
				return b.DeleteLoadBalancer(ctx, missingID)
			},
			code: hns.CodeNotFound, pred: hns.IsNotFound, hcnPred: hcn.IsElementNotFoundError, fn: "hcnDeleteLoadBalancer"},
		{name: "delete missing endpoint", profile: "latest",
			do: func(ctx context.Context, b hns.Client, _ *node) error {
				return b.DeleteEndpoint(ctx, missingID)
			},
			code: hns.CodeNotFound, pred: hns.IsNotFound, hcnPred: hcn.IsElementNotFoundError, fn: "hcnDeleteEndpoint"},
		{name: "update missing", profile: "latest",
			do: func(ctx context.Context, b hns.Client, n *node) error {
				_, err := b.UpdateLoadBalancer(ctx, missingID, lb("10.96.0.10", n.pods[0]))
				return err
			},
			code: hns.CodeNotFound, pred: hns.IsNotFound, hcnPred: hcn.IsElementNotFoundError, fn: "hcnOpenLoadBalancer"},
		{name: "update on ws2022", profile: "ws2022",
			setup: func(n *node) { n.h.AddLoadBalancer(*lb("10.96.0.10", n.pods[0])) },
			do: func(ctx context.Context, b hns.Client, n *node) error {
				_, err := b.UpdateLoadBalancer(ctx, n.h.LoadBalancers()[0].Id, lb("10.96.0.10", n.pods[1]))
				return err
			},
			code: hns.CodeNotImplemented, pred: hns.IsNotImplemented, hcnPred: hcn.IsNotImplemented, fn: "hcnModifyLoadBalancer"},
		{name: "IPv6 on ws2019", profile: "ws2019",
			do: func(ctx context.Context, b hns.Client, n *node) error {
				l := lb("10.96.0.10", n.pods[0])
				l.Flags = lbpolicy.FlagIPv6
				_, err := b.CreateLoadBalancer(ctx, l)
				return err
			},
			code: hns.CodeInvalidParameter, pred: hns.IsInvalidParameter, fn: "hcnCreateLoadBalancer"},
		{name: "create endpoint with a taken IP", profile: "latest",
			do: func(ctx context.Context, b hns.Client, n *node) error {
				_, err := b.CreateEndpoint(ctx, n.h.Networks()[0].Id, &hns.HostComputeEndpoint{
					IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.2"}}, SchemaVersion: hns.V2SchemaVersion(),
				})
				return err
			},
			code: hns.CodeAlreadyExists, pred: hns.IsAlreadyExists, fn: "hcnCreateEndpoint"},
		{name: "injected E_FAIL on a list", profile: "latest",
			fault: &fake.Fault{Op: hns.OpListLoadBalancers, Count: 1},
			do: func(ctx context.Context, b hns.Client, _ *node) error {
				lbs, err := b.ListLoadBalancers(ctx)
				if lbs != nil {
					return fmt.Errorf("a failed list returned %d load balancers", len(lbs))
				}
				return err
			},
			code: 0x80004005, pred: func(error) bool { return true }, fn: "hcnEnumerateLoadBalancers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			requireStub(t)
			p, err := hns.ProfileNamed(c.profile)
			require.NoError(t, err)
			n := &node{h: fake.New(p)}
			netID := n.h.AddNetwork(netName, "Overlay")
			n.pods = []string{n.h.AddLocalEndpoint(netID, "a", "10.244.1.2"), n.h.AddLocalEndpoint(netID, "b", "10.244.1.3")}
			if c.setup != nil {
				c.setup(n)
			}
			serveStub(t, n.h)
			b := newStubHCN(t)
			ctx := context.Background()
			dump := n.h.Dump()

			if c.fault != nil {
				n.h.InjectFault(*c.fault)
			}
			err = c.do(ctx, b, n)
			require.Error(t, err)
			t.Logf("through hcn: %v", err)
			var got *hns.Error
			require.ErrorAs(t, err, &got)
			assert.Equal(t, c.code, got.Code, "code 0x%X", uint32(got.Code))
			assert.True(t, c.pred(err), "hnsadapter's predicate")
			var he *hcn.HcnError
			require.ErrorAs(t, err, &he, "hcn's own error")
			if c.hcnPred != nil {
				assert.True(t, c.hcnPred(he), "hcn's predicate")
			}
			assert.True(t, strings.HasPrefix(got.Message, c.fn+" failed in Win32: "), "message %q names %s", got.Message, c.fn)
			assert.Equal(t, dump, n.h.Dump(), "a failed call changes nothing")

			// The same call on the fake directly: same code, same record.
			if c.fault != nil {
				n.h.InjectFault(*c.fault)
			}
			var want *hns.Error
			require.ErrorAs(t, c.do(ctx, n.h, n), &want)
			assert.Equal(t, want.Code, got.Code)
			assert.Equal(t, want.Record, got.Record)
			assert.NotEmpty(t, got.Record)
			assert.True(t, strings.HasSuffix(got.Message, fmt.Sprintf("(0x%x) %s", uint32(got.Code), got.Record)), "message %q ends with the code and the record", got.Message)
		})
	}
}

// TestHCNStubLookups: lookups by name or ID that find nothing are hcn's own
// not-found errors, which the backend reports as IsNotFound.
func TestHCNStubLookups(t *testing.T) {
	requireStub(t)
	for _, p := range hns.Profiles() {
		h := fake.New(p)
		h.AddNetwork(netName, "Overlay")
		serveStub(t, h)
		b := newStubHCN(t)
		v, err := b.Version(context.Background())
		require.NoError(t, err)
		assert.Equal(t, p.Version, v, "%s: HNSCall reports the profile's version", p.Name)
		assert.Equal(t, netName, b.Network().Name)
		assert.True(t, strings.EqualFold(h.Networks()[0].Id, b.Network().Id))
	}

	h := fake.New(hns.Profiles()[3])
	serveStub(t, h)
	_, err := hns.NewHCN("no-such-network", logr.Discard())
	assert.True(t, hns.IsNotFound(err), "%v", err)
	assert.True(t, hcn.IsNotFoundError(errors.Unwrap(err)), "hcn's NetworkNotFoundError: %v", err)

	b, err := hns.NewHCN("", logr.Discard())
	require.NoError(t, err)
	_, err = b.GetLoadBalancer(context.Background(), "5D2E5F5A-1B9A-4C55-8E07-0C1B6A0C3C11")
	assert.True(t, hns.IsNotFound(err), "%v", err)
	var nf hcn.LoadBalancerNotFoundError
	assert.ErrorAs(t, err, &nf)

	// A list that fails is an error, never empty (kubernetes#139519).
	h.InjectFault(fake.Fault{Op: hns.OpListEndpoints, VanishDuringList: true, Count: 1})
	eps, err := b.ListEndpoints(context.Background(), "")
	assert.Nil(t, eps)
	assert.True(t, hns.IsNotFound(err), "%v", err)
}

// TestHCNStubStrings: strings cross the DLL boundary as UTF-16, with
// characters outside the BMP intact.
func TestHCNStubStrings(t *testing.T) {
	requireStub(t)
	h := fake.New(hns.Profiles()[3])
	netID := h.AddNetwork(netName, "Overlay")
	serveStub(t, h)
	b := newStubHCN(t)
	ctx := context.Background()
	const name = "pod-ü-λ-😀"
	got, err := b.CreateEndpoint(ctx, netID, &hns.HostComputeEndpoint{
		Name: name, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.77"}}, SchemaVersion: hns.V2SchemaVersion(),
	})
	require.NoError(t, err)
	assert.Equal(t, name, got.Name)
	require.Len(t, h.Endpoints(), 1)
	assert.Equal(t, name, h.Endpoints()[0].Name, "as the fake holds it")
	eps, err := b.ListEndpoints(ctx, netID)
	require.NoError(t, err)
	require.Len(t, eps, 1)
	assert.Equal(t, name, eps[0].Name)
}

// TestHCNStubWithoutServer: DLLs that cannot reach their server fail as
// hcn does when the HNS service is not running (RPC_S_SERVER_UNAVAILABLE,
// 0x6BA), with a record saying why; nothing panics.
func TestHCNStubWithoutServer(t *testing.T) {
	requireStub(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, addr := range []string{"", closed} {
		t.Setenv(hnsstub.AddrEnv, addr)
		_, err := hns.NewHCN(netName, logr.Discard())
		assert.Equal(t, hns.Code(0x6BA), hns.CodeOf(err), "NewHCN with %q: %v", addr, err)
		_, err = (&hns.HCN{}).ListLoadBalancers(context.Background())
		var e *hns.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, hns.Code(0x6BA), e.Code)
		assert.Contains(t, e.Record, hnsstub.AddrEnv, "the record says what is wrong")
		t.Logf("%q: %v", addr, err)
	}
}

// The exports of the stand-in DLLs, as hcn declares them.
var (
	stubComputeNetwork = windows.NewLazySystemDLL("computenetwork.dll")
	stubVMCompute      = windows.NewLazySystemDLL("vmcompute.dll")
)

// exportShape is an export's signature (internal/wine/README.md).
type exportShape int

const (
	shapeEnumerate exportShape = iota // (LPCWSTR query, PWSTR* ids, PWSTR* result)
	shapeCreate                       // (GUID* id, LPCWSTR settings, HANDLE* object, PWSTR* result)
	shapeOpen                         // (GUID* id, HANDLE* object, PWSTR* result)
	shapeModify                       // (HANDLE object, LPCWSTR settings, PWSTR* result)
	shapeQuery                        // (HANDLE object, LPCWSTR query, PWSTR* properties, PWSTR* result)
	shapeDelete                       // (GUID* id, PWSTR* result)
	shapeClose                        // (HANDLE object)
)

// exportResult is what one raw call of an export returned.
type exportResult struct {
	hr          uint32
	handle      uintptr
	out, result *string
}

// callExport calls export name of computenetwork.dll directly (not through
// hcn) with well-formed arguments, and frees what it returned as hcn does.
func callExport(name string, shape exportShape, handle uintptr) exportResult {
	query, _ := windows.UTF16PtrFromString(`{"SchemaVersion":{"Major":2,"Minor":0}}`)
	settings, _ := windows.UTF16PtrFromString(`{"SchemaVersion":{"Major":2,"Minor":0}}`)
	var (
		id          windows.GUID // zero: "HNS chooses"
		hOut        uintptr
		out, result *uint16
		r           uintptr
	)
	p := stubComputeNetwork.NewProc(name)
	switch shape {
	case shapeEnumerate:
		r, _, _ = p.Call(uintptr(unsafe.Pointer(query)), uintptr(unsafe.Pointer(&out)), uintptr(unsafe.Pointer(&result)))
	case shapeCreate:
		r, _, _ = p.Call(uintptr(unsafe.Pointer(&id)), uintptr(unsafe.Pointer(settings)), uintptr(unsafe.Pointer(&hOut)), uintptr(unsafe.Pointer(&result)))
	case shapeOpen:
		r, _, _ = p.Call(uintptr(unsafe.Pointer(&id)), uintptr(unsafe.Pointer(&hOut)), uintptr(unsafe.Pointer(&result)))
	case shapeModify:
		r, _, _ = p.Call(handle, uintptr(unsafe.Pointer(settings)), uintptr(unsafe.Pointer(&result)))
	case shapeQuery:
		r, _, _ = p.Call(handle, uintptr(unsafe.Pointer(query)), uintptr(unsafe.Pointer(&out)), uintptr(unsafe.Pointer(&result)))
	case shapeDelete:
		r, _, _ = p.Call(uintptr(unsafe.Pointer(&id)), uintptr(unsafe.Pointer(&result)))
	case shapeClose:
		r, _, _ = p.Call(handle)
	}
	res := exportResult{hr: uint32(r), handle: hOut}
	for _, s := range []struct {
		p   *uint16
		dst **string
	}{{out, &res.out}, {result, &res.result}} {
		if s.p != nil {
			str := windows.UTF16PtrToString(s.p)
			*s.dst = &str
			windows.CoTaskMemFree(unsafe.Pointer(s.p))
		}
	}
	return res
}

// TestHCNStubExports: the DLLs export every function hcn declares; those
// the stand-in does not model fail with E_NOTIMPL and an error record, and
// hcn turns that into an *hcn.HcnError.
func TestHCNStubExports(t *testing.T) {
	h := fake.New(hns.Profiles()[3])
	h.AddNetwork(netName, "Overlay")
	serveStub(t, h)

	shapes := map[string]exportShape{
		"HcnEnumerate%ss": shapeEnumerate, "HcnCreate%s": shapeCreate, "HcnOpen%s": shapeOpen,
		"HcnModify%s": shapeModify, "HcnQuery%sProperties": shapeQuery, "HcnDelete%s": shapeDelete, "HcnClose%s": shapeClose,
	}
	var exports []string
	for _, typ := range []string{"Network", "Endpoint", "Namespace", "LoadBalancer", "SdnRoute"} {
		for format := range shapes {
			exports = append(exports, fmt.Sprintf(format, typ))
		}
	}
	require.Len(t, exports, 35)
	for _, name := range exports {
		assert.NoError(t, stubComputeNetwork.NewProc(name).Find(), "computenetwork.dll exports %s", name)
	}
	assert.NoError(t, stubVMCompute.NewProc("HNSCall").Find(), "vmcompute.dll exports HNSCall")

	notModelled := map[string]bool{"HcnCreateNetwork": true, "HcnModifyNetwork": true, "HcnDeleteNetwork": true, "HcnModifyEndpoint": true}
	for format := range shapes {
		for _, typ := range []string{"Namespace", "SdnRoute"} {
			notModelled[fmt.Sprintf(format, typ)] = true
		}
	}
	const eNotImpl = 0x80004001
	for format, shape := range shapes {
		for _, typ := range []string{"Network", "Endpoint", "Namespace", "LoadBalancer", "SdnRoute"} {
			name := fmt.Sprintf(format, typ)
			if !notModelled[name] {
				continue
			}
			res := callExport(name, shape, 1)
			assert.Equal(t, uint32(eNotImpl), res.hr, "%s returns E_NOTIMPL", name)
			assert.Zero(t, res.handle, name)
			assert.Nil(t, res.out, name)
			if shape == shapeClose {
				continue // no result parameter
			}
			if assert.NotNil(t, res.result, "%s sets an error record", name) {
				var rec struct {
					Success   bool
					Error     string
					ErrorCode uint32
				}
				assert.NoError(t, json.Unmarshal([]byte(*res.result), &rec), "%s: %s", name, *res.result)
				assert.Equal(t, uint32(eNotImpl), rec.ErrorCode, name)
				assert.Contains(t, rec.Error, name)
			}
		}
	}

	// The modelled ones answer raw calls too: enumerate, open, query, close.
	res := callExport("HcnEnumerateNetworks", shapeEnumerate, 0)
	require.Zero(t, res.hr)
	require.Nil(t, res.result)
	assert.Equal(t, fmt.Sprintf("[%q]", h.Networks()[0].Id), *res.out)
	res = callExport("HcnCloseLoadBalancer", shapeClose, 12345)
	assert.Equal(t, uint32(0x80070006), res.hr, "E_HANDLE for a handle never opened")

	// Through hcn: its own predicate sees E_NOTIMPL.
	_, err := hcn.ListNamespaces()
	assert.True(t, hcn.IsNotImplemented(err), "hcn.ListNamespaces: %v", err)
	_, err = hcn.ListRoutes()
	assert.True(t, hcn.IsNotImplemented(err), "hcn.ListRoutes: %v", err)
	_, err = (&hcn.HostComputeNetwork{Name: "new", Type: hcn.L2Bridge, SchemaVersion: hcn.SchemaVersion{Major: 2}}).Create()
	assert.True(t, hcn.IsNotImplemented(err), "creating a network: %v", err)
	t.Logf("creating a network: %v", err)
}
