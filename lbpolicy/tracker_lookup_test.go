package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// heldSnapshot is a Snapshot and Compute's plan at the time it was taken.
type heldSnapshot struct {
	s    lbpolicy.Snapshot
	want lbpolicy.Plan
}

// A Snapshot's lookups answer what its plan holds, whether the Snapshot is
// the newest, older ones were taken since (their change logs chained), or
// its plan or a later one is built.
func TestSnapshotLookups(t *testing.T) {
	shape := clusterShape{Services: 80, Endpoints: 800, Nodes: 10, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 13)
	h := newHarness(t, genNode(shape))
	h.load(svcs, sls)
	r := rand.New(rand.NewPCG(4, 4))
	var held []heldSnapshot
	steps := 150
	if testing.Short() {
		steps = 40
	}
	for step := 0; step < steps; step++ {
		for range 1 + r.IntN(4) {
			h.apply(liveEvent(r, h, shape))
		}
		switch k := r.IntN(10); {
		case k < 6:
			held = append(held, heldSnapshot{h.tr.Snapshot(), h.want()})
		case k < 8 && len(held) > 0:
			held[r.IntN(len(held))].s.Plan() // built: later lookups search it
		default:
			if len(held) > 3 {
				held = held[len(held)-3:] // older ones are dropped, as a proxy does
			}
		}
		for i, hs := range held {
			checkLookups(t, step, i, hs, r)
		}
	}
}

// checkLookups compares hs's lookups with its plan: every key and IP of
// the plan, and some that are not in it.
func checkLookups(t *testing.T, step, i int, hs heldSnapshot, r *rand.Rand) {
	t.Helper()
	for j := range hs.want.LoadBalancers {
		want := &hs.want.LoadBalancers[j]
		got, ok := hs.s.LoadBalancer(want.Key())
		if !ok {
			t.Fatalf("step %d, snapshot %d: no load balancer %s", step, i, want.Key())
		}
		if diff := cmp.Diff(want, got, addrCmp); diff != "" {
			t.Fatalf("step %d, snapshot %d: load balancer %s (-plan +lookup):\n%s", step, i, want.Key(), diff)
		}
	}
	for _, want := range hs.want.Endpoints {
		got, ok := hs.s.Endpoint(want.IP)
		if !ok || got != want {
			t.Fatalf("step %d, snapshot %d: endpoint %s: got %+v (found %v), want %+v", step, i, want.IP, got, ok, want)
		}
	}
	absent := lbpolicy.Key{VIP: netip.AddrFrom4([4]byte{203, 0, 113, byte(r.IntN(256))}), Protocol: 6, Port: 80}
	if lb, ok := hs.s.LoadBalancer(absent); ok {
		t.Fatalf("step %d, snapshot %d: lookup of absent key %s found %+v", step, i, absent, lb)
	}
	if ep, ok := hs.s.Endpoint(absent.VIP); ok {
		t.Fatalf("step %d, snapshot %d: lookup of absent IP %s found %+v", step, i, absent.VIP, ep)
	}
}

// Snapshots are Ready only once every registered sync signal has said
// true, and stay so.
func TestSnapshotReady(t *testing.T) {
	tr, err := lbpolicy.NewTracker(genNode(clusterShape{Services: 1, Endpoints: 1, Nodes: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Snapshot().Ready() {
		t.Fatal("a Tracker with no sync signal is not ready")
	}
	svcSynced, sliceSynced := false, false
	asked := 0
	tr.RequireSynced(func() bool { asked++; return svcSynced }, nil, func() bool { return sliceSynced })
	steps := []struct {
		svc, slice bool
		want       bool
	}{
		{false, false, false},
		{true, false, false},
		{true, true, true},
		{false, false, true}, // once synced, always: the signals are not asked again
	}
	for i, s := range steps {
		svcSynced, sliceSynced = s.svc, s.slice
		if got := tr.Snapshot().Ready(); got != s.want {
			t.Fatalf("step %d: Ready() = %v, want %v", i, got, s.want)
		}
	}
	if asked != 2 {
		t.Errorf("the Service signal was asked %d times, want 2 (not once it said true)", asked)
	}
	var zero lbpolicy.Snapshot
	if zero.Ready() {
		t.Error("the zero Snapshot is ready")
	}
	if _, ok := zero.LoadBalancer(lbpolicy.Key{}); ok {
		t.Error("the zero Snapshot has a load balancer")
	}
}

// A Tracker whose Snapshots' plans are seldom built (an applier that uses
// the changes and lookups, building a plan only for a full sync) drops the
// plan it keeps to patch, and makes the next from its claims: that plan,
// and an older held Snapshot's, are still Compute's.
func TestSnapshotPlanAfterManyUnbuilt(t *testing.T) {
	shape := clusterShape{Services: 80, Endpoints: 800, Nodes: 10, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 23)
	h := newHarness(t, genNode(shape))
	h.load(svcs, sls)
	h.tr.Snapshot().Plan()
	r := rand.New(rand.NewPCG(5, 5))
	for round := range 3 {
		var held []heldSnapshot
		for i := range 40 { // well past the cache's limit
			h.apply(liveEvent(r, h, shape))
			s := h.tr.Snapshot()
			if i%13 == 0 {
				held = append(held, heldSnapshot{s, h.want()})
			}
		}
		latest := heldSnapshot{h.tr.Snapshot(), h.want()}
		// The older ones first: made from the claims with what changed
		// since put back, as no base is kept then.
		for i, hs := range append(held, latest) {
			want, _ := json.Marshal(hs.want)
			got, _ := json.Marshal(hs.s.Plan())
			if !bytes.Equal(want, got) {
				t.Fatalf("round %d, snapshot %d: plan differs from Compute:\n%s", round, i, jsonDiff(want, got))
			}
		}
	}
}

// load adds svcs and then sls, as informers' initial lists do.
func (h *trackerHarness) load(svcs []*corev1.Service, sls []*discovery.EndpointSlice) {
	h.t.Helper()
	for _, s := range svcs {
		h.apply(trackerEvent{op: opServiceAdd, obj: s})
	}
	for _, s := range sls {
		h.apply(trackerEvent{op: opSliceAdd, obj: s})
	}
}

// Between two Snapshots, node changes settle the claims more than once,
// so a key or IP may be noted again: the older Snapshot's lookups, the
// next one's Changes and the older one's plan, built after, still go by
// its first note, its value then.
func TestSnapshotLookupsAcrossNodeChanges(t *testing.T) {
	shape := clusterShape{Services: 60, Endpoints: 600, Nodes: 10, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 21)
	base := genNode(shape)
	other := base
	other.Name = "win-3" // other endpoints are local: they and the ETP=Local load balancers change
	h := newHarness(t, base)
	h.load(svcs, sls)
	h.check()
	r := rand.New(rand.NewPCG(5, 5))
	for step := range 6 {
		h.apply(liveEvent(r, h, shape)) // a Snapshot of its own, whose plan is not built
		hs := heldSnapshot{h.tr.Snapshot(), h.want()}
		for _, n := range []lbpolicy.Node{other, base, other} {
			for range 2 {
				h.apply(liveEvent(r, h, shape))
			}
			h.apply(trackerEvent{op: opSetNode, node: n})
			checkLookups(t, step, 0, hs, r)
			checkAbsent(t, step, hs, h.want())
		}
		h.apply(trackerEvent{op: opSetNode, node: base})
		checkLookups(t, step, 0, hs, r)
		next := h.tr.Snapshot()
		want, _ := json.Marshal(h.want())
		if got, _ := json.Marshal(next.Changes.Apply(hs.want)); !bytes.Equal(got, want) {
			t.Fatalf("step %d: the Changes after node changes, applied to the plan before:\n%s", step, jsonDiff(want, got))
		}
		if got, _ := json.Marshal(hs.s.Plan()); !bytes.Equal(got, mustJSON(t, hs.want)) {
			t.Fatalf("step %d: the plan before node changes, built after:\n%s", step, jsonDiff(mustJSON(t, hs.want), got))
		}
	}
}

// checkAbsent checks that hs's lookups find none of the keys and IPs of
// now, a later plan, that hs's plan lacks.
func checkAbsent(t *testing.T, step int, hs heldSnapshot, now lbpolicy.Plan) {
	t.Helper()
	had := map[lbpolicy.Key]bool{}
	for _, lb := range hs.want.LoadBalancers {
		had[lb.Key()] = true
	}
	for _, lb := range now.LoadBalancers {
		if got, ok := hs.s.LoadBalancer(lb.Key()); !had[lb.Key()] && ok {
			t.Fatalf("step %d: load balancer %s, added later, found: %+v", step, lb.Key(), got)
		}
	}
	hadIP := map[netip.Addr]bool{}
	for _, ep := range hs.want.Endpoints {
		hadIP[ep.IP] = true
	}
	for _, ep := range now.Endpoints {
		if got, ok := hs.s.Endpoint(ep.IP); !hadIP[ep.IP] && ok {
			t.Fatalf("step %d: endpoint %s, added later, found: %+v", step, ep.IP, got)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
