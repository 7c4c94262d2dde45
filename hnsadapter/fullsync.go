package hnsadapter

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// fullReason says why a sync must be a full one.
type fullReason string

// Why a sync is full. The first three are decided when the sync starts;
// the others are what a sync found that makes the Reconciler's view of
// HNS doubtful, set through requireFull for the next sync.
const (
	fullFirst     fullReason = "first sync"
	fullNoChanges fullReason = "no change set (Sync, or SyncChanges with nil changes)"
	fullPeriod    fullReason = "Options.FullSyncPeriod passed since the last full sync"

	// fullAborted: a sync could not proceed; the caller's change set is
	// spent.
	fullAborted fullReason = "the last sync aborted: its change set is spent"
	// fullCutShort: ctx ended during a sync: what its calls did is
	// unknown.
	fullCutShort fullReason = "calls were cut short when ctx ended: what they did is unknown"
	// fullGone: HNS said it does not hold an object the view holds.
	fullGone fullReason = "HNS no longer holds an object the view holds"
	// fullContradicted: HNS refused a load balancer as if it held other
	// endpoints or frontends than the view.
	fullContradicted fullReason = "HNS answered as if it held other objects than the view"
	// fullNoID: a create answered without the object's ID (MissingIDError).
	fullNoID fullReason = "HNS answered a create without the object's ID"
	// fullUnsure: a create failed, and may have taken effect (unsure.go).
	fullUnsure fullReason = "a create failed: only a list says whether it took effect"
	// fullNoKey: a load balancer without identity key is left to do, and
	// only a full sync looks at such load balancers.
	fullNoKey fullReason = "a load balancer without identity key is left to do"
)

// requireFull makes the next sync a full one, for why (the first reason
// given since the last full sync's lists is kept).
func (r *Reconciler) requireFull(why fullReason) {
	if r.fullNeeded == "" {
		r.fullNeeded = why
		r.log.V(1).Info("The next HNS sync lists HNS", "reason", string(why))
	}
}

// fullSyncReason returns why a sync with changes (nil for Sync) starting
// at now must be a full one, or "" if it may be a sync of changes.
func (r *Reconciler) fullSyncReason(changes *lbpolicy.Changes, now time.Time) fullReason {
	switch {
	case r.view == nil:
		return fullFirst
	case changes == nil:
		return fullNoChanges
	case r.fullNeeded != "":
		return r.fullNeeded
	case r.opts.FullSyncPeriod > 0 && !now.Before(r.lastFull.Add(r.opts.FullSyncPeriod)):
		return fullPeriod
	}
	return ""
}

// runFull is a full sync: it lists HNS, rebuilds the view from the lists
// (adopting at the first one), and compares the whole plan against it.
func (s *syncRun) runFull(ctx context.Context) error {
	r := s.r
	s.idx = newPlanIndex(s.plan, nil) // lbpolicy's plans are sorted: searched, not indexed
	if err := r.lookup(ctx, s.calls); err != nil {
		return err
	}
	l, err := s.list(ctx)
	if err != nil {
		return err
	}
	var rec *ownershipRecord
	if !r.started {
		rec = r.loadRecord()
	}
	// From here on the sync proceeds: state may change.
	r.objects.begin()
	wants := s.planEndpoints()
	s.rebuildView(l, rec, wants)
	if s.idx.eps == nil && s.v.byIP() != nil { // wants sorted by IP, beside the list's
		s.dense = r.full.take(wants, s.v.listedEPs)
	}
	r.fullNeeded = "" // the view is HNS's again; what this sync finds may set it
	s.phases(ctx, wants, s.planAllLoadBalancers, s.ownedEndpoints, nil)
	r.objects.retainSeen()
	r.lastFull = s.now
	return nil
}

// fullScratch is what a full sync that walks the list sorted by IP
// records per endpoint, by position rather than in maps (at 100,000
// endpoints, two map writes per endpoint and a map read per backend were a
// third of a no-op sync), kept for the next full sync to reuse.
type fullScratch struct {
	// uses are the plan's endpoints phase 1 looks at, by IP, ascending,
	// with the HNS endpoint each IP's backends use when phase 1 found it
	// in the list ("": see syncRun.endpoints).
	uses []wantUse
	// at finds an IP in uses: a lookup per backend, cheaper than a
	// binary search or a map.
	at ipTable
	// used, per position in listed, says whether the plan's backends use
	// the endpoint.
	used   []bool
	listed []hns.HostComputeEndpoint
	// eps is resolveBackends' second buffer: beside its IDs, the listed
	// endpoints they are (nil: not known).
	eps []*hns.HostComputeEndpoint
}

// wantUse is the use of one of a dense full sync's wants.
type wantUse struct {
	ip netip.Addr
	id string
	ep *hns.HostComputeEndpoint
}

// take returns sc emptied for wants (sorted by IP) and the list listed.
func (sc *fullScratch) take(wants []*lbpolicy.Endpoint, listed []hns.HostComputeEndpoint) *fullScratch {
	same := sc.at.slots != nil && len(sc.uses) == len(wants) // the same IPs: at still indexes them
	sc.uses = slices.Grow(sc.uses[:0], len(wants))[:len(wants)]
	for i, w := range wants {
		ip := w.IP.Unmap()
		same = same && sc.uses[i].ip == ip
		sc.uses[i] = wantUse{ip: ip}
	}
	if !same {
		sc.at.fill(sc.uses)
	}
	sc.used = slices.Grow(sc.used[:0], len(listed))[:len(listed)]
	clear(sc.used)
	sc.listed = listed
	return sc
}

// ipTable finds the index of an IP in a list of distinct IPs, by open
// addressing on a table at most half full.
type ipTable struct {
	slots []int32 // 1 + an index in the list; 0: empty
	shift uint
}

func ipHash(ip netip.Addr) uint64 {
	a := ip.As16()
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	return (hi*0x9e3779b97f4a7c15 ^ lo) * 0xbf58476d1ce4e5b9
}

// fill indexes uses, whose IPs are distinct.
func (t *ipTable) fill(uses []wantUse) {
	size, shift := 8, uint(61)
	for size < 2*len(uses) {
		size, shift = size*2, shift-1
	}
	if len(t.slots) != size {
		t.slots = make([]int32, size)
	}
	clear(t.slots)
	t.shift = shift
	mask := len(t.slots) - 1
	for i := range uses {
		j := int(ipHash(uses[i].ip) >> t.shift)
		for t.slots[j] != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = int32(i + 1)
	}
}

// find returns the entry of uses, the list t was filled with, with IP
// ip, or nil.
func (t *ipTable) find(uses []wantUse, ip netip.Addr) *wantUse {
	mask := len(t.slots) - 1
	for j := int(ipHash(ip) >> t.shift); t.slots[j] != 0; j = (j + 1) & mask {
		if u := &uses[t.slots[j]-1]; u.ip == ip {
			return u
		}
	}
	return nil
}

// lists is what a full sync's lists returned.
type lists struct {
	lbs []hns.HostComputeLoadBalancer
	eps []hns.HostComputeEndpoint
	// elsewhere holds the IDs (idKey form) of the endpoints on other
	// networks; only listed for ClaimNetwork's claim.
	elsewhere map[string]struct{}
}

// list makes a full sync's lists.
func (s *syncRun) list(ctx context.Context) (l lists, err error) {
	r := s.r
	l.lbs, err = s.calls.listLoadBalancers(ctx)
	if err != nil {
		return l, fmt.Errorf("hnsadapter: listing load balancers: %w", err)
	}
	l.eps, err = s.calls.listEndpoints(ctx, r.network.Id)
	if err != nil {
		return l, fmt.Errorf("hnsadapter: listing endpoints of network %q: %w", r.opts.NetworkName, err)
	}
	if !r.started && r.opts.ClaimNetwork {
		// Which endpoints lie on other networks, once, for the claim.
		all, err := s.calls.listEndpoints(ctx, "")
		if err != nil {
			return l, fmt.Errorf("hnsadapter: listing all endpoints: %w", err)
		}
		l.elsewhere = make(map[string]struct{}, len(all))
		for i := range all {
			l.elsewhere[idKey(all[i].Id)] = struct{}{}
		}
		for i := range l.eps {
			delete(l.elsewhere, idKey(l.eps[i].Id))
		}
	}
	return l, nil
}

// rebuildView makes the view from a full sync's lists: it checks update
// answers against the lists, forgets the owned objects they lack, takes
// what unsure creates made, at the first sync after NewReconciler takes
// what it may (rec: the ownership record, if any; wants: the plan's
// endpoints, as planEndpoints returns them), and reports the references
// to endpoints it deleted.
func (s *syncRun) rebuildView(l lists, rec *ownershipRecord, wants []*lbpolicy.Endpoint) {
	r := s.r
	old := r.view
	s.v = newViewReusing(l.lbs, l.eps, old)
	r.view = s.v
	if old != nil {
		s.checkUpdates(old)
	}
	if lbsGone, epsGone := r.owned.prune(s.v); lbsGone+epsGone > 0 {
		r.log.Info("Owned HNS objects deleted out of band; recreating what the plan wants",
			"loadBalancers", lbsGone, "endpoints", epsGone)
	}
	recorded := 0
	if !r.started && rec != nil {
		recorded = s.restoreRecord(rec)
	}
	s.res.Adopted += s.claimUnsure()
	if !r.started {
		keys := make(map[lbpolicy.Key]struct{}, len(s.plan.LoadBalancers))
		for i := range s.plan.LoadBalancers {
			keys[s.plan.LoadBalancers[i].Key()] = struct{}{}
		}
		var sorted *listedByIP
		if s.idx.eps == nil {
			sorted = s.v.byIP()
		}
		s.res.Adopted += r.owned.adopt(s.v, keys, wants, sorted, r.opts.ClaimNetwork, l.elsewhere)
		r.started = true
		r.log.V(1).Info("Adopted HNS objects", "loadBalancers", s.res.Adopted, "ownedEndpoints", len(r.owned.eps),
			"fromRecord", recorded, "claimNetwork", r.opts.ClaimNetwork)
	}
	// What was owned since the prune, the view holds: it stays pruned.
	s.v.prunedAt = r.owned.gen + 1
	if old != nil {
		s.reportDangling(old.deleted)
	}
}

// checkUpdates compares the new view with old, the view the Reconciler's
// calls since the last list made: a load balancer other than an update
// answered, not read back, makes updates be read back again
// (kubernetes#131466 appearing after updates were seen to work).
func (s *syncRun) checkUpdates(old *view) {
	for id := range old.trusted {
		if lb := s.v.lbs[id]; lb != nil && !sameLoadBalancer(lb, old.lbs[id]) {
			s.r.updates.distrust(lb.Id)
			return
		}
	}
}

// reportDangling reports the load balancers the Reconciler does not own
// that reference an endpoint it deleted since the last list (deleted: ID
// -> IP): made after that list, they were not seen by the sync of changes
// that deleted it. Owned ones are brought to the plan by this sync.
func (s *syncRun) reportDangling(deleted map[string]netip.Addr) {
	v := s.v
	for _, id := range sortedKeys(deleted) {
		if !v.referenced(id) {
			continue
		}
		for _, lbID := range v.sortedLBIDs() {
			lb := v.lbs[lbID]
			if s.r.owned.ownsLB(lbID) || !slices.ContainsFunc(lb.HostComputeEndpoints, func(e string) bool { return idKey(e) == id }) {
				continue
			}
			object := "LoadBalancer " + lb.Id
			if k, ok := v.keys[lbID]; ok {
				object = "LoadBalancer " + k.String() + " (ID " + lb.Id + ")"
			}
			s.diagnose(lbpolicy.SeverityWarning, object, ReasonDanglingReference,
				"references endpoint %s (%s), which this reconciler deleted: the load balancer, which it does not own, "+
					"appeared after its last full list of HNS; whoever owns it must update it", id, deleted[id])
		}
	}
}

// planEndpoints returns the plan's endpoints (the first of each IP), in
// the plan's order.
func (s *syncRun) planEndpoints() []*lbpolicy.Endpoint {
	eps := s.plan.Endpoints
	out := make([]*lbpolicy.Endpoint, 0, len(eps))
	sorted := s.idx.eps == nil // by IP: the first of an IP follows another IP
	for i := range eps {
		want, ip := &eps[i], eps[i].IP.Unmap()
		switch {
		case !ip.IsValid():
		case sorted && (i == 0 || eps[i-1].IP.Unmap() != ip):
			out = append(out, want)
		case !sorted && s.idx.planEndpoint(ip) == want: // the first of its IP
			out = append(out, want)
		}
	}
	return out
}

// planAllLoadBalancers returns the tasks that bring every load balancer
// to the plan: the plan's, in its order, then the deletes of the owned
// ones it does not want, by ID.
func (s *syncRun) planAllLoadBalancers() []lbTask {
	lbs := s.plan.LoadBalancers
	var tasks []lbTask
	var keep map[string]bool // owned IDs to keep, unless walking
	var wanted map[lbpolicy.Key]bool
	if keyed := s.v.byKeySorted(); keyed != nil && slices.IsSortedFunc(lbs, func(a, b lbpolicy.LoadBalancer) int {
		return a.Key().Compare(b.Key())
	}) {
		s.lbWalk = &lbWalk{keyedLBs: keyed, kept: make([]bool, len(keyed.all))}
		s.lbWalk.resolved = s.dense != nil && keyed.resolve(s.v)
		defer func() { s.lbWalk = nil }()
	} else {
		keep, wanted = make(map[string]bool, len(lbs)), make(map[lbpolicy.Key]bool, len(lbs))
	}
	for i := range lbs {
		lb := &lbs[i]
		key := lb.Key()
		dup := i > 0 && key == lbs[i-1].Key() // sorted: a repeated key follows
		if wanted != nil {
			dup, wanted[key] = wanted[key], true
		}
		if dup {
			s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonDuplicateKey,
				"load balancer %s is already in the plan for another entry; this one is not applied", key)
			continue
		}
		tasks = s.planLB(tasks, lb, key, false, keep)
	}
	for _, id := range s.unwantedLBs(keep) {
		tasks = s.deleteLB(tasks, id)
	}
	return tasks
}

// lbWalk walks the view's load balancers sorted by key beside a full
// sync's plan, and marks those to keep.
type lbWalk struct {
	*keyedLBs
	at   int
	kept []bool // beside all
	// resolved: keyedLBs.eps holds the endpoints of the load balancers,
	// as the dense record's.
	resolved bool
}

// holding returns the position in all of the load balancers with key k,
// which must not be lower than the last one asked for, and how many there
// are.
func (w *lbWalk) holding(k lbpolicy.Key) (from, n int) {
	for w.at < len(w.all) && w.all[w.at].key.Compare(k) < 0 {
		w.at++
	}
	for w.at+n < len(w.all) && w.all[w.at+n].key == k {
		n++
	}
	return w.at, n
}

// unwantedLBs returns the IDs of the owned load balancers the plan does
// not want, sorted: those not kept (in keep, or by the walk).
func (s *syncRun) unwantedLBs(keep map[string]bool) []string {
	var unwanted []string
	if w := s.lbWalk; w != nil {
		for i := range w.all {
			if !w.kept[i] && s.r.owned.ownsKeyed(&w.all[i]) {
				unwanted = append(unwanted, w.all[i].id)
			}
		}
		for _, id := range w.nokey {
			if s.r.owned.ownsLB(id) {
				unwanted = append(unwanted, id)
			}
		}
	} else {
		for id := range s.v.lbs {
			if !keep[id] && s.r.owned.ownsLB(id) {
				unwanted = append(unwanted, id)
			}
		}
	}
	slices.Sort(unwanted) // the few deletes in ID order, not every ID
	return unwanted
}

// ownedEndpoints returns the IDs of every owned endpoint: phase 3 of a
// full sync looks at them all. With dense, the listed ones phase 1 found
// in use are left out: every owned endpoint is in the list (rebuildView
// prunes the others, and owns only listed ones) or was created by phase
// 1, which uses it.
func (s *syncRun) ownedEndpoints() []string {
	if d := s.dense; d != nil {
		var ids []string
		for i := range d.listed {
			if d.used[i] {
				continue
			}
			if id := idKey(d.listed[i].Id); s.r.owned.ownsEndpoint(id) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	ids := make([]string, 0, len(s.r.owned.eps))
	for id := range s.r.owned.eps {
		ids = append(ids, id)
	}
	return ids
}
