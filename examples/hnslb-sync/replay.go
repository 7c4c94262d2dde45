package main

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Replay settings that make the output the same on every run.
const (
	// idSeed seeds the fake's GUIDs (fake.HNS.SeedIDs).
	idSeed = 1
	// concurrency is the Reconciler's: one HNS call at a time, so that
	// objects are created, and get their IDs, in the same order every run.
	concurrency = 1
	// stepInterval is how far the replay's clock moves before each step:
	// kube-proxy's default sync period. The Reconciler measures backoff
	// after failures (and the period of SyncChanges' full compares) with
	// this clock, never the wall clock.
	stepInterval = 30 * time.Second
)

// clockStart is the replay clock at the start, before step 1.
var clockStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// stepInput is what one step gives the Reconciler.
type stepInput struct {
	name string
	plan lbpolicy.Plan
	// changes is nil for a state step (Sync), and what the Tracker reported
	// for an event step (SyncChanges).
	changes *lbpolicy.Changes
	// slices are every EndpointSlice the cluster holds at this step: the
	// local pods among their endpoints get HNS endpoints before the sync.
	slices []*discovery.EndpointSlice
	// events are the events of an event step, when there are several.
	events []string
}

// source yields the steps of a replay.
type source interface {
	len() int
	// start (re)starts the agent's view of the cluster for node: at the
	// first step, and before a restart.
	start(node lbpolicy.Node) error
	// next moves to step i (0-based; called in order) and returns it.
	next(i int) (stepInput, error)
}

// stepResult is what one step did.
type stepResult struct {
	name      string
	restarted bool
	events    []string
	changes   *lbpolicy.Changes
	// newPods are the local endpoints added before the step, as the CNI
	// would have: "10.244.1.5 (default/web-6c9d8b7f5d-2fk9q)".
	newPods []string

	calls   fake.Calls // as the fake counted them
	result  hnsadapter.Result
	syncErr error // the sync failed as a whole
	// planErrors are the plan's error diagnostics.
	planErrors []lbpolicy.Diagnostic

	// created, updated and deleted are the load balancers the step
	// created, changed (in place, or deleted and created under a new ID)
	// and deleted, by key, as HNS's state before and after the sync shows
	// them; in key order.
	created, updated, deleted []keyChange

	loadBalancers, endpoints int // in HNS after the step
	dump                     string
}

// keyChange names a load balancer that a step created, updated or deleted:
// its key, and the Service port a plan gave it ("" for one no plan had).
type keyChange struct {
	Key     string `json:"key"`
	Service string `json:"service"`
	Port    string `json:"port"`
}

func (c keyChange) String() string {
	switch {
	case c.Service == "":
		return c.Key
	case c.Port == "":
		return c.Key + " " + c.Service
	}
	return c.Key + " " + c.Service + ":" + c.Port
}

// errors returns the step's errors as text: the per-object errors, and
// the error of a sync that failed as a whole.
func (r *stepResult) errors() []string {
	out := make([]string, 0, len(r.result.Errors)+1)
	for _, e := range r.result.Errors {
		out = append(out, e.Error())
	}
	if r.syncErr != nil {
		out = append(out, r.syncErr.Error())
	}
	return out
}

// diagnostics returns the sync's diagnostics and the plan's error
// diagnostics, as text.
func (r *stepResult) diagnostics() []string {
	out := make([]string, 0, len(r.result.Diagnostics)+len(r.planErrors))
	for _, d := range r.planErrors {
		out = append(out, "plan: "+d.String())
	}
	for _, d := range r.result.Diagnostics {
		out = append(out, "sync: "+d.String())
	}
	return out
}

// errorDiagnostics counts the diagnostics of severity error.
func (r *stepResult) errorDiagnostics() int {
	n := len(r.planErrors)
	for _, d := range r.result.Diagnostics {
		if d.Severity == lbpolicy.SeverityError {
			n++
		}
	}
	return n
}

// failed reports whether the step counts as failed for the exit status.
func (r *stepResult) failed() bool {
	return len(r.result.Errors) > 0 || r.syncErr != nil || r.errorDiagnostics() > 0
}

// problems says why the step failed.
func (r *stepResult) problems() string {
	var parts []string
	if r.syncErr != nil {
		parts = append(parts, "the sync failed: "+r.syncErr.Error())
	}
	if n := len(r.result.Errors); n > 0 {
		parts = append(parts, fmt.Sprintf("%d object error(s)", n))
	}
	if n := r.errorDiagnostics(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d error diagnostic(s)", n))
	}
	return strings.Join(parts, ", ")
}

// replay is one node: a fake HNS holding the node's network, the CNI's
// local endpoints and whatever the Reconciler programmed, which persists
// across steps, and the Reconciler, which a restart replaces.
type replay struct {
	node  lbpolicy.Node
	h     *fake.HNS
	netID string
	opts  hnsadapter.Options
	r     *hnsadapter.Reconciler

	// Local endpoints are added for addresses of these families only.
	families map[lbpolicy.IPFamily]bool
	// hostIPs are the node IPs and source VIPs: no pod endpoint has them
	// (host-network pods have no HNS endpoint; the Reconciler creates the
	// source-VIP endpoint).
	hostIPs map[netip.Addr]bool
	// pods are the IPs given a local endpoint so far.
	pods map[netip.Addr]bool
	// names are the Service ports of every key a plan had so far, the
	// latest plan's where they differ, to name what a step changed.
	names map[lbpolicy.Key]keyChange

	mu  sync.Mutex
	now time.Time
}

// newReplay sets up a fake HNS of profile for node (which must be valid
// and name its network): the network, and the host's root endpoint.
// claimNetwork is the Reconciler's Options.ClaimNetwork.
func newReplay(node lbpolicy.Node, profile hns.Profile, claimNetwork bool) (*replay, error) {
	rp := &replay{
		node:     node,
		h:        fake.New(profile),
		families: map[lbpolicy.IPFamily]bool{},
		hostIPs:  map[netip.Addr]bool{},
		pods:     map[netip.Addr]bool{},
		names:    map[lbpolicy.Key]keyChange{},
		now:      clockStart,
	}
	rp.h.SeedIDs(idSeed)

	networkType := string(lbpolicy.L2Bridge)
	if strings.EqualFold(string(node.NetworkType), string(lbpolicy.Overlay)) {
		networkType = string(lbpolicy.Overlay)
	}
	rp.netID = rp.h.AddNetwork(node.NetworkName, networkType)
	root := node.RootEndpointName
	if root == "" {
		root = lbpolicy.DefaultRootEndpointName
	}
	rp.h.AddLocalEndpoint(rp.netID, root, "")

	for _, s := range append(append([]string{}, node.NodeIPs...), node.SourceVIPs...) {
		if a, err := netip.ParseAddr(s); err == nil {
			rp.hostIPs[a.Unmap()] = true
		}
	}
	families := node.IPFamilies
	if len(families) == 0 {
		for _, s := range node.NodeIPs {
			if a, err := netip.ParseAddr(s); err == nil {
				families = append(families, familyOf(a))
			}
		}
	}
	if networkType == string(lbpolicy.Overlay) && len(families) > 1 {
		families = families[:1] // Overlay is single-stack (KEP-5100)
	}
	for _, f := range families {
		rp.families[f] = true
	}

	rp.opts = hnsadapter.Options{NetworkName: node.NetworkName, Concurrency: concurrency, ClaimNetwork: claimNetwork, Now: rp.clock}
	if err := rp.restart(); err != nil {
		return nil, err
	}
	return rp, nil
}

func familyOf(a netip.Addr) lbpolicy.IPFamily {
	if a.Unmap().Is4() {
		return lbpolicy.IPv4
	}
	return lbpolicy.IPv6
}

func (rp *replay) clock() time.Time {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.now
}

func (rp *replay) tick() {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.now = rp.now.Add(stepInterval)
}

// restart replaces the Reconciler with a new one, as a restarted agent
// would have: it owns nothing until its first sync adopts what the plan
// wants.
func (rp *replay) restart() error {
	r, err := hnsadapter.NewReconciler(rp.h, rp.opts)
	if err != nil {
		return err
	}
	rp.r = r
	return nil
}

// addPods gives the local pods among the slices' endpoints an HNS
// endpoint, as the CNI does when a pod starts, and describes those added.
// A pod is local when its endpoint's nodeName is the node's; its address
// is the endpoint's first, as lbpolicy takes it. Endpoints are never
// removed: a pod that leaves the slices keeps its HNS endpoint, as an
// unready pod does.
func (rp *replay) addPods(slices []*discovery.EndpointSlice) []string {
	var added []string
	for _, sl := range slices {
		if sl.AddressType == discovery.AddressTypeFQDN {
			continue
		}
		for _, ep := range sl.Endpoints {
			if ep.NodeName == nil || *ep.NodeName != rp.node.Name || len(ep.Addresses) == 0 {
				continue
			}
			a, err := netip.ParseAddr(ep.Addresses[0])
			if err != nil {
				continue // lbpolicy reports it
			}
			a = a.Unmap()
			if rp.pods[a] || rp.hostIPs[a] || !rp.families[familyOf(a)] {
				continue
			}
			name, pod := "pod-"+a.String(), ""
			if ref := ep.TargetRef; ref != nil && ref.Kind == "Pod" && ref.Name != "" {
				pod = ref.Namespace + "/" + ref.Name
				if ref.Name != rp.node.RootEndpointName && ref.Name != lbpolicy.DefaultRootEndpointName {
					name = ref.Name
				}
			}
			rp.h.AddLocalEndpoint(rp.netID, name, a.String())
			rp.pods[a] = true
			if pod != "" {
				added = append(added, a.String()+" ("+pod+")")
			} else {
				added = append(added, a.String())
			}
		}
	}
	return added
}

// run replays every step of src, restarting the Reconciler before step
// restartAt (1-based; 0 for none). It fails only when src does.
func (rp *replay) run(ctx context.Context, src source, restartAt int) ([]stepResult, error) {
	if err := src.start(rp.node); err != nil {
		return nil, err
	}
	results := make([]stepResult, 0, src.len())
	for i := range src.len() {
		restarted := i+1 == restartAt
		if restarted {
			if err := rp.restart(); err != nil {
				return nil, err
			}
			if err := src.start(rp.node); err != nil {
				return nil, err
			}
		}
		in, err := src.next(i)
		if err != nil {
			return nil, err
		}
		res := stepResult{name: in.name, restarted: restarted, events: in.events, changes: in.changes}
		res.newPods = rp.addPods(in.slices)
		for _, d := range in.plan.Diagnostics {
			if d.Severity == lbpolicy.SeverityError {
				res.planErrors = append(res.planErrors, d)
			}
		}

		for _, lb := range in.plan.LoadBalancers {
			rp.names[lb.Key()] = keyChange{Key: lb.Key().String(), Service: lb.Service, Port: lb.Port}
		}

		rp.tick()
		before := byKey(rp.h.LoadBalancers())
		rp.h.ResetCalls()
		if in.changes != nil {
			res.result, res.syncErr = rp.r.SyncChanges(ctx, &in.plan, in.changes)
		} else {
			res.result, res.syncErr = rp.r.Sync(ctx, &in.plan)
		}
		res.calls = rp.h.Calls()
		after := byKey(rp.h.LoadBalancers())
		res.created, res.updated, res.deleted = rp.changed(before, after)
		res.loadBalancers = len(rp.h.LoadBalancers())
		res.endpoints = len(rp.h.Endpoints())
		res.dump = rp.h.DumpStable()
		results = append(results, res)
	}
	return results, nil
}

// byKey indexes load balancers by identity key. A load balancer without
// a key (none of the Reconciler's) is left out.
func byKey(lbs []hns.HostComputeLoadBalancer) map[lbpolicy.Key]hns.HostComputeLoadBalancer {
	out := make(map[lbpolicy.Key]hns.HostComputeLoadBalancer, len(lbs))
	for _, lb := range lbs {
		if key, ok := hnsadapter.LoadBalancerKey(&lb); ok {
			out[key] = lb
		}
	}
	return out
}

// changed compares HNS's load balancers before and after a step by key:
// a key only after was created, only before deleted; a key in both was
// updated if its load balancer's ID or content changed. Each list is in
// key order.
func (rp *replay) changed(before, after map[lbpolicy.Key]hns.HostComputeLoadBalancer) (created, updated, deleted []keyChange) {
	var keys []lbpolicy.Key
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, lbpolicy.Key.Compare)
	for _, k := range keys {
		name := rp.names[k]
		name.Key = k.String()
		old, wasThere := before[k]
		cur, isThere := after[k]
		switch {
		case !wasThere:
			created = append(created, name)
		case !isThere:
			deleted = append(deleted, name)
		case !sameLoadBalancer(old, cur):
			updated = append(updated, name)
		}
	}
	return created, updated, deleted
}

// sameLoadBalancer reports whether a and b are the same HNS object with
// the same content: same ID (a delete and create is a change), endpoint
// IDs compared as sets, the schema version ignored.
func sameLoadBalancer(a, b hns.HostComputeLoadBalancer) bool {
	norm := func(lb hns.HostComputeLoadBalancer) hns.HostComputeLoadBalancer {
		ids := make([]string, len(lb.HostComputeEndpoints))
		for i, id := range lb.HostComputeEndpoints {
			ids[i] = strings.ToUpper(id)
		}
		slices.Sort(ids)
		lb.Id, lb.HostComputeEndpoints, lb.SchemaVersion = strings.ToUpper(lb.Id), slices.Compact(ids), hns.SchemaVersion{}
		return lb
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
