package lbpolicy

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// claims is the plan a Tracker assembles the way computer.plan does, but
// kept up to date one Service at a time:
//
//   - per load-balancer key, the candidates ("claims") of every Service in
//     compareLBClaims's order (compareFrontendClaims: kind's rank, Service
//     age, namespace/name, port; then candidate order within the Service),
//     the order in which Compute's frontendWinner decides: the first is the
//     winner, each other one gets frontendConflict's diagnostic;
//   - per endpoint IP, the recorded endpoints in Compute's order (the
//     node's source-VIP endpoints, then Services' ClusterIP endpoints) and
//     how many winning load balancers have the IP as a remote backend: the
//     plan's endpoint for the IP and its diagnostics follow from
//     resolveEndpoint, as in computer.endpointList;
//   - the diagnostics as a multiset, since the plan holds identical
//     diagnostics once.
//
// Claims change as Services are re-planned (replace); settle then brings
// the winners, endpoints and conflict diagnostics of the keys and IPs
// touched up to date, and tells the change log what changed.
type claims struct {
	node    *node
	log     *changeLog
	keys    map[Key]*keyState
	ips     map[netip.Addr]*ipState
	diags   map[Diagnostic]int
	nodeEPs []endpointCandidate // the node's recorded endpoints, by family index
	// keyDiags are the conflict diagnostics of the keys that have some.
	keyDiags map[Key][]Diagnostic
	// diagsPeak is the most diagnostics held since diags was made: a map
	// keeps the room it once needed (a Tracker loaded Service by Service
	// holds each one's NoEndpoints until its slices arrive).
	diagsPeak int

	// Keys and IPs touched since the last settle (IPs possibly more than
	// once: settle drops repeats).
	epoch       uint64
	touchedKeys []keyTouch
	touchedIPs  []ipTouch
	states      []*ipState // settle's scratch: touchedIPs' states
	msgBuf      []byte     // scratch room for conflictDiags
	// settleKeys's scratch when it works on several goroutines: the
	// touched keys' winners, and per goroutine the remote backend counts
	// they change.
	wins     []keyWinner
	diffBufs [][]ipTouch
	msgBufs  [][]byte // per goroutine, conflictDiags's scratch
	// forceWorkers, when set, is how many goroutines settle uses (tests).
	forceWorkers int
}

// keyState is one load-balancer key.
type keyState struct {
	claims     []lbClaim
	win        *LoadBalancer // claims[0].lb as last settled; nil when none
	winRemotes []netip.Addr  // win's remote backends; see winAll
	epoch      uint64
	winAll     bool // win's remote backends are all its backends (winRemotes nil)
	// hasDiags is set when the key has conflict diagnostics in the
	// multiset: few keys do, so they are kept in claims.keyDiags.
	hasDiags bool
}

// winView returns the winner's remote backends as last settled.
func (ks *keyState) winView() remoteView {
	if ks.winAll {
		return remoteView{backends: ks.win.Backends}
	}
	return remoteView{ips: ks.winRemotes}
}

// lbClaim is one candidate load balancer of one Service: svc.out.lbs[idx].
// What else it needs (its remote backends, the Service's creation time) is
// read from svc: a claim lives only as long as svc's output and Service
// object stay the ones it was made from (re-planning replaces its claims).
type lbClaim struct {
	svc *serviceState
	idx int
	lb  *LoadBalancer
}

func (cl *lbClaim) remotes() remoteView { return cl.svc.out.remotesOf(cl.idx) }

// created is the Service's creationTimestamp.
func (cl *lbClaim) created() time.Time {
	if cl.svc.svc == nil {
		return time.Time{}
	}
	return cl.svc.svc.CreationTimestamp.Time
}

// ipState is one endpoint IP. There are as many as the plan has endpoints
// (mostly remote backends'), so what few IPs need is kept aside, in more.
type ipState struct {
	cur     endpointState // the plan's endpoint for the IP, as last settled
	more    *ipMore       // nil when the IP has neither recorded endpoints nor diagnostics
	remotes int32         // winning load balancers with the IP as remote backend
	// curRemote is set when cur is the remote backend's endpoint, which
	// then need not be made again.
	curRemote bool
}

// ipMore is what an IP with recorded endpoints or conflicts has.
type ipMore struct {
	recorded []epClaim
	diags    []Diagnostic
}

func (st *ipState) recorded() []epClaim {
	if st.more == nil {
		return nil
	}
	return st.more.recorded
}

// epClaim is one recorded endpoint: the node's (svc nil; idx is the
// family's index in claims.nodeEPs) or a Service's (svc.out.endpoints[idx]).
type epClaim struct {
	svc *serviceState
	idx int
}

// cand returns cl's endpoint candidate.
func (c *claims) cand(cl *epClaim) *endpointCandidate {
	if cl.svc == nil {
		return &c.nodeEPs[cl.idx]
	}
	return &cl.svc.out.endpoints[cl.idx]
}

// endpointState is an endpoint or none.
type endpointState struct {
	ep Endpoint
	ok bool
}

// compareClaims orders endpoint claims (and Services) as Compute meets
// them: the node first, then Services by namespace and name, then by index
// within one. Load-balancer claims are ordered by compareLBClaims.
func compareClaims(a *serviceState, ai int, b *serviceState, bi int) int {
	if a != b {
		switch {
		case a == nil:
			return -1
		case b == nil:
			return 1
		}
		if c := cmp.Or(strings.Compare(a.key.Namespace, b.key.Namespace), strings.Compare(a.key.Name, b.key.Name)); c != 0 {
			return c
		}
	}
	return cmp.Compare(ai, bi)
}

// compareLBClaims orders the claims on one load-balancer key, winner
// first, as Compute's frontendWinner decides: compareFrontendClaims, then,
// for one Service's port, the order of its candidates.
func compareLBClaims(a, b *lbClaim) int {
	if c := compareFrontendClaims(a.lb, a.created(), b.lb, b.created()); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// reset empties the claims for node and claims what the node itself
// needs: its diagnostics and, on Overlay, the source-VIP endpoints.
func (c *claims) reset(n *node, log *changeLog) {
	c.node, c.log = n, log
	c.epoch++ // never 0, the epoch of new key states
	c.keys = make(map[Key]*keyState, len(c.keys))
	c.ips = make(map[netip.Addr]*ipState, len(c.ips))
	c.diags = make(map[Diagnostic]int, len(c.diags))
	c.diagsPeak = 0
	c.keyDiags = map[Key][]Diagnostic{}
	for _, d := range n.diagnostics {
		c.addDiag(d)
	}
	c.nodeEPs = make([]endpointCandidate, len(n.families))
	for i, fam := range n.families {
		if fam.network.Overlay() {
			c.nodeEPs[i] = endpointCandidate{ep: fam.network.SourceVIPEndpoint(), owner: "Node " + n.Name}
			c.claimEndpoint(epClaim{idx: i}, c.nodeEPs[i].ep.IP)
		}
	}
}

// replace replaces svc's claims from its old output with those of out.
// Lists out shares with old (the planner keeps what did not change) claim
// nothing anew. When the Service is the one old was planned from (same)
// and its load balancers keep their keys and what orders their claims,
// each claim is updated in place. The caller settles.
func (c *claims) replace(svc *serviceState, old, out *serviceOutput, same bool) {
	if !sameList(old.diags, out.diags) {
		// New diagnostics first, so that those the Service keeps never
		// leave the multiset.
		for _, d := range out.diags {
			c.addDiag(d)
		}
		for _, d := range old.diags {
			c.removeDiag(d)
		}
	}
	if !sameList(old.endpoints, out.endpoints) {
		for i := range old.endpoints {
			c.unclaimEndpoint(svc, i, old.endpoints[i].ep.IP)
		}
		for i := range out.endpoints {
			c.claimEndpoint(epClaim{svc: svc, idx: i}, out.endpoints[i].ep.IP)
		}
	}
	switch {
	case sameList(old.lbs, out.lbs):
	case same && sameClaimOrder(old.lbs, out.lbs) && len(svc.keyStates) == len(out.lbs):
		for i := range out.lbs {
			c.reclaimLB(svc, i, svc.keyStates[i], &out.lbs[i])
		}
	default:
		for i := range old.lbs {
			c.unclaimLB(svc, old.lbs[i].Key())
		}
		// The claims read svc's output: out must be it.
		svc.keyStates = svc.keyStates[:0]
		for i := range out.lbs {
			ks := c.claimLB(out.lbs[i].Key(), lbClaim{svc: svc, idx: i, lb: &out.lbs[i]})
			svc.keyStates = append(svc.keyStates, ks)
		}
		if len(svc.keyStates) == 0 {
			svc.keyStates = nil
		}
	}
}

// sameList reports whether a and b are the same list (not merely equal).
func sameList[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sameClaimOrder reports whether a Service's new load balancers claim
// the keys its old ones did, one for one, and would be ordered among the
// claims on them as the old ones are (compareLBClaims: by kind, Service
// and port name; the Service's creation time is unchanged).
func sameClaimOrder(old, lbs []LoadBalancer) bool {
	if len(old) != len(lbs) {
		return false
	}
	for i := range lbs {
		a, b := &old[i], &lbs[i]
		if a.Kind != b.Kind || a.Service != b.Service || a.Port != b.Port || a.Key() != b.Key() {
			return false
		}
	}
	return true
}

// reclaimLB points svc's claim idx, on lb's key (whose state is ks), at
// lb.
func (c *claims) reclaimLB(svc *serviceState, idx int, ks *keyState, lb *LoadBalancer) {
	for j := range ks.claims {
		if cl := &ks.claims[j]; cl.svc == svc && cl.idx == idx {
			cl.lb = lb
			c.touchKey(lb.Key(), ks)
			return
		}
	}
	svc.keyStates[idx] = c.claimLB(lb.Key(), lbClaim{svc: svc, idx: idx, lb: lb}) // not claimed: never so
}

func (c *claims) touchKey(k Key, ks *keyState) {
	if ks.epoch != c.epoch {
		ks.epoch = c.epoch
		c.touchedKeys = append(c.touchedKeys, keyTouch{k, ks})
	}
}

// keyTouch is a key touched since the last settle and its state, which
// stays in c.keys until settleKey drops it.
type keyTouch struct {
	k  Key
	ks *keyState
}

// ipTouch is an IP touched since the last settle, and how its count of
// winning load balancers with it as remote backend changes: settle
// applies the changes of each IP at once, with one look-up.
type ipTouch struct {
	ip    netip.Addr
	delta int32
}

// touchIP notes ip for settle, which merges repeats: an IP state has no
// room for an epoch.
func (c *claims) touchIP(ip netip.Addr) { c.touchIPBy(ip, 0) }

func (c *claims) touchIPBy(ip netip.Addr, delta int32) {
	if n := len(c.touchedIPs); n > 0 && c.touchedIPs[n-1].ip == ip {
		c.touchedIPs[n-1].delta += delta
		return
	}
	c.touchedIPs = append(c.touchedIPs, ipTouch{ip, delta})
}

// claimLB adds cl to k's claims and returns k's state.
func (c *claims) claimLB(k Key, cl lbClaim) *keyState {
	ks := c.keys[k]
	if ks == nil {
		ks = &keyState{}
		c.keys[k] = ks
	}
	// Usually the only claim, or the last one.
	i := len(ks.claims)
	if i > 0 && compareLBClaims(&ks.claims[i-1], &cl) > 0 {
		i = sort.Search(len(ks.claims), func(j int) bool {
			return compareLBClaims(&ks.claims[j], &cl) > 0
		})
	}
	ks.claims = slices.Insert(ks.claims, i, cl)
	c.touchKey(k, ks)
	return ks
}

// unclaimLB drops every claim of svc on k.
func (c *claims) unclaimLB(svc *serviceState, k Key) {
	ks := c.keys[k]
	if ks == nil {
		return
	}
	ks.claims = slices.DeleteFunc(ks.claims, func(cl lbClaim) bool { return cl.svc == svc })
	c.touchKey(k, ks)
}

func (c *claims) ipState(ip netip.Addr) *ipState {
	st := c.ips[ip]
	if st == nil {
		st = &ipState{}
		c.ips[ip] = st
	}
	return st
}

// claimEndpoint records cl, an endpoint for ip.
func (c *claims) claimEndpoint(cl epClaim, ip netip.Addr) {
	st := c.ipState(ip)
	if st.more == nil {
		st.more = &ipMore{}
	}
	rec := st.more.recorded
	i := len(rec)
	if i > 0 && compareClaims(rec[i-1].svc, rec[i-1].idx, cl.svc, cl.idx) > 0 {
		i = sort.Search(len(rec), func(j int) bool {
			return compareClaims(rec[j].svc, rec[j].idx, cl.svc, cl.idx) > 0
		})
	}
	st.more.recorded = slices.Insert(rec, i, cl)
	c.touchIP(ip)
}

func (c *claims) unclaimEndpoint(svc *serviceState, idx int, ip netip.Addr) {
	st := c.ips[ip]
	if st == nil || st.more == nil {
		return
	}
	st.more.recorded = slices.DeleteFunc(st.more.recorded, func(cl epClaim) bool { return cl.svc == svc && cl.idx == idx })
	c.touchIP(ip)
}

// remoteClaim counts a winning load balancer's remote backend in or out
// (at the next settle).
func (c *claims) remoteClaim(ip netip.Addr, delta int) {
	c.touchIPBy(ip, int32(delta))
}

func (c *claims) addDiag(d Diagnostic) {
	n := c.diags[d]
	if n == 0 {
		c.log.noteDiag(d, false)
	}
	c.diags[d] = n + 1
	c.diagsPeak = max(c.diagsPeak, len(c.diags))
}

func (c *claims) removeDiag(d Diagnostic) {
	n := c.diags[d]
	if n <= 1 {
		c.log.noteDiag(d, true)
		delete(c.diags, d)
		if c.diagsPeak > 1024 && len(c.diags) < c.diagsPeak/4 {
			c.shrinkDiags()
		}
		return
	}
	c.diags[d] = n - 1
}

// shrinkDiags copies the diagnostics into a map of their size, which
// costs as much as the removals since the peak did.
func (c *claims) shrinkDiags() {
	m := make(map[Diagnostic]int, len(c.diags))
	for d, n := range c.diags {
		m[d] = n
	}
	c.diags, c.diagsPeak = m, len(m)
}

// replaceDiags swaps the diagnostics a key or IP holds in the multiset.
func (c *claims) replaceDiags(old, now []Diagnostic) {
	for _, d := range now {
		c.addDiag(d)
	}
	for _, d := range old {
		c.removeDiag(d)
	}
}

// settle brings the touched keys, then the touched IPs (which winning load
// balancers' remote backends may have touched), up to date.
func (c *claims) settle() {
	c.log.newRound()
	c.settleKeys()
	clear(c.touchedKeys)
	c.touchedKeys = c.touchedKeys[:0]
	touched := c.mergeTouchedIPs()
	fresh := freshRemotes{eps: c.remoteEndpoints(touched, c.states)}
	for i, t := range touched {
		if c.states[i] != nil {
			c.settleIP(t.ip, c.states[i], &fresh)
		}
	}
	clear(c.states)
	c.touchedIPs, c.states = c.touchedIPs[:0], c.states[:0]
	if cap(c.touchedIPs) > 4096 || cap(c.touchedKeys) > 4096 {
		// After a rebuild: do not keep the room.
		c.touchedIPs, c.touchedKeys, c.states = nil, nil, nil
	}
	c.epoch++
}

// mergeTouchedIPs sorts the touched IPs, merges repeats, applies their
// remote backend counts and returns them, with their states in c.states
// (nil for an IP that has none: touched by an endpoint claim that found
// nothing to drop).
func (c *claims) mergeTouchedIPs() []ipTouch {
	ts := c.touchedIPs
	if len(ts) > 1 {
		slices.SortFunc(ts, func(a, b ipTouch) int { return a.ip.Compare(b.ip) })
		w := 0
		for _, t := range ts[1:] {
			if t.ip == ts[w].ip {
				ts[w].delta += t.delta
				continue
			}
			w++
			ts[w] = t
		}
		ts = ts[:w+1]
	}
	c.states = c.lookUpIPs(ts, c.states)
	for i, t := range ts {
		st := c.states[i]
		if st == nil && t.delta != 0 {
			st = &ipState{} // lookUpIPs found none: no second look-up
			c.ips[t.ip] = st
			c.states[i] = st
		}
		if st != nil {
			st.remotes += t.delta
		}
	}
	return ts
}

// remoteEndpoints makes, in IP order, the remote endpoints that settleIP
// will need for ips (sorted): those of IPs whose endpoint becomes a remote
// backend's. When there are many (a new slice's), they are made at once,
// with one string for all their MACs; else settleIP makes each.
func (c *claims) remoteEndpoints(ips []ipTouch, states []*ipState) []Endpoint {
	const few = 8
	if len(ips) < few {
		return nil
	}
	need := make([]netip.Addr, 0, len(ips))
	for i, t := range ips {
		if st := states[i]; st != nil && st.remotes > 0 && !st.curRemote {
			need = append(need, t.ip)
		}
	}
	if len(need) < few {
		return nil
	}
	v4, _ := slices.BinarySearchFunc(need, false, func(ip netip.Addr, _ bool) int {
		if ip.Is4() {
			return -1
		}
		return 1
	})
	eps := make([]Endpoint, 0, len(need))
	for _, f := range c.node.families {
		if f.name == IPv4 {
			eps = f.network.AppendRemoteEndpoints(eps, need[:v4])
		}
	}
	for _, f := range c.node.families {
		if f.name == IPv6 {
			eps = f.network.AppendRemoteEndpoints(eps, need[v4:])
		}
	}
	return eps
}

// freshRemotes hands out remoteEndpoints's endpoints as settle asks for
// them, in IP order.
type freshRemotes struct {
	eps  []Endpoint
	next int
}

func (f *freshRemotes) take(ip netip.Addr) (Endpoint, bool) {
	for f.next < len(f.eps) && f.eps[f.next].IP.Less(ip) {
		f.next++
	}
	if f.next < len(f.eps) && f.eps[f.next].IP == ip {
		return f.eps[f.next], true
	}
	return Endpoint{}, false
}

// settleKey brings k up to date; pre, when not nil, is k's winner and
// what it changes, worked out beforehand (keyWinnerOf).
func (c *claims) settleKey(k Key, ks *keyState, pre *keyWinner) {
	var kw keyWinner
	if pre != nil {
		kw = *pre
	} else {
		kw = keyWinnerOf(ks, nil)
	}
	if kw.win != ks.win {
		c.log.noteLB(k, ks)
		if pre != nil {
			for _, d := range kw.diffs {
				c.touchIPBy(d.ip, d.delta)
			}
		} else {
			diffRemotes(ks.winView(), kw.remotes, c.remoteClaim)
		}
		ks.win, ks.winRemotes, ks.winAll = kw.win, kw.remotes.ips, kw.remotes.backends != nil
	}
	if len(ks.claims) > 1 || ks.hasDiags {
		old := c.keyDiags[k]
		var diags []Diagnostic
		var changed bool
		if pre != nil && pre.diagsDone {
			diags, changed = pre.diags, pre.diagsChanged
		} else {
			diags, changed = conflictDiags(ks.claims, old, &c.msgBuf)
		}
		if changed {
			c.replaceDiags(old, diags)
			if ks.hasDiags = len(diags) > 0; ks.hasDiags {
				c.keyDiags[k] = diags
			} else {
				delete(c.keyDiags, k)
			}
		}
	}
	if len(ks.claims) == 0 {
		delete(c.keys, k)
	}
}

// conflictDiags returns the conflict diagnostics of the claims on one key
// (frontendConflict's, for each claim after the winner) and whether they
// differ from old, the key's as last settled. When they do not, it
// allocates nothing: a key's losers are usually the same from one settle
// to the next. buf is scratch room for messages. It only reads the claims.
func conflictDiags(cls []lbClaim, old []Diagnostic, buf *[]byte) ([]Diagnostic, bool) {
	if len(cls) == 0 {
		return nil, len(old) > 0
	}
	win, j, same := cls[0].lb, 0, true
	for i := 1; i < len(cls) && same; i++ {
		if !conflicts(win, cls[i].lb) {
			continue
		}
		if same = j < len(old); same {
			same, *buf = isConflict(&old[j], win, cls[i].lb, *buf)
			j++
		}
	}
	if same && j == len(old) {
		return old, false
	}
	var diags []Diagnostic
	for _, cl := range cls[1:] {
		if d, ok := frontendConflict(win, cl.lb); ok {
			diags = append(diags, d)
		}
	}
	return diags, true
}

// diffRemotes calls claim(ip, -1) for the IPs only in old and claim(ip, +1)
// for those only in new, counting repeats. Remote backend lists are sorted
// (backends are); should one not be, every IP is counted out and in.
func diffRemotes(old, new remoteView, claim func(netip.Addr, int)) {
	if !old.sorted() || !new.sorted() {
		for i := range old.len() {
			claim(old.at(i), -1)
		}
		for i := range new.len() {
			claim(new.at(i), +1)
		}
		return
	}
	i, j := 0, 0
	for i < old.len() || j < new.len() {
		switch {
		case j == new.len() || i < old.len() && old.at(i).Less(new.at(j)):
			claim(old.at(i), -1)
			i++
		case i == old.len() || new.at(j).Less(old.at(i)):
			claim(new.at(j), +1)
			j++
		default:
			i++
			j++
		}
	}
}

func (c *claims) settleIP(ip netip.Addr, st *ipState, fresh *freshRemotes) {
	rec := st.recorded()
	var cur endpointState
	var diags []Diagnostic
	remote := false
	switch {
	case len(rec) == 0 && st.remotes == 0:
	case len(rec) == 0:
		cur, remote = c.remoteEndpoint(ip, st, fresh), true
	case len(rec) == 1 && st.remotes == 0:
		cur = endpointState{ep: c.cand(&rec[0]).ep, ok: true}
	default:
		// Competing endpoints.
		cands := make([]endpointCandidate, len(rec))
		for i := range rec {
			cands[i] = *c.cand(&rec[i])
		}
		var rem *Endpoint
		if st.remotes > 0 {
			if r := c.remoteEndpoint(ip, st, fresh); r.ok {
				rem = &r.ep
			}
		}
		cur.ep, diags = resolveEndpoint(nil, c.node.Name, cands, rem)
		cur.ok = true
	}
	if cur != st.cur {
		c.log.noteEndpoint(ip, st)
		st.cur = cur
	}
	st.curRemote = remote
	if st.more != nil && (len(diags) > 0 || len(st.more.diags) > 0) {
		c.replaceDiags(st.more.diags, diags)
		st.more.diags = diags
	}
	if st.more != nil && len(st.more.recorded) == 0 && len(st.more.diags) == 0 {
		st.more = nil
	}
	if len(rec) == 0 && st.remotes == 0 {
		delete(c.ips, ip)
	}
}

// winner returns k's load balancer now, nil when none.
func (c *claims) winner(k Key) *LoadBalancer {
	if ks := c.keys[k]; ks != nil {
		return ks.win
	}
	return nil
}

// endpoint returns ip's endpoint now.
func (c *claims) endpoint(ip netip.Addr) endpointState {
	if st := c.ips[ip]; st != nil {
		return st.cur
	}
	return endpointState{}
}

// remoteEndpoint is the endpoint computer.endpointList makes for a remote
// backend: none when the node plans no family of the IP.
func (c *claims) remoteEndpoint(ip netip.Addr, st *ipState, fresh *freshRemotes) endpointState {
	if st.curRemote {
		return st.cur
	}
	if ep, ok := fresh.take(ip); ok {
		return endpointState{ep: ep, ok: true}
	}
	for _, f := range c.node.families {
		if (f.name == IPv4) == ip.Is4() {
			return endpointState{ep: f.network.RemoteEndpoint(ip), ok: true}
		}
	}
	return endpointState{}
}
