package lbpolicy

import (
	"net/netip"
	"slices"
)

// LoadBalancer returns the load balancer with key k in the Snapshot's
// plan, without building the plan: what a sync of the Snapshot's changes
// looks up. It costs a map lookup when the Snapshot is the newest (or
// its plan is built), plus one scan of the short change log of each later
// Snapshot otherwise. The load balancer is shared: treat it as read-only.
// The zero Snapshot holds none.
func (s Snapshot) LoadBalancer(k Key) (*LoadBalancer, bool) {
	if s.step == nil {
		return nil, false
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	lb := s.t.plans.loadBalancerAt(s.step, k, &s.t.claims, &s.t.log)
	return lb, lb != nil
}

// Endpoint returns the endpoint with IP ip in the Snapshot's plan, without
// building the plan, like LoadBalancer. The zero Snapshot holds none.
func (s Snapshot) Endpoint(ip netip.Addr) (Endpoint, bool) {
	if s.step == nil {
		return Endpoint{}, false
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	st := s.t.plans.endpointAt(s.step, ip, &s.t.claims, &s.t.log)
	return st.ep, st.ok
}

// loadBalancerAt returns k's load balancer in s's plan (valueAt).
func (c *planCache) loadBalancerAt(s *planStep, k Key, cl *claims, log *changeLog) *LoadBalancer {
	return valueAt(c, s, k, log.firstLB, func(n *notes) []note[Key, *LoadBalancer] { return n.lbs },
		func(p *Plan) *LoadBalancer {
			i, ok := slices.BinarySearchFunc(p.LoadBalancers, k, func(lb LoadBalancer, k Key) int { return lb.Key().Compare(k) })
			if !ok {
				return nil
			}
			return &p.LoadBalancers[i]
		},
		func() *LoadBalancer { return cl.winner(k) })
}

// endpointAt returns ip's endpoint in s's plan (valueAt).
func (c *planCache) endpointAt(s *planStep, ip netip.Addr, cl *claims, log *changeLog) endpointState {
	return valueAt(c, s, ip, log.firstEndpoint, func(n *notes) []note[netip.Addr, endpointState] { return n.eps },
		func(p *Plan) endpointState {
			i, ok := slices.BinarySearchFunc(p.Endpoints, ip, func(e Endpoint, ip netip.Addr) int { return e.IP.Compare(ip) })
			if !ok {
				return endpointState{}
			}
			return endpointState{ep: p.Endpoints[i], ok: true}
		},
		func() endpointState { return cl.endpoint(ip) })
}

// valueAt returns k's value in s's plan: the first value noted for k in a
// change log after s (logged, the latest log's notes; after, a detached
// log's), or k's in the nearest later built plan (inPlan), or, if nothing
// noted k since, its value now. This is what plan does for every key,
// done for one.
func valueAt[K comparable, V any](c *planCache, s *planStep, k K, logged func(K) (V, bool),
	after func(*notes) []note[K, V], inPlan func(*Plan) V, now func() V,
) V {
	for j := s; ; j = j.next {
		if j.built {
			return inPlan(&j.plan)
		}
		if j == c.latest {
			if v, ok := logged(k); ok {
				return v
			}
			return now()
		}
		for _, n := range after(&j.after) {
			if n.key == k {
				return n.val
			}
		}
	}
}
