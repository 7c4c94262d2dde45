package lbpolicy

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// The Tracker assembles the plan the way computer.plan does, but kept up to
// date one Service at a time:
//
//   - per load-balancer key, the candidates ("claims") of every Service in
//     Compute's order (Service namespace/name, then candidate order within
//     the Service): the first is the winner, the others get computer.plan's
//     conflict diagnostics;
//   - per endpoint IP, the recorded endpoints in Compute's order (the
//     node's source-VIP endpoints, then Services' ClusterIP endpoints) and
//     how many winning load balancers have the IP as a remote backend: the
//     plan's endpoint for the IP and its conflict diagnostics follow, as in
//     computer.endpointList;
//   - the diagnostics as a multiset, since the plan holds identical
//     diagnostics once.
//
// Where two claims compete, the diagnostics come from computer.plan and
// computer.endpointList themselves, run on just those claims, so that the
// wording can never drift from Compute's.

// keyState is one load-balancer key.
type keyState struct {
	claims     []lbClaim
	win        *LoadBalancer // claims[0].lb as last settled; nil when none
	winRemotes []netip.Addr
	diags      []Diagnostic // conflict diagnostics in the multiset
	epoch      uint64
}

// lbClaim is one candidate load balancer of one Service.
type lbClaim struct {
	svc     *serviceState
	idx     int // in svc.out.lbs
	lb      *LoadBalancer
	remotes []netip.Addr
}

// ipState is one endpoint IP.
type ipState struct {
	recorded []epClaim
	remotes  int           // winning load balancers with the IP as remote backend
	cur      endpointState // the plan's endpoint for the IP, as last settled
	diags    []Diagnostic
	epoch    uint64
	// curRemote is set when cur is the remote backend's endpoint, which
	// then need not be made again.
	curRemote bool
}

// epClaim is one recorded endpoint: the node's (svc nil) or a Service's.
type epClaim struct {
	svc  *serviceState
	idx  int // in svc.out.endpoints, or the node's family index
	cand endpointCandidate
}

// endpointState is an endpoint or none.
type endpointState struct {
	ep Endpoint
	ok bool
}

// compareClaims orders claims as Compute meets them: the node first, then
// Services by namespace and name, then by index within one.
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

func compareLBKeys(a, b lbKey) int {
	if a.v6 != b.v6 {
		if b.v6 {
			return -1
		}
		return 1
	}
	return cmp.Or(a.vip.Compare(b.vip), cmp.Compare(a.proto, b.proto), cmp.Compare(a.port, b.port))
}

// rebuild throws away the assembled plan and assembles it again from the
// held objects (after a node change, and at the start).
func (t *Tracker) rebuild() {
	if t.tracking {
		// Everything may change: remember the state Changes reports
		// against, for whatever is not remembered yet.
		for k, ks := range t.keys {
			if _, ok := t.lbBefore[k]; !ok {
				t.lbBefore[k] = ks.win
			}
		}
		for ip, st := range t.ips {
			if _, ok := t.epBefore[ip]; !ok {
				t.epBefore[ip] = st.cur
			}
		}
		for d := range t.diags {
			if _, ok := t.diagBefore[d]; !ok {
				t.diagBefore[d] = true
			}
		}
	}
	t.keys = make(map[lbKey]*keyState, len(t.keys))
	t.ips = make(map[netip.Addr]*ipState, len(t.ips))
	t.diags = make(map[Diagnostic]int, len(t.diags))
	t.dropPlan()

	for _, d := range t.node.diagnostics {
		t.addDiag(d)
	}
	for i, fam := range t.node.families {
		if fam.network.Overlay() {
			t.claimEndpoint(epClaim{idx: i, cand: endpointCandidate{ep: fam.network.SourceVIPEndpoint(), owner: "Node " + t.node.Name}})
		}
	}
	states := make([]*serviceState, 0, len(t.services))
	for _, st := range t.services {
		st.out = serviceOutput{} // its claims went with the maps
		states = append(states, st)
	}
	// In Compute's order, so that claims are appended, not inserted.
	slices.SortFunc(states, func(a, b *serviceState) int { return compareClaims(a, 0, b, 0) })
	for _, st := range states {
		t.replan(st)
	}
	t.settle()
}

// dropPlan forgets the cached plan: the next Plan builds it in full.
func (t *Tracker) dropPlan() {
	t.plan, t.planValid = Plan{}, false
	t.planKeys, t.planIPs, t.planDiags = nil, nil, nil
}

// replan plans st's Service alone and replaces its claims. The caller
// settles.
func (t *Tracker) replan(st *serviceState) {
	old := st.out
	var out serviceOutput
	if st.svc != nil {
		c := computer{node: t.node}
		c.service(st.svc, st.slices)
		out = serviceOutput{lbs: c.lbs, remotes: c.remotes, endpoints: c.endpoints, diags: c.diags}
	}
	st.out = out
	// New diagnostics first, so that those the Service keeps never leave
	// the multiset.
	for _, d := range out.diags {
		t.addDiag(d)
	}
	for _, d := range old.diags {
		t.removeDiag(d)
	}
	for i := range old.endpoints {
		t.unclaimEndpoint(st, i, old.endpoints[i].ep.IP)
	}
	for i := range out.endpoints {
		t.claimEndpoint(epClaim{svc: st, idx: i, cand: out.endpoints[i]})
	}
	for i := range old.lbs {
		t.unclaimLB(st, keyOf(&old.lbs[i]))
	}
	for i := range out.lbs {
		t.claimLB(keyOf(&out.lbs[i]), lbClaim{svc: st, idx: i, lb: &out.lbs[i], remotes: out.remotes[i]})
	}
	if st.svc == nil && len(st.slices) == 0 {
		delete(t.services, st.key)
	}
}

func (t *Tracker) touchKey(k lbKey, ks *keyState) {
	if ks.epoch != t.epoch {
		ks.epoch = t.epoch
		t.touchedKeys = append(t.touchedKeys, k)
	}
}

func (t *Tracker) touchIP(ip netip.Addr, st *ipState) {
	if st.epoch != t.epoch {
		st.epoch = t.epoch
		t.touchedIPs = append(t.touchedIPs, ip)
	}
}

func (t *Tracker) claimLB(k lbKey, c lbClaim) {
	ks := t.keys[k]
	if ks == nil {
		ks = &keyState{}
		t.keys[k] = ks
	}
	// Usually the only claim, or the last one.
	i := len(ks.claims)
	if i > 0 && compareClaims(ks.claims[i-1].svc, ks.claims[i-1].idx, c.svc, c.idx) > 0 {
		i = sort.Search(len(ks.claims), func(j int) bool {
			return compareClaims(ks.claims[j].svc, ks.claims[j].idx, c.svc, c.idx) > 0
		})
	}
	ks.claims = slices.Insert(ks.claims, i, c)
	t.touchKey(k, ks)
}

// unclaimLB drops every claim of svc on k.
func (t *Tracker) unclaimLB(svc *serviceState, k lbKey) {
	ks := t.keys[k]
	if ks == nil {
		return
	}
	ks.claims = slices.DeleteFunc(ks.claims, func(c lbClaim) bool { return c.svc == svc })
	t.touchKey(k, ks)
}

func (t *Tracker) ipState(ip netip.Addr) *ipState {
	st := t.ips[ip]
	if st == nil {
		st = &ipState{}
		t.ips[ip] = st
	}
	return st
}

func (t *Tracker) claimEndpoint(c epClaim) {
	ip := c.cand.ep.IP
	st := t.ipState(ip)
	i := len(st.recorded)
	if i > 0 && compareClaims(st.recorded[i-1].svc, st.recorded[i-1].idx, c.svc, c.idx) > 0 {
		i = sort.Search(len(st.recorded), func(j int) bool {
			return compareClaims(st.recorded[j].svc, st.recorded[j].idx, c.svc, c.idx) > 0
		})
	}
	st.recorded = slices.Insert(st.recorded, i, c)
	t.touchIP(ip, st)
}

func (t *Tracker) unclaimEndpoint(svc *serviceState, idx int, ip netip.Addr) {
	st := t.ips[ip]
	if st == nil {
		return
	}
	st.recorded = slices.DeleteFunc(st.recorded, func(c epClaim) bool { return c.svc == svc && c.idx == idx })
	t.touchIP(ip, st)
}

// remoteClaim counts a winning load balancer's remote backend in or out.
func (t *Tracker) remoteClaim(ip netip.Addr, delta int) {
	st := t.ipState(ip)
	st.remotes += delta
	t.touchIP(ip, st)
}

func (t *Tracker) addDiag(d Diagnostic) {
	n := t.diags[d]
	if n == 0 {
		t.noteDiag(d, false)
	}
	t.diags[d] = n + 1
}

func (t *Tracker) removeDiag(d Diagnostic) {
	n := t.diags[d]
	if n <= 1 {
		t.noteDiag(d, true)
		delete(t.diags, d)
		return
	}
	t.diags[d] = n - 1
}

// settle brings the touched keys, then the touched IPs (which winning load
// balancers' remote backends may have touched), up to date.
func (t *Tracker) settle() {
	for _, k := range t.touchedKeys {
		t.settleKey(k)
	}
	t.touchedKeys = t.touchedKeys[:0]
	for _, ip := range t.touchedIPs {
		t.settleIP(ip)
	}
	t.touchedIPs = t.touchedIPs[:0]
	t.epoch++
}

func (t *Tracker) settleKey(k lbKey) {
	ks := t.keys[k]
	var win *LoadBalancer
	var winRemotes []netip.Addr
	var diags []Diagnostic
	if len(ks.claims) > 0 {
		win, winRemotes = ks.claims[0].lb, ks.claims[0].remotes
	}
	if len(ks.claims) > 1 && !sharedHealthCheck(ks.claims) {
		diags = t.frontendConflicts(ks.claims)
	}
	if win != ks.win {
		t.noteLB(k, ks.win)
		diffRemotes(ks.winRemotes, winRemotes, t.remoteClaim)
		ks.win, ks.winRemotes = win, winRemotes
	}
	if len(diags) > 0 || len(ks.diags) > 0 {
		for _, d := range diags {
			t.addDiag(d)
		}
		for _, d := range ks.diags {
			t.removeDiag(d)
		}
		ks.diags = diags
	}
	if len(ks.claims) == 0 {
		delete(t.keys, k)
	}
}

// sharedHealthCheck reports whether every claim is a HealthCheck load
// balancer identical to the first: computer.plan merges those silently.
func sharedHealthCheck(claims []lbClaim) bool {
	first := claims[0].lb
	for _, c := range claims {
		if c.lb.Kind != KindHealthCheck || !sameContent(first, c.lb) {
			return false
		}
	}
	return true
}

// diffRemotes calls claim(ip, -1) for the IPs only in old and claim(ip, +1)
// for those only in new, counting repeats. Remote backend lists are sorted
// (backends are); should one not be, every IP is counted out and in.
func diffRemotes(old, new []netip.Addr, claim func(netip.Addr, int)) {
	if !slices.IsSortedFunc(old, netip.Addr.Compare) || !slices.IsSortedFunc(new, netip.Addr.Compare) {
		for _, ip := range old {
			claim(ip, -1)
		}
		for _, ip := range new {
			claim(ip, +1)
		}
		return
	}
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || i < len(old) && old[i].Less(new[j]):
			claim(old[i], -1)
			i++
		case i == len(old) || new[j].Less(old[i]):
			claim(new[j], +1)
			j++
		default:
			i++
			j++
		}
	}
}

// frontendConflicts returns the diagnostics computer.plan gives for
// several candidates of one key, in their order.
func (t *Tracker) frontendConflicts(claims []lbClaim) []Diagnostic {
	c := computer{node: t.node}
	c.lbs = make([]LoadBalancer, len(claims))
	for i := range claims {
		c.lbs[i] = *claims[i].lb
	}
	c.remotes = make([][]netip.Addr, len(claims))
	p := c.plan()
	return p.Diagnostics
}

func (t *Tracker) settleIP(ip netip.Addr) {
	st := t.ips[ip]
	var cur endpointState
	var diags []Diagnostic
	remote := false
	switch {
	case len(st.recorded) == 0 && st.remotes == 0:
	case len(st.recorded) == 0:
		cur, remote = t.remoteEndpoint(ip, st), true
	case len(st.recorded) == 1 && st.remotes == 0:
		cur = endpointState{ep: st.recorded[0].cand.ep, ok: true}
	default:
		// Competing endpoints: let computer.endpointList decide and word
		// the diagnostics.
		c := computer{node: t.node}
		c.endpoints = make([]endpointCandidate, len(st.recorded))
		for i := range st.recorded {
			c.endpoints[i] = st.recorded[i].cand
		}
		var remotes [][]netip.Addr
		if st.remotes > 0 {
			remotes = [][]netip.Addr{{ip}}
		}
		eps := c.endpointList(remotes)
		cur = endpointState{ep: eps[0], ok: true}
		diags = c.diags
	}
	if cur != st.cur {
		t.noteEndpoint(ip, st.cur)
		st.cur = cur
	}
	st.curRemote = remote
	if len(diags) > 0 || len(st.diags) > 0 {
		for _, d := range diags {
			t.addDiag(d)
		}
		for _, d := range st.diags {
			t.removeDiag(d)
		}
		st.diags = diags
	}
	if len(st.recorded) == 0 && st.remotes == 0 {
		delete(t.ips, ip)
	}
}

// remoteEndpoint is the endpoint computer.endpointList makes for a remote
// backend.
func (t *Tracker) remoteEndpoint(ip netip.Addr, st *ipState) endpointState {
	if st.curRemote {
		return st.cur
	}
	for _, f := range t.node.families {
		if (f.name == IPv4) == ip.Is4() {
			return endpointState{ep: f.network.RemoteEndpoint(ip), ok: true}
		}
	}
	return endpointState{}
}

// noteLB records that k's winner changes from before.
func (t *Tracker) noteLB(k lbKey, before *LoadBalancer) {
	if t.planValid {
		t.planKeys[k] = struct{}{}
	}
	if t.tracking {
		if _, ok := t.lbBefore[k]; !ok {
			t.lbBefore[k] = before
		}
	}
}

func (t *Tracker) noteEndpoint(ip netip.Addr, before endpointState) {
	if t.planValid {
		t.planIPs[ip] = struct{}{}
	}
	if t.tracking {
		if _, ok := t.epBefore[ip]; !ok {
			t.epBefore[ip] = before
		}
	}
}

func (t *Tracker) noteDiag(d Diagnostic, before bool) {
	if t.planValid {
		t.planDiags[d] = struct{}{}
	}
	if t.tracking {
		if _, ok := t.diagBefore[d]; !ok {
			t.diagBefore[d] = before
		}
	}
}

// Plan returns the plan for the held node, Services and EndpointSlices:
// exactly what Compute returns for them. Its slices are shared with later
// calls that find nothing changed, and never modified: treat them as
// read-only.
func (t *Tracker) Plan() Plan {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !t.planValid:
		t.buildPlan()
	case len(t.planKeys) > 0 || len(t.planIPs) > 0 || len(t.planDiags) > 0:
		t.mergePlan()
	}
	return t.plan
}

// buildPlan assembles the whole plan from the maps.
func (t *Tracker) buildPlan() {
	type keyed struct {
		k  lbKey
		lb *LoadBalancer
	}
	wins := make([]keyed, 0, len(t.keys))
	for k, ks := range t.keys {
		if ks.win != nil {
			wins = append(wins, keyed{k, ks.win})
		}
	}
	slices.SortFunc(wins, func(a, b keyed) int { return compareLBKeys(a.k, b.k) })
	lbs := make([]LoadBalancer, len(wins))
	for i, w := range wins {
		lbs[i] = *w.lb
	}

	eps := make([]Endpoint, 0, len(t.ips))
	for _, st := range t.ips {
		if st.cur.ok {
			eps = append(eps, st.cur.ep)
		}
	}
	slices.SortFunc(eps, func(a, b Endpoint) int { return a.IP.Compare(b.IP) })

	diags := make([]Diagnostic, 0, len(t.diags))
	for d := range t.diags {
		diags = append(diags, d)
	}
	slices.SortFunc(diags, compareDiagnostics)

	t.plan = Plan{LoadBalancers: lbs, Endpoints: eps, Diagnostics: diags}
	t.planValid = true
	t.planKeys = map[lbKey]struct{}{}
	t.planIPs = map[netip.Addr]struct{}{}
	t.planDiags = map[Diagnostic]struct{}{}
}

// mergePlan merges what changed since the last Plan into new slices.
func (t *Tracker) mergePlan() {
	p := t.plan
	if len(t.planKeys) > 0 {
		dirty := sortedKeys(t.planKeys, compareLBKeys)
		p.LoadBalancers = mergeSorted(p.LoadBalancers, dirty, keyOf, compareLBKeys, func(k lbKey) (LoadBalancer, bool) {
			if ks := t.keys[k]; ks != nil && ks.win != nil {
				return *ks.win, true
			}
			return LoadBalancer{}, false
		})
		clear(t.planKeys)
	}
	if len(t.planIPs) > 0 {
		dirty := sortedKeys(t.planIPs, netip.Addr.Compare)
		p.Endpoints = mergeSorted(p.Endpoints, dirty, func(e *Endpoint) netip.Addr { return e.IP }, netip.Addr.Compare,
			func(ip netip.Addr) (Endpoint, bool) {
				if st := t.ips[ip]; st != nil && st.cur.ok {
					return st.cur.ep, true
				}
				return Endpoint{}, false
			})
		clear(t.planIPs)
	}
	if len(t.planDiags) > 0 {
		dirty := sortedKeys(t.planDiags, compareDiagnostics)
		p.Diagnostics = mergeSorted(p.Diagnostics, dirty, func(d *Diagnostic) Diagnostic { return *d }, compareDiagnostics,
			func(d Diagnostic) (Diagnostic, bool) { return d, t.diags[d] > 0 })
		clear(t.planDiags)
	}
	t.plan = p
}

func sortedKeys[K comparable, V any](m map[K]V, compare func(K, K) int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compare)
	return out
}

// mergeSorted returns a new slice: prev (sorted by key) with the elements
// whose keys are in dirty (sorted) replaced by current's value, or dropped
// where current has none. prev is not modified.
func mergeSorted[T, K any](prev []T, dirty []K, key func(*T) K, compare func(K, K) int, current func(K) (T, bool)) []T {
	out := make([]T, 0, len(prev)+len(dirty))
	i := 0
	for _, k := range dirty {
		j := i + sort.Search(len(prev)-i, func(n int) bool { return compare(key(&prev[i+n]), k) >= 0 })
		out = append(out, prev[i:j]...)
		i = j
		if i < len(prev) && compare(key(&prev[i]), k) == 0 {
			i++
		}
		if v, ok := current(k); ok {
			out = append(out, v)
		}
	}
	return append(out, prev[i:]...)
}

// Changes returns what changed in the plan since the previous call: load
// balancers by key, endpoints by IP, diagnostics. The first call reports
// the whole plan as added. Applying the result to the plan of the previous
// call (Changes.Apply) gives the current Plan. A load balancer or endpoint
// that changed and changed back is not reported.
//
// Changes costs what changed, not the size of the plan (except the first
// call, and the first after SetNode, which may change anything).
func (t *Tracker) Changes() Changes {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ch Changes
	if !t.tracking {
		t.tracking = true
		t.lbBefore = map[lbKey]*LoadBalancer{}
		t.epBefore = map[netip.Addr]endpointState{}
		t.diagBefore = map[Diagnostic]bool{}
		for _, ks := range t.keys {
			if ks.win != nil {
				ch.AddedLoadBalancers = append(ch.AddedLoadBalancers, *ks.win)
			}
		}
		for _, st := range t.ips {
			if st.cur.ok {
				ch.AddedEndpoints = append(ch.AddedEndpoints, st.cur.ep)
			}
		}
		for d := range t.diags {
			ch.AddedDiagnostics = append(ch.AddedDiagnostics, d)
		}
	} else {
		for k, before := range t.lbBefore {
			var now *LoadBalancer
			if ks := t.keys[k]; ks != nil {
				now = ks.win
			}
			switch {
			case before == nil && now != nil:
				ch.AddedLoadBalancers = append(ch.AddedLoadBalancers, *now)
			case before != nil && now == nil:
				ch.RemovedLoadBalancers = append(ch.RemovedLoadBalancers, before.Key())
			case before != nil && now != nil && !equalLoadBalancers(before, now):
				ch.UpdatedLoadBalancers = append(ch.UpdatedLoadBalancers, *now)
			}
		}
		for ip, before := range t.epBefore {
			var now endpointState
			if st := t.ips[ip]; st != nil {
				now = st.cur
			}
			switch {
			case !before.ok && now.ok:
				ch.AddedEndpoints = append(ch.AddedEndpoints, now.ep)
			case before.ok && !now.ok:
				ch.RemovedEndpoints = append(ch.RemovedEndpoints, ip)
			case before.ok && now.ok && before.ep != now.ep:
				ch.UpdatedEndpoints = append(ch.UpdatedEndpoints, now.ep)
			}
		}
		for d, before := range t.diagBefore {
			switch now := t.diags[d] > 0; {
			case !before && now:
				ch.AddedDiagnostics = append(ch.AddedDiagnostics, d)
			case before && !now:
				ch.RemovedDiagnostics = append(ch.RemovedDiagnostics, d)
			}
		}
		// A large batch (a node change) should not pin its maps' memory.
		t.lbBefore = resetMap(t.lbBefore)
		t.epBefore = resetMap(t.epBefore)
		t.diagBefore = resetMap(t.diagBefore)
	}
	ch.sort()
	return ch
}

func resetMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) > 1024 {
		return map[K]V{}
	}
	clear(m)
	return m
}

// equalLoadBalancers compares every field, Service and Port included.
func equalLoadBalancers(a, b *LoadBalancer) bool {
	return a == b || a.Service == b.Service && a.Port == b.Port && a.Kind == b.Kind && a.IPFamily == b.IPFamily &&
		slices.Equal(a.FrontendVIPs, b.FrontendVIPs) && a.Protocol == b.Protocol &&
		a.InternalPort == b.InternalPort && a.ExternalPort == b.ExternalPort && a.Flags == b.Flags &&
		a.PortMappingFlags == b.PortMappingFlags && a.DistributionType == b.DistributionType &&
		a.SourceVIP == b.SourceVIP && slices.Equal(a.Backends, b.Backends)
}
