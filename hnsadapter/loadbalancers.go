package hnsadapter

import (
	"context"
	"net/netip"
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
	action lbAction
	plan   *lbpolicy.LoadBalancer // the plan's entry; create and update
	obj    objectKey              // its record: the key's, or the owned ID's for a delete
	key    lbpolicy.Key
	keyOK  bool
	old    *hns.HostComputeLoadBalancer // as HNS holds it; update and delete
	want   *hns.HostComputeLoadBalancer // create and update
	// wantOrdered: want's endpoint IDs are in key order (inKeyOrder).
	wantOrdered bool
	// known, in a sync of changes, is what the backends resolved to,
	// kept if the call succeeds (resolved.go).
	known *resolvedLB
}

// object names t's load balancer in errors and logs, built only for
// them.
func (t *lbTask) object() string {
	switch {
	case t.plan != nil:
		return lbObject(t.key, t.plan)
	case t.keyOK:
		return "LoadBalancer " + t.key.String() + " (ID " + t.old.Id + ")"
	}
	return "LoadBalancer " + t.old.Id
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

// applyLoadBalancers makes the calls of tasks, on workers, and records
// what each did as soon as it is done.
func (s *syncRun) applyLoadBalancers(ctx context.Context, tasks []lbTask) {
	w := lbWorker{calls: s.calls, updates: s.r.updates}
	parallel(ctx, s.r.opts.Concurrency, w, tasks, &s.r.scratch.lbOuts, runLBTask,
		func(i int, o *ran[lbOutcome]) {
			if !o.ok {
				s.unfinished(&tasks[i])
				return
			}
			s.recordLB(ctx, &tasks[i], &o.v)
		})
}

// recordLB applies what task t did.
func (s *syncRun) recordLB(ctx context.Context, t *lbTask, o *lbOutcome) {
	switch {
	case o.created && s.detached[t.key] && t.keyOK:
		s.res.Updated++ // moved off a replaced endpoint by a delete: replaced
	case o.created:
		s.res.Created++
	case o.updated:
		s.res.Updated++
	case o.deleted:
		s.res.Deleted++
	}
	s.applyLB(o)
	if t.known != nil {
		if o.err == nil && o.now != nil {
			s.v.keepResolved(t.key, t.known, o.now, o.facts)
		} else {
			s.v.dropResolved(t.known)
		}
	}
	if o.err != nil {
		s.unfinished(t)
		s.failed(ctx, t.obj, o.err)
	} else {
		s.r.objects.succeeded(t.obj)
	}
}

// applyLB records in the view, ownership and object records what a
// load-balancer task did to HNS.
func (s *syncRun) applyLB(o *lbOutcome) {
	r, v := s.r, s.v
	if o.gone != "" {
		r.owned.removeLB(o.gone)
		v.removeLB(o.gone)
	}
	if o.missing != "" {
		v.removeLB(o.missing)
		r.requireFull(fullGone)
	}
	if o.now != nil {
		r.owned.addLB(o.now.Id, o.facts.key)
		v.putLBKeyed(o.now, o.facts.key, o.facts.keyOK, o.facts.ordered, o.trusted)
	}
	if o.relist != "" {
		r.requireFull(o.relist)
	}
	if o.unsure != nil {
		if k, ok := LoadBalancerKey(o.unsure); ok {
			r.createUnsure(keyLB(k), o.unsure, nil)
		}
	}
}

// unfinished leaves t's load balancer for a later sync of changes to look
// at again; one without key (only a full sync sees it) for a full sync.
func (s *syncRun) unfinished(t *lbTask) {
	if t.keyOK {
		s.r.objects.markDirty(keyLB(t.key))
	} else {
		s.r.requireFull(fullNoKey)
	}
}

// planLB decides what the plan's load balancer lb, with key, needs, and
// appends the task if it needs a call. changed says whether the change
// set names the key. The owned load balancer holding the key goes into
// keep. It is examineLB then decideLB, on one goroutine.
func (s *syncRun) planLB(tasks []lbTask, lb *lbpolicy.LoadBalancer, key lbpolicy.Key, changed bool, keep map[string]bool) []lbTask {
	if len(s.r.scratch.lbBufs) == 0 {
		s.r.scratch.lbBufs = make([]lbBuf, 1)
	}
	buf := &s.r.scratch.lbBufs[0]
	buf.reset()
	f := lbFindings{lb: lb, key: key, changed: changed}
	s.examineLB(&f, buf)
	return s.decideLB(tasks, &f, keep)
}

// decideLB records what examineLB found out about a load balancer, and
// appends its task if it needs a call. The owned load balancer holding
// the key goes into keep (or is marked kept by the walk).
func (s *syncRun) decideLB(tasks []lbTask, f *lbFindings, keep map[string]bool) []lbTask {
	r, lb, key := s.r, f.lb, f.key
	switch {
	case f.walked >= 0:
		s.lbWalk.kept[f.walked] = true
	case f.ownedID != "":
		keep[f.ownedID] = true
	}
	s.res.Diagnostics = append(s.res.Diagnostics, f.diags...)
	for _, u := range f.uses {
		s.use(u.ip, u.id)
	}
	if f.waitFor.IsValid() {
		r.objects.markDirty(keyEndpoint(f.waitFor)) // the next sync makes it
	}
	obj := keyLB(key)
	if f.missing {
		// Look again later: the CNI may not have made the pod's endpoint
		// yet. The backoff spaces the endpoint lists this costs.
		r.objects.markDirty(obj)
		r.objects.lookupMissed(obj, s.now, f.changed)
	} else {
		r.objects.lookupFound(obj)
	}
	if f.waiting {
		r.objects.markDirty(obj)
		s.res.Pending++ // its endpoint's failure is reported already
		return tasks
	}
	if len(f.ids) == 0 {
		s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonNoHNSEndpoints,
			"load balancer %s: no backend has an HNS endpoint; not sent to HNS (an existing one is kept)", key)
		return tasks
	}
	var note *resolvedLB
	if s.changes && !f.missing {
		note = s.v.noteResolved(f.ips, f.ids)
	}
	if f.same {
		if note != nil {
			// owned references exactly the backends' endpoints, as if
			// it had been sent them.
			s.v.keepResolved(key, note, f.owned, answerFacts{asSent: true})
		}
		return tasks
	}
	switch {
	case f.unsupported != "":
		s.unsupported(lb, key, f.unsupported, f.owned != nil)
		return tasks // no call HNS would refuse with 0x57 (capability.go)
	case f.owned == nil && f.foreign != nil:
		r.objects.markDirty(obj)
		s.report(&ObjectError{Object: lbObject(key, lb), Op: hns.OpCreateLoadBalancer,
			Err: &ConflictError{Key: key, HolderID: f.foreign.Id}})
		return tasks
	}
	task := lbTask{action: actionCreate, plan: lb, obj: obj, key: key, keyOK: true, want: f.want,
		wantOrdered: f.wantOrdered, known: note}
	if f.owned != nil {
		task.action, task.old = actionUpdate, f.owned
	}
	if !s.due(obj) {
		r.objects.markDirty(obj)
		return tasks
	}
	return append(tasks, task)
}

// heldLBs returns the load balancers with key: the owned one (the first
// by ID), with its ID in idKey form (or its position in the walk: walked,
// else -1), and another agent's; more says whether another owned one
// holds key too. It changes nothing.
func (s *syncRun) heldLBs(key lbpolicy.Key) (owned, foreign *hns.HostComputeLoadBalancer, ownedID string, walked int, more bool) {
	walked = -1
	if w := s.lbWalk; w != nil {
		from, n := w.holding(key)
		for i := from; i < from+n; i++ {
			switch e := &w.all[i]; {
			case !s.r.owned.ownsKeyed(e):
				if foreign == nil {
					foreign = e.lb
				}
			case owned == nil:
				owned, walked = e.lb, i
			default:
				more = true
			}
		}
		return owned, foreign, "", walked, more
	}
	for _, id := range s.v.byKey[key] {
		switch {
		case !s.r.owned.ownsLB(id):
			if foreign == nil {
				foreign = s.v.lbs[id]
			}
		case owned == nil:
			owned, ownedID = s.v.lbs[id], id
		default:
			more = true
		}
	}
	return owned, foreign, ownedID, walked, more
}

// deleteLB appends the task deleting the owned load balancer id.
func (s *syncRun) deleteLB(tasks []lbTask, id string) []lbTask {
	lb := s.v.lbs[id]
	task := lbTask{action: actionDelete, obj: keyLBDelete(id), old: lb}
	if k, ok := s.v.keys[id]; ok {
		task.key, task.keyOK = k, true
	}
	if !s.due(task.obj) {
		s.unfinished(&task)
		return tasks
	}
	return append(tasks, task)
}

// resolveBackends finds the HNS endpoint IDs of f's backends, in backend
// order (an ID may repeat), and in a sync of changes the IP of each
// (invalid for a named backend), in buf: f.ids and f.ips. f.waiting is
// set when a backend's plan endpoint could not be made this sync.
// Backends without endpoint are left out, with a diagnostic, and set
// f.missing. f.known (nil: none) is what the backends resolved to before,
// for the IPs that did not change. It changes nothing: what to record
// goes into f.
func (s *syncRun) resolveBackends(f *lbFindings, buf *lbBuf) {
	v, lb, key := s.v, f.lb, f.key
	idsFrom, ipsFrom, usesFrom := len(buf.ids), len(buf.ips), len(buf.uses)
	defer func() {
		f.uses = slices.Clip(buf.uses[usesFrom:])
		if f.waiting {
			buf.ids, buf.ips = buf.ids[:idsFrom], buf.ips[:ipsFrom]
			return
		}
		f.ids = slices.Clip(buf.ids[idsFrom:])
		if s.changes {
			f.ips = slices.Clip(buf.ips[ipsFrom:])
		}
	}()
	d := s.dense
	if d != nil {
		d.eps = d.eps[:0]
	}
	walk := resolvedWalk{r: f.known}
	var ip netip.Addr // the backend's; invalid for a named one
	add := func(id string, ep *hns.HostComputeEndpoint) {
		buf.ids = append(buf.ids, id)
		if d != nil {
			d.eps = append(d.eps, ep)
		}
		if s.changes {
			buf.ips = append(buf.ips, ip)
		}
	}
	for _, b := range lb.Backends {
		ip = b.IP.Unmap()
		if b.EndpointName != "" {
			ip = netip.Addr{}
			if ep, ok := v.localNamed(b.EndpointName); ok {
				add(ep.Id, ep)
				continue
			}
			f.missing = true
			f.diagnose(lbpolicy.SeverityWarning, serviceObject(lb), ReasonLocalEndpointMissing,
				"load balancer %s: no local HNS endpoint named %q on network %q; backend left out",
				key, b.EndpointName, s.r.opts.NetworkName)
			continue
		}
		if use, ok := s.usedBy(ip); ok {
			if use.waiting {
				f.waiting = true
				return
			}
			add(use.id, use.ep)
			continue
		}
		if f.known != nil && !s.scope.isNamed(ip) {
			if id, ok := walk.find(ip); ok {
				add(id, nil)
				continue
			}
		}
		if ep, ok := v.local(ip); ok {
			add(ep.Id, ep)
			continue
		}
		if want, ok := s.idx.endpoint(ip); ok && want.Remote {
			// A sync of changes that came to this load balancer after
			// phase 1 (its endpoint was replaced) resolves the rest here.
			// (A full sync's phase 1 resolved every endpoint of the plan.)
			if id, ok := s.existingRemote(&want); ok {
				buf.uses = append(buf.uses, ipUse{ip: ip, id: id})
				add(id, nil)
				continue
			}
			f.waiting, f.waitFor = true, ip
			return
		}
		f.missing = true
		f.diagnose(lbpolicy.SeverityWarning, serviceObject(lb), ReasonLocalEndpointMissing,
			"load balancer %s: backend %s has no HNS endpoint on network %q (neither a local endpoint nor one of the plan's); backend left out",
			key, ip, s.r.opts.NetworkName)
	}
}

// sameBackends reports whether the owned load balancer held (walked: its
// position in the walk, or -1) references the endpoints ids, which
// resolveBackends returned.
func (s *syncRun) sameBackends(held *hns.HostComputeLoadBalancer, walked int, ids []string, heldOrdered bool) bool {
	if w := s.lbWalk; w != nil && w.resolved && walked >= 0 &&
		sameEndpoints(w.eps[w.epsAt[walked]:w.epsAt[walked+1]], s.dense.eps) {
		return true
	}
	return sameBackendIDs(held.HostComputeEndpoints, ids, heldOrdered)
}

// sameEndpoints reports whether eps are the endpoints of held, each once,
// in any order, comparing identities (nil: not known, never the same).
// Short lists only: false means "compare the IDs".
func sameEndpoints(held, eps []*hns.HostComputeEndpoint) bool {
	if len(held) != len(eps) || len(eps) > 16 {
		return false
	}
	var found uint16
	for _, ep := range eps {
		i := slices.Index(held, ep)
		if ep == nil || i < 0 || found&(1<<i) != 0 {
			return false
		}
		found |= 1 << i
	}
	return true
}

// sameBackendIDs is sameIDSet(held, ids) for ids in any order, and
// possibly repeated, which it may sort. A load balancer this package sent
// holds its IDs sorted: each of ids is then searched for, rather than
// ids sorted (for each of 16,000 load balancers, in a full sync). When
// held is known to be in key order (heldOrdered), an ID in key form that
// it lacks settles it: a changed load balancer is told apart without
// sorting.
func sameBackendIDs(held, ids []string, heldOrdered bool) bool {
	if len(held) <= 64 && (len(held) == len(ids) || heldOrdered) {
		var found uint64 // the positions in held found
		for _, id := range ids {
			i, ok := slices.BinarySearch(held, id)
			if !ok && heldOrdered && idKey(id) == id {
				return false
			}
			if !ok || found&(1<<i) != 0 {
				break
			}
			found |= 1 << i
		}
		if len(held) == len(ids) && found == 1<<len(ids)-1 { // every ID of held, each once
			return true
		}
	}
	slices.Sort(ids)
	return sameIDSet(held, slices.Compact(ids))
}
