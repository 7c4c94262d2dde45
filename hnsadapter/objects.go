package hnsadapter

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// This file holds what the Reconciler remembers per object from one sync
// to the next: one record per object, under a typed key. The record holds
// the object's retries (failures in a row, the backoff's end, the last
// failure), whether the last sync left it unfinished, and, for a load
// balancer, the spacing of the endpoint lists its missing backends cost
// and what its creates sent that HNS answered without saying whether they
// took effect (unsure.go). An object with nothing to
// remember has no record: the table holds only the few objects that
// failed or wait.

// objectKind is the kind of object an objectKey names; it says which of
// the key's fields identify the object.
type objectKind uint8

const (
	// kindLoadBalancer is the plan's load balancer with identity key lb:
	// its create or update.
	kindLoadBalancer objectKind = iota + 1
	// kindLoadBalancerDelete is the owned load balancer with HNS ID id:
	// its delete.
	kindLoadBalancerDelete
	// kindEndpoint is the plan's endpoint with IP ip: its create, after
	// the deletes of the owned endpoints it replaces.
	kindEndpoint
	// kindEndpointDelete is the owned endpoint with HNS ID id: its delete.
	kindEndpointDelete
)

// objectKey names one object the Reconciler makes calls for.
type objectKey struct {
	kind objectKind
	lb   lbpolicy.Key // kindLoadBalancer
	ip   netip.Addr   // kindEndpoint (unmapped)
	id   string       // kindLoadBalancerDelete, kindEndpointDelete (idKey form)
}

// String names the object in logs.
func (k objectKey) String() string {
	switch k.kind {
	case kindLoadBalancer:
		return "LoadBalancer " + k.lb.String()
	case kindEndpoint:
		return endpointObject(k.ip)
	}
	return k.id
}

func keyLB(k lbpolicy.Key) objectKey { return objectKey{kind: kindLoadBalancer, lb: k} }

func keyLBDelete(id string) objectKey {
	return objectKey{kind: kindLoadBalancerDelete, id: idKey(id)}
}

func keyEndpoint(ip netip.Addr) objectKey { return objectKey{kind: kindEndpoint, ip: ip} }

func keyEndpointDelete(id string) objectKey {
	return objectKey{kind: kindEndpointDelete, id: idKey(id)}
}

// objectState is what the Reconciler remembers about one object.
type objectState struct {
	// calls is the backoff of the object's HNS calls; err is the last of
	// the failures it counts (set while calls.failures > 0).
	calls retry
	err   ObjectError
	// lookups (load balancers) spaces the lists of the network's
	// endpoints that syncs of changes make while a local backend of the
	// load balancer has no HNS endpoint.
	lookups retry
	// dirty: the last sync left the object unfinished (it failed, waits
	// in backoff or for an endpoint, or misses a local endpoint); the
	// next sync of changes looks at it again, as if it had changed.
	dirty bool
	// unsureLBs (load balancers) and unsureEPs (endpoints): what the
	// creates of the object sent that HNS answered without saying
	// whether they took effect (an error, or no ID), since the last full
	// sync's list. The next full sync's list decides (unsure.go).
	unsureLBs []*hns.HostComputeLoadBalancer
	unsureEPs []*hns.HostComputeEndpoint
	// callsSeen and lookupsSeen: this sync looked at the object's calls
	// or lookups. A full sync forgets the retries of the objects it did
	// not look at: they no longer need a call, and start afresh if they
	// ever need one again.
	callsSeen, lookupsSeen bool
}

// retry is the backoff of one thing an object needs.
type retry struct {
	failures  int
	notBefore time.Time
}

func (r retry) ready(now time.Time) bool { return !now.Before(r.notBefore) }

func (st *objectState) empty() bool {
	return st.calls.failures == 0 && st.lookups.failures == 0 && !st.dirty &&
		len(st.unsureLBs) == 0 && len(st.unsureEPs) == 0
}

// objectTable holds the records. It is only touched by the goroutine
// running a sync.
type objectTable struct {
	initial, max time.Duration
	m            map[objectKey]*objectState
}

func newObjectTable(initial, maxDelay time.Duration) objectTable {
	return objectTable{initial: initial, max: maxDelay, m: map[objectKey]*objectState{}}
}

// get returns k's record, or nil.
func (t *objectTable) get(k objectKey) *objectState {
	if len(t.m) == 0 {
		return nil
	}
	return t.m[k]
}

// record returns k's record, making it if needed.
func (t *objectTable) record(k objectKey) *objectState {
	st := t.m[k]
	if st == nil {
		st = &objectState{}
		t.m[k] = st
	}
	return st
}

// tidy drops k's record when it holds nothing.
func (t *objectTable) tidy(k objectKey, st *objectState) {
	if st.empty() {
		delete(t.m, k)
	}
}

// delay is the backoff after the n-th failure in a row: initial·2^(n-1),
// at most max.
func (t *objectTable) delay(n int) time.Duration {
	d := t.initial
	for i := 1; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// due reports whether k's calls may be made at now, and marks them looked
// at. When they may not, it returns k's record, in backoff.
func (t *objectTable) due(k objectKey, now time.Time) (bool, *objectState) {
	st := t.get(k)
	if st == nil {
		return true, nil
	}
	st.callsSeen = true
	if st.calls.ready(now) {
		return true, nil
	}
	return false, st
}

// failed records a failure of k's calls at now, e, and returns k's record.
func (t *objectTable) failed(k objectKey, now time.Time, e *ObjectError) *objectState {
	st := t.record(k)
	st.callsSeen = true
	st.calls.failures++
	st.calls.notBefore = now.Add(t.delay(st.calls.failures))
	st.err = ObjectError{Object: e.Object, Op: e.Op, Err: e.Err}
	return st
}

// succeeded forgets the failures of k's calls.
func (t *objectTable) succeeded(k objectKey) {
	if st := t.get(k); st != nil {
		st.calls, st.err = retry{}, ObjectError{}
		t.tidy(k, st)
	}
}

// lookupDue reports whether load balancer k's missing local backend may
// cost an endpoint list at now.
func (t *objectTable) lookupDue(k objectKey, now time.Time) bool {
	st := t.get(k)
	return st == nil || st.lookups.ready(now)
}

// lookupMissed records that load balancer k misses a local backend's
// endpoint at now. The next lookup waits longer each time one was due (or
// the load balancer changed) and found nothing.
func (t *objectTable) lookupMissed(k objectKey, now time.Time, changed bool) {
	st := t.get(k)
	switch {
	case st == nil:
		st = t.record(k)
	case !changed && !st.lookups.ready(now):
		st.lookupsSeen = true
		return
	}
	st.lookupsSeen = true
	st.lookups.failures++
	st.lookups.notBefore = now.Add(t.delay(st.lookups.failures))
}

// lookupFound forgets load balancer k's missed lookups.
func (t *objectTable) lookupFound(k objectKey) {
	if st := t.get(k); st != nil && st.lookups.failures > 0 {
		st.lookups = retry{}
		t.tidy(k, st)
	}
}

// markDirty leaves k for the next sync of changes to look at again.
func (t *objectTable) markDirty(k objectKey) { t.record(k).dirty = true }

// unsure records that a create of object k, sending lb or ep, was
// answered without saying whether it took effect.
func (t *objectTable) unsure(k objectKey, lb *hns.HostComputeLoadBalancer, ep *hns.HostComputeEndpoint) {
	st := t.record(k)
	if lb != nil {
		st.unsureLBs = append(st.unsureLBs, lb)
	}
	if ep != nil {
		st.unsureEPs = append(st.unsureEPs, ep)
	}
}

// unsureCreates is what the creates of one object sent that HNS answered
// without saying whether they took effect.
type unsureCreates struct {
	key objectKey
	lbs []*hns.HostComputeLoadBalancer
	eps []*hns.HostComputeEndpoint
}

// takeUnsure returns the unsure creates, sorted by object, and forgets
// them.
func (t *objectTable) takeUnsure() []unsureCreates {
	var out []unsureCreates
	for k, st := range t.m {
		if len(st.unsureLBs)+len(st.unsureEPs) > 0 {
			out = append(out, unsureCreates{key: k, lbs: st.unsureLBs, eps: st.unsureEPs})
			st.unsureLBs, st.unsureEPs = nil, nil
			t.tidy(k, st)
		}
	}
	slices.SortFunc(out, func(a, b unsureCreates) int {
		return cmp.Or(a.key.lb.Compare(b.key.lb), a.key.ip.Compare(b.key.ip))
	})
	return out
}

// peekUnsure returns the unsure creates without forgetting them, for the
// ownership record.
func (t *objectTable) peekUnsure() (lbs []*hns.HostComputeLoadBalancer, eps []*hns.HostComputeEndpoint) {
	for _, st := range t.m {
		lbs = append(lbs, st.unsureLBs...)
		eps = append(eps, st.unsureEPs...)
	}
	return lbs, eps
}

// begin starts a sync that proceeds: it returns the objects the last sync
// left unfinished and unmarks them (this sync marks what it leaves), and
// forgets what the last sync looked at.
func (t *objectTable) begin() (dirty []objectKey) {
	for k, st := range t.m {
		if st.dirty {
			dirty = append(dirty, k)
			st.dirty = false
		}
		st.callsSeen, st.lookupsSeen = false, false
		t.tidy(k, st)
	}
	return dirty
}

// retainSeen ends a full sync: it forgets the retries of the objects the
// sync did not look at.
func (t *objectTable) retainSeen() {
	for k, st := range t.m {
		if !st.callsSeen {
			st.calls, st.err = retry{}, ObjectError{}
		}
		if !st.lookupsSeen {
			st.lookups = retry{}
		}
		t.tidy(k, st)
	}
}
