package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The Windows node hnslb runs for. Pods elsewhere are remote backends.
const (
	winNode    = "win-1"
	winZone    = "zone-a"
	winNodeIP  = "10.1.0.4"
	winNetwork = "cbr0"
)

// hnsNode is hnslb as a proxy would wire it, driven by the test instead of
// a loop: informers of its own client feed a Tracker, and each sync hands
// the Tracker's Snapshot to a Reconciler on a fake HNS.
type hnsNode struct {
	client  kubernetes.Interface
	node    lbpolicy.Node
	hns     *fake.HNS
	network string // HNS network ID
	tracker *lbpolicy.Tracker
	rec     *hnsadapter.Reconciler

	// mu is held while an event is handed to the Tracker, and while a
	// Snapshot is taken, so that seen says exactly what the Snapshot holds.
	mu     sync.Mutex
	seen   map[string]string // kind/namespace/name -> resourceVersion delivered
	errors []error           // events the Tracker could not use

	stop func() // stops the informers; idempotent
}

// startHNSNode starts informers on their own client, as a proxy process
// would, registering the Tracker's handlers behind a recorder.
func startHNSNode(t *testing.T, cp *controlPlane, profile string) *hnsNode {
	t.Helper()
	p, err := hns.ProfileNamed(profile)
	if err != nil {
		t.Fatal(err)
	}
	h := fake.New(p)
	return runHNSNode(t, cp, h, h.AddNetwork(winNetwork, "L2Bridge"))
}

// restart stops n's informers and starts a new process's worth of hnslb
// (Tracker, Reconciler, informers) on the HNS n leaves behind, as a proxy
// restart does.
func (n *hnsNode) restart(t *testing.T, cp *controlPlane) *hnsNode {
	t.Helper()
	n.stop()
	return runHNSNode(t, cp, n.hns, n.network)
}

func runHNSNode(t *testing.T, cp *controlPlane, h *fake.HNS, networkID string) *hnsNode {
	t.Helper()
	n := &hnsNode{hns: h, network: networkID, seen: map[string]string{}}
	var err error
	n.node = lbpolicy.Node{Name: winNode, Zone: winZone, NodeIPs: []string{winNodeIP},
		NetworkType: lbpolicy.L2Bridge, NetworkName: winNetwork,
		HNSVersion: h.Profile().Version.String()} // planned for the HNS that holds it, as NodeFor does
	if n.tracker, err = lbpolicy.NewTracker(n.node); err != nil {
		t.Fatalf("tracker: %v", err)
	}
	if n.rec, err = hnsadapter.NewReconciler(n.hns, hnsadapter.Options{NetworkName: winNetwork}); err != nil {
		t.Fatalf("reconciler: %v", err)
	}
	if n.client, err = kubernetes.NewForConfig(cp.Config); err != nil {
		t.Fatalf("client: %v", err)
	}

	factory := informers.NewSharedInformerFactory(n.client, 0)
	report := func(err error) {
		n.errors = append(n.errors, err) // under mu: called from the Tracker's handler
	}
	svcReg, err := factory.Core().V1().Services().Informer().AddEventHandler(
		&recorder{n: n, kind: "Service", inner: n.tracker.ServiceEventHandler(report)})
	if err != nil {
		t.Fatalf("service handler: %v", err)
	}
	sliceReg, err := factory.Discovery().V1().EndpointSlices().Informer().AddEventHandler(
		&recorder{n: n, kind: "EndpointSlice", inner: n.tracker.EndpointSliceEventHandler(report)})
	if err != nil {
		t.Fatalf("endpointslice handler: %v", err)
	}
	n.tracker.RequireSynced(svcReg.HasSynced, sliceReg.HasSynced)
	stop := make(chan struct{})
	factory.Start(stop)
	n.stop = sync.OnceFunc(func() {
		close(stop)
		factory.Shutdown()
	})
	t.Cleanup(n.stop)
	return n
}

// addLocalPod does what the CNI does for a pod on this node: it creates the
// pod's HNS endpoint.
func (n *hnsNode) addLocalPod(name, ip string) {
	n.hns.AddLocalEndpoint(n.network, name, ip)
}

// recorder hands informer events to the Tracker's handler and records the
// resourceVersion of each object delivered.
type recorder struct {
	n     *hnsNode
	kind  string
	inner lbpolicy.EventHandler
}

func (r *recorder) OnAdd(obj any, isInInitialList bool) {
	r.n.mu.Lock()
	defer r.n.mu.Unlock()
	r.inner.OnAdd(obj, isInInitialList)
	r.record(obj, false)
}

func (r *recorder) OnUpdate(oldObj, newObj any) {
	r.n.mu.Lock()
	defer r.n.mu.Unlock()
	r.inner.OnUpdate(oldObj, newObj)
	r.record(newObj, false)
}

func (r *recorder) OnDelete(obj any) {
	r.n.mu.Lock()
	defer r.n.mu.Unlock()
	r.inner.OnDelete(obj)
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	r.record(obj, true)
}

func (r *recorder) record(obj any, deleted bool) {
	m, ok := obj.(metav1.Object)
	if !ok {
		r.n.errors = append(r.n.errors, fmt.Errorf("%s event with a %T", r.kind, obj))
		return
	}
	key := r.kind + "/" + m.GetNamespace() + "/" + m.GetName()
	if deleted {
		delete(r.n.seen, key)
		return
	}
	r.n.seen[key] = m.GetResourceVersion()
}

// apiState is what the API server holds at one moment.
type apiState struct {
	Services []*corev1.Service
	Slices   []*discovery.EndpointSlice
}

func (s apiState) versions() map[string]string {
	v := map[string]string{}
	for _, o := range s.Services {
		v["Service/"+o.Namespace+"/"+o.Name] = o.ResourceVersion
	}
	for _, o := range s.Slices {
		v["EndpointSlice/"+o.Namespace+"/"+o.Name] = o.ResourceVersion
	}
	return v
}

func listAPI(ctx context.Context, c kubernetes.Interface) (apiState, error) {
	var s apiState
	svcs, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, fmt.Errorf("list services: %w", err)
	}
	slices, err := c.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, fmt.Errorf("list endpointslices: %w", err)
	}
	for i := range svcs.Items {
		s.Services = append(s.Services, &svcs.Items[i])
	}
	for i := range slices.Items {
		s.Slices = append(s.Slices, &slices.Items[i])
	}
	return s, nil
}

// settle waits until the API server's state satisfies converged (the
// controller has done what the step expects) and the Tracker has been handed
// exactly that state, then takes the Tracker's Snapshot. It returns the
// Snapshot and the state it holds.
func (n *hnsNode) settle(t *testing.T, what string, converged func(apiState) error) (lbpolicy.Snapshot, apiState) {
	t.Helper()
	var snap lbpolicy.Snapshot
	var state apiState
	waitFor(t, what, 2*time.Minute, func() (bool, error) {
		s, err := listAPI(context.Background(), n.client)
		if err != nil {
			return false, err
		}
		if err := converged(s); err != nil {
			return false, err
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if d := cmp.Diff(s.versions(), n.seen); d != "" {
			return false, fmt.Errorf("informers behind the API server (-api +delivered):\n%s", d)
		}
		snap, state = n.tracker.Snapshot(), s
		return true, nil
	})
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.errors) > 0 {
		t.Fatalf("events the Tracker could not use: %v", errors.Join(n.errors...))
	}
	return snap, state
}

// stepResult is what one sync did.
type stepResult struct {
	Result hnsadapter.Result
	Calls  fake.Calls // fake.HNS's count of the calls of this step
}

// sync settles, syncs the Snapshot to HNS and checks that HNS then holds
// what lbpolicy.Compute plans for the same objects. It returns the plan and
// what the sync did.
func (n *hnsNode) sync(t *testing.T, what string, converged func(apiState) error) (lbpolicy.Plan, stepResult) {
	t.Helper()
	what = what + " [" + n.hns.Profile().Name + "]"
	snap, state := n.settle(t, what, converged)
	if !snap.Ready() {
		t.Fatalf("%s: Snapshot not ready after the informers synced", what)
	}
	n.hns.ResetCalls()
	res, err := n.rec.SyncSnapshot(context.Background(), &snap)
	if err != nil {
		t.Fatalf("%s: SyncSnapshot: %v", what, err)
	}
	for _, e := range res.Errors {
		t.Errorf("%s: SyncSnapshot left an object failing: %v", what, e)
	}
	for _, d := range res.Diagnostics {
		t.Errorf("%s: SyncSnapshot noticed: %v", what, d)
	}
	plan, err := lbpolicy.Compute(n.node, state.Services, state.Slices)
	if err != nil {
		t.Fatalf("%s: Compute: %v", what, err)
	}
	if d := cmp.Diff(planView(plan), n.hnsView(t)); d != "" {
		t.Errorf("%s: HNS differs from Compute over the API server's objects (-plan +hns):\n%s", what, d)
	}
	return plan, stepResult{Result: res, Calls: n.hns.Calls()}
}

// view is the part of a load balancer and of the remote endpoints the
// comparison looks at, keyed by load-balancer key.
type view struct {
	LoadBalancers map[string]lbView
	Endpoints     []string // IPs of the endpoints hnslb manages (not the CNI's)
}

type lbView struct {
	VIPs             []string
	InternalPort     uint16
	Flags            lbpolicy.LoadBalancerFlags
	PortMappingFlags lbpolicy.PortMappingFlags
	Distribution     lbpolicy.DistributionType
	Backends         []string // IPs, sorted
}

func planView(p lbpolicy.Plan) view {
	v := view{LoadBalancers: map[string]lbView{}, Endpoints: []string{}}
	for i := range p.LoadBalancers {
		lb := &p.LoadBalancers[i]
		lv := lbView{InternalPort: lb.InternalPort, Flags: lb.Flags,
			PortMappingFlags: lb.PortMappingFlags, Distribution: lb.DistributionType}
		for _, vip := range lb.FrontendVIPs {
			lv.VIPs = append(lv.VIPs, vip.String())
		}
		for _, b := range lb.Backends {
			lv.Backends = append(lv.Backends, b.String())
		}
		sort.Strings(lv.Backends)
		v.LoadBalancers[lb.Key().String()] = lv
	}
	for _, ep := range p.Endpoints {
		v.Endpoints = append(v.Endpoints, ep.IP.String())
	}
	sort.Strings(v.Endpoints)
	return v
}

// hnsView reads fake.HNS back: backends by their endpoints' IPs.
func (n *hnsNode) hnsView(t *testing.T) view {
	t.Helper()
	v := view{LoadBalancers: map[string]lbView{}, Endpoints: []string{}}
	ipOf := map[string]string{}
	for _, ep := range n.hns.Endpoints() {
		ip := ""
		if len(ep.IpConfigurations) > 0 {
			ip = ep.IpConfigurations[0].IpAddress
		}
		ipOf[strings.ToUpper(ep.Id)] = ip
		if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 {
			v.Endpoints = append(v.Endpoints, ip)
		}
	}
	sort.Strings(v.Endpoints)
	for _, lb := range n.hns.LoadBalancers() {
		key, ok := hnsadapter.LoadBalancerKey(&lb)
		if !ok {
			t.Errorf("HNS holds a load balancer without a key: %+v", lb)
			continue
		}
		lv := lbView{VIPs: lb.FrontendVIPs, Flags: lb.Flags}
		if len(lb.PortMappings) == 1 {
			pm := lb.PortMappings[0]
			lv.InternalPort, lv.PortMappingFlags, lv.Distribution = pm.InternalPort, pm.Flags, pm.DistributionType
		}
		for _, id := range lb.HostComputeEndpoints {
			ip, ok := ipOf[strings.ToUpper(id)]
			if !ok {
				ip = "missing:" + id
			}
			lv.Backends = append(lv.Backends, ip)
		}
		sort.Strings(lv.Backends)
		v.LoadBalancers[key.String()] = lv
	}
	return v
}

// backendsOf returns the backends of the plan's load balancers of one
// Service (namespace/name), by key.
func backendsOf(p lbpolicy.Plan, svc string) map[string][]string {
	out := map[string][]string{}
	for k, lb := range planViewOf(p, svc).LoadBalancers {
		out[k] = lb.Backends
	}
	return out
}

func planViewOf(p lbpolicy.Plan, svc string) view {
	var only lbpolicy.Plan
	for _, lb := range p.LoadBalancers {
		if lb.Service == svc {
			only.LoadBalancers = append(only.LoadBalancers, lb)
		}
	}
	return planView(only)
}
