package hnsadapter

import (
	"context"
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Phase 1: the plan's endpoints.

func endpointObject(ip netip.Addr) string { return "Endpoint " + ip.String() }

// epTask is one plan endpoint to create.
type epTask struct {
	want    *lbpolicy.Endpoint
	replace []*hns.HostComputeEndpoint // owned endpoints holding the IP, to delete first
}

// epOutcome is what an epTask did, for the sync to record.
type epOutcome struct {
	ep   *hns.HostComputeEndpoint // created
	sent *hns.HostComputeEndpoint // what the create sent
	// deleted are the replaced endpoints deleted; missing those HNS said
	// it did not have.
	deleted, missing []string
	op               hns.Op // the call that failed
	err              error
}

// createEndpoints resolves the plan's endpoints wants to HNS endpoints,
// creating the missing ones. HNS holds one endpoint per IP on a network,
// so an owned endpoint with the IP but other content (a pod IP now behind
// another node) is replaced (replace.go), and another agent's is a
// conflict.
func (s *syncRun) createEndpoints(ctx context.Context, wants []*lbpolicy.Endpoint) {
	todo := s.moveOffReplaced(ctx, s.endpointTasks(wants))
	env := epCalls{s.calls, s.r.network.Id}
	parallel(ctx, s.r.opts.Concurrency, env, todo, &s.r.scratch.epOuts, runEndpointTask,
		func(i int, o *ran[epOutcome]) {
			ip := todo[i].want.IP.Unmap()
			if !o.ok {
				s.wait(ip)
				return
			}
			s.recordEndpoint(ctx, ip, &o.v)
		})
}

// endpointTasks resolves the endpoints wants to those HNS holds, and
// returns the tasks for the others.
func (s *syncRun) endpointTasks(wants []*lbpolicy.Endpoint) []epTask {
	r, v := s.r, s.v
	todo := s.r.scratch.epTasks[:0] // phase 1 is over before the next sync takes it
	defer func() {
		if cap(todo) <= keepScratch {
			s.r.scratch.epTasks = todo[:0]
		}
	}()
	// A dense full sync's wants come in IP order (planEndpoints, from a
	// sorted plan): it walks the list's endpoints in the same order.
	var walk *listWalk
	if s.dense != nil {
		sorted := v.byIP()
		walk = &listWalk{remotes: ipWalk{all: sorted.remotes}, locals: ipWalk{all: sorted.locals}}
	}
	for i, want := range wants {
		if s.useExisting(i, want, walk) {
			continue
		}
		ip := want.IP.Unmap()
		t := epTask{want: want}
		var foreign *hns.HostComputeEndpoint
		for _, id := range v.remoteByIP[ip] {
			if ep := v.eps[id]; r.owned.ownsEndpoint(id) {
				t.replace = append(t.replace, ep)
			} else if foreign == nil {
				foreign = ep
			}
		}
		if foreign != nil {
			s.wait(ip)
			s.report(&ObjectError{Object: endpointObject(ip), Op: hns.OpCreateEndpoint,
				Err: &ConflictError{IP: ip, Network: r.opts.NetworkName, HolderID: foreign.Id}})
			continue
		}
		if !s.due(keyEndpoint(ip)) {
			s.wait(ip)
			continue
		}
		todo = append(todo, t)
	}
	return todo
}

// epCalls is what the workers of phase 1 get: the calls and the network's
// ID.
type epCalls struct {
	c         *calls
	networkID string
}

// listWalk walks a dense full sync's list beside its wants.
type listWalk struct{ remotes, locals ipWalk }

// useExisting records the use of the endpoint HNS holds for want
// (wants[i]) and reports whether there is one: a local endpoint with the
// IP, which wins (the pod is on this node now, whatever the plan says:
// kubernetes#138000), else a remote one identical to a remote want.
func (s *syncRun) useExisting(i int, want *lbpolicy.Endpoint, walk *listWalk) bool {
	ip := want.IP.Unmap()
	if walk != nil {
		remotes, locals := walk.remotes.holding(ip), walk.locals.holding(ip)
		var e *listedEndpoint
		switch {
		case len(locals) > 0:
			e = &locals[0] // the first by ID, as view.local
		case want.Remote:
			e = s.existingRemoteIn(remotes, want)
		}
		if e != nil {
			s.useListed(i, e)
		}
		return e != nil
	}
	if local, ok := s.v.local(ip); ok {
		s.use(ip, local.Id)
		return true
	}
	if want.Remote {
		if id, ok := s.existingRemote(want); ok {
			s.use(ip, id)
			return true
		}
	}
	return false
}

// runEndpointTask makes t's calls. It runs on a worker goroutine, with
// only the calls and the network's ID.
func runEndpointTask(ctx context.Context, e epCalls, t *epTask) (o epOutcome) {
	c, networkID := e.c, e.networkID
	for _, old := range t.replace {
		switch err := c.deleteEndpoint(ctx, old.Id); {
		case err == nil:
			o.deleted = append(o.deleted, old.Id)
		case hns.IsNotFound(err): // gone already; a list must confirm it
			o.missing = append(o.missing, old.Id)
		default:
			o.op, o.err = hns.OpDeleteEndpoint, err
			return o
		}
	}
	o.op, o.sent = hns.OpCreateEndpoint, desiredEndpoint(t.want, networkID)
	o.ep, o.err = c.createEndpoint(ctx, networkID, o.sent)
	return o
}

// recordEndpoint applies what the task for the plan's endpoint with IP ip
// did.
func (s *syncRun) recordEndpoint(ctx context.Context, ip netip.Addr, o *epOutcome) {
	r, v := s.r, s.v
	for _, id := range o.deleted {
		r.owned.removeEndpoint(id)
		v.deletedEndpoint(id)
		s.res.EndpointsDeleted++
	}
	for _, id := range o.missing {
		v.removeEndpoint(id)
		r.requireFull(fullGone)
	}
	if o.err != nil {
		s.wait(ip)
		if o.op == hns.OpCreateEndpoint {
			s.createFailed(ip, o)
		}
		s.failed(ctx, keyEndpoint(ip), &ObjectError{Object: endpointObject(ip), Op: o.op, Err: o.err})
		return
	}
	got := o.ep
	if got == nil || got.Id == "" {
		// Created, but under which ID? Only a list says.
		r.requireFull(fullNoID)
		r.createUnsure(keyEndpoint(ip), nil, o.sent)
		s.wait(ip)
		s.report(&ObjectError{Object: endpointObject(ip), Op: hns.OpCreateEndpoint,
			Err: &MissingIDError{Op: hns.OpCreateEndpoint}})
		return
	}
	held, ok := endpointIP(got)
	if !ok {
		held = ip
	}
	r.owned.addEndpoint(got.Id, held) // the IP as HNS holds it, for the record
	v.putEndpoint(got)
	r.objects.succeeded(keyEndpoint(ip))
	s.use(ip, got.Id)
	s.res.EndpointsCreated++
}

// createFailed records what a failed create of the plan's endpoint with
// IP ip tells: "already exists" contradicts the view, which held no other
// endpoint with the IP; any other failure leaves the create unsure.
func (s *syncRun) createFailed(ip netip.Addr, o *epOutcome) {
	if hns.IsAlreadyExists(o.err) {
		s.r.requireFull(fullContradicted)
	}
	if unsureCreate(o.err) {
		s.r.createUnsure(keyEndpoint(ip), nil, o.sent)
	}
}

// existingRemote returns the remote endpoint on the network identical to
// want: an owned one first, else another agent's, which is used but never
// owned (referencing an endpoint does not modify it).
func (s *syncRun) existingRemote(want *lbpolicy.Endpoint) (id string, ok bool) {
	ids := s.v.remoteByIP[want.IP.Unmap()]
	if len(ids) == 1 { // the usual case: owned or not, the one to use
		if ep := s.v.eps[ids[0]]; sameRemote(ep, want) {
			return ep.Id, true
		}
		return "", false
	}
	var other string
	for _, id := range ids {
		ep := s.v.eps[id]
		if !matchesEndpoint(ep, want) {
			continue
		}
		if s.r.owned.ownsEndpoint(id) {
			return ep.Id, true
		}
		if other == "" {
			other = ep.Id
		}
	}
	return other, other != ""
}

// Phase 3: endpoints no longer needed.

// deleteEndpoints deletes the owned endpoints among candidates that the
// plan does not use and that no load balancer references any more. A full
// sync passes every owned endpoint and a nil scope; a sync of changes
// passes those it may have to delete, and the IPs it looked at (scope):
// an endpoint of another IP is then kept if it is what the plan wants for
// its IP.
func (s *syncRun) deleteEndpoints(ctx context.Context, candidates []string, scope map[netip.Addr]ipScope) {
	todo := s.endpointDeletes(candidates, scope)
	parallel(ctx, s.r.opts.Concurrency, s.calls, todo, &s.r.scratch.deleteOuts,
		func(ctx context.Context, c *calls, ep **hns.HostComputeEndpoint) error {
			return c.deleteEndpoint(ctx, (*ep).Id)
		},
		func(i int, o *ran[error]) {
			if !o.ok {
				s.r.objects.markDirty(keyEndpointDelete(todo[i].Id))
				return
			}
			s.recordEndpointDelete(ctx, todo[i], o.v)
		})
}

// endpointDeletes returns the endpoints among candidates to delete now.
func (s *syncRun) endpointDeletes(candidates []string, scope map[netip.Addr]ipScope) []*hns.HostComputeEndpoint {
	r, v := s.r, s.v
	// The few to delete, then in ID order (a full sync passes every
	// owned endpoint: sorting them all would cost more than the rest).
	// Choosing them only reads: many are chosen on every core. (A
	// closure goroutines run is allocated: a sync of one change makes
	// none.)
	var dels []string
	if workers := coresFor(len(candidates), s.r.forceWorkers, 0); workers > 1 {
		dels = filterOnCores(candidates, workers, func(id string) bool { return s.deletable(id, scope) })
	} else {
		dels = filterInPlace(candidates, func(id string) bool { return s.deletable(id, scope) })
	}
	slices.Sort(dels)
	todo := s.r.scratch.deletes[:0] // phase 3 is over before the next sync takes it
	defer func() {
		if cap(todo) <= keepScratch {
			s.r.scratch.deletes = todo[:0]
		}
	}()
	for _, id := range slices.Compact(dels) {
		ep := v.eps[id]
		if k := keyEndpointDelete(id); s.due(k) {
			todo = append(todo, ep)
		} else {
			r.objects.markDirty(k)
		}
	}
	return todo
}

// deletable reports whether owned endpoint id may be deleted: nothing
// uses or references it, and in a sync of changes, no IP out of scope
// wants it.
func (s *syncRun) deletable(id string, scope map[netip.Addr]ipScope) bool {
	// Cheapest first: most of a full sync's candidates are in use.
	if s.ids[id]&markUsed != 0 || s.v.referenced(id) || !s.r.owned.ownsEndpoint(id) {
		return false
	}
	ep := s.v.eps[id]
	return ep != nil && (scope == nil || !s.keepUnscoped(ep, scope))
}

// keepUnscoped reports whether a sync of changes that looked at the IPs
// in scope keeps ep for another IP: what the plan wants for that IP.
func (s *syncRun) keepUnscoped(ep *hns.HostComputeEndpoint, scope map[netip.Addr]ipScope) bool {
	ip, ok := endpointIP(ep)
	if !ok {
		return false
	}
	if _, in := scope[ip]; in {
		return false
	}
	want, ok := s.idx.endpoint(ip)
	return ok && matchesEndpoint(ep, &want)
}

// recordEndpointDelete applies the outcome err of deleting owned endpoint
// ep.
func (s *syncRun) recordEndpointDelete(ctx context.Context, ep *hns.HostComputeEndpoint, err error) {
	r, v := s.r, s.v
	id, k := idKey(ep.Id), keyEndpointDelete(ep.Id)
	switch {
	case err == nil:
		r.owned.removeEndpoint(id)
		v.deletedEndpoint(id)
		r.objects.succeeded(k)
		s.res.EndpointsDeleted++
	case hns.IsNotFound(err):
		// Gone already. Ownership stays until a list confirms it.
		v.removeEndpoint(id)
		r.requireFull(fullGone)
		r.objects.succeeded(k)
		s.res.EndpointsDeleted++
	default:
		r.objects.markDirty(k)
		object := "Endpoint " + ep.Id
		if ip, ok := endpointIP(ep); ok {
			object = endpointObject(ip)
		}
		s.failed(ctx, k, &ObjectError{Object: object, Op: hns.OpDeleteEndpoint, Err: err})
	}
}
