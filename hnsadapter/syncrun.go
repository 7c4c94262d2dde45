package hnsadapter

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// syncRun is one sync: the plan, the view it works from, what it did, and
// the per-sync record of the endpoints it met. A full sync (runFull, in
// fullsync.go) and a sync of changes (runChanges, in changesync.go) choose
// what to look at, then run the same three phases over it: the plan's
// endpoints (endpoints.go), the load balancers (loadbalancers.go), and
// the endpoints no longer needed.
//
// Only the goroutine running the sync changes a syncRun. The phases'
// workers get only what they may touch and return outcomes, which the
// phase applies here, each once its task is done. Parts that only read
// (examining a sync of changes' load balancers, choosing deletes) may
// run on several goroutines while the sync's own waits for them.
type syncRun struct {
	r     *Reconciler
	plan  *lbpolicy.Plan // nil in a sync of changes of a Snapshot
	idx   planIndex
	calls *calls
	now   time.Time
	res   Result
	v     *view // r.view, once listed

	// endpoints holds, per endpoint IP the sync resolved, the HNS endpoint
	// the plan's backends with that IP use, or that they must wait;
	// filters.endpoints its IPs, for the many lookups that find none.
	endpoints map[netip.Addr]endpointUse
	// ids holds, per HNS endpoint ID (idKey form), what the sync did with
	// the endpoint.
	ids map[string]endpointMarks
	// dense, in a full sync that walks the list sorted by IP, holds the
	// uses of the endpoints phase 1 found in the list, by position,
	// instead of endpoints and ids (which then hold only the rest).
	dense *fullScratch
	// lbWalk, in a full sync's phase 2 when the plan and the view's load
	// balancers are sorted by key, finds the load balancers holding each
	// key instead of byKey, and records those kept instead of keep.
	lbWalk *lbWalk
	// detached holds the keys of the load balancers phase 1 moved off
	// endpoints it replaced (replace.go): phase 2 looks at them. Nil
	// until one is.
	detached map[lbpolicy.Key]bool
	// scope is what a sync of changes looks at (changesync.go).
	scope changeScope
	// changes: this is a sync of changes, which remembers what it
	// resolved load balancers' backends to (resolved.go).
	changes bool
	// onRelease is s.markReleased, made once: the view calls it while
	// the phases run.
	onRelease func(id string)
	// filters are kept from sync to sync (8 KB each).
	filters *syncFilters
}

// endpointUse is what the backends with one IP use this sync.
type endpointUse struct {
	id string
	// ep is the listed endpoint, in a dense full sync (else nil).
	ep *hns.HostComputeEndpoint
	// waiting: no usable HNS endpoint this sync (its create failed, was
	// refused, waits in backoff, or is left to the next sync); the load
	// balancers using the IP wait, untouched.
	waiting bool
}

// endpointMarks is what a sync did with one HNS endpoint.
type endpointMarks uint8

const (
	// markUsed: the plan's backends use it.
	markUsed endpointMarks = 1 << iota
	// markReleased: a load balancer stopped referencing it, and none
	// references it any more.
	markReleased
)

// newSyncRun returns the syncRun of a sync: the one the last sync
// finished with (r.spareRun), reset, or a new one.
func newSyncRun(r *Reconciler, plan *lbpolicy.Plan, now time.Time) *syncRun {
	s := r.spareRun
	r.spareRun = nil
	if s == nil {
		s = &syncRun{calls: new(calls)}
		s.onRelease = s.markReleased // one method value for every sync s runs
	}
	c, onRelease, filters := s.calls, s.onRelease, s.filters
	*c = calls{b: r.backend, log: r.log, now: r.opts.Now, metrics: r.opts.Metrics}
	if filters == nil {
		filters = new(syncFilters)
	} else {
		*filters = syncFilters{}
	}
	*s = syncRun{
		r:         r,
		plan:      plan,
		calls:     c,
		now:       now,
		endpoints: take(&r.scratch.endpoints),
		ids:       take(&r.scratch.ids),
		onRelease: onRelease,
		filters:   filters,
	}
	s.scope.named = &filters.named
	return s
}

// phases runs the three phases: endpoints to create (wants, in order),
// the load balancer tasks planLBs returns (called after phase 1), and
// the deletes of the owned endpoints among candidates that nothing needs
// (see deleteEndpoints for scope).
func (s *syncRun) phases(ctx context.Context, wants []*lbpolicy.Endpoint, planLBs func() []lbTask,
	candidates func() []string, scope map[netip.Addr]ipScope,
) {
	s.v.released = s.onRelease
	defer func() { s.v.released = nil }()
	s.createEndpoints(ctx, wants)
	s.applyLoadBalancers(ctx, planLBs())
	s.deleteEndpoints(ctx, candidates(), scope)
}

// recycle hands s's maps back to the Reconciler's scratch, once the sync
// is over.
func (s *syncRun) recycle() {
	if s.dense != nil {
		s.dense.listed, s.dense = nil, nil
	}
	give(&s.r.scratch.endpoints, s.endpoints)
	give(&s.r.scratch.ids, s.ids)
	s.endpoints, s.ids = nil, nil
}

func (s *syncRun) markReleased(id string) { s.ids[id] |= markReleased }

// use records that the backends with IP ip use HNS endpoint id.
func (s *syncRun) use(ip netip.Addr, id string) {
	s.endpoints[ip] = endpointUse{id: id}
	s.filters.endpoints.add(ip)
	s.ids[idKey(id)] |= markUsed
}

// useListed records that the backends with the IP of wants[i] (a full
// sync's, dense) use the listed endpoint e.
func (s *syncRun) useListed(i int, e *listedEndpoint) {
	s.dense.uses[i].id, s.dense.uses[i].ep = e.id, e.ep
	s.dense.used[e.pos] = true
}

// usedBy returns what the backends with IP ip use, if the sync resolved
// it.
func (s *syncRun) usedBy(ip netip.Addr) (endpointUse, bool) {
	if d := s.dense; d != nil {
		if u := d.at.find(d.uses, ip); u != nil && u.id != "" {
			return endpointUse{id: u.id, ep: u.ep}, true
		}
	}
	if !s.filters.endpoints.mayHave(ip) {
		return endpointUse{}, false
	}
	use, ok := s.endpoints[ip]
	return use, ok
}

// wait records that the backends with IP ip have no usable endpoint this
// sync, and leaves the IP to the next sync of changes.
func (s *syncRun) wait(ip netip.Addr) {
	s.endpoints[ip] = endpointUse{waiting: true}
	s.filters.endpoints.add(ip)
	s.r.objects.markDirty(keyEndpoint(ip))
}

// failed records a failed call of object k: the error in the result, a
// log line, and k's next backoff step. A failure because ctx ended is not
// the object's fault and costs it no backoff.
func (s *syncRun) failed(ctx context.Context, k objectKey, e *ObjectError) {
	if ctx.Err() == nil {
		st := s.r.objects.failed(k, s.now, e)
		e.Failures, e.RetryAt = st.calls.failures, st.calls.notBefore
	}
	s.report(e)
}

// report records a failure that costs no backoff: the object is looked at
// again by the next sync.
func (s *syncRun) report(e *ObjectError) {
	e.Tried = true
	s.res.Errors = append(s.res.Errors, e)
	s.r.log.Error(e.Err, "HNS object not reconciled; will retry", "object", e.Object, "op", e.Op)
}

// due reports whether object k may be tried now. One in backoff counts as
// pending, and its last failure is reported again, as not tried.
func (s *syncRun) due(k objectKey) bool {
	ok, st := s.r.objects.due(k, s.now)
	if ok {
		return true
	}
	s.res.Pending++
	e := st.err
	e.Tried, e.Failures, e.RetryAt = false, st.calls.failures, st.calls.notBefore
	s.res.Errors = append(s.res.Errors, &e)
	return false
}

func (s *syncRun) diagnose(severity lbpolicy.Severity, object string, reason lbpolicy.Reason, format string, args ...any) {
	s.res.Diagnostics = append(s.res.Diagnostics, lbpolicy.Diagnostic{
		Severity: severity, Object: object, Reason: reason, Message: fmt.Sprintf(format, args...),
	})
}
