package lbpolicy

import (
	"net/netip"
)

// planCache holds what it takes to build the plan of any Snapshot still
// held, on first use, without copying a plan per Snapshot:
//
//   - base, the newest plan built while its Snapshot was the latest, and
//     dirty, the keys, IPs and diagnostics that changed between that
//     Snapshot and the latest one;
//   - per Snapshot, once the next one is taken and until its plan is
//     built, the change log of the time in between: what changed after
//     it, with the values it had then, and a link to the next Snapshot.
//
// A Snapshot's plan is then the nearest later built plan with what changed
// in between put back to its values then, or base with the dirty entries
// brought to their values then: the first value noted in a log after the
// Snapshot, or, if none, the value now. Links go from older Snapshots to
// newer ones only, so the logs of Snapshots no one holds are garbage: an
// applier that uses only the changes keeps nothing but base and dirty.
//
// An applier that seldom builds a plan (hnsadapter's SyncSnapshot builds
// one only for a full sync, every few minutes) need not pay for keeping
// base, a copy of every load balancer and endpoint: after dropAfter
// Snapshots without a plan built, base goes, and the next plan is made
// from the claims (sorted, as for the first Snapshot) instead of patched.
// Everything is guarded by the Tracker's lock.
type planCache struct {
	latest *planStep // nil before the first Snapshot
	base   Plan
	dirty  keySet
	// noBase: base was dropped (dirty is then not kept); unbuilt counts
	// the Snapshots since a plan was last built.
	noBase  bool
	unbuilt int
}

// dropAfter is how many Snapshots without a plan built make the cache drop
// base.
const dropAfter = 16

// planStep is one Snapshot's plan, or how to build it.
type planStep struct {
	built bool
	plan  Plan // once built
	// Once the next Snapshot is taken, until built: it, and what changed
	// in between, with the values at this Snapshot.
	next  *planStep
	after notes
	// Room for after's notes of a Snapshot that follows one event, made
	// with the step rather than apart.
	lbRoom [2]note[Key, *LoadBalancer]
	epRoom [2]note[netip.Addr, endpointState]
}

// keySet holds keys, IPs and diagnostics.
type keySet struct {
	lbs   map[Key]struct{}
	ips   map[netip.Addr]struct{}
	diags map[Diagnostic]struct{}
}

// add adds what v holds values of.
func (s *keySet) add(v *values) {
	s.lbs = addKeys(s.lbs, v.lbs)
	s.ips = addKeys(s.ips, v.eps)
	s.diags = addKeys(s.diags, v.diags)
}

// addNotes adds the keys of ns.
func (s *keySet) addNotes(ns *notes) {
	s.lbs = addNoted(s.lbs, ns.lbs)
	s.ips = addNoted(s.ips, ns.eps)
	s.diags = addNoted(s.diags, ns.diags)
}

func addNoted[K comparable, V any](set map[K]struct{}, ns []note[K, V]) map[K]struct{} {
	if len(ns) > 0 && set == nil {
		set = make(map[K]struct{}, len(ns))
	}
	for _, n := range ns {
		set[n.key] = struct{}{}
	}
	return set
}

// reset empties the set.
func (s *keySet) reset() {
	s.lbs = resetMap(s.lbs)
	s.ips = resetMap(s.ips)
	s.diags = resetMap(s.diags)
}

func addKeys[K comparable, V any](set map[K]struct{}, m map[K]V) map[K]struct{} {
	if len(m) > 0 && set == nil {
		set = make(map[K]struct{}, len(m))
	}
	for k := range m {
		set[k] = struct{}{}
	}
	return set
}

// next returns the step of a new Snapshot whose changes are ch and starts
// log's next period. The first Snapshot's plan is built at once: it is
// what ch adds, already sorted. A Snapshot without changes shares the
// latest step.
func (c *planCache) next(ch *Changes, log *changeLog) *planStep {
	if c.latest == nil {
		s := &planStep{built: true, plan: emptyPlan()}
		if ch.AddedLoadBalancers != nil {
			s.plan.LoadBalancers = ch.AddedLoadBalancers
		}
		if ch.AddedEndpoints != nil {
			s.plan.Endpoints = ch.AddedEndpoints
		}
		if ch.AddedDiagnostics != nil {
			s.plan.Diagnostics = ch.AddedDiagnostics
		}
		c.latest, c.base = s, s.plan
		log.reset()
		return s
	}
	if c.unbuilt++; c.unbuilt >= dropAfter && !c.noBase {
		c.base, c.noBase = Plan{}, true
		c.dirty.reset()
	}
	if !c.noBase {
		c.dirty.addNotes(&log.listed)
	}
	if ch.Empty() {
		log.reset()
		return c.latest
	}
	s := &planStep{}
	if c.latest.built {
		log.reset() // no plan will need the log
	} else {
		c.latest.next, c.latest.after = s, log.detach(c.latest.lbRoom[:0], c.latest.epRoom[:0])
	}
	c.latest = s
	return s
}

// plan returns s's plan, building it if need be, from the claims now and
// the log since the latest Snapshot.
func (c *planCache) plan(s *planStep, cl *claims, log *changeLog) Plan {
	if s.built {
		return s.plan
	}
	// The values at s of what changed after it: the first noted.
	var then values
	j := s
	for !j.built {
		if j == c.latest {
			then.lbs = addFirst(then.lbs, log.listed.lbs)
			then.eps = addFirst(then.eps, log.listed.eps)
			then.diags = addFirst(then.diags, log.listed.diags)
			break
		}
		then.lbs = addFirst(then.lbs, j.after.lbs)
		then.eps = addFirst(then.eps, j.after.eps)
		then.diags = addFirst(then.diags, j.after.diags)
		j = j.next
	}
	if j.built {
		var changed keySet
		changed.add(&then)
		s.plan = patch(j.plan, &changed, &then, nil)
	} else {
		s.plan = c.fromLatest(&then, cl)
	}
	c.unbuilt = 0
	s.built, s.next, s.after = true, nil, notes{}
	if s == c.latest {
		c.base, c.noBase = s.plan, false
		c.dirty.reset()
	}
	return s.plan
}

// fromLatest returns the plan of a Snapshot whose values, where they
// differ from the claims now, are then: base with the dirty entries and
// then's brought to their values at the Snapshot, or, without base, the
// claims' plan with then's entries put back.
func (c *planCache) fromLatest(then *values, cl *claims) Plan {
	if !c.noBase {
		return patch(c.base, &c.dirty, then, cl)
	}
	ch := everything(cl)
	now := emptyPlan()
	if ch.AddedLoadBalancers != nil {
		now.LoadBalancers = ch.AddedLoadBalancers
	}
	if ch.AddedEndpoints != nil {
		now.Endpoints = ch.AddedEndpoints
	}
	if ch.AddedDiagnostics != nil {
		now.Diagnostics = ch.AddedDiagnostics
	}
	var changed keySet
	changed.add(then)
	return patch(now, &changed, then, nil)
}

// addFirst adds to m the notes of keys it lacks.
func addFirst[K comparable, V any](m map[K]V, from []note[K, V]) map[K]V {
	if len(from) > 0 && m == nil {
		m = make(map[K]V, len(from))
	}
	for _, n := range from {
		if _, ok := m[n.key]; !ok {
			m[n.key] = n.val
		}
	}
	return m
}

// patch returns p with the entries of what keys holds set to their value
// in then or, where then has none, in the claims now (cl may be nil when
// then has them all), or dropped where that value is none. The lists
// nothing changed in are p's own, shared.
func patch(p Plan, keys *keySet, then *values, cl *claims) Plan {
	if len(keys.lbs) > 0 {
		p.LoadBalancers = mergeSorted(p.LoadBalancers, sortedKeys(keys.lbs, Key.Compare), (*LoadBalancer).Key, Key.Compare,
			func(k Key) (LoadBalancer, bool) {
				lb, ok := then.lbs[k]
				if !ok {
					lb = cl.winner(k)
				}
				if lb == nil {
					return LoadBalancer{}, false
				}
				return *lb, true
			})
	}
	if len(keys.ips) > 0 {
		p.Endpoints = mergeSorted(p.Endpoints, sortedKeys(keys.ips, netip.Addr.Compare), func(e *Endpoint) netip.Addr { return e.IP },
			netip.Addr.Compare, func(ip netip.Addr) (Endpoint, bool) {
				st, ok := then.eps[ip]
				if !ok {
					st = cl.endpoint(ip)
				}
				return st.ep, st.ok
			})
	}
	if len(keys.diags) > 0 {
		p.Diagnostics = mergeSorted(p.Diagnostics, sortedKeys(keys.diags, compareDiagnostics), func(d *Diagnostic) Diagnostic { return *d },
			compareDiagnostics, func(d Diagnostic) (Diagnostic, bool) {
				had, ok := then.diags[d]
				if !ok {
					had = cl.diags[d] > 0
				}
				return d, had
			})
	}
	return p
}

// emptyPlan is the plan of nothing, with empty lists (JSON [], as
// Compute's).
func emptyPlan() Plan {
	return Plan{LoadBalancers: []LoadBalancer{}, Endpoints: []Endpoint{}, Diagnostics: []Diagnostic{}}
}
