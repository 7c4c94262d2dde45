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
	lbs  map[lbpolicy.Key]*lbpolicy.LoadBalancer // nil: plan.LoadBalancers is sorted by key
	eps  map[netip.Addr]*lbpolicy.Endpoint       // nil: plan.Endpoints is sorted by IP
}

// newPlanMaps indexes every endpoint of plan in a map, as a full sync
// needs them all; load balancers are searched.
func newPlanMaps(plan *lbpolicy.Plan) planIndex {
	x := planIndex{plan: plan, eps: make(map[netip.Addr]*lbpolicy.Endpoint, len(plan.Endpoints))}
	for i := range plan.Endpoints {
		ep := &plan.Endpoints[i]
		if ip := ep.IP.Unmap(); ip.IsValid() && x.eps[ip] == nil {
			x.eps[ip] = ep // the first of each IP
		}
	}
	if !lbsSorted(plan.LoadBalancers) {
		x.indexLBs()
	}
	return x
}

// newPlanIndex indexes plan for a few lookups.
func newPlanIndex(plan *lbpolicy.Plan) planIndex {
	x := planIndex{plan: plan}
	if !lbsSorted(plan.LoadBalancers) {
		x.indexLBs()
	}
	if !slices.IsSortedFunc(plan.Endpoints, func(a, b lbpolicy.Endpoint) int { return a.IP.Unmap().Compare(b.IP.Unmap()) }) {
		x = newPlanMaps(plan)
	}
	return x
}

func lbsSorted(lbs []lbpolicy.LoadBalancer) bool {
	return slices.IsSortedFunc(lbs, func(a, b lbpolicy.LoadBalancer) int { return a.Key().Compare(b.Key()) })
}

func (x *planIndex) indexLBs() {
	x.lbs = make(map[lbpolicy.Key]*lbpolicy.LoadBalancer, len(x.plan.LoadBalancers))
	for i := range x.plan.LoadBalancers {
		lb := &x.plan.LoadBalancers[i]
		if k := lb.Key(); x.lbs[k] == nil {
			x.lbs[k] = lb // the first of each key
		}
	}
}

// loadBalancer returns the plan's (first) load balancer with key k, or nil.
func (x *planIndex) loadBalancer(k lbpolicy.Key) *lbpolicy.LoadBalancer {
	if x.lbs != nil {
		return x.lbs[k]
	}
	lbs := x.plan.LoadBalancers
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
