package lbpolicy

import (
	"net/netip"
	"slices"
)

// changeLog remembers, for each load-balancer key, endpoint IP and
// diagnostic that changed since the last Snapshot, what it was at that
// Snapshot; take compares that with the claims now. Changes are noted as
// the claims are settled, each key and IP at most once per settle, and
// settles come once per Snapshot (a few more around a node change), so the
// log costs what changed, however often it changed. Before the first
// Snapshot it keeps nothing: the first reports the whole plan as added.
type changeLog struct {
	tracking bool
	// listed holds the notes of load balancers and endpoints, in the
	// order noted. Each settle notes a key or IP at most once, so a log
	// of one settle has no repeats (and its endpoint notes come in IP
	// order); after more (rounds), a key's first note is its value at
	// the last Snapshot, and take drops the others. Lists rather than
	// maps: noting is on the settle's serial path.
	listed notes
	// lbStates and epStates are the states of listed's keys and IPs, as
	// noted: after one round, their winner and endpoint now, which take
	// then reads without looking the keys up.
	lbStates []*keyState
	epStates []*ipState
	// diags are the diagnostics' notes (listed too), whose map keeps
	// them once: diagnostics are noted as Services are re-planned, not
	// in rounds.
	diags  map[Diagnostic]bool
	rounds int
	// compacted is how many notes the lists held after the last
	// compactRepeats: they never grow past twice that (or 4096).
	compacted int
	// index maps the listed keys to their first notes, made when a
	// lookup needs it (firstLB, firstEndpoint) and dropped by a new
	// round.
	index values
	// take's scratch.
	lbNows []lbNow
	epNows []epNow
}

// values are the values some keys, IPs and diagnostics had at one
// Snapshot. Its maps are made on first use.
type values struct {
	lbs   map[Key]*LoadBalancer // the winner then; nil: none
	eps   map[netip.Addr]endpointState
	diags map[Diagnostic]bool // whether the plan had it then
}

// newRound starts a settle's (or rememberAll's) notes.
func (l *changeLog) newRound() {
	if !l.tracking {
		return
	}
	l.rounds++
	l.index = values{}
	if n := len(l.listed.lbs) + len(l.listed.eps); l.rounds > 1 && n > max(4096, 2*l.compacted) {
		l.compactRepeats()
	}
}

// compactRepeats keeps only the first note of each key and IP.
func (l *changeLog) compactRepeats() {
	l.lbStates, l.epStates = resetList(l.lbStates), resetList(l.epStates) // no use after more rounds
	l.listed.lbs = firstNotes(l.listed.lbs)
	l.listed.eps = firstNotes(l.listed.eps)
	l.compacted = len(l.listed.lbs) + len(l.listed.eps)
}

// firstNotes drops, in place, the notes of keys noted before.
func firstNotes[K comparable, V any](ns []note[K, V]) []note[K, V] {
	seen := make(map[K]struct{}, len(ns))
	w := 0
	for _, n := range ns {
		if _, ok := seen[n.key]; !ok {
			seen[n.key] = struct{}{}
			ns[w] = n
			w++
		}
	}
	clear(ns[w:])
	return ns[:w]
}

// noteLB records that the winner of k, whose state is ks, changes from
// ks.win.
func (l *changeLog) noteLB(k Key, ks *keyState) {
	if l.tracking {
		l.listed.lbs = append(l.listed.lbs, note[Key, *LoadBalancer]{k, ks.win})
		l.lbStates = append(l.lbStates, ks)
	}
}

// noteEndpoint records that the endpoint of ip, whose state is st,
// changes from st.cur.
func (l *changeLog) noteEndpoint(ip netip.Addr, st *ipState) {
	if l.tracking {
		l.listed.eps = append(l.listed.eps, note[netip.Addr, endpointState]{ip, st.cur})
		l.epStates = append(l.epStates, st)
	}
}

// statesNow returns lbStates and epStates when they hold the winners and
// endpoints now, nil when the notes are of more than one round: a key's
// state may have been dropped and made again since.
func (l *changeLog) statesNow() ([]*keyState, []*ipState) {
	if l.rounds > 1 {
		return nil, nil
	}
	return l.lbStates, l.epStates
}

// firstLB returns k's value at the last Snapshot, if k was noted since.
func (l *changeLog) firstLB(k Key) (*LoadBalancer, bool) {
	if len(l.listed.lbs) == 0 {
		return nil, false
	}
	if l.index.lbs == nil {
		l.index.lbs = addFirst(nil, l.listed.lbs)
	}
	lb, ok := l.index.lbs[k]
	return lb, ok
}

// firstEndpoint is firstLB for an IP.
func (l *changeLog) firstEndpoint(ip netip.Addr) (endpointState, bool) {
	if len(l.listed.eps) == 0 {
		return endpointState{}, false
	}
	if l.index.eps == nil {
		l.index.eps = addFirst(nil, l.listed.eps)
	}
	st, ok := l.index.eps[ip]
	return st, ok
}

// noteDiag records that d appears (before false) or disappears.
func (l *changeLog) noteDiag(d Diagnostic, before bool) {
	if l.tracking {
		if l.diags == nil {
			l.diags = map[Diagnostic]bool{}
		}
		if _, ok := l.diags[d]; !ok {
			l.diags[d] = before
			l.listed.diags = append(l.listed.diags, note[Diagnostic, bool]{d, before})
		}
	}
}

// rememberAll notes everything the claims hold, before a rebuild, which
// may change anything.
func (l *changeLog) rememberAll(c *claims) {
	if !l.tracking {
		return
	}
	l.newRound()
	for k, ks := range c.keys {
		l.noteLB(k, ks)
	}
	for ip, st := range c.ips {
		l.noteEndpoint(ip, st)
	}
	for d := range c.diags {
		l.noteDiag(d, true)
	}
}

// take returns what changed since the previous Snapshot, comparing what
// was noted with the claims now; the caller then starts a new log (reset
// or detach). The first call returns the whole plan as added. A load
// balancer or endpoint that changed and changed back is not reported.
func (l *changeLog) take(c *claims) Changes {
	if !l.tracking {
		l.tracking = true
		return everything(c)
	}
	if l.rounds > 1 {
		l.compactRepeats()
	}
	var ch Changes
	if n := min(len(l.listed.lbs), len(l.listed.eps)); workersFor(2*n, parallelMinKeys, c.forceWorkers) > 1 {
		l.takeBoth(c, &ch)
	} else {
		l.takeLBs(c, &ch)
		l.takeEndpoints(c, &ch)
	}
	for i, n := range l.listed.diags {
		d, before, left := n.key, n.val, len(l.listed.diags)-i
		switch now := c.diags[d] > 0; {
		case !before && now:
			ch.AddedDiagnostics = appendSized(ch.AddedDiagnostics, d, left)
		case before && !now:
			ch.RemovedDiagnostics = appendSized(ch.RemovedDiagnostics, d, left)
		}
	}
	slices.SortFunc(ch.AddedDiagnostics, compareDiagnostics)
	slices.SortFunc(ch.RemovedDiagnostics, compareDiagnostics)
	return ch
}

// takeBoth is takeLBs and takeEndpoints for many of both, on two
// goroutines: half the load balancers' notes on one, the endpoints and the
// other half on the other (or both on this one, should the other not
// start first); each only reads the claims and writes its own lists.
func (l *changeLog) takeBoth(c *claims, ch *Changes) {
	var eps Changes
	ns := l.listed.lbs
	nows := slices.Grow(l.lbNows[:0], len(ns))[:len(ns)]
	states, _ := l.statesNow()
	half := len(ns) / 2
	part := func(b, _, _ int) {
		if b == 0 {
			classifyLBs(c, ns[:half], states[:min(half, len(states))], nows[:half])
			return
		}
		l.takeEndpoints(c, &eps)
		classifyLBs(c, ns[half:], states[min(half, len(states)):], nows[half:])
	}
	r := newBatchRun(2, 1)
	go func() {
		for r.do(part) {
		}
	}()
	for r.do(part) {
	}
	r.wait()
	l.lbNows = fillLBs(ch, nows)
	ch.AddedEndpoints, ch.UpdatedEndpoints, ch.RemovedEndpoints = eps.AddedEndpoints, eps.UpdatedEndpoints, eps.RemovedEndpoints
}

// How a load balancer or endpoint changed between two Snapshots.
const (
	changeNone = iota
	changeAdded
	changeUpdated
	changeRemoved
)

// lbChangeOf is how a key's winner changed from before to now.
func lbChangeOf(before, now *LoadBalancer) uint8 {
	switch {
	case before == nil && now != nil:
		return changeAdded
	case before != nil && now == nil:
		return changeRemoved
	case before != nil && now != nil && !equalLoadBalancers(before, now):
		return changeUpdated
	}
	return changeNone
}

// takeLBs puts into ch the load balancers whose winner changed, in key
// order.
func (l *changeLog) takeLBs(c *claims, ch *Changes) {
	ns := l.listed.lbs
	nows := slices.Grow(l.lbNows[:0], len(ns))[:len(ns)]
	states, _ := l.statesNow()
	classifyLBs(c, ns, states, nows)
	l.lbNows = fillLBs(ch, nows)
}

// classifyLBs sets nows[i] to what became of ns[i]'s key, whose state is
// states[i] when states is not empty (statesNow).
func classifyLBs(c *claims, ns []note[Key, *LoadBalancer], states []*keyState, nows []lbNow) {
	for i, n := range ns {
		var now *LoadBalancer
		if len(states) > 0 {
			now = states[i].win // nil once the key is dropped
		} else {
			now = c.winner(n.key)
		}
		nows[i] = lbNow{n.key, now, lbChangeOf(n.val, now)}
	}
}

// fillLBs puts the changes among nows into ch, sorted by key, each list
// made at its size, and returns nows emptied. It sorts the changes
// (keys are noted once) rather than the load balancers, which are
// larger.
func fillLBs(ch *Changes, nows []lbNow) []lbNow {
	changed := slices.DeleteFunc(nows, func(n lbNow) bool { return n.kind == changeNone })
	slices.SortFunc(changed, func(a, b lbNow) int { return a.key.Compare(b.key) })
	var count [4]int
	for _, n := range changed {
		count[n.kind]++
	}
	ch.AddedLoadBalancers = makeOrNil[LoadBalancer](count[changeAdded])
	ch.UpdatedLoadBalancers = makeOrNil[LoadBalancer](count[changeUpdated])
	ch.RemovedLoadBalancers = makeOrNil[Key](count[changeRemoved])
	for _, n := range changed {
		switch n.kind {
		case changeAdded:
			ch.AddedLoadBalancers = append(ch.AddedLoadBalancers, *n.now)
		case changeUpdated:
			ch.UpdatedLoadBalancers = append(ch.UpdatedLoadBalancers, *n.now)
		case changeRemoved:
			ch.RemovedLoadBalancers = append(ch.RemovedLoadBalancers, n.key)
		}
	}
	return resetList(nows) // clears what was used
}

// takeEndpoints is takeLBs for the endpoints, in IP order.
func (l *changeLog) takeEndpoints(c *claims, ch *Changes) {
	ns := l.listed.eps
	_, states := l.statesNow()
	byIP := func(a, b note[netip.Addr, endpointState]) int { return a.key.Compare(b.key) }
	if !slices.IsSortedFunc(ns, byIP) { // one round notes in IP order
		slices.SortFunc(ns, byIP)
		states = nil
	}
	nows := slices.Grow(l.epNows[:0], len(ns))
	var count [4]int
	for i, n := range ns {
		var st *ipState
		if len(states) > 0 {
			st = states[i] // its endpoint is none once the IP is dropped
		} else {
			st = c.ips[n.key]
		}
		var now endpointState
		if st != nil {
			now = st.cur
		}
		kind := uint8(changeNone)
		switch before := n.val; {
		case !before.ok && now.ok:
			kind = changeAdded
		case before.ok && !now.ok:
			kind = changeRemoved
		case before.ok && now.ok && before.ep != now.ep:
			kind = changeUpdated
		}
		count[kind]++
		nows = append(nows, epNow{st, kind})
	}
	ch.AddedEndpoints = makeOrNil[Endpoint](count[changeAdded])
	ch.UpdatedEndpoints = makeOrNil[Endpoint](count[changeUpdated])
	ch.RemovedEndpoints = makeOrNil[netip.Addr](count[changeRemoved])
	for i, now := range nows {
		switch now.kind {
		case changeAdded:
			ch.AddedEndpoints = append(ch.AddedEndpoints, now.st.cur.ep)
		case changeUpdated:
			ch.UpdatedEndpoints = append(ch.UpdatedEndpoints, now.st.cur.ep)
		case changeRemoved:
			ch.RemovedEndpoints = append(ch.RemovedEndpoints, ns[i].key)
		}
	}
	l.epNows = resetList(nows)
}

// lbNow and epNow are take's scratch: a noted key and its winner now, or
// an IP's state (nil: none), and how it changed.
type lbNow struct {
	key  Key
	now  *LoadBalancer
	kind uint8
}

type epNow struct {
	st   *ipState
	kind uint8
}

// makeOrNil returns an empty list with room for n, nil when n is 0.
func makeOrNil[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, 0, n)
}

// appendSized appends v to list, which it makes on first use with room
// for what is left to look at (at most 64): one allocation for the few
// changes of a Snapshot, amortised growth for many.
func appendSized[T any](list []T, v T, left int) []T {
	if list == nil {
		list = make([]T, 0, min(left, 64))
	}
	return append(list, v)
}

// reset starts a new log, reusing the maps.
func (l *changeLog) reset() {
	// A large batch (a node change) should not pin its maps' memory.
	l.diags = resetMap(l.diags)
	l.rounds, l.compacted, l.index = 0, 0, values{}
	l.listed.lbs = resetList(l.listed.lbs)
	l.listed.eps = resetList(l.listed.eps)
	l.lbStates, l.epStates = resetList(l.lbStates), resetList(l.epStates)
	l.listed.diags = resetList(l.listed.diags)
}

// detach returns the log's notes as lists, which cost less to keep than
// the maps, in lbRoom and epRoom when they fit, and starts a new log.
func (l *changeLog) detach(lbRoom []note[Key, *LoadBalancer], epRoom []note[netip.Addr, endpointState]) notes {
	n := notes{lbs: copyNotes(lbRoom, l.listed.lbs), eps: copyNotes(epRoom, l.listed.eps), diags: copyNotes(nil, l.listed.diags)}
	l.reset()
	return n
}

// notes are a change log's notes, kept after its period.
type notes struct {
	lbs   []note[Key, *LoadBalancer]
	eps   []note[netip.Addr, endpointState]
	diags []note[Diagnostic, bool]
}

type note[K comparable, V any] struct {
	key K
	val V
}

// copyNotes copies ns into room (empty) when they fit, else into a list
// of their own; nil when there are none.
func copyNotes[K comparable, V any](room, ns []note[K, V]) []note[K, V] {
	if len(ns) == 0 {
		return nil
	}
	if cap(room) < len(ns) {
		room = make([]note[K, V], 0, len(ns))
	}
	return append(room, ns...)
}

// everything returns the whole plan the claims hold as added, sorted.
// Sorting pointers by key and then copying is much cheaper than sorting
// the load balancers themselves.
func everything(c *claims) Changes {
	type keyed struct {
		k  Key
		lb *LoadBalancer
	}
	wins := make([]keyed, 0, len(c.keys))
	for k, ks := range c.keys {
		if ks.win != nil {
			wins = append(wins, keyed{k, ks.win})
		}
	}
	slices.SortFunc(wins, func(a, b keyed) int { return a.k.Compare(b.k) })
	var ch Changes
	if len(wins) > 0 {
		ch.AddedLoadBalancers = make([]LoadBalancer, len(wins))
		for i, w := range wins {
			ch.AddedLoadBalancers[i] = *w.lb
		}
	}
	if len(c.ips) > 0 {
		ch.AddedEndpoints = make([]Endpoint, 0, len(c.ips))
	}
	for _, st := range c.ips {
		if st.cur.ok {
			ch.AddedEndpoints = append(ch.AddedEndpoints, st.cur.ep)
		}
	}
	slices.SortFunc(ch.AddedEndpoints, func(a, b Endpoint) int { return a.IP.Compare(b.IP) })
	if len(c.diags) > 0 {
		ch.AddedDiagnostics = make([]Diagnostic, 0, len(c.diags))
	}
	for d := range c.diags {
		ch.AddedDiagnostics = append(ch.AddedDiagnostics, d)
	}
	slices.SortFunc(ch.AddedDiagnostics, compareDiagnostics)
	return ch
}

// resetMap empties m for reuse, or drops it when it is large (a node
// change's): a batch of a few thousand events' changes keeps its maps,
// rather than growing them again for the next batch.
func resetMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) > 4096 {
		return nil
	}
	clear(m)
	return m
}

// resetList is resetMap for a list of notes.
func resetList[T any](l []T) []T {
	if cap(l) > 4096 {
		return nil
	}
	clear(l)
	return l[:0]
}
