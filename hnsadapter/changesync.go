package hnsadapter

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/lbpolicy"
)

// changeScope is what a sync of changes looks at: what the change set
// names, what earlier syncs left unfinished, and the endpoints of the
// backends of those load balancers.
type changeScope struct {
	// lbs are the keys in scope, sorted and distinct.
	lbs []scopedKey
	// ips holds the IPs in scope, and why; named those that are
	// ipNamed, for the many lookups that find none.
	ips   map[netip.Addr]ipScope
	named *ipFilter
	// given holds the plan endpoints a Snapshot's change set gives for
	// the IPs it names (its plan's values): no lookup needed.
	given map[netip.Addr]*lbpolicy.Endpoint
	wants []lbpolicy.Endpoint
	// endpoints are owned endpoints (idKey form) whose delete is
	// unfinished.
	endpoints []string
	// listEndpoints: a load balancer in scope has a local backend the
	// view lacks (see scopeOf).
	listEndpoints bool
}

// scopedKey is a key in a sync of changes' scope.
type scopedKey struct {
	key lbpolicy.Key
	// plan is the plan's load balancer with key (nil: none).
	plan *lbpolicy.LoadBalancer
	// changed: the change set names key (else an earlier sync left it
	// unfinished, or phase 1 moved its load balancer).
	changed bool
	// known is what its backends resolved to before, as scopeOf found
	// it (resolved.go): phase 2 checks that it still holds.
	known *resolvedLB
}

// ipScope says why an IP is in a sync of changes' scope.
type ipScope uint8

const (
	// ipNamed: the change set names the IP, or an earlier sync left it
	// unfinished.
	ipNamed ipScope = 1 << iota
	// ipWanted: a backend of a load balancer in scope has the IP, and
	// its plan endpoint is in the scope's wants.
	ipWanted
)

// runChanges is a sync of changes: it brings what changes names, and what
// earlier syncs left unfinished, to the plan, from the view, without
// listing load balancers.
func (s *syncRun) runChanges(ctx context.Context, changes *lbpolicy.Changes) error {
	r := s.r
	if err := r.lookup(ctx, s.calls); err != nil {
		return err
	}
	s.v, s.changes = r.view, true
	sc := s.scopeOf(changes, r.objects.begin())
	defer func() {
		give(&r.scratch.ips, sc.ips)
		give(&r.scratch.given, sc.given)
		if cap(sc.lbs) <= keepScratch {
			clear(sc.lbs)
			r.scratch.scoped = sc.lbs[:0]
		}
	}()
	if sc.listEndpoints {
		if err := s.relistEndpoints(ctx); err != nil {
			return err
		}
	}
	// From here on the sync proceeds: state may change.
	s.phases(ctx, s.endpointsInScope(sc),
		func() []lbTask { return s.planScopedLoadBalancers(sc) },
		func() []string { return s.endpointCandidates(sc) }, sc.ips)
	return nil
}

// scopeOf returns what a sync of changes looks at: what changes names,
// dirty (what the last sync left unfinished), and the endpoints of the
// backends of those load balancers.
func (s *syncRun) scopeOf(c *lbpolicy.Changes, dirty []objectKey) *changeScope {
	sc := &s.scope
	sc.ips, sc.given, sc.lbs = take(&s.r.scratch.ips), take(&s.r.scratch.given), s.r.scratch.scoped[:0]
	sc.wants = s.r.scratch.wants[:0]
	for _, lbs := range [][]lbpolicy.LoadBalancer{c.AddedLoadBalancers, c.UpdatedLoadBalancers} {
		for i := range lbs {
			e := scopedKey{key: lbs[i].Key(), changed: true}
			if s.idx.hasSnap { // the Snapshot's changes: its plan's values
				e.plan = &lbs[i]
			}
			sc.lbs = append(sc.lbs, e)
		}
	}
	for _, k := range c.RemovedLoadBalancers {
		sc.lbs = append(sc.lbs, scopedKey{key: k, changed: true})
	}
	for _, eps := range [][]lbpolicy.Endpoint{c.AddedEndpoints, c.UpdatedEndpoints} {
		for i := range eps {
			ip := eps[i].IP.Unmap()
			sc.name(ip)
			if s.idx.hasSnap {
				sc.given[ip] = &eps[i]
			}
		}
	}
	for _, ip := range c.RemovedEndpoints {
		sc.name(ip.Unmap())
	}
	for _, k := range dirty {
		switch k.kind {
		case kindLoadBalancer:
			sc.lbs = append(sc.lbs, scopedKey{key: k.lb})
		case kindEndpoint:
			sc.name(k.ip)
		case kindEndpointDelete:
			sc.endpoints = append(sc.endpoints, k.id)
		}
	}
	sc.lbs = s.settleScope(sc.lbs)
	for i := range sc.lbs {
		if e := &sc.lbs[i]; e.plan != nil {
			s.scopeBackends(sc, e)
		}
	}
	return sc
}

// settleScope sorts keys and merges the entries of a key: changed if
// one is, with the plan's load balancer the change set gave, unless the
// change set also removed the key; the others' are looked up.
func (s *syncRun) settleScope(keys []scopedKey) []scopedKey {
	// Stable: a key's entries keep the order they came in, removals
	// after the change set's own load balancers.
	slices.SortStableFunc(keys, func(a, b scopedKey) int { return a.key.Compare(b.key) })
	out := keys[:0]
	for i, e := range keys {
		if n := len(out); n > 0 && out[n-1].key == e.key {
			last := &out[n-1]
			if e.changed && e.plan == nil { // removed (or not the Snapshot's)
				last.plan = nil
			}
			last.changed = last.changed || e.changed
			continue
		}
		out = append(out, keys[i])
	}
	for i := range out {
		if out[i].plan == nil {
			out[i].plan = s.idx.loadBalancer(out[i].key)
		}
	}
	return out
}

// name puts ip in scope as ipNamed.
func (sc *changeScope) name(ip netip.Addr) {
	sc.ips[ip] = ipNamed
	sc.named.add(ip)
}

// isNamed reports whether ip is in scope as ipNamed.
func (sc *changeScope) isNamed(ip netip.Addr) bool {
	return sc.named.mayHave(ip) && sc.ips[ip]&ipNamed != 0
}

// scopeBackends adds the plan endpoints of e's backends to sc, each
// looked up once (but those of unchanged IPs whose endpoint the load
// balancer resolved to before, which phase 2 reuses: resolved.go), and
// finds whether a local backend lacks its HNS
// endpoint (sc.listEndpoints): the CNI creates pods' endpoints, so only
// a list finds new ones. A load balancer that missed one before asks
// again only when its backoff allows, so that a backend that never gets
// an endpoint does not cost a list at every sync.
func (s *syncRun) scopeBackends(sc *changeScope, e *scopedKey) {
	look := !sc.listEndpoints
	if look && !e.changed {
		look = s.r.objects.lookupDue(keyLB(e.key), s.now)
	}
	known := s.v.resolvedFor(e.key, nil)
	e.known = known
	walk := resolvedWalk{r: known}
	for _, b := range e.plan.Backends {
		if known != nil && b.EndpointName == "" && !sc.isNamed(b.IP.Unmap()) {
			if _, ok := walk.find(b.IP.Unmap()); ok {
				continue // resolved as before: phase 2 reuses it
			}
		}
		if b.EndpointName != "" {
			if _, ok := s.v.localNamed(b.EndpointName); look && !ok {
				sc.listEndpoints, look = true, false
			}
			continue
		}
		ip := b.IP.Unmap()
		if sc.ips[ip]&ipWanted != 0 {
			continue // its plan endpoint is in wants already
		}
		if want, ok := s.scopeEndpoint(sc, ip); ok {
			sc.ips[ip] |= ipWanted
			sc.wants = append(sc.wants, want)
			continue
		}
		if _, ok := s.v.local(ip); look && !ok {
			sc.listEndpoints, look = true, false
		}
	}
}

// scopeEndpoint returns the plan's endpoint with IP ip: the one the
// change set gives, or else the one the plan index finds.
func (s *syncRun) scopeEndpoint(sc *changeScope, ip netip.Addr) (lbpolicy.Endpoint, bool) {
	if sc.named.mayHave(ip) {
		if ep := sc.given[ip]; ep != nil {
			return *ep, true
		}
	}
	return s.idx.endpoint(ip)
}

// relistEndpoints replaces the view's endpoints by a list of the
// network's, and forgets the owned ones it lacks.
func (s *syncRun) relistEndpoints(ctx context.Context) error {
	r := s.r
	eps, err := s.calls.listEndpoints(ctx, r.network.Id)
	if err != nil {
		return fmt.Errorf("hnsadapter: listing endpoints of network %q: %w", r.opts.NetworkName, err)
	}
	s.v.setEndpoints(eps)
	for id := range r.owned.eps {
		if _, ok := s.v.eps[id]; !ok {
			r.owned.removeEndpoint(id)
		}
	}
	return nil
}

// endpointsInScope returns the plan's endpoints of the IPs in scope, by
// IP.
func (s *syncRun) endpointsInScope(sc *changeScope) []*lbpolicy.Endpoint {
	// The lists are the scratch's: the sync is over before the next one
	// takes them.
	wants := sc.wants
	for ip, why := range sc.ips {
		if why&ipWanted != 0 {
			continue
		}
		if want, ok := s.scopeEndpoint(sc, ip); ok {
			wants = append(wants, want)
		}
	}
	out := s.r.scratch.wantPtrs[:0]
	for i := range wants {
		out = append(out, &wants[i])
	}
	// The pointers are sorted: moving them costs less than moving the
	// endpoints.
	slices.SortFunc(out, func(a, b *lbpolicy.Endpoint) int { return a.IP.Unmap().Compare(b.IP.Unmap()) })
	s.r.scratch.wants, s.r.scratch.wantPtrs = wants[:0], out[:0]
	return out
}

// planScopedLoadBalancers returns the tasks that bring the load balancers
// of the keys in scope to the plan, by key: the plan's, and the deletes of
// the owned ones it does not want. The keys of the load balancers phase 1
// moved off the endpoints it replaced join the scope: they must now
// reference the successors.
func (s *syncRun) planScopedLoadBalancers(sc *changeScope) []lbTask {
	v := s.v
	if len(s.detached) > 0 {
		for k := range s.detached {
			sc.lbs = append(sc.lbs, scopedKey{key: k})
		}
		sc.lbs = s.settleScope(sc.lbs)
	}
	keep := take(&s.r.scratch.keep) // owned IDs to keep
	// The tasks' list is the scratch's too: phase 2 is over before the
	// next sync takes it.
	tasks := s.r.scratch.lbTasks[:0]
	defer func() {
		give(&s.r.scratch.keep, keep)
		if cap(tasks) <= keepScratch {
			s.r.scratch.lbTasks = tasks[:0]
		}
	}()
	finds := s.r.scratch.findings[:0]
	for _, e := range sc.lbs {
		if e.plan != nil {
			finds = append(finds, lbFindings{lb: e.plan, key: e.key, changed: e.changed, known: e.known})
		}
	}
	s.examineAll(finds, s.r.forceWorkers)
	defer func() {
		if cap(finds) <= keepScratch {
			clear(finds)
			s.r.scratch.findings = finds[:0]
		}
	}()
	next := 0 // finds are in key order
	for _, e := range sc.lbs {
		if next < len(finds) && finds[next].key == e.key {
			f := &finds[next]
			tasks = s.decideLB(tasks, f, keep)
			next++
			if !f.moreOwned {
				continue // no owned load balancer but the one kept holds key
			}
		}
		for _, id := range v.byKey[e.key] {
			if !keep[id] && s.r.owned.ownsLB(id) { // keep is the smaller map
				tasks = s.deleteLB(tasks, id)
			}
		}
	}
	return tasks
}

// endpointCandidates returns the endpoints phase 3 of a sync of changes
// looks at: those of the IPs the change set names or an earlier sync
// left unfinished, those load balancers stopped referencing this sync,
// and those whose delete is unfinished. The IPs in scope only as
// backends are the plan's, unchanged: their endpoints are in use (a full
// sync deletes what else an IP may hold).
func (s *syncRun) endpointCandidates(sc *changeScope) []string {
	ids, named := s.r.scratch.ids2[:0], s.r.scratch.named[:0]
	defer func() { s.r.scratch.ids2, s.r.scratch.named = ids[:0], named[:0] }()
	for ip, why := range sc.ips {
		if why&ipNamed != 0 {
			named = append(named, ip)
		}
	}
	ids = s.endpointsOf(ids, named)
	for id, m := range s.ids {
		if m&markReleased != 0 {
			ids = append(ids, id)
		}
	}
	return append(ids, sc.endpoints...)
}

// endpointsOf appends to ids the IDs of the view's endpoints with IPs
// ips: those of many IPs on every core (each a lookup in maps of the
// cluster's size, which only reads).
func (s *syncRun) endpointsOf(ids []string, ips []netip.Addr) []string {
	workers := coresFor(len(ips), s.r.forceWorkers, 0)
	if workers <= 1 {
		return s.appendEndpointsOf(ids, ips)
	}
	parts := make([][]string, workers)
	inParts(len(ips), workers, func(w, lo, hi int) { parts[w] = s.appendEndpointsOf(nil, ips[lo:hi]) })
	for _, part := range parts {
		ids = append(ids, part...)
	}
	return ids
}

func (s *syncRun) appendEndpointsOf(ids []string, ips []netip.Addr) []string {
	for _, ip := range ips {
		ids = append(ids, s.v.remoteByIP[ip]...)
		ids = append(ids, s.v.localByIP[ip]...)
	}
	return ids
}
