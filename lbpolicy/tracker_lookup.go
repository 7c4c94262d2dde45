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

// loadBalancerAt returns k's load balancer in s's plan: the first value
// noted for k in a change log after s, or k's in the nearest later built
// plan, or, if nothing noted k since, the winner now. This is what plan
// does for every key, done for one.
func (c *planCache) loadBalancerAt(s *planStep, k Key, cl *claims, log *changeLog) *LoadBalancer {
	for j := s; ; j = j.next {
		if j.built {
			lbs := j.plan.LoadBalancers
			i, ok := slices.BinarySearchFunc(lbs, k, func(lb LoadBalancer, k Key) int { return lb.Key().Compare(k) })
			if !ok {
				return nil
			}
			return &lbs[i]
		}
		if j == c.latest {
			if lb, ok := log.lbs[k]; ok {
				return lb
			}
			return cl.winner(k)
		}
		for _, n := range j.after.lbs {
			if n.key == k {
				return n.val
			}
		}
	}
}

// endpointAt returns ip's endpoint in s's plan, as loadBalancerAt does
// for a key.
func (c *planCache) endpointAt(s *planStep, ip netip.Addr, cl *claims, log *changeLog) endpointState {
	for j := s; ; j = j.next {
		if j.built {
			eps := j.plan.Endpoints
			i, ok := slices.BinarySearchFunc(eps, ip, func(e Endpoint, ip netip.Addr) int { return e.IP.Compare(ip) })
			if !ok {
				return endpointState{}
			}
			return endpointState{ep: eps[i], ok: true}
		}
		if j == c.latest {
			if st, ok := log.eps[ip]; ok {
				return st
			}
			return cl.endpoint(ip)
		}
		for _, n := range j.after.eps {
			if n.key == ip {
				return n.val
			}
		}
	}
}
