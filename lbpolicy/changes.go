package lbpolicy

import (
	"net/netip"
	"slices"
)

// Changes is how a plan changed between two calls of Tracker.Changes: what
// an applier must create, update and delete. Load balancers are identified
// by Key and endpoints by IP, as in HNS; a load balancer or endpoint is
// updated when any field differs (for a load balancer, Service and Port
// included). Every list is sorted like the corresponding Plan list.
type Changes struct {
	// AddedLoadBalancers are on keys that had no load balancer.
	AddedLoadBalancers []LoadBalancer `json:"addedLoadBalancers,omitempty"`
	// UpdatedLoadBalancers are the new values for keys whose load
	// balancer differs.
	UpdatedLoadBalancers []LoadBalancer `json:"updatedLoadBalancers,omitempty"`
	// RemovedLoadBalancers are the keys that no longer have one.
	RemovedLoadBalancers []Key `json:"removedLoadBalancers,omitempty"`

	// AddedEndpoints are on IPs that had no endpoint.
	AddedEndpoints []Endpoint `json:"addedEndpoints,omitempty"`
	// UpdatedEndpoints are the new values for IPs whose endpoint differs.
	UpdatedEndpoints []Endpoint `json:"updatedEndpoints,omitempty"`
	// RemovedEndpoints are the IPs that no longer have one.
	RemovedEndpoints []netip.Addr `json:"removedEndpoints,omitempty"`

	// AddedDiagnostics and RemovedDiagnostics are the diagnostics that
	// appeared and disappeared.
	AddedDiagnostics   []Diagnostic `json:"addedDiagnostics,omitempty"`
	RemovedDiagnostics []Diagnostic `json:"removedDiagnostics,omitempty"`
}

// Empty reports whether nothing changed.
func (c *Changes) Empty() bool {
	return len(c.AddedLoadBalancers) == 0 && len(c.UpdatedLoadBalancers) == 0 && len(c.RemovedLoadBalancers) == 0 &&
		len(c.AddedEndpoints) == 0 && len(c.UpdatedEndpoints) == 0 && len(c.RemovedEndpoints) == 0 &&
		len(c.AddedDiagnostics) == 0 && len(c.RemovedDiagnostics) == 0
}

func (c *Changes) sort() {
	byKey := func(a, b LoadBalancer) int { return a.Key().Compare(b.Key()) }
	byIP := func(a, b Endpoint) int { return a.IP.Compare(b.IP) }
	slices.SortFunc(c.AddedLoadBalancers, byKey)
	slices.SortFunc(c.UpdatedLoadBalancers, byKey)
	slices.SortFunc(c.RemovedLoadBalancers, Key.Compare)
	slices.SortFunc(c.AddedEndpoints, byIP)
	slices.SortFunc(c.UpdatedEndpoints, byIP)
	slices.SortFunc(c.RemovedEndpoints, netip.Addr.Compare)
	slices.SortFunc(c.AddedDiagnostics, compareDiagnostics)
	slices.SortFunc(c.RemovedDiagnostics, compareDiagnostics)
}

// Apply returns the plan p becomes with c applied: added and updated
// entries replace or join those of their key, IP or value, removed ones
// go. p is not modified. Applying a Tracker's Changes to the plan of the
// previous call gives the Tracker's current Plan.
func (c *Changes) Apply(p Plan) Plan {
	type lbChange struct {
		k  lbKey
		lb *LoadBalancer // nil: removed
	}
	var lbs []lbChange
	for i := range c.AddedLoadBalancers {
		lbs = append(lbs, lbChange{keyOf(&c.AddedLoadBalancers[i]), &c.AddedLoadBalancers[i]})
	}
	for i := range c.UpdatedLoadBalancers {
		lbs = append(lbs, lbChange{keyOf(&c.UpdatedLoadBalancers[i]), &c.UpdatedLoadBalancers[i]})
	}
	for _, k := range c.RemovedLoadBalancers {
		lbs = append(lbs, lbChange{k: lbKey{v6: k.Family == IPv6, vip: k.VIP, proto: k.Protocol, port: k.Port}})
	}
	slices.SortStableFunc(lbs, func(a, b lbChange) int { return compareLBKeys(a.k, b.k) })
	lbs = slices.CompactFunc(lbs, func(a, b lbChange) bool { return a.k == b.k })
	lbKeys := make([]lbKey, len(lbs))
	for i := range lbs {
		lbKeys[i] = lbs[i].k
	}
	out := Plan{}
	out.LoadBalancers = mergeSorted(p.LoadBalancers, lbKeys, keyOf, compareLBKeys, func(k lbKey) (LoadBalancer, bool) {
		i, _ := slices.BinarySearchFunc(lbs, k, func(c lbChange, k lbKey) int { return compareLBKeys(c.k, k) })
		if lbs[i].lb == nil {
			return LoadBalancer{}, false
		}
		return *lbs[i].lb, true
	})

	eps := map[netip.Addr]endpointState{}
	for _, e := range c.AddedEndpoints {
		eps[e.IP] = endpointState{ep: e, ok: true}
	}
	for _, e := range c.UpdatedEndpoints {
		eps[e.IP] = endpointState{ep: e, ok: true}
	}
	for _, ip := range c.RemovedEndpoints {
		eps[ip] = endpointState{}
	}
	out.Endpoints = mergeSorted(p.Endpoints, sortedKeys(eps, netip.Addr.Compare), func(e *Endpoint) netip.Addr { return e.IP },
		netip.Addr.Compare, func(ip netip.Addr) (Endpoint, bool) { return eps[ip].ep, eps[ip].ok })

	diags := map[Diagnostic]bool{}
	for _, d := range c.AddedDiagnostics {
		diags[d] = true
	}
	for _, d := range c.RemovedDiagnostics {
		diags[d] = false
	}
	out.Diagnostics = mergeSorted(p.Diagnostics, sortedKeys(diags, compareDiagnostics), func(d *Diagnostic) Diagnostic { return *d },
		compareDiagnostics, func(d Diagnostic) (Diagnostic, bool) { return d, diags[d] })
	return out
}

// Diff returns what changed from plan before to plan after, as Tracker's
// Changes would report it: the changes an applier that recomputes whole
// plans (with Compute) can hand to a reconciler that applies change sets.
// Load balancers are matched by key and endpoints by IP; where a plan
// holds several entries for one key or IP (never one from Compute or a
// Tracker), the first counts. Diff costs O(n log n) in the plans' sizes
// and does not modify them.
func Diff(before, after *Plan) Changes {
	var ch Changes
	lbsBefore := make(map[Key]*LoadBalancer, len(before.LoadBalancers))
	for i := range before.LoadBalancers {
		lb := &before.LoadBalancers[i]
		if _, dup := lbsBefore[lb.Key()]; !dup {
			lbsBefore[lb.Key()] = lb
		}
	}
	seen := make(map[Key]bool, len(after.LoadBalancers))
	for i := range after.LoadBalancers {
		lb := &after.LoadBalancers[i]
		k := lb.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		switch old, ok := lbsBefore[k]; {
		case !ok:
			ch.AddedLoadBalancers = append(ch.AddedLoadBalancers, *lb)
		case !equalLoadBalancers(old, lb):
			ch.UpdatedLoadBalancers = append(ch.UpdatedLoadBalancers, *lb)
		}
	}
	for k := range lbsBefore {
		if !seen[k] {
			ch.RemovedLoadBalancers = append(ch.RemovedLoadBalancers, k)
		}
	}

	epsBefore := make(map[netip.Addr]*Endpoint, len(before.Endpoints))
	for i := range before.Endpoints {
		if ep := &before.Endpoints[i]; epsBefore[ep.IP] == nil {
			epsBefore[ep.IP] = ep
		}
	}
	seenIPs := make(map[netip.Addr]bool, len(after.Endpoints))
	for i := range after.Endpoints {
		ep := &after.Endpoints[i]
		if seenIPs[ep.IP] {
			continue
		}
		seenIPs[ep.IP] = true
		switch old := epsBefore[ep.IP]; {
		case old == nil:
			ch.AddedEndpoints = append(ch.AddedEndpoints, *ep)
		case *old != *ep:
			ch.UpdatedEndpoints = append(ch.UpdatedEndpoints, *ep)
		}
	}
	for ip := range epsBefore {
		if !seenIPs[ip] {
			ch.RemovedEndpoints = append(ch.RemovedEndpoints, ip)
		}
	}

	diagsBefore := make(map[Diagnostic]bool, len(before.Diagnostics))
	for _, d := range before.Diagnostics {
		diagsBefore[d] = true
	}
	diagsAfter := make(map[Diagnostic]bool, len(after.Diagnostics))
	for _, d := range after.Diagnostics {
		if !diagsAfter[d] && !diagsBefore[d] {
			ch.AddedDiagnostics = append(ch.AddedDiagnostics, d)
		}
		diagsAfter[d] = true
	}
	for d := range diagsBefore {
		if !diagsAfter[d] {
			ch.RemovedDiagnostics = append(ch.RemovedDiagnostics, d)
		}
	}
	ch.sort()
	return ch
}
