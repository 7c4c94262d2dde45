package hnsadapter

import (
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/lbpolicy"
)

// planIndex finds a plan's load balancers by key and endpoints by IP. A
// plan from lbpolicy is sorted by both, so a sync of a few changes
// searches it rather than indexing all of it; any other plan gets maps.
type planIndex struct {
	plan *lbpolicy.Plan
	// lbs is nil while plan.LoadBalancers is searched: sorted by key, as
	// checked at the first lookup (a full sync makes none).
	lbs       map[lbpolicy.Key]*lbpolicy.LoadBalancer
	lbChecked bool
	eps       map[netip.Addr]*lbpolicy.Endpoint // nil: plan.Endpoints is sorted by IP
}

// newPlanMaps indexes every endpoint of plan in a map, as a full sync
// needs them all.
func newPlanMaps(plan *lbpolicy.Plan) planIndex {
	x := planIndex{plan: plan, eps: make(map[netip.Addr]*lbpolicy.Endpoint, len(plan.Endpoints))}
	for i := range plan.Endpoints {
		ep := &plan.Endpoints[i]
		if ip := ep.IP.Unmap(); ip.IsValid() && x.eps[ip] == nil {
			x.eps[ip] = ep // the first of each IP
		}
	}
	return x
}

// newPlanIndex indexes plan for a few lookups.
func newPlanIndex(plan *lbpolicy.Plan) planIndex {
	byIP := func(a, b lbpolicy.Endpoint) int { return a.IP.Unmap().Compare(b.IP.Unmap()) }
	if !slices.IsSortedFunc(plan.Endpoints, byIP) {
		return newPlanMaps(plan)
	}
	return planIndex{plan: plan}
}

// loadBalancer returns the plan's (first) load balancer with key k, or nil.
func (x *planIndex) loadBalancer(k lbpolicy.Key) *lbpolicy.LoadBalancer {
	lbs := x.plan.LoadBalancers
	if !x.lbChecked {
		x.lbChecked = true
		if !slices.IsSortedFunc(lbs, func(a, b lbpolicy.LoadBalancer) int { return a.Key().Compare(b.Key()) }) {
			x.lbs = make(map[lbpolicy.Key]*lbpolicy.LoadBalancer, len(lbs))
			for i := range lbs {
				if k := lbs[i].Key(); x.lbs[k] == nil {
					x.lbs[k] = &lbs[i] // the first of each key
				}
			}
		}
	}
	if x.lbs != nil {
		return x.lbs[k]
	}
	i, ok := slices.BinarySearchFunc(lbs, k, func(lb lbpolicy.LoadBalancer, k lbpolicy.Key) int { return lb.Key().Compare(k) })
	if !ok {
		return nil
	}
	return &lbs[i]
}

// endpoint returns the plan's (first) endpoint with IP ip, or nil.
func (x *planIndex) endpoint(ip netip.Addr) *lbpolicy.Endpoint {
	if x.eps != nil {
		return x.eps[ip]
	}
	eps := x.plan.Endpoints
	i, ok := slices.BinarySearchFunc(eps, ip, func(ep lbpolicy.Endpoint, ip netip.Addr) int { return ep.IP.Unmap().Compare(ip) })
	if !ok || !ip.IsValid() {
		return nil
	}
	return &eps[i]
}
