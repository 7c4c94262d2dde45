package hnsadapter

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// syncRun is one sync: the plan, the scope it looks at, and what the
// phases decided and did. Only the goroutine running the sync touches it;
// the phases' workers return outcomes that it applies.
type syncRun struct {
	r     *Reconciler
	ctx   context.Context
	plan  *lbpolicy.Plan
	idx   planIndex
	calls *calls
	now   time.Time
	res   Result

	v *view // r.view, once listed
	// full: the sync compares everything. Otherwise it looks only at keys
	// and ips (what changed, and what earlier syncs left to do).
	full    bool
	changes *lbpolicy.Changes
	keys    map[lbpolicy.Key]struct{}
	ips     map[netip.Addr]struct{}
	// changed holds the keys the change set names (as opposed to those
	// carried over from earlier syncs).
	changed map[lbpolicy.Key]struct{}

	// resolved maps an IP to the HNS endpoint ID its backends use.
	resolved map[netip.Addr]string
	// waiting holds the plan's endpoint IPs with no usable HNS endpoint
	// this sync (create failed or in backoff).
	waiting map[netip.Addr]bool
	// inUse holds the IDs (in idKey form) of the endpoints the plan uses.
	inUse map[string]struct{}
	// seen holds the backoff keys of the objects that needed a call.
	seen map[string]struct{}
	// released holds the endpoints (idKey form) a load balancer stopped
	// referencing this sync.
	released map[string]struct{}
	// replaced holds the endpoints (idKey form) deleted in phase 1 to make
	// way for the plan's endpoint with the same IP.
	replaced []string
	// dirty is what is left to do for later syncs of changes.
	dirty dirtySet
}

// dirtySet is what a sync could not finish: load balancers and endpoints
// that failed, wait in backoff or for an endpoint, or miss a local
// endpoint. A sync of changes looks at them again, as if they had changed.
type dirtySet struct {
	keys      map[lbpolicy.Key]struct{}
	ips       map[netip.Addr]struct{}
	endpoints map[string]struct{} // owned endpoints (idKey form) whose delete failed
}

func newDirtySet() dirtySet {
	return dirtySet{keys: map[lbpolicy.Key]struct{}{}, ips: map[netip.Addr]struct{}{}, endpoints: map[string]struct{}{}}
}

func newSyncRun(r *Reconciler, ctx context.Context, plan *lbpolicy.Plan, changes *lbpolicy.Changes) *syncRun {
	s := &syncRun{
		r:        r,
		ctx:      ctx,
		plan:     plan,
		calls:    newCalls(r.backend, r.log),
		now:      r.opts.Now(),
		changes:  changes,
		resolved: map[netip.Addr]string{},
		waiting:  map[netip.Addr]bool{},
		inUse:    map[string]struct{}{},
		seen:     map[string]struct{}{},
		released: map[string]struct{}{},
		dirty:    newDirtySet(),
	}
	s.full = changes == nil || r.needFull || r.view == nil ||
		(r.opts.FullSyncPeriod > 0 && !s.now.Before(r.lastFull.Add(r.opts.FullSyncPeriod)))
	s.res.Full = s.full
	if s.full {
		s.idx = newPlanMaps(plan)
	} else {
		s.idx = newPlanIndex(plan)
	}
	return s
}

func (s *syncRun) run() error {
	r := s.r
	if err := r.lookup(s.ctx, s.calls); err != nil {
		return err
	}
	if s.full {
		if err := s.list(); err != nil {
			return err
		}
		r.needFull = false // the view is HNS's again; what this sync finds may set it
	} else {
		s.v = r.view
		s.scope()
		if s.needEndpoints() {
			eps, err := s.calls.listEndpoints(s.ctx, r.network.Id)
			if err != nil {
				return fmt.Errorf("hnsadapter: listing endpoints of network %q: %w", r.opts.NetworkName, err)
			}
			s.v.setEndpoints(eps)
			for id := range r.owned.eps {
				if _, ok := s.v.eps[id]; !ok {
					r.owned.removeEndpoint(id)
				}
			}
		}
	}
	// From here on the sync proceeds: state may change.
	s.v.released = s.released
	defer func() { s.v.released = nil }()

	s.createEndpoints()
	s.applyLoadBalancers()
	s.deleteEndpoints()
	if s.full {
		r.backoff.retain(s.seen)
		r.lastFull = s.now
	}
	r.dirty = s.dirty
	if s.ctx.Err() != nil {
		r.needFull = true // calls were cut short: what they did is unknown
	}
	return nil
}

// list makes a full sync's lists and rebuilds the view from them; at the
// first sync after NewReconciler it also adopts.
func (s *syncRun) list() error {
	r := s.r
	lbs, err := s.calls.listLoadBalancers(s.ctx)
	if err != nil {
		return fmt.Errorf("hnsadapter: listing load balancers: %w", err)
	}
	eps, err := s.calls.listEndpoints(s.ctx, r.network.Id)
	if err != nil {
		return fmt.Errorf("hnsadapter: listing endpoints of network %q: %w", r.opts.NetworkName, err)
	}
	var elsewhere map[string]struct{}
	if !r.started && r.opts.ClaimNetwork {
		// Which endpoints lie on other networks, once, for the claim.
		all, err := s.calls.listEndpoints(s.ctx, "")
		if err != nil {
			return fmt.Errorf("hnsadapter: listing all endpoints: %w", err)
		}
		elsewhere = make(map[string]struct{}, len(all))
		for i := range all {
			elsewhere[idKey(all[i].Id)] = struct{}{}
		}
		for i := range eps {
			delete(elsewhere, idKey(eps[i].Id))
		}
	}
	s.v = newView(lbs, eps)
	r.view = s.v
	if lbsGone, epsGone := r.owned.prune(s.v); lbsGone+epsGone > 0 {
		r.log.Info("Owned HNS objects deleted out of band; recreating what the plan wants",
			"loadBalancers", lbsGone, "endpoints", epsGone)
	}
	for k := range r.adoptKeys {
		if ids := s.v.byKey[k]; len(ids) > 0 && !slices.ContainsFunc(ids, r.owned.ownsLB) {
			r.owned.addLB(ids[0])
		}
	}
	clear(r.adoptKeys)
	if !r.started {
		keys := make(map[lbpolicy.Key]struct{}, len(s.plan.LoadBalancers))
		for i := range s.plan.LoadBalancers {
			keys[s.plan.LoadBalancers[i].Key()] = struct{}{}
		}
		s.res.Adopted = r.owned.adopt(s.v, keys, s.idx.eps, r.opts.ClaimNetwork, elsewhere)
		r.started = true
		r.log.V(1).Info("Adopted HNS objects", "loadBalancers", s.res.Adopted, "ownedEndpoints", len(r.owned.eps),
			"claimNetwork", r.opts.ClaimNetwork)
	}
	return nil
}

// scope sets what a sync of changes looks at: what the change set names,
// what earlier syncs left to do, and the endpoints of the backends of
// those load balancers.
func (s *syncRun) scope() {
	c, d := s.changes, s.r.dirty
	s.keys = make(map[lbpolicy.Key]struct{}, len(c.AddedLoadBalancers)+len(c.UpdatedLoadBalancers)+len(c.RemovedLoadBalancers)+len(d.keys))
	s.changed = make(map[lbpolicy.Key]struct{}, len(s.keys))
	s.ips = make(map[netip.Addr]struct{}, len(c.AddedEndpoints)+len(c.UpdatedEndpoints)+len(c.RemovedEndpoints)+len(d.ips))
	for _, lbs := range [][]lbpolicy.LoadBalancer{c.AddedLoadBalancers, c.UpdatedLoadBalancers} {
		for i := range lbs {
			s.changed[lbs[i].Key()] = struct{}{}
		}
	}
	for _, k := range c.RemovedLoadBalancers {
		s.changed[k] = struct{}{}
	}
	for k := range s.changed {
		s.keys[k] = struct{}{}
	}
	for k := range d.keys {
		s.keys[k] = struct{}{}
	}
	for _, eps := range [][]lbpolicy.Endpoint{c.AddedEndpoints, c.UpdatedEndpoints} {
		for i := range eps {
			s.ips[eps[i].IP.Unmap()] = struct{}{}
		}
	}
	for _, ip := range c.RemovedEndpoints {
		s.ips[ip.Unmap()] = struct{}{}
	}
	for ip := range d.ips {
		s.ips[ip] = struct{}{}
	}
	for k := range s.keys {
		if lb := s.idx.loadBalancer(k); lb != nil {
			for _, b := range lb.Backends {
				if ip := b.IP.Unmap(); b.EndpointName == "" && s.idx.endpoint(ip) != nil {
					s.ips[ip] = struct{}{}
				}
			}
		}
	}
}

// needEndpoints reports whether a sync of changes must list the network's
// endpoints: a load balancer it looks at has a local backend the view
// lacks (the CNI creates pods' endpoints, so only a list finds new ones).
// A load balancer that missed one before asks again only when its backoff
// allows, so that a backend that never gets an endpoint does not cost a
// list at every sync.
func (s *syncRun) needEndpoints() bool {
	for k := range s.keys {
		lb := s.idx.loadBalancer(k)
		if lb == nil {
			continue
		}
		if _, changed := s.changed[k]; !changed && !s.r.backoff.ready(missingKey(k), s.now) {
			continue
		}
		for _, b := range lb.Backends {
			if b.EndpointName != "" {
				if _, ok := s.v.localNamed(b.EndpointName); !ok {
					return true
				}
				continue
			}
			ip := b.IP.Unmap()
			if _, ok := s.v.local(ip); !ok && s.idx.endpoint(ip) == nil {
				return true
			}
		}
	}
	return false
}

// ipInScope reports whether the sync looks at endpoint IP ip.
func (s *syncRun) ipInScope(ip netip.Addr) bool {
	if s.full {
		return true
	}
	_, ok := s.ips[ip]
	return ok
}

func missingKey(k lbpolicy.Key) string { return "missing " + k.String() }

// failed records a per-object failure: an error in the result, a log line,
// and the object's next backoff step. A failure because ctx ended is not
// the object's fault and costs it no backoff.
func (s *syncRun) failed(backoffKey string, e *ObjectError) {
	s.res.Errors = append(s.res.Errors, e)
	if s.ctx.Err() == nil && backoffKey != "" {
		s.r.backoff.failed(backoffKey, s.now)
	}
	s.r.log.Error(e.Err, "HNS object not reconciled; will retry", "object", e.Object, "op", e.Op)
}

// due reports whether the object with backoffKey may be tried now, and
// counts it as pending if not.
func (s *syncRun) due(backoffKey string) bool {
	s.seen[backoffKey] = struct{}{}
	if s.r.backoff.ready(backoffKey, s.now) {
		return true
	}
	s.res.Pending++
	return false
}

func (s *syncRun) diagnose(severity lbpolicy.Severity, object string, reason lbpolicy.Reason, format string, args ...any) {
	s.res.Diagnostics = append(s.res.Diagnostics, lbpolicy.Diagnostic{
		Severity: severity, Object: object, Reason: reason, Message: fmt.Sprintf(format, args...),
	})
}

func (s *syncRun) use(ip netip.Addr, id string) {
	s.resolved[ip] = id
	s.inUse[idKey(id)] = struct{}{}
}

// Phase 1: the plan's endpoints.

func endpointObject(ip netip.Addr) string { return "Endpoint " + ip.String() }

// createEndpoints resolves the plan endpoints in scope to HNS endpoints,
// creating the missing ones. HNS holds one endpoint per IP on a network,
// so an owned endpoint with the IP but other content (a pod IP now behind
// another node) is deleted first, and another agent's is a conflict.
func (s *syncRun) createEndpoints() {
	r, v := s.r, s.v
	type task struct {
		want    *lbpolicy.Endpoint
		replace []*hns.HostComputeEndpoint // owned endpoints holding the IP
	}
	var todo []task
	for _, want := range s.endpointsInScope() {
		ip := want.IP.Unmap()
		if local, ok := v.local(ip); ok {
			// A local endpoint with the IP wins: the pod is on this node
			// now, whatever the plan says (kubernetes#138000).
			s.use(ip, local.Id)
			continue
		}
		if want.Remote {
			if id, ok := s.existingRemote(want); ok {
				s.use(ip, id)
				continue
			}
		}
		t := task{want: want}
		var foreign *hns.HostComputeEndpoint
		for _, id := range v.remoteByIP[ip] {
			if ep := v.eps[id]; r.owned.ownsEndpoint(id) {
				t.replace = append(t.replace, ep)
			} else if foreign == nil {
				foreign = ep
			}
		}
		if foreign != nil {
			s.waiting[ip] = true
			s.dirty.ips[ip] = struct{}{}
			s.failed("", &ObjectError{Object: endpointObject(ip), Op: hns.OpCreateEndpoint, Err: &hns.Error{
				Op:   hns.OpCreateEndpoint,
				Code: hns.CodeAlreadyExists,
				Message: fmt.Sprintf("IP %s is held on network %q by endpoint %s, which this reconciler does not own and which differs from the plan's",
					ip, r.opts.NetworkName, foreign.Id),
			}})
			continue
		}
		if !s.due("ep " + ip.String()) {
			s.waiting[ip] = true
			s.dirty.ips[ip] = struct{}{}
			continue
		}
		todo = append(todo, t)
	}

	type outcome struct {
		ep               *hns.HostComputeEndpoint
		deleted, missing []string
		op               hns.Op
		err              error
	}
	networkID := r.network.Id
	outs, started := parallel(s.ctx, r.opts.Concurrency, len(todo), func(ctx context.Context, i int) (o outcome) {
		for _, old := range todo[i].replace {
			switch err := s.calls.deleteEndpoint(ctx, old.Id); {
			case err == nil:
				o.deleted = append(o.deleted, old.Id)
			case hns.IsNotFound(err): // gone already; a list must confirm it
				o.missing = append(o.missing, old.Id)
			default:
				o.op, o.err = hns.OpDeleteEndpoint, err
				return o
			}
		}
		o.op = hns.OpCreateEndpoint
		o.ep, o.err = s.calls.createEndpoint(ctx, networkID, desiredEndpoint(todo[i].want, networkID))
		return o
	})
	for i, t := range todo {
		ip := t.want.IP.Unmap()
		if !started[i] {
			s.waiting[ip] = true
			s.dirty.ips[ip] = struct{}{}
			continue
		}
		o := &outs[i]
		for _, id := range o.deleted {
			r.owned.removeEndpoint(id)
			v.removeEndpoint(id)
			s.replaced = append(s.replaced, idKey(id))
			s.res.EndpointsDeleted++
		}
		for _, id := range o.missing {
			v.removeEndpoint(id)
			s.replaced = append(s.replaced, idKey(id))
			r.needFull = true
		}
		if o.err != nil {
			s.waiting[ip] = true
			s.dirty.ips[ip] = struct{}{}
			s.failed("ep "+ip.String(), &ObjectError{Object: endpointObject(ip), Op: o.op, Err: o.err})
			continue
		}
		got := o.ep
		if got == nil || got.Id == "" {
			// Created, but under which ID? Only a list says.
			r.needFull = true
			s.waiting[ip] = true
			s.dirty.ips[ip] = struct{}{}
			s.failed("", &ObjectError{Object: endpointObject(ip), Op: hns.OpCreateEndpoint, Err: &hns.Error{
				Op: hns.OpCreateEndpoint, Message: "HNS answered the create without the endpoint's ID",
			}})
			continue
		}
		r.owned.addEndpoint(got.Id)
		v.putEndpoint(got)
		r.backoff.succeeded("ep " + ip.String())
		s.use(ip, got.Id)
		s.res.EndpointsCreated++
	}
}

// endpointsInScope returns the plan endpoints the sync looks at (the first
// of each IP), in the plan's order.
func (s *syncRun) endpointsInScope() []*lbpolicy.Endpoint {
	var out []*lbpolicy.Endpoint
	if s.full {
		out = make([]*lbpolicy.Endpoint, 0, len(s.plan.Endpoints))
		for i := range s.plan.Endpoints {
			if want := &s.plan.Endpoints[i]; s.idx.endpoint(want.IP.Unmap()) == want {
				out = append(out, want) // else an invalid IP, or not the first of its IP
			}
		}
		return out
	}
	for ip := range s.ips {
		if want := s.idx.endpoint(ip); want != nil {
			out = append(out, want)
		}
	}
	slices.SortFunc(out, func(a, b *lbpolicy.Endpoint) int { return a.IP.Unmap().Compare(b.IP.Unmap()) })
	return out
}

// existingRemote returns the remote endpoint on the network identical to
// want: an owned one first, else another agent's, which is used but never
// owned (referencing an endpoint does not modify it).
func (s *syncRun) existingRemote(want *lbpolicy.Endpoint) (id string, ok bool) {
	var other string
	for _, id := range s.v.remoteByIP[want.IP.Unmap()] {
		if !matchesEndpoint(s.v.eps[id], want) {
			continue
		}
		if s.r.owned.ownsEndpoint(id) {
			return s.v.eps[id].Id, true
		}
		if other == "" {
			other = s.v.eps[id].Id
		}
	}
	return other, other != ""
}

// Phase 3: endpoints no longer needed.

// deleteEndpoints deletes the owned endpoints the plan does not use that no
// load balancer references any more. A full sync looks at every owned
// endpoint; a sync of changes at those of the IPs in scope, those load
// balancers stopped referencing this sync, and those whose delete failed
// before.
func (s *syncRun) deleteEndpoints() {
	r, v := s.r, s.v
	var candidates []string
	if s.full {
		candidates = make([]string, 0, len(r.owned.eps))
		for id := range r.owned.eps {
			candidates = append(candidates, id)
		}
	} else {
		for ip := range s.ips {
			candidates = append(candidates, v.remoteByIP[ip]...)
			candidates = append(candidates, v.localByIP[ip]...)
		}
		for id := range s.released {
			candidates = append(candidates, id)
		}
		for id := range r.dirty.endpoints {
			candidates = append(candidates, id)
		}
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)

	var todo []*hns.HostComputeEndpoint
	for _, id := range candidates {
		ep := v.eps[id]
		if ep == nil || !r.owned.ownsEndpoint(id) || v.referenced(id) {
			continue
		}
		if _, ok := s.inUse[id]; ok {
			continue
		}
		if ip, ok := endpointIP(ep); ok && !s.ipInScope(ip) {
			// Not looked at this sync: keep it if it is what the plan
			// wants for its IP.
			if want := s.idx.endpoint(ip); want != nil && matchesEndpoint(ep, want) {
				continue
			}
		}
		if s.due("ep-del " + id) {
			todo = append(todo, ep)
		} else {
			s.dirty.endpoints[id] = struct{}{}
		}
	}
	errs, started := parallel(s.ctx, r.opts.Concurrency, len(todo), func(ctx context.Context, i int) error {
		return s.calls.deleteEndpoint(ctx, todo[i].Id)
	})
	for i, ep := range todo {
		id := idKey(ep.Id)
		if !started[i] {
			s.dirty.endpoints[id] = struct{}{}
			continue
		}
		key := "ep-del " + id
		switch err := errs[i]; {
		case err == nil:
			r.owned.removeEndpoint(id)
			v.removeEndpoint(id)
			r.backoff.succeeded(key)
			s.res.EndpointsDeleted++
		case hns.IsNotFound(err):
			// Gone already. Ownership stays until a list confirms it.
			v.removeEndpoint(id)
			r.needFull = true
			r.backoff.succeeded(key)
			s.res.EndpointsDeleted++
		default:
			s.dirty.endpoints[id] = struct{}{}
			object := "Endpoint " + ep.Id
			if ip, ok := endpointIP(ep); ok {
				object = endpointObject(ip)
			}
			s.failed(key, &ObjectError{Object: object, Op: hns.OpDeleteEndpoint, Err: err})
		}
	}
}
