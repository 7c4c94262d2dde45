package hnsadapter

import (
	"context"
	"fmt"
	"slices"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Phase 2: load balancers.

type lbAction int

const (
	actionCreate lbAction = iota // no load balancer holds the key
	actionUpdate                 // the owned one differs from the plan
	actionDelete                 // the owned one is not wanted
)

// lbTask is one load balancer to change.
type lbTask struct {
	action     lbAction
	object     string // for errors and logs
	backoffKey string
	old        *HostComputeLoadBalancer // as listed; update and delete
	want       *HostComputeLoadBalancer // create and update
}

// lbOutcome is what a task did, for the sync to apply.
type lbOutcome struct {
	created, updated, deleted bool
	// own is a load balancer the task created; disown one it deleted.
	own, disown string
	// superseded is the listed load balancer whose listed endpoints no
	// longer say what it references (deleted or updated).
	superseded string
	// holds are endpoint IDs that load balancers the task left in HNS may
	// reference, beyond the listed ones (conservative when unsure).
	holds []string
	err   *ObjectError
}

func lbObject(key lbpolicy.Key, lb *lbpolicy.LoadBalancer) string {
	svc := "Service " + lb.Service
	if lb.Port != "" {
		svc += ":" + lb.Port
	}
	return "LoadBalancer " + key.String() + " (" + svc + ")"
}

func serviceObject(lb *lbpolicy.LoadBalancer) string {
	if lb.Port != "" {
		return "Service " + lb.Service + ":" + lb.Port
	}
	return "Service " + lb.Service
}

// applyLoadBalancers diffs the plan's load balancers against HNS, makes the
// calls, and returns the IDs (in idKey form) of the endpoints that load
// balancers in HNS reference afterwards.
func (s *syncRun) applyLoadBalancers() (refs map[string]struct{}) {
	r, st := s.r, s.st
	var tasks []lbTask
	wanted := make(map[lbpolicy.Key]bool, len(s.plan.LoadBalancers))
	keep := make(map[string]bool, len(s.plan.LoadBalancers)) // owned IDs to keep
	for i := range s.plan.LoadBalancers {
		lb := &s.plan.LoadBalancers[i]
		key := lb.Key()
		if wanted[key] {
			s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonDuplicateKey,
				"load balancer %s is already in the plan for another entry; this one is not applied", key)
			continue
		}
		wanted[key] = true

		var owned, foreign *HostComputeLoadBalancer
		for _, j := range st.byKey[key] {
			switch {
			case r.owned.ownsLB(st.lbs[j].Id):
				if owned == nil {
					owned = &st.lbs[j]
					keep[idKey(owned.Id)] = true
				}
			case foreign == nil:
				foreign = &st.lbs[j]
			}
		}

		ids, waiting := s.resolveBackends(lb, key)
		if waiting {
			s.res.Pending++ // its endpoint's failure is reported already
			continue
		}
		if len(ids) == 0 {
			s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonNoHNSEndpoints,
				"load balancer %s: no backend has an HNS endpoint; not sent to HNS (an existing one is kept)", key)
			continue
		}
		want := desiredLoadBalancer(lb, ids)
		switch {
		case owned != nil && sameLoadBalancer(owned, want):
			continue
		case owned == nil && foreign != nil:
			s.failed("", &ObjectError{Object: lbObject(key, lb), Op: OpCreateLoadBalancer, Err: &Error{
				Op:   OpCreateLoadBalancer,
				Code: CodeAlreadyExists,
				Message: fmt.Sprintf("the frontend is held by load balancer %s, which this reconciler does not own "+
					"(another agent's, or one left from before it started: a restart adopts it)", foreign.Id),
			}})
			continue
		}
		task := lbTask{action: actionCreate, object: lbObject(key, lb), backoffKey: "lb " + key.String(), want: want}
		if owned != nil {
			task.action, task.old = actionUpdate, owned
		}
		if s.due(task.backoffKey) {
			tasks = append(tasks, task)
		}
	}
	for i := range st.lbs {
		lb := &st.lbs[i]
		if !r.owned.ownsLB(lb.Id) || keep[idKey(lb.Id)] {
			continue
		}
		object := "LoadBalancer " + lb.Id
		if st.keyOK[i] {
			object = "LoadBalancer " + st.keys[i].String() + " (ID " + lb.Id + ")"
		}
		task := lbTask{action: actionDelete, object: object, backoffKey: "lb-del " + idKey(lb.Id), old: lb}
		if s.due(task.backoffKey) {
			tasks = append(tasks, task)
		}
	}

	outs, started := parallel(s.ctx, r.opts.Concurrency, len(tasks), func(ctx context.Context, i int) lbOutcome {
		return s.runLBTask(ctx, &tasks[i])
	})

	superseded := map[string]bool{}
	refs = map[string]struct{}{}
	for i := range tasks {
		if !started[i] {
			continue
		}
		o := &outs[i]
		switch {
		case o.created:
			s.res.Created++
		case o.updated:
			s.res.Updated++
		case o.deleted:
			s.res.Deleted++
		}
		if o.own != "" {
			r.owned.addLB(o.own)
		}
		if o.disown != "" {
			r.owned.removeLB(o.disown)
		}
		if o.superseded != "" {
			superseded[idKey(o.superseded)] = true
		}
		for _, id := range o.holds {
			refs[idKey(id)] = struct{}{}
		}
		if o.err != nil {
			s.failed(tasks[i].backoffKey, o.err)
		} else {
			r.backoff.succeeded(tasks[i].backoffKey)
		}
	}
	for i := range st.lbs {
		if superseded[idKey(st.lbs[i].Id)] {
			continue
		}
		for _, id := range st.lbs[i].HostComputeEndpoints {
			refs[idKey(id)] = struct{}{}
		}
	}
	return refs
}

// resolveBackends returns the sorted HNS endpoint IDs of lb's backends.
// waiting is true when a backend's plan endpoint could not be made this
// sync. Backends without endpoint are left out, with a diagnostic.
func (s *syncRun) resolveBackends(lb *lbpolicy.LoadBalancer, key lbpolicy.Key) (ids []string, waiting bool) {
	st := s.st
	ids = make([]string, 0, len(lb.Backends))
	for _, b := range lb.Backends {
		if b.EndpointName != "" {
			if i, ok := st.localByName[b.EndpointName]; ok {
				ids = append(ids, st.endpoints[i].Id)
				continue
			}
			s.diagnose(lbpolicy.SeverityWarning, serviceObject(lb), ReasonLocalEndpointMissing,
				"load balancer %s: no local HNS endpoint named %q on network %q; backend left out",
				key, b.EndpointName, s.r.opts.NetworkName)
			continue
		}
		ip := b.IP.Unmap()
		if id, ok := s.resolved[ip]; ok {
			ids = append(ids, id)
			continue
		}
		if s.waiting[ip] {
			return nil, true
		}
		if i, ok := st.localByIP[ip]; ok {
			ids = append(ids, st.endpoints[i].Id)
			continue
		}
		s.diagnose(lbpolicy.SeverityWarning, serviceObject(lb), ReasonLocalEndpointMissing,
			"load balancer %s: backend %s has no HNS endpoint on network %q (neither a local endpoint nor one of the plan's); backend left out",
			key, ip, s.r.opts.NetworkName)
	}
	slices.Sort(ids)
	return slices.Compact(ids), false
}

// runLBTask makes one task's calls. It runs on a worker goroutine: it only
// reads shared state and returns what it did.
func (s *syncRun) runLBTask(ctx context.Context, t *lbTask) lbOutcome {
	switch t.action {
	case actionCreate:
		return s.createLB(ctx, t)
	case actionDelete:
		err := s.calls.deleteLoadBalancer(ctx, t.old.Id)
		switch {
		case err == nil:
			return lbOutcome{deleted: true, disown: t.old.Id, superseded: t.old.Id}
		case IsNotFound(err):
			// Gone already: success. Ownership and references stay until
			// a list confirms it.
			return lbOutcome{deleted: true}
		}
		return lbOutcome{err: &ObjectError{Object: t.object, Op: OpDeleteLoadBalancer, Err: err}}
	}
	if !s.r.canUpdate() {
		return s.replaceLB(ctx, t)
	}
	return s.updateLB(ctx, t)
}

func (s *syncRun) createLB(ctx context.Context, t *lbTask) lbOutcome {
	got, err := s.calls.createLoadBalancer(ctx, t.want)
	if err != nil {
		return lbOutcome{err: &ObjectError{Object: t.object, Op: OpCreateLoadBalancer, Err: err}}
	}
	return lbOutcome{created: true, own: got.Id, holds: t.want.HostComputeEndpoints}
}

// replaceLB deletes the old load balancer, then creates the wanted one.
func (s *syncRun) replaceLB(ctx context.Context, t *lbTask) lbOutcome {
	var o lbOutcome
	switch err := s.calls.deleteLoadBalancer(ctx, t.old.Id); {
	case err == nil:
		o.disown, o.superseded = t.old.Id, t.old.Id
	case IsNotFound(err):
		// Gone already; the create below sorts out whether it really is.
	default:
		o.err = &ObjectError{Object: t.object, Op: OpDeleteLoadBalancer, Err: err}
		return o
	}
	got, err := s.calls.createLoadBalancer(ctx, t.want)
	if err != nil {
		o.err = &ObjectError{Object: t.object, Op: OpCreateLoadBalancer, Err: err}
		return o
	}
	o.updated, o.own, o.holds = true, got.Id, t.want.HostComputeEndpoints
	return o
}

// updateLB updates in place and verifies the result. HNS 15.4 answers an
// update with success but keeps the old backends (kubernetes#131466), so
// the Reconciler checks the backends in HNS's answer and, until one update
// on this HNS has been seen to take effect, also reads the load balancer
// back (one GetLoadBalancer) and compares all of it; from then on it trusts
// the answer. If HNS ignored the update, or does not implement it, the
// Reconciler falls back to delete and create, now and for every later
// change: a false alarm costs calls, never correctness.
func (s *syncRun) updateLB(ctx context.Context, t *lbTask) lbOutcome {
	r := s.r
	unsure := lbOutcome{holds: t.want.HostComputeEndpoints} // old or new: keep both referenced
	got, err := s.calls.updateLoadBalancer(ctx, t.old.Id, t.want)
	if err != nil {
		if IsNotImplemented(err) {
			s.updatesBroken("HNS does not implement load-balancer updates")
			return s.replaceLB(ctx, t)
		}
		unsure.err = &ObjectError{Object: t.object, Op: OpUpdateLoadBalancer, Err: err}
		return unsure
	}
	if got == nil || !sameIDSet(got.HostComputeEndpoints, t.want.HostComputeEndpoints) {
		s.updatesBroken("HNS answered an update with other backends than sent")
		return s.replaceLB(ctx, t)
	}
	if !r.updateVerified.Load() {
		cur, err := s.calls.getLoadBalancer(ctx, t.old.Id)
		if err != nil {
			unsure.err = &ObjectError{Object: t.object, Op: OpGetLoadBalancer, Err: err}
			return unsure
		}
		if cur == nil || !sameLoadBalancer(cur, t.want) {
			s.updatesBroken("HNS reported an update as done but kept the old content (kubernetes#131466)")
			return s.replaceLB(ctx, t)
		}
		r.updateVerified.Store(true)
	}
	return lbOutcome{updated: true, superseded: t.old.Id, holds: t.want.HostComputeEndpoints}
}

func (s *syncRun) updatesBroken(why string) {
	if !s.r.updateBroken.Swap(true) {
		s.r.log.Info("Not updating load balancers in place any more: replacing them with delete and create",
			"reason", why, "hnsVersion", s.r.version.String())
	}
}
