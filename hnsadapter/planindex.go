package hnsadapter

import (
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/lbpolicy"
)

// planIndex finds the plan's load balancers by key and endpoints by IP. A
// full sync indexes the whole plan (newPlanMaps). A sync of changes makes
// few lookups: it asks the Tracker's Snapshot, which
// answers without building the plan, or searches a plan from lbpolicy,
// which is sorted by key and IP (newPlanIndex); any other plan gets maps.
type planIndex struct {
	plan *lbpolicy.Plan // nil when snap answers
	// snap is a copy, so that the caller's Snapshot stays on its stack.
	snap    lbpolicy.Snapshot
	hasSnap bool
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

// newPlanIndex indexes plan, or when it is nil, snap's plan, for a few
// lookups.
func newPlanIndex(plan *lbpolicy.Plan, snap *lbpolicy.Snapshot) planIndex {
	if plan == nil {
		return planIndex{snap: *snap, hasSnap: true}
	}
	byIP := func(a, b lbpolicy.Endpoint) int { return a.IP.Unmap().Compare(b.IP.Unmap()) }
	if !slices.IsSortedFunc(plan.Endpoints, byIP) {
		return newPlanMaps(plan)
	}
	return planIndex{plan: plan}
}

// loadBalancer returns the plan's (first) load balancer with key k, or nil.
func (x *planIndex) loadBalancer(k lbpolicy.Key) *lbpolicy.LoadBalancer {
	if x.hasSnap {
		lb, _ := x.snap.LoadBalancer(k)
		return lb
	}
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

// endpoint returns the plan's (first) endpoint with IP ip. Where only
// whether there is one matters, hasEndpoint costs less.
func (x *planIndex) endpoint(ip netip.Addr) (lbpolicy.Endpoint, bool) {
	if x.hasSnap {
		return x.snap.Endpoint(ip)
	}
	if ep := x.planEndpoint(ip); ep != nil {
		return *ep, true
	}
	return lbpolicy.Endpoint{}, false
}

// hasEndpoint reports whether the plan has an endpoint with IP ip.
func (x *planIndex) hasEndpoint(ip netip.Addr) bool {
	if x.hasSnap {
		_, ok := x.snap.Endpoint(ip)
		return ok
	}
	return x.planEndpoint(ip) != nil
}

// planEndpoint returns plan's (first) endpoint with IP ip, or nil: the
// entry itself, which a full sync tells apart from later ones of the IP.
func (x *planIndex) planEndpoint(ip netip.Addr) *lbpolicy.Endpoint {
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
