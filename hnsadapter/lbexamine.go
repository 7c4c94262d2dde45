package hnsadapter

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Planning a load balancer is in two steps: examineLB finds out what it
// needs, changing nothing, and decideLB records that and makes its task.
// A sync of changes with many load balancers in scope examines them on
// every core (examineAll), then decides on its own goroutine, in key
// order, so that what it records, and in what order, is what one
// goroutine would have.

// lbFindings is what examineLB found out about the plan's load balancer
// lb, with key.
type lbFindings struct {
	lb      *lbpolicy.LoadBalancer
	key     lbpolicy.Key
	changed bool // the change set names key

	// owned is the owned load balancer holding key (the first by ID),
	// with its ID in idKey form (ownedID) or its position in a full
	// sync's walk (walked, else -1); foreign another agent's.
	owned, foreign *hns.HostComputeLoadBalancer
	ownedID        string
	walked         int
	// moreOwned: key is held by another owned load balancer than owned,
	// which the sync deletes.
	moreOwned bool
	// known is what owned's backends resolved to before (resolved.go);
	// in a sync of changes, what scopeOf found, until examineLB checks it.
	known *resolvedLB

	// ids are the backends' endpoint IDs in backend order, and ips (in a
	// sync of changes) their IPs (resolveBackends).
	ids              []string
	ips              []netip.Addr
	waiting, missing bool
	// waitFor is the backend IP whose endpoint the next sync must make
	// (invalid: none).
	waitFor netip.Addr
	// uses are the endpoints found for backends that phase 1 did not
	// resolve, for the sync to record.
	uses  []ipUse
	diags []lbpolicy.Diagnostic

	// same: owned holds lb's fields and backends. Otherwise want is what
	// to send, and unsupported what it needs that HNS lacks ("": none).
	same        bool
	want        *hns.HostComputeLoadBalancer
	wantOrdered bool // want's endpoint IDs are in key order (inKeyOrder)
	unsupported string
}

// ipUse is an endpoint found for the backends with IP ip.
type ipUse struct {
	ip netip.Addr
	id string
}

func (f *lbFindings) diagnose(severity lbpolicy.Severity, object string, reason lbpolicy.Reason, format string, args ...any) {
	f.diags = append(f.diags, lbpolicy.Diagnostic{
		Severity: severity, Object: object, Reason: reason, Message: fmt.Sprintf(format, args...),
	})
}

// lbBuf holds what one goroutine's examineLB calls find, until they are
// decided: lbFindings' lists point into it.
type lbBuf struct {
	ids    []string
	ips    []netip.Addr
	uses   []ipUse
	sorted []string // examineLB's own, reused
}

// reset empties b, keeping its lists if they are small.
func (b *lbBuf) reset() {
	b.ids, b.ips, b.uses = trimmed(b.ids), trimmed(b.ips), trimmed(b.uses)
}

// trimmed returns l emptied, or nil if it is too large to keep.
func trimmed[T any](l []T) []T {
	if cap(l) > 16*keepScratch {
		return nil
	}
	clear(l) // drop the references it holds
	return l[:0]
}

// examineLB finds out what f's load balancer needs, in buf, changing
// nothing but f and buf: several goroutines may examine at once.
func (s *syncRun) examineLB(f *lbFindings, buf *lbBuf) {
	f.owned, f.foreign, f.ownedID, f.walked, f.moreOwned = s.heldLBs(f.key)
	if s.changes && f.owned != nil {
		f.known = s.v.stillResolved(f.key, f.known, f.owned)
	} else {
		f.known = nil
	}
	s.resolveBackends(f, buf)
	if f.waiting || len(f.ids) == 0 {
		return
	}
	// sameBackends may sort the IDs, and a sync of changes remembers them
	// in backend order (decideLB): it compares a copy.
	ids := f.ids
	if s.changes {
		ids = append(buf.sorted[:0], f.ids...)
		defer func() { buf.sorted = ids[:0] }()
	}
	if f.owned != nil && matchesLoadBalancerFields(f.owned, f.lb) {
		if k := f.known; k != nil && k.exact && len(f.ips) == len(f.ids) && !slices.Contains(f.ips, netip.Addr{}) {
			f.same = sameAsKnown(k, f.ips, f.ids)
		} else {
			// What resolved before knows whether owned's IDs are in key order.
			heldOrdered := k != nil && k.ordered
			f.same = s.sameBackends(f.owned, f.walked, ids, heldOrdered)
		}
		if f.same {
			return
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	f.want = desiredLoadBalancer(f.lb, ids) // it copies ids
	// Their bytes are in the cache now, after the sort: the worker that
	// sends them need not read them again (lbTask.wantOrdered).
	f.wantOrdered = inKeyOrder(ids)
	f.unsupported = unsupportedFeature(f.want, s.r.caps)
}

// examineMin is the fewest load balancers examineAll spreads over
// several goroutines: fewer cost less than starting them.
const examineMin = 64

// examineAll examines finds, on every core when there are many, in a
// sync of changes (whose examineLB reads only what nothing changes
// before decideLB). workers > 0 forces that many goroutines (tests).
func (s *syncRun) examineAll(finds []lbFindings, workers int) {
	bufs := &s.r.scratch.lbBufs
	workers = coresFor(len(finds), workers, examineMin)
	for len(*bufs) < workers {
		*bufs = append(*bufs, lbBuf{})
	}
	for i := range workers {
		(*bufs)[i].reset()
	}
	if workers == 1 {
		for i := range finds {
			s.examineLB(&finds[i], &(*bufs)[0])
		}
		return
	}
	inBatches(len(finds), workers, func(w, i int) { s.examineLB(&finds[i], &(*bufs)[w]) })
}
