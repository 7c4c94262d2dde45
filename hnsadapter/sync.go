package hnsadapter

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hnslb/hnslb/lbpolicy"
)

// syncRun is one Sync: the plan, what HNS listed, and what the phases
// decided and did. Only the goroutine running Sync touches it; the phases'
// workers return outcomes that it applies.
type syncRun struct {
	r     *Reconciler
	ctx   context.Context
	plan  *lbpolicy.Plan
	calls *calls
	now   time.Time
	res   Result

	st *hnsState
	// planEndpoints are the plan's endpoints by IP (the first of each IP).
	planEndpoints map[netip.Addr]*lbpolicy.Endpoint
	// resolved maps an IP to the HNS endpoint ID its backends use.
	resolved map[netip.Addr]string
	// waiting holds the plan's endpoint IPs with no usable HNS endpoint
	// this sync (create failed or in backoff).
	waiting map[netip.Addr]bool
	// inUse holds the IDs (in idKey form) of the endpoints the plan uses.
	inUse map[string]struct{}
	// seen holds the backoff keys of the objects that needed a call.
	seen map[string]struct{}
}

func newSyncRun(r *Reconciler, ctx context.Context, plan *lbpolicy.Plan) *syncRun {
	return &syncRun{
		r:             r,
		ctx:           ctx,
		plan:          plan,
		calls:         newCalls(r.backend, r.log),
		now:           r.opts.Now(),
		planEndpoints: make(map[netip.Addr]*lbpolicy.Endpoint, len(plan.Endpoints)),
		resolved:      make(map[netip.Addr]string, len(plan.Endpoints)),
		waiting:       map[netip.Addr]bool{},
		inUse:         make(map[string]struct{}, len(plan.Endpoints)),
		seen:          map[string]struct{}{},
	}
}

func (s *syncRun) run() error {
	r := s.r
	if err := r.lookup(s.ctx, s.calls); err != nil {
		return err
	}
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
	// From here on the sync proceeds: state may change.
	s.st = newHNSState(lbs, eps)
	for i := range s.plan.Endpoints {
		ep := &s.plan.Endpoints[i]
		if ip := ep.IP.Unmap(); ip.IsValid() && s.planEndpoints[ip] == nil {
			s.planEndpoints[ip] = ep
		}
	}
	if lbsGone, epsGone := r.owned.prune(s.st); lbsGone+epsGone > 0 {
		r.log.Info("Owned HNS objects deleted out of band; recreating what the plan wants",
			"loadBalancers", lbsGone, "endpoints", epsGone)
	}
	if !r.started {
		keys := make(map[lbpolicy.Key]struct{}, len(s.plan.LoadBalancers))
		for i := range s.plan.LoadBalancers {
			keys[s.plan.LoadBalancers[i].Key()] = struct{}{}
		}
		s.res.Adopted = r.owned.adopt(s.st, keys, s.planEndpoints, r.opts.ClaimNetwork, elsewhere)
		r.started = true
		r.log.V(1).Info("Adopted HNS objects", "loadBalancers", s.res.Adopted, "ownedEndpoints", len(r.owned.eps),
			"claimNetwork", r.opts.ClaimNetwork)
	}

	s.createEndpoints()
	refs := s.applyLoadBalancers()
	s.deleteEndpoints(refs)
	r.backoff.retain(s.seen)
	return nil
}

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

// createEndpoints resolves every plan endpoint to an HNS endpoint, creating
// the missing ones. HNS holds one endpoint per IP on a network, so an owned
// endpoint with the IP but other content (a pod IP now behind another node)
// is deleted first, and another agent's is a conflict.
func (s *syncRun) createEndpoints() {
	r, st := s.r, s.st
	type task struct {
		want    *lbpolicy.Endpoint
		replace []*HostComputeEndpoint // owned endpoints holding the IP
	}
	var todo []task
	for i := range s.plan.Endpoints {
		want := &s.plan.Endpoints[i]
		ip := want.IP.Unmap()
		if s.planEndpoints[ip] != want {
			continue // invalid IP, or not the first entry of its IP
		}
		if j, ok := st.localByIP[ip]; ok {
			// A local endpoint with the IP wins: the pod is on this node
			// now, whatever the plan says (kubernetes#138000).
			s.use(ip, st.endpoints[j].Id)
			continue
		}
		if want.Remote {
			if id, ok := s.existingRemote(want); ok {
				s.use(ip, id)
				continue
			}
		}
		t := task{want: want}
		var foreign *HostComputeEndpoint
		for _, j := range st.remoteByIP[ip] {
			if ep := &st.endpoints[j]; r.owned.ownsEndpoint(ep.Id) {
				t.replace = append(t.replace, ep)
			} else if foreign == nil {
				foreign = ep
			}
		}
		if foreign != nil {
			s.waiting[ip] = true
			s.failed("", &ObjectError{Object: endpointObject(ip), Op: OpCreateEndpoint, Err: &Error{
				Op:   OpCreateEndpoint,
				Code: CodeAlreadyExists,
				Message: fmt.Sprintf("IP %s is held on network %q by endpoint %s, which this reconciler does not own and which differs from the plan's",
					ip, r.opts.NetworkName, foreign.Id),
			}})
			continue
		}
		if !s.due("ep " + ip.String()) {
			s.waiting[ip] = true
			continue
		}
		todo = append(todo, t)
	}

	type outcome struct {
		ep      *HostComputeEndpoint
		deleted []string
		op      Op
		err     error
	}
	networkID := r.network.Id
	outs, started := parallel(s.ctx, r.opts.Concurrency, len(todo), func(ctx context.Context, i int) (o outcome) {
		for _, old := range todo[i].replace {
			switch err := s.calls.deleteEndpoint(ctx, old.Id); {
			case err == nil:
				o.deleted = append(o.deleted, old.Id)
			case !IsNotFound(err): // NotFound: gone already; a list will confirm
				o.op, o.err = OpDeleteEndpoint, err
				return o
			}
		}
		o.op = OpCreateEndpoint
		o.ep, o.err = s.calls.createEndpoint(ctx, networkID, desiredEndpoint(todo[i].want, networkID))
		return o
	})
	for i, t := range todo {
		ip := t.want.IP.Unmap()
		if !started[i] {
			s.waiting[ip] = true
			continue
		}
		o := &outs[i]
		for _, id := range o.deleted {
			r.owned.removeEndpoint(id)
			s.res.EndpointsDeleted++
		}
		if o.err != nil {
			s.waiting[ip] = true
			s.failed("ep "+ip.String(), &ObjectError{Object: endpointObject(ip), Op: o.op, Err: o.err})
			continue
		}
		r.owned.addEndpoint(o.ep.Id)
		r.backoff.succeeded("ep " + ip.String())
		s.use(ip, o.ep.Id)
		s.res.EndpointsCreated++
	}
}

// existingRemote returns the remote endpoint on the network identical to
// want: an owned one first, else another agent's, which is used but never
// owned (referencing an endpoint does not modify it).
func (s *syncRun) existingRemote(want *lbpolicy.Endpoint) (id string, ok bool) {
	var other string
	for _, i := range s.st.remoteByIP[want.IP.Unmap()] {
		ep := &s.st.endpoints[i]
		if !matchesEndpoint(ep, want) {
			continue
		}
		if s.r.owned.ownsEndpoint(ep.Id) {
			return ep.Id, true
		}
		if other == "" {
			other = ep.Id
		}
	}
	return other, other != ""
}

// Phase 3: endpoints no longer needed.

// deleteEndpoints deletes the owned endpoints the plan does not use that no
// load balancer references (refs, IDs in idKey form, as HNS holds them after
// phase 2).
func (s *syncRun) deleteEndpoints(refs map[string]struct{}) {
	r, st := s.r, s.st
	var todo []*HostComputeEndpoint
	for i := range st.endpoints {
		ep := &st.endpoints[i]
		id := idKey(ep.Id)
		if _, ok := r.owned.eps[id]; !ok {
			continue
		}
		if _, ok := s.inUse[id]; ok {
			continue
		}
		if _, ok := refs[id]; ok {
			continue
		}
		if s.due("ep-del " + id) {
			todo = append(todo, ep)
		}
	}
	errs, started := parallel(s.ctx, r.opts.Concurrency, len(todo), func(ctx context.Context, i int) error {
		return s.calls.deleteEndpoint(ctx, todo[i].Id)
	})
	for i, ep := range todo {
		if !started[i] {
			continue
		}
		key := "ep-del " + idKey(ep.Id)
		switch err := errs[i]; {
		case err == nil:
			r.owned.removeEndpoint(ep.Id)
			fallthrough
		case IsNotFound(err):
			// Gone already. Ownership stays until a list confirms it.
			r.backoff.succeeded(key)
			s.res.EndpointsDeleted++
		default:
			object := "Endpoint " + ep.Id
			if ip, ok := endpointIP(ep); ok {
				object = endpointObject(ip)
			}
			s.failed(key, &ObjectError{Object: object, Op: OpDeleteEndpoint, Err: err})
		}
	}
}
