package lbpolicy_test

import (
	"slices"
	"testing"

	"github.com/hnslb/hnslb/lbpolicy"
)

// A node change of remote subnets alone (a node joined, left, or moved to
// another provider address) changes only remote endpoints, and the
// Tracker's plan and changes stay Compute's; a change of anything else
// with them re-plans as before.
func TestTrackerRemoteSubnetsChange(t *testing.T) {
	shape := clusterShape{Services: 120, Endpoints: 1200, Nodes: 12, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 17)
	base := genNode(shape)
	h := newHarness(t, base)
	h.load(svcs, sls)
	h.check()
	subnets := base.RemoteSubnets
	// Each step from the one before; lbs: whether load balancers may
	// change, eps: whether endpoints must.
	steps := []struct {
		name     string
		subnets  []lbpolicy.RemoteSubnet
		dsrOff   bool
		lbs, eps bool
	}{
		{"node 5 moved", edited(subnets, func(s []lbpolicy.RemoteSubnet) { s[4].ProviderAddress = "10.0.9.9" }), false, false, true},
		{"back, reordered", edited(subnets, slices.Reverse[[]lbpolicy.RemoteSubnet]), false, false, true},
		{"a new node, no pods yet", append(slices.Clone(subnets), lbpolicy.RemoteSubnet{DestinationPrefix: "10.99.0.0/24", ProviderAddress: "10.0.99.1"}), false, false, false},
		// Its pods are in no subnet now: their load balancers get the node IP.
		{"node 3 left", slices.Delete(slices.Clone(subnets), 2, 3), false, true, true},
		{"node 3 back", subnets, false, true, true},
		{"subnets and DSR", subnets[:3], true, true, true},
	}
	for _, st := range steps {
		n := base
		n.RemoteSubnets, n.EnableDSR = st.subnets, !st.dsrOff
		before := h.prev
		h.apply(trackerEvent{op: opSetNode, node: n})
		h.check() // the plan is Compute's, the changes its difference
		ch := lbpolicy.Diff(&before, &h.prev)
		lbs := len(ch.AddedLoadBalancers) + len(ch.UpdatedLoadBalancers) + len(ch.RemovedLoadBalancers)
		eps := len(ch.AddedEndpoints) + len(ch.UpdatedEndpoints) + len(ch.RemovedEndpoints)
		if !st.lbs && lbs != 0 {
			t.Errorf("%s: %d load balancers changed", st.name, lbs)
		}
		if st.eps != (eps > 0) {
			t.Errorf("%s: %d endpoints changed", st.name, eps)
		}
	}
}

// edited returns a copy of subnets changed by f.
func edited(subnets []lbpolicy.RemoteSubnet, f func([]lbpolicy.RemoteSubnet)) []lbpolicy.RemoteSubnet {
	s := slices.Clone(subnets)
	f(s)
	return s
}
