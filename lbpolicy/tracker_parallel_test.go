package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// A Tracker that plans its Snapshots' Services on several goroutines gives
// the Snapshots, changes and plans of one that plans them one by one, and
// Compute's plans: through a load in batches, batches of live edits, and
// node changes (the remote subnets alone, and all of it).
func TestTrackerParallelPlanning(t *testing.T) {
	shape := clusterShape{Services: 150, Endpoints: 1500, Nodes: 20, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 7)
	dual := with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true })
	for _, node := range []lbpolicy.Node{genNode(shape), dual} {
		h := newHarness(t, node)
		lbpolicy.ForcePlanWorkers(h.tr, 3)
		seq, err := lbpolicy.NewTracker(node)
		if err != nil {
			t.Fatal(err)
		}
		lbpolicy.ForcePlanWorkers(seq, 1)
		step := func(e trackerEvent) {
			h.apply(e)
			deliver(seq, e)
		}
		var load []trackerEvent
		for _, s := range svcs {
			load = append(load, trackerEvent{op: opServiceAdd, obj: s})
		}
		for _, s := range sls {
			load = append(load, trackerEvent{op: opSliceAdd, obj: s})
		}
		r := rand.New(rand.NewPCG(7, 7))
		r.Shuffle(len(load), func(i, j int) { load[i], load[j] = load[j], load[i] })
		for i, e := range load {
			step(e)
			if i%97 == 0 {
				compareTrackers(t, h, seq)
			}
		}
		compareTrackers(t, h, seq)
		for round := 1; round <= 60; round++ {
			for range 1 + r.IntN(40) {
				step(liveEvent(r, h, shape))
			}
			if round%20 == 0 {
				n := h.node
				if round == 40 {
					n.EnableDSR = !n.EnableDSR // everything re-planned
				} else {
					n.RemoteSubnets = slices.Delete(slices.Clone(n.RemoteSubnets), 0, min(2, len(n.RemoteSubnets)))
				}
				step(trackerEvent{op: opSetNode, node: n})
			}
			compareTrackers(t, h, seq)
		}
	}
}

// deliver hands e to tr through its typed methods.
func deliver(tr *lbpolicy.Tracker, e trackerEvent) {
	switch e.op {
	case opServiceAdd, opServiceUpdate:
		old, _ := e.old.(*corev1.Service)
		tr.OnServiceUpdate(old, e.obj.(*corev1.Service))
	case opServiceDelete:
		tr.OnServiceDelete(e.key.Namespace, e.key.Name)
	case opSliceAdd, opSliceUpdate:
		old, _ := e.old.(*discovery.EndpointSlice)
		tr.OnEndpointSliceUpdate(old, e.obj.(*discovery.EndpointSlice))
	case opSliceDelete:
		tr.OnEndpointSliceDelete(e.key.Namespace, e.key.Name)
	case opSetNode:
		_ = tr.SetNode(e.node) // an invalid node: rejected by both
	}
}

// compareTrackers takes a Snapshot of h's Tracker and of seq, which must
// have the same changes and plan, Compute's.
func compareTrackers(t *testing.T, h *trackerHarness, seq *lbpolicy.Tracker) {
	t.Helper()
	got, want := h.tr.Snapshot(), seq.Snapshot()
	gotJSON, _ := json.Marshal(got.Changes)
	wantJSON, _ := json.Marshal(want.Changes)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("Changes planned in parallel differ from one by one:\n%s", jsonDiff(wantJSON, gotJSON))
	}
	gotJSON, _ = json.Marshal(got.Plan())
	wantJSON, _ = json.Marshal(want.Plan())
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("the plan planned in parallel differs from one by one:\n%s", jsonDiff(wantJSON, gotJSON))
	}
	computeJSON, _ := json.Marshal(h.want())
	if !bytes.Equal(gotJSON, computeJSON) {
		t.Fatalf("the plan planned in parallel differs from Compute:\n%s", jsonDiff(computeJSON, gotJSON))
	}
}
