package hnsadapter

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Replacing an owned endpoint.
//
// HNS holds one endpoint per IP on a network, so the plan's endpoint for
// an IP whose owned endpoint has other content (the pod's IP is now behind
// another node) can only be created once the old endpoint is deleted. The
// old one is deleted only when no load balancer references it, so that no
// load balancer is ever left pointing at a deleted endpoint, whichever call
// fails:
//
//  1. An endpoint that a load balancer the Reconciler does not own
//     references is neither deleted nor replaced: an *InUseError names that
//     load balancer, and the load balancers using the IP wait.
//  2. The owned load balancers that reference it are first moved off it:
//     brought to their content without it (in place where HNS can, else
//     by delete and create), or deleted when the plan no longer wants them
//     or nothing would be left (phase 2 creates them again).
//  3. If one cannot be moved, the endpoint is not replaced this sync: the
//     failure is the endpoint's, counting towards its backoff, and the
//     load balancers using the IP wait.
//  4. Then phase 1 deletes the old endpoint and creates the new one, and
//     phase 2 brings the moved load balancers to the plan.
//
// This costs one more update (or delete and create) per load balancer that
// used the endpoint, only when an endpoint is replaced.

// moveOff is one owned load balancer to move off endpoints to replace.
type moveOff struct {
	task lbTask
	ips  []netip.Addr // of the endpoints it moves off
}

// moveOffReplaced makes way for the tasks of todo that replace owned
// endpoints, as above, and returns the tasks that may proceed.
func (s *syncRun) moveOffReplaced(ctx context.Context, todo []epTask) []epTask {
	var replaced map[string]netip.Addr // endpoint ID (idKey form) -> IP
	for i := range todo {
		for _, old := range todo[i].replace {
			if replaced == nil {
				replaced = map[string]netip.Addr{}
			}
			replaced[idKey(old.Id)] = todo[i].want.IP.Unmap()
		}
	}
	if replaced == nil {
		return todo
	}
	owned, foreign := s.referrers(replaced)
	blocked := map[netip.Addr]bool{}
	for _, epID := range sortedKeys(foreign) {
		ip := replaced[epID]
		blocked[ip] = true
		s.report(&ObjectError{Object: endpointObject(ip), Op: hns.OpDeleteEndpoint,
			Err: &InUseError{IP: ip, EndpointID: s.v.eps[epID].Id, LoadBalancerID: foreign[epID]}})
	}
	moves := s.moveOffTasks(owned, replaced, blocked)
	w := lbWorker{calls: s.calls, updates: s.r.updates}
	outs := parallel(ctx, s.r.opts.Concurrency, w, moves, new([]ran[lbOutcome]),
		func(ctx context.Context, w lbWorker, m *moveOff) lbOutcome { return runLBTask(ctx, w, &m.task) }, nil)
	for i := range moves {
		s.recordMoveOff(ctx, &moves[i], &outs[i].v, outs[i].ok, blocked)
	}
	kept := todo[:0]
	for _, t := range todo {
		if ip := t.want.IP.Unmap(); blocked[ip] {
			s.wait(ip)
		} else {
			kept = append(kept, t)
		}
	}
	return kept
}

// referrers returns the load balancers that reference the endpoints of
// replaced: the owned ones, each with the endpoints it references, and
// for each endpoint a load balancer the Reconciler does not own that
// references it (the first by ID), if any.
func (s *syncRun) referrers(replaced map[string]netip.Addr) (owned map[string][]string, foreign map[string]string) {
	owned, foreign = map[string][]string{}, map[string]string{}
	for _, id := range s.v.sortedLBIDs() {
		lb := s.v.lbs[id]
		forEachID(lb.HostComputeEndpoints, func(ep string) {
			if _, ok := replaced[ep]; !ok {
				return
			}
			if s.r.owned.ownsLB(id) {
				owned[id] = append(owned[id], ep)
			} else if _, seen := foreign[ep]; !seen {
				foreign[ep] = lb.Id
			}
		})
	}
	return owned, foreign
}

// moveOffTasks returns the tasks moving the owned load balancers owned
// (ID -> the endpoints to replace it references) off the endpoints of
// replaced that are not blocked.
func (s *syncRun) moveOffTasks(owned map[string][]string, replaced map[string]netip.Addr, blocked map[netip.Addr]bool) []moveOff {
	v := s.v
	var moves []moveOff
	for _, id := range sortedKeys(owned) {
		drop := map[string]bool{}
		var ips []netip.Addr
		for _, ep := range owned[id] {
			if ip := replaced[ep]; !blocked[ip] {
				drop[ep] = true
				ips = append(ips, ip)
			}
		}
		if len(drop) == 0 {
			continue
		}
		old := v.lbs[id]
		var rest []string
		for _, ep := range old.HostComputeEndpoints {
			if k := idKey(ep); !drop[k] && v.eps[k] != nil {
				rest = append(rest, ep) // and leave out references HNS would refuse
			}
		}
		m := moveOff{ips: ips, task: lbTask{action: actionDelete, obj: keyLBDelete(id), old: old}}
		if k, ok := v.keys[id]; ok {
			m.task.key, m.task.keyOK = k, true
			if s.idx.loadBalancer(k) != nil && len(rest) > 0 {
				want := *old
				want.Id, want.HostComputeEndpoints = "", rest
				m.task.action, m.task.obj, m.task.want = actionUpdate, keyLB(k), &want
			}
		}
		moves = append(moves, m)
	}
	return moves
}

// recordMoveOff applies what moving a load balancer off endpoints did
// (started: the task ran). If it did not move, the endpoints it was to move
// off are blocked: a failure counts towards their backoff, once per sync.
func (s *syncRun) recordMoveOff(ctx context.Context, m *moveOff, o *lbOutcome, started bool, blocked map[netip.Addr]bool) {
	t := &m.task
	if !started || o.err != nil {
		for _, ip := range m.ips {
			if !blocked[ip] && started {
				s.failed(ctx, keyEndpoint(ip), &ObjectError{Object: endpointObject(ip), Op: o.err.Op,
					Err: fmt.Errorf("moving %s off the endpoint to replace: %w", t.object(), o.err.Err)})
			}
			blocked[ip] = true
		}
		if !started {
			return
		}
	}
	s.applyLB(o)
	if o.deleted && (!t.keyOK || s.idx.loadBalancer(t.key) == nil) {
		s.res.Deleted++ // not wanted: phase 2 has nothing more to do
	}
	if o.err == nil && t.keyOK {
		if s.detached == nil {
			s.detached = map[lbpolicy.Key]bool{}
		}
		s.detached[t.key] = true
	}
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
