package lbpolicy

import (
	"net/netip"
	"slices"
	"sort"
)

// Changes is how a plan changed between two Tracker Snapshots (or two
// plans, see Diff): what an applier must create, update and delete. Load balancers are identified
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
func (c *Changes) Empty() bool { return c.size() == 0 }

// size is the number of entries in c.
func (c *Changes) size() int {
	return len(c.AddedLoadBalancers) + len(c.UpdatedLoadBalancers) + len(c.RemovedLoadBalancers) +
		len(c.AddedEndpoints) + len(c.UpdatedEndpoints) + len(c.RemovedEndpoints) +
		len(c.AddedDiagnostics) + len(c.RemovedDiagnostics)
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
// go. p is not modified. Applying a Snapshot's Changes to the previous
// Snapshot's Plan gives its Plan.
func (c *Changes) Apply(p Plan) Plan {
	return Plan{
		LoadBalancers: c.applyLoadBalancers(p.LoadBalancers),
		Endpoints:     c.applyEndpoints(p.Endpoints),
		Diagnostics:   c.applyDiagnostics(p.Diagnostics),
	}
}

// applyLoadBalancers returns a new list: prev with c's load balancers
// applied. Of several entries for one key, the first counts.
func (c *Changes) applyLoadBalancers(prev []LoadBalancer) []LoadBalancer {
	type lbChange struct {
		k  Key
		lb *LoadBalancer // nil: removed
	}
	var lbs []lbChange
	for i := range c.AddedLoadBalancers {
		lbs = append(lbs, lbChange{c.AddedLoadBalancers[i].Key(), &c.AddedLoadBalancers[i]})
	}
	for i := range c.UpdatedLoadBalancers {
		lbs = append(lbs, lbChange{c.UpdatedLoadBalancers[i].Key(), &c.UpdatedLoadBalancers[i]})
	}
	for _, k := range c.RemovedLoadBalancers {
		lbs = append(lbs, lbChange{k: k})
	}
	slices.SortStableFunc(lbs, func(a, b lbChange) int { return a.k.Compare(b.k) })
	lbs = slices.CompactFunc(lbs, func(a, b lbChange) bool { return a.k == b.k })
	lbKeys := make([]Key, len(lbs))
	for i := range lbs {
		lbKeys[i] = lbs[i].k
	}
	return mergeSorted(prev, lbKeys, (*LoadBalancer).Key, Key.Compare, func(k Key) (LoadBalancer, bool) {
		i, _ := slices.BinarySearchFunc(lbs, k, func(c lbChange, k Key) int { return c.k.Compare(k) })
		if lbs[i].lb == nil {
			return LoadBalancer{}, false
		}
		return *lbs[i].lb, true
	})
}

// applyEndpoints returns a new list: prev with c's endpoints applied. Of
// several entries for one IP, the last counts (removals last).
func (c *Changes) applyEndpoints(prev []Endpoint) []Endpoint {
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
	return mergeSorted(prev, sortedKeys(eps, netip.Addr.Compare), func(e *Endpoint) netip.Addr { return e.IP },
		netip.Addr.Compare, func(ip netip.Addr) (Endpoint, bool) { return eps[ip].ep, eps[ip].ok })
}

// applyDiagnostics returns a new list: prev with c's diagnostics applied.
func (c *Changes) applyDiagnostics(prev []Diagnostic) []Diagnostic {
	diags := map[Diagnostic]bool{}
	for _, d := range c.AddedDiagnostics {
		diags[d] = true
	}
	for _, d := range c.RemovedDiagnostics {
		diags[d] = false
	}
	return mergeSorted(prev, sortedKeys(diags, compareDiagnostics), func(d *Diagnostic) Diagnostic { return *d },
		compareDiagnostics, func(d Diagnostic) (Diagnostic, bool) { return d, diags[d] })
}

// Diff returns what changed from plan before to plan after, as a
// Tracker's Snapshot would report it: the changes an applier that
// recomputes whole plans (with Compute) can hand to a reconciler that
// applies change sets.
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

func sortedKeys[K comparable, V any](m map[K]V, compare func(K, K) int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compare)
	return out
}

// mergeSorted returns a new slice: prev (sorted by key) with the elements
// whose keys are in dirty (sorted) replaced by current's value, or dropped
// where current has none. prev is not modified.
func mergeSorted[T, K any](prev []T, dirty []K, key func(*T) K, compare func(K, K) int, current func(K) (T, bool)) []T {
	out := make([]T, 0, len(prev)+len(dirty))
	i := 0
	for _, k := range dirty {
		j := i + sort.Search(len(prev)-i, func(n int) bool { return compare(key(&prev[i+n]), k) >= 0 })
		out = append(out, prev[i:j]...)
		i = j
		if i < len(prev) && compare(key(&prev[i]), k) == 0 {
			i++
		}
		if v, ok := current(k); ok {
			out = append(out, v)
		}
	}
	return append(out, prev[i:]...)
}
