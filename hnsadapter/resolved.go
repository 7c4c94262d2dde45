package hnsadapter

import (
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// A sync of changes that updates a load balancer because one backend of
// sixteen changed would otherwise look up all sixteen backends' plan
// endpoints and HNS endpoints again: at 1,000 events, most of its work.
// It remembers instead, per key, which endpoint each backend IP resolved
// to the last time it brought the load balancer to the plan, and reuses
// that for the IPs the change set does not name.
//
// The memory is valid only while nothing it relied on can have changed:
// the view holds the very load balancer object it was made against
// (putLB and removeLB forget the memory of the object they replace or
// remove), and no endpoint that a load balancer references has left the
// view since (view.epEpoch; endpoints are deleted only when unreferenced,
// so this is rare). An IP's plan endpoint changes only with the change
// set naming the IP, and an IP's HNS endpoints only by a list or by this
// Reconciler's calls for a named IP, so for the other IPs the slow path
// would find the same endpoint. A full sync starts a new view, and so
// forgets it all.

// resolvedLB is the endpoint each IP backend of a load balancer resolved
// to: ids[i] for ips[i], sorted by IP.
type resolvedLB struct {
	lb    *hns.HostComputeLoadBalancer // the view's object it was made against
	epoch uint64                       // the view's epEpoch then
	// ordered: lb's endpoint IDs are in key order (inKeyOrder), which
	// the next update's moveRefs then need not read them for.
	ordered bool
	// all: every backend was an IP backend (none named). exact: lb
	// references these endpoints and no other, as a set (it was sent
	// them and answered with them, or held them already), and all:
	// sameAsKnown then compares backends with ids instead of with lb's.
	all, exact bool
	ips        []netip.Addr
	ids        []string
	// The usual few backends live in the entry's own allocation.
	ipsBuf [16]netip.Addr
	idsBuf [16]string
}

// find returns the endpoint IP ip resolved to.
func (r *resolvedLB) find(ip netip.Addr) (string, bool) {
	i, ok := slices.BinarySearchFunc(r.ips, ip, netip.Addr.Compare)
	if !ok {
		return "", false
	}
	return r.ids[i], true
}

// resolvedWalk finds IPs in a resolvedLB (nil: none) asked in ascending
// order, as a load balancer's backends come, by walking its IPs once
// rather than searching them for each: a sync of changes asks for every
// backend of the load balancers it changes. IPs asked out of order are
// searched for.
type resolvedWalk struct {
	r  *resolvedLB
	at int
}

func (w *resolvedWalk) find(ip netip.Addr) (string, bool) {
	ips := w.r.ips
	if w.at > 0 && ips[w.at-1].Compare(ip) >= 0 {
		return w.r.find(ip) // not after the last one passed
	}
	for w.at < len(ips) && ips[w.at].Less(ip) {
		w.at++
	}
	if w.at < len(ips) && ips[w.at] == ip {
		w.at++
		return w.r.ids[w.at-1], true
	}
	return "", false
}

// resolvedFor returns what key's load balancer resolved to, if still
// valid, and made for held, the owned load balancer holding key (nil: for
// the one it was made for).
func (v *view) resolvedFor(key lbpolicy.Key, held *hns.HostComputeLoadBalancer) *resolvedLB {
	r := v.resolved[key]
	if r == nil || r.epoch != v.epEpoch || held != nil && held != r.lb {
		return nil
	}
	return r
}

// stillResolved is resolvedFor(key, held) given r, what resolvedFor(key,
// nil) said earlier in the sync: a memory leaves v.resolved only
// through dropResolved, which unties it from its load balancer, so r
// still made for held and of this epoch needs no lookup.
func (v *view) stillResolved(key lbpolicy.Key, r *resolvedLB, held *hns.HostComputeLoadBalancer) *resolvedLB {
	if r != nil && held != nil && r.lb == held && r.epoch == v.epEpoch {
		return r
	}
	return v.resolvedFor(key, held)
}

// forgetResolved forgets what key's load balancer resolved to if it was
// made against lb, which the view no longer holds.
func (v *view) forgetResolved(key lbpolicy.Key, lb *hns.HostComputeLoadBalancer) {
	if r := v.resolved[key]; r != nil && r.lb == lb {
		delete(v.resolved, key)
		v.dropResolved(r)
	}
}

// noteResolved returns the memory of a resolution: ids[i] is the
// endpoint of the backend with IP ips[i] (an invalid IP for a named
// backend), in backend order. Nil if the IPs are not sorted (lbpolicy's
// backends are). It is kept only once keepResolved says what it was made
// against.
func (v *view) noteResolved(ips []netip.Addr, ids []string) *resolvedLB {
	var r *resolvedLB
	if n := len(v.spareResolved); n > 0 {
		r, v.spareResolved = v.spareResolved[n-1], v.spareResolved[:n-1]
	} else {
		r = &resolvedLB{}
		r.ips, r.ids = r.ipsBuf[:0], r.idsBuf[:0]
	}
	r.ips, r.ids = r.ips[:0], r.ids[:0]
	for i, ip := range ips {
		if ip.IsValid() {
			r.ips, r.ids = append(r.ips, ip), append(r.ids, ids[i])
		}
	}
	if !slices.IsSortedFunc(r.ips, netip.Addr.Compare) {
		v.dropResolved(r)
		return nil
	}
	r.all = len(r.ips) == len(ips)
	return r
}

// keepResolved keeps r as key's, made against lb, the load balancer the
// view now holds (what a worker found out about it: facts), if lb
// references every endpoint r names (an answer that differs from what was
// sent is not remembered). An answer with the IDs sent, which are r's
// (and the named backends'), needs no search.
func (v *view) keepResolved(key lbpolicy.Key, r *resolvedLB, lb *hns.HostComputeLoadBalancer, facts answerFacts) {
	if !facts.asSent && !referencesAll(lb, r.ids) {
		v.dropResolved(r)
		return
	}
	r.lb, r.epoch, r.ordered, r.exact = lb, v.epEpoch, facts.ordered, facts.asSent && r.all
	if v.resolved == nil {
		v.resolved = map[lbpolicy.Key]*resolvedLB{}
	}
	if old := v.resolved[key]; old != nil && old != r {
		v.dropResolved(old)
	}
	v.resolved[key] = r
}

// sameAsKnown reports whether the backends with IPs ips (sorted, none
// named) resolved to ids are the endpoints the load balancer known was
// made against references, known being exact: it compares two short
// lists in hand rather than searching the load balancer's ID strings.
// An endpoint has one IP, so equal sets of IDs are equal lists of IPs,
// each with the same ID (a repeated IP counts once).
func sameAsKnown(known *resolvedLB, ips []netip.Addr, ids []string) bool {
	i, j := 0, 0
	for i < len(ips) && j < len(known.ips) {
		if ips[i] != known.ips[j] || !sameIDFold(ids[i], known.ids[j]) {
			return false
		}
		for i++; i < len(ips) && ips[i] == ips[i-1]; i++ {
		}
		for j++; j < len(known.ips) && known.ips[j] == known.ips[j-1]; j++ {
		}
	}
	return i == len(ips) && j == len(known.ips)
}

// referencesAll reports whether lb references each of ids (lb's IDs
// sorted, as this package sends them; otherwise it may say no).
func referencesAll(lb *hns.HostComputeLoadBalancer, ids []string) bool {
	for _, id := range ids {
		if _, ok := slices.BinarySearch(lb.HostComputeEndpoints, id); !ok {
			return false
		}
	}
	return true
}

// dropResolved hands r back for reuse: a sync makes one per load
// balancer it changes, and drops the one it replaces.
func (v *view) dropResolved(r *resolvedLB) {
	r.lb = nil
	v.spareResolved = append(v.spareResolved, r)
}
