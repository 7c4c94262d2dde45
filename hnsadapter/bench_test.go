package hnsadapter_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

var restartScale = flag.Float64("restart-scale", 0.1,
	"scale of the cold-start case of BenchmarkRestart109124 (1 = 2,000 services and 5,000 remote endpoints: about 80 s at concurrency 1)")

// benchNode is a fake HNS with the test network and nLocal local pod
// endpoints 10.245.x.y (this node's pods in the benchmarks).
func benchNode(b *testing.B, profile string, nLocal int) (*fake.HNS, []string) {
	b.Helper()
	p, err := hns.ProfileNamed(profile)
	if err != nil {
		b.Fatal(err)
	}
	h := fake.New(p)
	netID := h.AddNetwork(netName, "Overlay")
	var locals []string
	for i := range nLocal {
		a := benchLocalIP(i)
		h.AddLocalEndpoint(netID, "pod", a.String())
		locals = append(locals, a.String())
	}
	return h, locals
}

func benchLocalIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 245, byte(i >> 8), byte(i)}) }
func benchRemoteIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 246 + byte(i>>16), byte(i >> 8), byte(i)})
}
func benchVIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}) }

// benchRemote is the plan's remote endpoint for a remote pod IP.
func benchRemote(a netip.Addr) lbpolicy.Endpoint {
	b := a.As4()
	return lbpolicy.Endpoint{
		IP: a, Remote: true,
		MACAddress:      fmt.Sprintf("02-11-%02x-%02x-%02x-%02x", b[0], b[1], b[2], b[3]),
		ProviderAddress: netip.AddrFrom4([4]byte{10, 0, b[1], b[2]}),
	}
}

func benchLB(name string, vip netip.Addr, backends []netip.Addr) lbpolicy.LoadBalancer {
	lb := svc(name, vip.String())
	for _, a := range backends {
		lb.Backends = append(lb.Backends, lbpolicy.Backend{IP: a})
	}
	slices.SortFunc(lb.Backends, func(x, y lbpolicy.Backend) int { return x.IP.Compare(y.IP) })
	return lb
}

// benchPlan sorts lbs and adds a remote endpoint for every backend in
// remote.
func benchPlan(lbs []lbpolicy.LoadBalancer, remote func(netip.Addr) bool) *lbpolicy.Plan {
	p := &lbpolicy.Plan{LoadBalancers: lbs}
	seen := map[netip.Addr]bool{}
	for _, lb := range lbs {
		for _, be := range lb.Backends {
			if remote(be.IP) && !seen[be.IP] {
				seen[be.IP] = true
				p.Endpoints = append(p.Endpoints, benchRemote(be.IP))
			}
		}
	}
	slices.SortFunc(p.LoadBalancers, func(a, b lbpolicy.LoadBalancer) int { return a.Key().Compare(b.Key()) })
	slices.SortFunc(p.Endpoints, func(a, b lbpolicy.Endpoint) int { return a.IP.Compare(b.IP) })
	return p
}

func isBenchRemote(a netip.Addr) bool { return a.As4()[1] >= 246 }

// plan10k: 10,000 ClusterIP load balancers, each with one of 100 local pods
// and one of 5,000 remote pods.
func plan10k() *lbpolicy.Plan {
	var lbs []lbpolicy.LoadBalancer
	for i := range 10000 {
		lbs = append(lbs, benchLB(fmt.Sprintf("s%d", i), benchVIP(i), []netip.Addr{benchLocalIP(i % 100), benchRemoteIP(i % 5000)}))
	}
	return benchPlan(lbs, isBenchRemote)
}

func benchReconciler(b *testing.B, be hns.Client, concurrency int) *hnsadapter.Reconciler {
	b.Helper()
	r, err := hnsadapter.NewReconciler(be, hnsadapter.Options{NetworkName: netName, Concurrency: concurrency, Logger: logr.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func mustSync(b *testing.B, r *hnsadapter.Reconciler, p *lbpolicy.Plan) hnsadapter.Result {
	b.Helper()
	res, err := r.Sync(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Errors) > 0 {
		b.Fatalf("%d errors, first: %v", len(res.Errors), res.Errors[0])
	}
	return res
}

// BenchmarkSync10kFromEmpty: the first sync of 10,000 load balancers and
// 5,000 remote endpoints into an empty HNS. "fake" includes the fake's
// validation of every call (indexed lookups); "bare" is the same sync on a
// map that validates nothing: the reconciler's own cost.
func BenchmarkSync10kFromEmpty(b *testing.B) {
	p := plan10k()
	for _, backend := range []string{"fake", "bare"} {
		b.Run(backend, func(b *testing.B) {
			b.ReportAllocs()
			var calls int
			for range b.N {
				b.StopTimer()
				h, _ := benchNode(b, "latest", 100)
				var be hns.Client = h
				if backend == "bare" {
					be = newBareHNS(h)
				}
				r := benchReconciler(b, be, hnsadapter.DefaultConcurrency)
				b.StartTimer()
				res := mustSync(b, r, p)
				calls = res.MutatingCalls()
			}
			b.ReportMetric(float64(calls), "mutating-calls/op")
		})
	}
}

// bareHNS is a Client that stores what it is given and checks nothing,
// seeded with the network and endpoints of a fake. Its lists are shallow
// copies of slices: what they cost is a memory copy, not the backend's.
type bareHNS struct {
	mu      sync.Mutex
	network hns.HostComputeNetwork
	next    int
	lbs     bareStore[hns.HostComputeLoadBalancer]
	eps     bareStore[hns.HostComputeEndpoint]
}

// bareStore holds objects in a slice, indexed by ID.
type bareStore[T any] struct {
	objs []T
	at   map[string]int
}

func (st *bareStore[T]) put(id string, obj T) {
	if st.at == nil {
		st.at = map[string]int{}
	}
	if i, ok := st.at[id]; ok {
		st.objs[i] = obj
		return
	}
	st.at[id] = len(st.objs)
	st.objs = append(st.objs, obj)
}

func (st *bareStore[T]) get(id string) T { return st.objs[st.at[id]] }

// remove swaps the last object into id's place.
func (st *bareStore[T]) remove(id string, idOf func(*T) string) {
	i, ok := st.at[id]
	if !ok {
		return
	}
	last := len(st.objs) - 1
	st.objs[i] = st.objs[last]
	st.at[idOf(&st.objs[i])] = i
	st.objs = st.objs[:last]
	delete(st.at, id)
}

func lbID(lb *hns.HostComputeLoadBalancer) string { return lb.Id }
func epID(ep *hns.HostComputeEndpoint) string     { return ep.Id }

func newBareHNS(h *fake.HNS) *bareHNS {
	bh := &bareHNS{network: h.Networks()[0]}
	for _, ep := range h.Endpoints() {
		bh.eps.put(ep.Id, ep)
	}
	return bh
}

func (bh *bareHNS) id() string {
	bh.next++
	return fmt.Sprintf("%08X-0000-4000-8000-000000000000", bh.next)
}

func (bh *bareHNS) ListLoadBalancers(context.Context) ([]hns.HostComputeLoadBalancer, error) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	return slices.Clone(bh.lbs.objs), nil
}

func (bh *bareHNS) GetLoadBalancer(_ context.Context, id string) (*hns.HostComputeLoadBalancer, error) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	lb := bh.lbs.get(id)
	return &lb, nil
}

func (bh *bareHNS) CreateLoadBalancer(_ context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	c := *lb
	c.Id = bh.id()
	bh.lbs.put(c.Id, c)
	return &c, nil
}

func (bh *bareHNS) UpdateLoadBalancer(_ context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	c := *lb
	c.Id = id
	bh.lbs.put(id, c)
	return &c, nil
}

func (bh *bareHNS) DeleteLoadBalancer(_ context.Context, id string) error {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	bh.lbs.remove(id, lbID)
	return nil
}

func (bh *bareHNS) ListEndpoints(context.Context, string) ([]hns.HostComputeEndpoint, error) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	return slices.Clone(bh.eps.objs), nil
}

func (bh *bareHNS) CreateEndpoint(_ context.Context, _ string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	c := *ep
	c.Id = bh.id()
	bh.eps.put(c.Id, c)
	return &c, nil
}

func (bh *bareHNS) DeleteEndpoint(_ context.Context, id string) error {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	bh.eps.remove(id, epID)
	return nil
}

func (bh *bareHNS) GetNetworkByName(context.Context, string) (*hns.HostComputeNetwork, error) {
	n := bh.network
	return &n, nil
}

func (bh *bareHNS) Version(context.Context) (lbpolicy.Version, error) {
	return lbpolicy.Version{Major: 16}, nil
}

// BenchmarkSync10kNoOp: a resync of the same 10,000 load balancers when
// nothing changed: two lists, no other call.
func BenchmarkSync10kNoOp(b *testing.B) {
	b.ReportAllocs()
	p := plan10k()
	h, _ := benchNode(b, "latest", 100)
	r := benchReconciler(b, h, hnsadapter.DefaultConcurrency)
	mustSync(b, r, p)
	b.ResetTimer()
	var calls int
	for range b.N {
		res := mustSync(b, r, p)
		calls = res.MutatingCalls()
	}
	if calls != 0 {
		b.Fatalf("no-op resync made %d mutating calls", calls)
	}
	b.ReportMetric(float64(calls), "mutating-calls/op")
}

// BenchmarkSyncOneChange10k: with 10,000 load balancers in HNS, one
// Service's backend moves to another remote pod (a new remote endpoint, an
// update, the old endpoint deleted), then back: each op is one such
// change. "changes" applies it with SyncChanges (the change set precomputed,
// as a Tracker hands it over), "full" with Sync, which lists and compares
// everything.
func BenchmarkSyncOneChange10k(b *testing.B) {
	p0 := plan10k()
	lbs := slices.Clone(p0.LoadBalancers)
	lbs[0] = benchLB("s0", benchVIP(0), []netip.Addr{benchLocalIP(0), benchRemoteIP(7777)})
	p1 := benchPlan(lbs, isBenchRemote)
	forward, back := lbpolicy.Diff(p0, p1), lbpolicy.Diff(p1, p0)
	for _, mode := range []string{"changes", "full"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			h, _ := benchNode(b, "latest", 100)
			r := benchReconciler(b, h, hnsadapter.DefaultConcurrency)
			mustSync(b, r, p0)
			ctx := context.Background()
			b.ResetTimer()
			var calls int
			for i := range b.N {
				p, ch := p1, &forward
				if i%2 == 1 {
					p, ch = p0, &back
				}
				var res hnsadapter.Result
				var err error
				if mode == "changes" {
					res, err = r.SyncChanges(ctx, p, ch)
				} else {
					res, err = r.Sync(ctx, p)
				}
				if err != nil || len(res.Errors) > 0 {
					b.Fatalf("sync: %v %v", err, res.Errors)
				}
				calls = res.MutatingCalls()
			}
			b.ReportMetric(float64(calls), "mutating-calls/op")
		})
	}
}

// churnTrace is 1,000 Services, each a ClusterIP load balancer and one in
// four also a NodePort, each with 3 to 8 pods of its own, 10% of them on
// this node. Each of its steps replaces 1% of all pods by new ones (a new
// IP, on a random node).
type churnTrace struct {
	initial *lbpolicy.Plan
	steps   []*lbpolicy.Plan
	// newLocal[i] are the local pod IPs that appear at step i (the CNI
	// creates their endpoints before the proxy syncs).
	newLocal [][]netip.Addr
}

func newChurnTrace(services, steps int) *churnTrace {
	rng := rand.New(rand.NewPCG(1, 2))
	nextLocal, nextRemote := 100, 0 // 0..99: the benchNode's pods
	newPod := func() (netip.Addr, bool) {
		if rng.IntN(10) == 0 {
			nextLocal++
			return benchLocalIP(nextLocal), true
		}
		nextRemote++
		return benchRemoteIP(nextRemote), false
	}
	pods := make([][]netip.Addr, services)
	tr := &churnTrace{}
	var initialLocal []netip.Addr
	for i := range pods {
		for range 3 + rng.IntN(6) {
			a, local := newPod()
			pods[i] = append(pods[i], a)
			if local {
				initialLocal = append(initialLocal, a)
			}
		}
	}
	tr.newLocal = append(tr.newLocal, initialLocal)
	render := func() *lbpolicy.Plan {
		var lbs []lbpolicy.LoadBalancer
		for i, backends := range pods {
			lb := benchLB(fmt.Sprintf("s%d", i), benchVIP(i), backends)
			lbs = append(lbs, lb)
			if i%4 == 0 {
				np := lb
				np.Kind, np.FrontendVIPs, np.ExternalPort = lbpolicy.KindNodePort, nil, uint16(30000+i/4)
				np.PortMappingFlags = lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP
				lbs = append(lbs, np)
			}
		}
		return benchPlan(lbs, isBenchRemote)
	}
	tr.initial = render()
	total := 0
	for _, p := range pods {
		total += len(p)
	}
	for range steps {
		var locals []netip.Addr
		for range total / 100 {
			i := rng.IntN(services)
			j := rng.IntN(len(pods[i]))
			a, local := newPod()
			pods[i] = slices.Clone(pods[i])
			pods[i][j] = a
			if local {
				locals = append(locals, a)
			}
		}
		tr.newLocal = append(tr.newLocal, locals)
		tr.steps = append(tr.steps, render())
	}
	return tr
}

// addLocals makes the CNI's endpoints for the local pods of step i.
func (tr *churnTrace) addLocals(h *fake.HNS, i int) {
	netID := h.Networks()[0].Id
	for _, a := range tr.newLocal[i] {
		h.AddLocalEndpoint(netID, "pod", a.String())
	}
}

// BenchmarkChurn counts the mutating calls of the churn trace (1,000
// Services, 1% of the pods replaced per step, 20 steps) against a
// delete-and-recreate baseline on the same trace, and reports the ratio
// (x-fewer-calls: baseline calls / hnslb calls). The baseline is what
// kube-proxy's winkernel does for a Service whose endpoints changed
// (without its WinProxyOptimization annotation): delete all the Service's
// load balancers, release its endpoints (deleting the remote ones no other
// Service references), then create the remote endpoints and load balancers
// again.
func BenchmarkChurn(b *testing.B) {
	tr := newChurnTrace(1000, 20)
	for _, profile := range []string{"ws2022", "ws2025", "latest"} {
		b.Run(profile, func(b *testing.B) {
			b.ReportAllocs()
			var ours, base int
			for range b.N {
				b.StopTimer()
				h, _ := benchNode(b, profile, 100)
				tr.addLocals(h, 0)
				r := benchReconciler(b, h, hnsadapter.DefaultConcurrency)
				mustSync(b, r, tr.initial)
				hb, _ := benchNode(b, profile, 100)
				tr.addLocals(hb, 0)
				bl := newBaseline(b, hb)
				bl.apply(tr.initial)
				h.ResetCalls()
				hb.ResetCalls()
				b.StartTimer()
				for i, p := range tr.steps {
					tr.addLocals(h, i+1)
					mustSync(b, r, p)
				}
				b.StopTimer()
				for i, p := range tr.steps {
					tr.addLocals(hb, i+1)
					bl.apply(p)
				}
				b.StartTimer()
				ours, base = h.Calls().Mutating(), hb.Calls().Mutating()
			}
			b.ReportMetric(float64(ours), "hnslb-calls")
			b.ReportMetric(float64(base), "baseline-calls")
			b.ReportMetric(float64(base)/float64(ours), "x-fewer-calls")
		})
	}
}

// baseline applies plans as winkernel does (see BenchmarkChurn): per
// Service, with reference-counted remote endpoints.
type baseline struct {
	b       *testing.B
	h       *fake.HNS
	netID   string
	locals  map[netip.Addr]string
	remote  map[netip.Addr]*baselineEndpoint
	applied map[string][]lbpolicy.LoadBalancer // by Service
	lbIDs   map[string][]string                // by Service
}

type baselineEndpoint struct {
	id   string
	refs int
}

func newBaseline(b *testing.B, h *fake.HNS) *baseline {
	return &baseline{b: b, h: h, netID: h.Networks()[0].Id, remote: map[netip.Addr]*baselineEndpoint{},
		applied: map[string][]lbpolicy.LoadBalancer{}, lbIDs: map[string][]string{}}
}

func (bl *baseline) apply(p *lbpolicy.Plan) {
	ctx := context.Background()
	bl.locals = map[netip.Addr]string{}
	for _, ep := range bl.h.Endpoints() {
		if ep.Flags&hns.EndpointFlagsRemoteEndpoint == 0 && len(ep.IpConfigurations) > 0 {
			bl.locals[netip.MustParseAddr(ep.IpConfigurations[0].IpAddress)] = ep.Id
		}
	}
	want := map[string][]lbpolicy.LoadBalancer{}
	for _, lb := range p.LoadBalancers {
		want[lb.Service] = append(want[lb.Service], lb)
	}
	backendsOf := func(lbs []lbpolicy.LoadBalancer) []netip.Addr {
		var out []netip.Addr
		for _, be := range lbs[0].Backends { // one Service port: same backends
			out = append(out, be.IP)
		}
		return out
	}
	for svcName, old := range bl.applied {
		if neu, ok := want[svcName]; ok && equalLBs(old, neu) {
			continue
		}
		for _, id := range bl.lbIDs[svcName] {
			if err := bl.h.DeleteLoadBalancer(ctx, id); err != nil {
				bl.b.Fatal(err)
			}
		}
		for _, a := range backendsOf(old) {
			if ep := bl.remote[a]; ep != nil {
				if ep.refs--; ep.refs == 0 {
					if err := bl.h.DeleteEndpoint(ctx, ep.id); err != nil {
						bl.b.Fatal(err)
					}
					delete(bl.remote, a)
				}
			}
		}
		delete(bl.applied, svcName)
		delete(bl.lbIDs, svcName)
	}
	for svcName, lbs := range want {
		if _, ok := bl.applied[svcName]; ok {
			continue
		}
		var ids []string
		for _, a := range backendsOf(lbs) {
			if id, ok := bl.locals[a]; ok {
				ids = append(ids, id)
				continue
			}
			ep := bl.remote[a]
			if ep == nil {
				hep := benchRemote(a)
				got, err := bl.h.CreateEndpoint(ctx, bl.netID, &hns.HostComputeEndpoint{
					IpConfigurations: []hns.IpConfig{{IpAddress: a.String()}}, MacAddress: hep.MACAddress,
					Flags:         hns.EndpointFlagsRemoteEndpoint,
					Policies:      []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: []byte(`{"ProviderAddress":"` + hep.ProviderAddress.String() + `"}`)}},
					SchemaVersion: hns.V2SchemaVersion(),
				})
				if err != nil {
					bl.b.Fatal(err)
				}
				ep = &baselineEndpoint{id: got.Id}
				bl.remote[a] = ep
			}
			ep.refs++
			ids = append(ids, ep.id)
		}
		for _, lb := range lbs {
			vips := []string{}
			for _, v := range lb.FrontendVIPs {
				vips = append(vips, v.String())
			}
			got, err := bl.h.CreateLoadBalancer(ctx, &hns.HostComputeLoadBalancer{
				HostComputeEndpoints: ids, FrontendVIPs: vips, SourceVIP: lb.SourceVIP.String(),
				PortMappings: []hns.LoadBalancerPortMapping{{
					Protocol: uint32(lb.Protocol), InternalPort: lb.InternalPort, ExternalPort: lb.ExternalPort,
					Flags: lbpolicy.PortMappingFlags(lb.PortMappingFlags),
				}},
				SchemaVersion: hns.V2SchemaVersion(),
			})
			if err != nil {
				bl.b.Fatal(err)
			}
			bl.lbIDs[svcName] = append(bl.lbIDs[svcName], got.Id)
		}
		bl.applied[svcName] = lbs
	}
}

func equalLBs(a, b []lbpolicy.LoadBalancer) bool {
	return slices.EqualFunc(a, b, func(x, y lbpolicy.LoadBalancer) bool {
		return x.Key() == y.Key() && slices.Equal(x.Backends, y.Backends) && x.InternalPort == y.InternalPort &&
			x.Flags == y.Flags && x.PortMappingFlags == y.PortMappingFlags
	})
}

// BenchmarkRestart109124 is the kube-proxy restart of kubernetes#109124
// (2,000 ClusterIP Services over 5,000 remote endpoints, 10 ms per HNS
// call) at concurrency 1 and 8; ns/op is the wall time of the sync.
//
//   - adopt: the agent restarts and HNS still holds everything: the sync
//     adopts it all with 4 calls (network, version, two lists).
//   - cold: everything must be created (a first start, or kube-proxy's
//     wipe-and-recreate restart). At full scale that is 7,000 creates,
//     about 70 s at concurrency 1, so it runs at -restart-scale (default
//     0.1: 200 Services, 500 remote endpoints); the scale is in the name.
func BenchmarkRestart109124(b *testing.B) {
	const latency = 10 * time.Millisecond
	full := restartPlan(2000, 5000)
	scaled := restartPlan(int(2000**restartScale), int(5000**restartScale))
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("adopt/services=2000/concurrency=%d", c), func(b *testing.B) {
			h, _ := benchNode(b, "latest", 0)
			mustSync(b, benchReconciler(b, h, 8), full)
			h.SetLatency("", latency)
			var calls int
			b.ResetTimer()
			for range b.N {
				res := mustSync(b, benchReconciler(b, h, c), full)
				if res.MutatingCalls() != 0 {
					b.Fatalf("restart made %d mutating calls", res.MutatingCalls())
				}
				calls = sum(res.Calls)
			}
			b.ReportMetric(float64(calls), "calls/op")
		})
	}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("cold/services=%d/concurrency=%d", len(scaled.LoadBalancers), c), func(b *testing.B) {
			var calls int
			for range b.N {
				b.StopTimer()
				h, _ := benchNode(b, "latest", 0)
				h.SetLatency("", latency)
				r := benchReconciler(b, h, c)
				b.StartTimer()
				calls = sum(mustSync(b, r, scaled).Calls)
			}
			b.ReportMetric(float64(calls), "calls/op")
		})
	}
}

// restartPlan: services ClusterIP Services with three backends each,
// spread evenly over remotes remote pods.
func restartPlan(services, remotes int) *lbpolicy.Plan {
	var lbs []lbpolicy.LoadBalancer
	for i := range services {
		var backends []netip.Addr
		for k := range 3 {
			backends = append(backends, benchRemoteIP((i*remotes/services+k)%remotes))
		}
		lbs = append(lbs, benchLB(fmt.Sprintf("s%d", i), benchVIP(i), backends))
	}
	return benchPlan(lbs, isBenchRemote)
}

func sum(m map[hns.Op]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
