package lbpolicy_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// The targets, with 10,000 Services and 100,000 endpoints loaded
// (genCluster(benchShape, 1) on genNode(benchShape)): one EndpointSlice
// update then a Snapshot ≤ 100 µs; one Service add ≤ 200 µs; 1,000 random
// events ≤ 50 ms. Each benchmark also reports how much faster it is than
// one full Compute of the same cluster (timed once, in the same run) and
// the memory the Tracker holds per Service.
//
//	go test -run '^$' -bench 'Tracker|Compute$' -benchmem -count 3 ./lbpolicy/

// trackerFixture is one loaded Tracker shared by the benchmarks, which
// each leave it as they found it.
type trackerFixture struct {
	node       lbpolicy.Node
	svcs       []*corev1.Service
	slices     []*discovery.EndpointSlice
	tr         *lbpolicy.Tracker
	compute    time.Duration // one full Compute, best of three
	perService float64       // heap bytes the loaded Tracker holds per Service
	// perServiceApplier is the same once the Tracker has dropped its plan,
	// as when only Snapshots' changes are used.
	perServiceApplier float64
	loadTime          time.Duration // feeding every object as an add event
}

var (
	fixtureOnce sync.Once
	fixture     *trackerFixture
)

func loadFixture(b *testing.B) *trackerFixture {
	fixtureOnce.Do(func() {
		f := &trackerFixture{node: genNode(benchShape)}
		f.svcs, f.slices = genCluster(benchShape, 1)
		for i := 0; i < 3; i++ {
			start := time.Now()
			if _, err := lbpolicy.Compute(f.node, f.svcs, f.slices); err != nil {
				b.Fatal(err)
			}
			if d := time.Since(start); f.compute == 0 || d < f.compute {
				f.compute = d
			}
		}

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		tr, err := lbpolicy.NewTracker(f.node)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range f.svcs {
			tr.OnServiceAdd(s)
		}
		for _, s := range f.slices {
			tr.OnEndpointSliceAdd(s)
		}
		tr.Snapshot().Plan()
		f.loadTime = time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		f.perService = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(f.svcs))
		// As an applier that only uses the changes holds it (hnsadapter's
		// SyncSnapshot, between full syncs): Snapshots of events, no plan
		// built, until the Tracker drops the plan it keeps.
		orig := f.slices[0]
		moved := orig.DeepCopy()
		moved.Endpoints = moved.Endpoints[1:]
		for i := range 40 {
			if i%2 == 0 {
				tr.OnEndpointSliceUpdate(orig, moved)
			} else {
				tr.OnEndpointSliceUpdate(moved, orig)
			}
			tr.Snapshot()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		f.perServiceApplier = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(f.svcs))
		f.tr = tr
		fixture = f
	})
	if fixture == nil {
		b.Fatal("fixture failed to load")
	}
	return fixture
}

func (f *trackerFixture) report(b *testing.B) {
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e3, "µs/op")
	b.ReportMetric(float64(f.compute.Nanoseconds())/perOp, "x-faster")
	b.ReportMetric(float64(f.compute.Microseconds())/1e3, "compute-ms")
	b.ReportMetric(f.perService, "B-held/service")
	b.ReportMetric(f.perServiceApplier, "B-held/service-changes-only")
}

// BenchmarkTrackerSliceUpdate: one EndpointSlice update (an endpoint
// turns terminating or ready, moves or goes) and a Snapshot, its Changes
// only.
func BenchmarkTrackerSliceUpdate(b *testing.B) { benchSliceUpdate(b, false) }

// BenchmarkTrackerSliceUpdatePlan: the same, then the Snapshot's Plan, as
// a proxy does before hnsadapter's SyncChanges (Plan merges the change
// into the previous plan: O(n)).
func BenchmarkTrackerSliceUpdatePlan(b *testing.B) { benchSliceUpdate(b, true) }

func benchSliceUpdate(b *testing.B, withPlan bool) {
	f := loadFixture(b)
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1024
	orig := make([]*discovery.EndpointSlice, n)
	alt := make([]*discovery.EndpointSlice, n)
	flipped := make([]bool, n)
	for i := range orig {
		orig[i] = f.slices[r.IntN(len(f.slices))]
		alt[i] = mutateSlice(r, orig[i], benchShape)
	}
	// Distinct slices only, so that flipping one restores it exactly.
	seen := map[*discovery.EndpointSlice]bool{}
	for i := range orig {
		for seen[orig[i]] {
			orig[i] = f.slices[r.IntN(len(f.slices))]
			alt[i] = mutateSlice(r, orig[i], benchShape)
		}
		seen[orig[i]] = true
	}
	f.tr.Snapshot()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % n
		from, to := orig[j], alt[j]
		if flipped[j] {
			from, to = to, from
		}
		f.tr.OnEndpointSliceUpdate(from, to)
		flipped[j] = !flipped[j]
		s := f.tr.Snapshot()
		if withPlan {
			s.Plan()
		}
	}
	b.StopTimer()
	f.report(b)
	for j := range flipped {
		if flipped[j] {
			f.tr.OnEndpointSliceUpdate(alt[j], orig[j])
		}
	}
	f.tr.Snapshot()
}

// BenchmarkTrackerSliceUpdates1000: 1,000 EndpointSlice updates, each of a
// slice picked at random from 2,000 (so that some Services change more
// than once), then one Snapshot, its Changes only: the Tracker's part of
// hnsadapter's BenchmarkEventsToSync10k. events-ms and snapshot-ms split
// the op (events only file the slices; Snapshot plans).
func BenchmarkTrackerSliceUpdates1000(b *testing.B) {
	f := loadFixture(b)
	r := rand.New(rand.NewPCG(3, 4))
	const n = 2000
	orig := make([]*discovery.EndpointSlice, 0, n)
	alt := make([]*discovery.EndpointSlice, 0, n)
	seen := map[*discovery.EndpointSlice]bool{}
	for len(orig) < n {
		s := f.slices[r.IntN(len(f.slices))]
		if !seen[s] {
			seen[s] = true
			orig, alt = append(orig, s), append(alt, mutateSlice(r, s, benchShape))
		}
	}
	flipped := make([]bool, n)
	f.tr.Snapshot()
	var events, snap time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		for range 1000 {
			j := r.IntN(n)
			from, to := orig[j], alt[j]
			if flipped[j] {
				from, to = to, from
			}
			f.tr.OnEndpointSliceUpdate(from, to)
			flipped[j] = !flipped[j]
		}
		t1 := time.Now()
		f.tr.Snapshot()
		events, snap = events+t1.Sub(t0), snap+time.Since(t1)
	}
	b.StopTimer()
	f.report(b)
	b.ReportMetric(float64(events.Microseconds())/1e3/float64(b.N), "events-ms")
	b.ReportMetric(float64(snap.Microseconds())/1e3/float64(b.N), "snapshot-ms")
	for j := range flipped {
		if flipped[j] {
			f.tr.OnEndpointSliceUpdate(alt[j], orig[j])
		}
	}
	f.tr.Snapshot()
}

// newService is a NodePort Service beside genCluster's, with a slice of
// ten endpoints spread over the nodes.
func newService(i int) (*corev1.Service, *discovery.EndpointSlice) {
	name := fmt.Sprintf("new-%05d", i)
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns-new", Name: name},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeNodePort,
			ClusterIP:  fmt.Sprintf("10.98.%d.%d", i/250, 1+i%250),
			ClusterIPs: []string{fmt.Sprintf("10.98.%d.%d", i/250, 1+i%250)},
			Ports:      []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: int32(32768 + i%2768)}},
		},
	}
	sl := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.Namespace, Name: name + "-abcde",
			Labels: map[string]string{discovery.LabelServiceName: name},
		},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(8080))}},
	}
	for j := 0; j < 10; j++ {
		node := (i*10 + j) % (benchShape.Nodes + 1)
		sl.Endpoints = append(sl.Endpoints, discovery.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", 64+node/256, node%256, 250+j%5)},
			NodeName:   ptr(fmt.Sprintf("win-%d", node+1)),
			Conditions: discovery.EndpointConditions{Ready: ptr(true)},
		})
	}
	return s, sl
}

// BenchmarkTrackerServiceAdd: a new Service and its EndpointSlice arrive
// beside the 10,000, then a Snapshot. (Removing it again is not timed.)
func BenchmarkTrackerServiceAdd(b *testing.B) {
	f := loadFixture(b)
	const n = 256
	svcs := make([]*corev1.Service, n)
	sls := make([]*discovery.EndpointSlice, n)
	for i := range svcs {
		svcs[i], sls[i] = newService(i)
	}
	f.tr.Snapshot()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, sl := svcs[i%n], sls[i%n]
		f.tr.OnServiceAdd(s)
		f.tr.OnEndpointSliceAdd(sl)
		if ch := f.tr.Snapshot().Changes; len(ch.AddedLoadBalancers) != 2 {
			b.Fatalf("added %d load balancers, want 2", len(ch.AddedLoadBalancers))
		}
		b.StopTimer()
		f.tr.OnServiceDelete(s.Namespace, s.Name)
		f.tr.OnEndpointSliceDelete(sl.Namespace, sl.Name)
		f.tr.Snapshot()
		b.StartTimer()
	}
	b.StopTimer()
	f.report(b)
}

// BenchmarkTracker1000Events: a batch of 1,000 events (70% slice updates,
// 10% Service updates, 10% Service adds with their slice, 10% Service
// deletes), then a Snapshot and its Plan. Iterations alternate the batch and
// its inverse, so that the cluster stays the same size. x-faster compares
// the batch with one Compute (a proxy that batched the events and
// recomputed once); recomputing per event would cost 1,000 Computes.
func BenchmarkTracker1000Events(b *testing.B) {
	f := loadFixture(b)
	forward, backward := eventBatch(f, 1000, rand.New(rand.NewPCG(5, 6)))
	apply := func(events []trackerEvent) {
		for _, e := range events {
			switch e.op {
			case opServiceAdd:
				f.tr.OnServiceAdd(e.obj.(*corev1.Service))
			case opServiceUpdate:
				f.tr.OnServiceUpdate(e.old.(*corev1.Service), e.obj.(*corev1.Service))
			case opServiceDelete:
				f.tr.OnServiceDelete(e.key.Namespace, e.key.Name)
			case opSliceAdd:
				f.tr.OnEndpointSliceAdd(e.obj.(*discovery.EndpointSlice))
			case opSliceUpdate:
				f.tr.OnEndpointSliceUpdate(e.old.(*discovery.EndpointSlice), e.obj.(*discovery.EndpointSlice))
			case opSliceDelete:
				f.tr.OnEndpointSliceDelete(e.key.Namespace, e.key.Name)
			}
		}
	}
	f.tr.Snapshot().Plan()
	var changed int
	var inChanges, inPlan time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			apply(forward)
		} else {
			apply(backward)
		}
		t0 := time.Now()
		s := f.tr.Snapshot()
		t1 := time.Now()
		p := s.Plan()
		inChanges, inPlan = inChanges+t1.Sub(t0), inPlan+time.Since(t1)
		ch := s.Changes
		changed = len(ch.AddedLoadBalancers) + len(ch.UpdatedLoadBalancers) + len(ch.RemovedLoadBalancers)
		if len(p.LoadBalancers) == 0 {
			b.Fatal("empty plan")
		}
	}
	b.StopTimer()
	f.report(b)
	b.ReportMetric(float64(changed), "LBs-changed/batch")
	b.ReportMetric(float64(inChanges.Microseconds())/1e3/float64(b.N), "Changes-ms")
	b.ReportMetric(float64(inPlan.Microseconds())/1e3/float64(b.N), "Plan-ms")
	if b.N%2 == 1 {
		apply(backward)
		f.tr.Snapshot()
	}
}

// eventBatch returns n events against the fixture's objects and the
// events that undo them, in order.
func eventBatch(f *trackerFixture, n int, r *rand.Rand) (forward, backward []trackerEvent) {
	curSlice := map[int]*discovery.EndpointSlice{}
	curSvc := map[int]*corev1.Service{}
	deleted := map[int]bool{}
	var undo []trackerEvent
	added := 0
	for len(forward) < n {
		switch k := r.IntN(10); {
		case k < 7:
			i := r.IntN(len(f.slices))
			old := f.slices[i]
			if c, ok := curSlice[i]; ok {
				old = c
			}
			s := mutateSlice(r, old, benchShape)
			curSlice[i] = s
			forward = append(forward, trackerEvent{op: opSliceUpdate, obj: s, old: old})
			undo = append(undo, trackerEvent{op: opSliceUpdate, obj: old, old: s})
		case k < 8:
			i := r.IntN(len(f.svcs))
			if deleted[i] {
				continue
			}
			old := f.svcs[i]
			if c, ok := curSvc[i]; ok {
				old = c
			}
			s := old.DeepCopy()
			if s.Spec.Type == corev1.ServiceTypeClusterIP {
				s.Spec.Ports[0].Port++
			} else if s.Spec.ExternalTrafficPolicy == "" {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			} else {
				s.Spec.ExternalTrafficPolicy = ""
			}
			curSvc[i] = s
			forward = append(forward, trackerEvent{op: opServiceUpdate, obj: s, old: old})
			undo = append(undo, trackerEvent{op: opServiceUpdate, obj: old, old: s})
		case k < 9:
			s, sl := newService(1000 + added)
			added++
			forward = append(forward, trackerEvent{op: opServiceAdd, obj: s}, trackerEvent{op: opSliceAdd, obj: sl})
			undo = append(undo, trackerEvent{op: opServiceDelete, obj: s, key: nameOf(s)}, trackerEvent{op: opSliceDelete, obj: sl, key: nameOf(sl)})
		default:
			i := r.IntN(len(f.svcs))
			if deleted[i] {
				continue
			}
			deleted[i] = true
			s := f.svcs[i]
			if c, ok := curSvc[i]; ok {
				s = c
			}
			forward = append(forward, trackerEvent{op: opServiceDelete, obj: s, key: nameOf(s)})
			undo = append(undo, trackerEvent{op: opServiceAdd, obj: s})
		}
	}
	forward, undo = forward[:n], undo[:n] // an add with its slice may overshoot
	for i := len(undo) - 1; i >= 0; i-- {
		backward = append(backward, undo[i])
	}
	return forward, backward
}

// BenchmarkTrackerLoad feeds the whole cluster to a new Tracker as add
// events (an informer's initial list) and takes the first Snapshot and
// its Plan.
func BenchmarkTrackerLoad(b *testing.B) {
	f := loadFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr, _ := lbpolicy.NewTracker(f.node)
		for _, s := range f.svcs {
			tr.OnServiceAdd(s)
		}
		for _, s := range f.slices {
			tr.OnEndpointSliceAdd(s)
		}
		tr.Snapshot().Plan()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
	b.ReportMetric(float64(f.compute.Microseconds())/1e3, "compute-ms")
}
