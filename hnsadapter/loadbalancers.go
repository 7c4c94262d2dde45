package hnsadapter

import (
	"context"
	"fmt"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
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
	key        lbpolicy.Key
	keyOK      bool
	old        *hns.HostComputeLoadBalancer // as HNS holds it; update and delete
	want       *hns.HostComputeLoadBalancer // create and update
}

// lbOutcome is what a task did, for the sync to record.
type lbOutcome struct {
	created, updated, deleted bool
	// gone is a load balancer the task deleted; missing one HNS said it
	// did not have (a list must confirm it before it is disowned). now is
	// the one HNS holds for the key afterwards, when the task made or
	// changed it.
	gone, missing string
	now           *hns.HostComputeLoadBalancer
	// relist: HNS answered as if it held other objects than the view.
	relist bool
	// adopt: a load balancer of ours holds the key under an unknown ID.
	adopt bool
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

// applyLoadBalancers diffs the plan's load balancers in scope against HNS
// and makes the calls.
func (s *syncRun) applyLoadBalancers() {
	r, v := s.r, s.v
	var tasks []lbTask
	keep := map[string]bool{} // owned IDs to keep
	if s.full {
		wanted := make(map[lbpolicy.Key]bool, len(s.plan.LoadBalancers))
		for i := range s.plan.LoadBalancers {
			lb := &s.plan.LoadBalancers[i]
			key := lb.Key()
			if wanted[key] {
				s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonDuplicateKey,
					"load balancer %s is already in the plan for another entry; this one is not applied", key)
				continue
			}
			wanted[key] = true
			tasks = s.planLB(tasks, lb, key, keep)
		}
		for _, id := range v.sortedLBIDs() {
			if r.owned.ownsLB(id) && !keep[id] {
				tasks = s.deleteLB(tasks, id)
			}
		}
	} else {
		if len(s.replaced) > 0 {
			// Load balancers that referenced an endpoint phase 1
			// replaced must now reference its successor.
			for id, k := range v.keys {
				if s.references(v.lbs[id], s.replaced) {
					s.keys[k] = struct{}{}
				}
			}
		}
		keys := make([]lbpolicy.Key, 0, len(s.keys))
		for k := range s.keys {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, lbpolicy.Key.Compare)
		for _, key := range keys {
			if lb := s.idx.loadBalancer(key); lb != nil {
				tasks = s.planLB(tasks, lb, key, keep)
			}
			for _, id := range v.byKey[key] {
				if r.owned.ownsLB(id) && !keep[id] {
					tasks = s.deleteLB(tasks, id)
				}
			}
		}
	}

	outs, started := parallel(s.ctx, r.opts.Concurrency, len(tasks), func(ctx context.Context, i int) lbOutcome {
		return s.runLBTask(ctx, &tasks[i])
	})

	for i := range tasks {
		t := &tasks[i]
		if !started[i] {
			s.markDirty(t)
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
		if o.gone != "" {
			r.owned.removeLB(o.gone)
			v.removeLB(o.gone)
		}
		if o.missing != "" {
			v.removeLB(o.missing)
			r.needFull = true
		}
		if o.now != nil {
			r.owned.addLB(o.now.Id)
			v.putLB(o.now)
		}
		if o.relist {
			r.needFull = true
		}
		if o.adopt {
			r.adoptKeys[t.key] = struct{}{}
		}
		if o.err != nil {
			s.markDirty(t)
			s.failed(t.backoffKey, o.err)
		} else {
			r.backoff.succeeded(t.backoffKey)
		}
	}
}

// references reports whether lb references one of ids (idKey form).
func (s *syncRun) references(lb *hns.HostComputeLoadBalancer, ids []string) bool {
	for _, id := range lb.HostComputeEndpoints {
		if slices.Contains(ids, idKey(id)) {
			return true
		}
	}
	return false
}

// markDirty leaves t's load balancer for a later sync of changes to look
// at again; one without key (only a full sync sees it) by a full sync.
func (s *syncRun) markDirty(t *lbTask) {
	if t.keyOK {
		s.dirty.keys[t.key] = struct{}{}
	} else {
		s.r.needFull = true
	}
}

// planLB decides what the plan's load balancer lb, with key, needs, and
// appends the task if it needs a call. The owned load balancer holding
// the key goes into keep.
func (s *syncRun) planLB(tasks []lbTask, lb *lbpolicy.LoadBalancer, key lbpolicy.Key, keep map[string]bool) []lbTask {
	r, v := s.r, s.v
	var owned, foreign *hns.HostComputeLoadBalancer
	for _, id := range v.byKey[key] {
		switch {
		case r.owned.ownsLB(id):
			if owned == nil {
				owned = v.lbs[id]
				keep[id] = true
			}
		case foreign == nil:
			foreign = v.lbs[id]
		}
	}

	ids, waiting, missing := s.resolveBackends(lb, key)
	if missing {
		// Look again later: the CNI may not have made the pod's endpoint
		// yet. The backoff spaces the endpoint lists this costs.
		s.dirty.keys[key] = struct{}{}
		s.seen[missingKey(key)] = struct{}{}
		if _, changed := s.changed[key]; changed || s.r.backoff.ready(missingKey(key), s.now) {
			s.r.backoff.failed(missingKey(key), s.now)
		}
	} else {
		s.r.backoff.succeeded(missingKey(key))
	}
	if waiting {
		s.dirty.keys[key] = struct{}{}
		s.res.Pending++ // its endpoint's failure is reported already
		return tasks
	}
	if len(ids) == 0 {
		s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonNoHNSEndpoints,
			"load balancer %s: no backend has an HNS endpoint; not sent to HNS (an existing one is kept)", key)
		return tasks
	}
	want := desiredLoadBalancer(lb, ids)
	switch {
	case owned != nil && sameLoadBalancer(owned, want):
		return tasks
	case owned == nil && foreign != nil:
		s.dirty.keys[key] = struct{}{}
		s.failed("", &ObjectError{Object: lbObject(key, lb), Op: hns.OpCreateLoadBalancer, Err: &hns.Error{
			Op:   hns.OpCreateLoadBalancer,
			Code: hns.CodeAlreadyExists,
			Message: fmt.Sprintf("the frontend is held by load balancer %s, which this reconciler does not own "+
				"(another agent's, or one left from before it started: a restart adopts it)", foreign.Id),
		}})
		return tasks
	}
	task := lbTask{action: actionCreate, object: lbObject(key, lb), backoffKey: "lb " + key.String(),
		key: key, keyOK: true, want: want}
	if owned != nil {
		task.action, task.old = actionUpdate, owned
	}
	if !s.due(task.backoffKey) {
		s.dirty.keys[key] = struct{}{}
		return tasks
	}
	return append(tasks, task)
}

// deleteLB appends the task deleting the owned load balancer id.
func (s *syncRun) deleteLB(tasks []lbTask, id string) []lbTask {
	lb := s.v.lbs[id]
	task := lbTask{action: actionDelete, object: "LoadBalancer " + lb.Id, backoffKey: "lb-del " + id, old: lb}
	if k, ok := s.v.keys[id]; ok {
		task.key, task.keyOK = k, true
		task.object = "LoadBalancer " + k.String() + " (ID " + lb.Id + ")"
	}
	if !s.due(task.backoffKey) {
		s.markDirty(&task)
		return tasks
	}
	return append(tasks, task)
}

// resolveBackends returns the sorted HNS endpoint IDs of lb's backends.
// waiting is true when a backend's plan endpoint could not be made this
// sync. Backends without endpoint are left out, with a diagnostic, and
// make missing true.
func (s *syncRun) resolveBackends(lb *lbpolicy.LoadBalancer, key lbpolicy.Key) (ids []string, waiting, missing bool) {
	v := s.v
	ids = make([]string, 0, len(lb.Backends))
	for _, b := range lb.Backends {
		if b.EndpointName != "" {
			if ep, ok := v.localNamed(b.EndpointName); ok {
				ids = append(ids, ep.Id)
				continue
			}
			missing = true
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
			return nil, true, missing
		}
		if ep, ok := v.local(ip); ok {
			ids = append(ids, ep.Id)
			continue
		}
		if want := s.idx.endpoint(ip); want != nil && want.Remote && !s.full {
			// A sync of changes that came to this load balancer after
			// phase 1 (its endpoint was replaced) resolves the rest here.
			if id, ok := s.existingRemote(want); ok {
				s.use(ip, id)
				ids = append(ids, id)
				continue
			}
			s.dirty.ips[ip] = struct{}{} // the next sync makes it
			return nil, true, missing
		}
		missing = true
		s.diagnose(lbpolicy.SeverityWarning, serviceObject(lb), ReasonLocalEndpointMissing,
			"load balancer %s: backend %s has no HNS endpoint on network %q (neither a local endpoint nor one of the plan's); backend left out",
			key, ip, s.r.opts.NetworkName)
	}
	slices.Sort(ids)
	return slices.Compact(ids), false, missing
}

// runLBTask makes one task's calls. It runs on a worker goroutine: it only
// reads shared state and returns what it did.
func (s *syncRun) runLBTask(ctx context.Context, t *lbTask) lbOutcome {
	switch t.action {
	case actionCreate:
		return s.createLB(ctx, t)
	case actionDelete:
		switch err := s.calls.deleteLoadBalancer(ctx, t.old.Id); {
		case err == nil:
			return lbOutcome{deleted: true, gone: t.old.Id}
		case hns.IsNotFound(err):
			return lbOutcome{deleted: true, missing: t.old.Id}
		default:
			return lbOutcome{err: &ObjectError{Object: t.object, Op: hns.OpDeleteLoadBalancer, Err: err}}
		}
	}
	if !s.r.canUpdate() {
		return s.replaceLB(ctx, t)
	}
	return s.updateLB(ctx, t)
}

func (s *syncRun) createLB(ctx context.Context, t *lbTask) lbOutcome {
	got, err := s.calls.createLoadBalancer(ctx, t.want)
	if err != nil {
		// HNS holds an endpoint the view lacks, or lacks one it holds:
		// only a full sync's lists say which.
		relist := hns.IsInvalidReference(err) || hns.IsAlreadyExists(err)
		return lbOutcome{relist: relist, err: &ObjectError{Object: t.object, Op: hns.OpCreateLoadBalancer, Err: err}}
	}
	if got == nil || got.Id == "" {
		// Created under an ID HNS did not say: the next full sync lists it
		// and adopts it by key.
		return lbOutcome{relist: true, adopt: true, err: &ObjectError{Object: t.object, Op: hns.OpCreateLoadBalancer,
			Err: &hns.Error{Op: hns.OpCreateLoadBalancer, Message: "HNS answered the create without the load balancer's ID"}}}
	}
	return lbOutcome{created: true, now: held(got, t.want)}
}

// held returns what HNS holds after answering a create or update of want
// with got: got, or want with got's ID when got lacks content.
func held(got, want *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer {
	if len(got.PortMappings) > 0 {
		return got
	}
	lb := *want
	lb.Id = got.Id
	return &lb
}

// replaceLB deletes the old load balancer, then creates the wanted one.
func (s *syncRun) replaceLB(ctx context.Context, t *lbTask) lbOutcome {
	var gone, missing string
	switch err := s.calls.deleteLoadBalancer(ctx, t.old.Id); {
	case err == nil:
		gone = t.old.Id
	case hns.IsNotFound(err):
		missing = t.old.Id
	default:
		return lbOutcome{err: &ObjectError{Object: t.object, Op: hns.OpDeleteLoadBalancer, Err: err}}
	}
	o := s.createLB(ctx, t)
	o.gone, o.missing = gone, missing
	o.updated, o.created = o.created, false // a replacement counts as an update
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
	got, err := s.calls.updateLoadBalancer(ctx, t.old.Id, t.want)
	switch {
	case hns.IsNotImplemented(err):
		s.updatesBroken("HNS does not implement load-balancer updates")
		return s.replaceLB(ctx, t)
	case hns.IsNotFound(err):
		// Deleted out of band: create it.
		o := s.createLB(ctx, t)
		o.missing = t.old.Id
		return o
	case err != nil:
		// HNS may hold the old content or the new: the view keeps the
		// old, so the next sync compares and updates again.
		return lbOutcome{err: &ObjectError{Object: t.object, Op: hns.OpUpdateLoadBalancer, Err: err}}
	}
	if got == nil || !sameIDSet(got.HostComputeEndpoints, t.want.HostComputeEndpoints) {
		s.updatesBroken("HNS answered an update with other backends than sent")
		return s.replaceLB(ctx, t)
	}
	if !r.updateVerified.Load() {
		cur, err := s.calls.getLoadBalancer(ctx, t.old.Id)
		if err != nil {
			return lbOutcome{err: &ObjectError{Object: t.object, Op: hns.OpGetLoadBalancer, Err: err}}
		}
		if cur == nil || !sameLoadBalancer(cur, t.want) {
			s.updatesBroken("HNS reported an update as done but kept the old content (kubernetes#131466)")
			return s.replaceLB(ctx, t)
		}
		r.updateVerified.Store(true)
	}
	now := held(got, t.want)
	if now.Id == "" {
		copied := *now
		copied.Id = t.old.Id
		now = &copied
	}
	return lbOutcome{updated: true, now: now}
}

func (s *syncRun) updatesBroken(why string) {
	if !s.r.updateBroken.Swap(true) {
		s.r.log.Info("Not updating load balancers in place any more: replacing them with delete and create",
			"reason", why, "hnsVersion", s.r.version.String())
	}
}
