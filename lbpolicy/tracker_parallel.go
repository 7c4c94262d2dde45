package lbpolicy

import (
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// How a Tracker uses several cores. Planning one Service reads only its
// state (Service, slices, previous output) and the node, and writes only
// the planner's scratch memory, so a Snapshot that re-plans many Services
// plans them on several goroutines, each with a planner of its own, into
// one output per Service; the calling goroutine hands the outputs to the
// claims in the order one goroutine would have. Settling many keys and
// IPs, and listing many changes, likewise split off what only reads the
// claims and do the rest in order. So the claims, the change log and every
// Snapshot are the same for any number of goroutines.

const (
	// parallelMinPlans is the fewest Services planned on several
	// goroutines: a Snapshot after a few events plans in less time than
	// waking a goroutine takes.
	parallelMinPlans = 64
	// planBatch is how many Services a worker takes at a time: the
	// workers share the Services however the scheduler runs them.
	planBatch = 16
)

// planWorkers returns how many goroutines plan n Services.
func (t *Tracker) planWorkers(n int) int { return workersFor(n, parallelMinPlans, t.forceWorkers) }

// replanAll re-plans the Services of sts (each at most once), as replan
// one after the other would. The caller settles the claims.
func (t *Tracker) replanAll(sts []*serviceState) {
	workers := t.planWorkers(len(sts))
	if workers <= 1 {
		for _, st := range sts {
			t.replan(st)
		}
		return
	}
	outs := t.outs[:0]
	if cap(outs) < len(sts) {
		outs = make([]serviceOutput, 0, len(sts))
	}
	outs = outs[:len(sts)]
	for len(t.helpers) < workers-1 {
		t.helpers = append(t.helpers, &planner{})
	}
	pp := parallelPlan{t: t, sts: sts, outs: outs, done: make([]atomic.Bool, (len(sts)+planBatch-1)/planBatch)}
	pp.run(workers)
	clear(outs) // the scratch must not keep old outputs alive
	if cap(outs) > 4096 {
		outs = nil // a rebuild's: do not keep the room
	}
	t.outs = outs[:0]
}

// parallelPlan plans Services in batches on several goroutines, each with
// a planner of its own, outs[i] for sts[i]; the calling goroutine plans
// too, and between its batches applies the outputs planned so far, in
// order. Planning reads only a Service's state and the node, and applying
// one Service's output writes nothing another's planning reads (the
// claims, and that one Service's state), so both can run at once.
type parallelPlan struct {
	t       *Tracker
	sts     []*serviceState
	outs    []serviceOutput
	done    []atomic.Bool // per batch: planned
	applied int           // batches applied
}

// run plans and applies every batch, on workers goroutines.
func (pp *parallelPlan) run(workers int) {
	r := newBatchRun(len(pp.sts), planBatch)
	for w := 1; w < workers; w++ {
		p := pp.t.helpers[w-1]
		go func() {
			for r.do(func(b, lo, hi int) { pp.plan(p, b, lo, hi) }) {
			}
		}()
	}
	plan := func(b, lo, hi int) { pp.plan(&pp.t.planner, b, lo, hi) }
	for r.do(plan) {
		pp.applyPlanned()
	}
	r.wait()
	for range len(pp.done) - pp.applied {
		pp.applyBatch()
	}
}

// plan plans batch b, sts[lo:hi], with p.
func (pp *parallelPlan) plan(p *planner, b, lo, hi int) {
	n := pp.t.node
	readAhead(pp.sts[lo:hi])
	for i := lo; i < hi; i++ {
		if st := pp.sts[i]; st.svc != nil {
			pp.outs[i] = p.plan(n, st, &st.out)
		}
	}
	pp.done[b].Store(true)
}

// applyPlanned applies the batches planned since the last applied one.
func (pp *parallelPlan) applyPlanned() {
	for pp.applied < len(pp.done) && pp.done[pp.applied].Load() {
		pp.applyBatch()
	}
}

// applyBatch applies the next batch, planned.
func (pp *parallelPlan) applyBatch() {
	b := pp.applied
	for i := b * planBatch; i < min((b+1)*planBatch, len(pp.sts)); i++ {
		pp.t.apply(pp.sts[i], pp.outs[i])
	}
	pp.applied++
}

// workersFor returns how many goroutines share n items of work when it
// takes least items for more than one to pay (force > 0: force, for
// tests): one per usable core, each with half of least at least.
func workersFor(n, least, force int) int {
	if force > 0 {
		return force
	}
	if n < least {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), 2*n/least))
}

// inParallel calls f(w, lo, hi) for the ranges [lo, hi) of [0, n), batch
// items at a time, on workers goroutines (w: the goroutine's index, 0 for
// this one), and returns once all are done, re-panicking with a panic of
// f's.
func inParallel(n, workers, batch int, f func(w, lo, hi int)) {
	r := newBatchRun(n, batch)
	for w := 1; w < workers; w++ {
		go func() {
			for r.do(func(_, lo, hi int) { f(w, lo, hi) }) {
			}
		}()
	}
	for r.do(func(_, lo, hi int) { f(0, lo, hi) }) {
	}
	r.wait()
}

// batchRun hands out the batches of [0, n) to the goroutines that ask,
// this one included, which works too rather than waiting (see
// computer.services). It waits only for batches under way, never for a
// goroutine to start: on a busy machine one may not run for a time
// slice, and finds nothing left to do when it does.
type batchRun struct {
	n, size  int
	next     atomic.Int64  // the next batch to hand out
	left     atomic.Int64  // batches not finished
	done     chan struct{} // closed when none is left
	panicked atomic.Bool
	panicMu  sync.Mutex
	panicVal any
}

func newBatchRun(n, size int) *batchRun {
	r := &batchRun{n: n, size: size, done: make(chan struct{})}
	r.left.Store(int64((n + size - 1) / size))
	if n == 0 {
		close(r.done)
	}
	return r
}

// do runs f on the next batch (its index and range) and reports whether
// there was one. After a panic of f's it runs f no more, but still hands
// out and finishes the batches, so that wait ends.
func (r *batchRun) do(f func(b, lo, hi int)) bool {
	b := int(r.next.Add(1)) - 1
	lo := b * r.size
	if lo >= r.n {
		return false
	}
	if !r.panicked.Load() {
		r.run(f, b, lo, min(lo+r.size, r.n))
	}
	if r.left.Add(-1) == 0 {
		close(r.done)
	}
	return true
}

func (r *batchRun) run(f func(b, lo, hi int), b, lo, hi int) {
	defer func() {
		if p := recover(); p != nil {
			r.panicMu.Lock()
			if !r.panicked.Load() {
				r.panicVal = p
				r.panicked.Store(true)
			}
			r.panicMu.Unlock()
		}
	}()
	f(b, lo, hi)
}

// wait waits until every batch is finished (the caller has taken the
// last), then re-panics with f's panic, if any.
func (r *batchRun) wait() {
	<-r.done
	if r.panicked.Load() {
		panic(r.panicVal)
	}
}

const (
	// parallelMinKeys is the fewest touched keys settled on several
	// goroutines, keyBatch how many a goroutine takes at a time. Past
	// parallelMaxKeys (a rebuild's), settleKeys works on one: the remote
	// backend counts it would work out beforehand, a copy of what it
	// then notes, would allocate tens of megabytes.
	parallelMinKeys = 512
	parallelMaxKeys = 8192
	keyBatch        = 64
	// parallelMinIPs is the fewest touched IPs looked up on several
	// goroutines, ipBatch how many a goroutine takes at a time.
	parallelMinIPs = 1024
	ipBatch        = 128
)

// keyWinner is a touched key's winner, its remote backends, and, when the
// winner changed, the remote backend counts that changes (diffRemotes's
// calls, in order); when diagsDone, its conflict diagnostics and whether
// they changed (conflictDiags).
type keyWinner struct {
	win          *LoadBalancer
	remotes      remoteView
	diffs        []ipTouch
	diags        []Diagnostic
	diagsChanged bool
	diagsDone    bool
}

// keyWinnerOf returns ks's winner and, when buf is not nil and the winner
// changed, its diffs, appended to *buf.
func keyWinnerOf(ks *keyState, buf *[]ipTouch) keyWinner {
	var kw keyWinner
	if len(ks.claims) > 0 {
		kw.win, kw.remotes = ks.claims[0].lb, ks.claims[0].remotes()
	}
	if buf != nil && kw.win != ks.win {
		b := *buf
		n := len(b)
		diffRemotes(ks.winView(), kw.remotes, func(ip netip.Addr, d int) { b = append(b, ipTouch{ip, int32(d)}) })
		kw.diffs, *buf = b[n:len(b):len(b)], b
	}
	return kw
}

// settleKeys settles the touched keys, in order. When there are many, it
// first works out their winners and what those change on several
// goroutines, which only read the claims.
func (c *claims) settleKeys() {
	ts := c.touchedKeys
	workers := workersFor(len(ts), parallelMinKeys, c.forceWorkers)
	if workers <= 1 || len(ts) > parallelMaxKeys && c.forceWorkers == 0 {
		for _, t := range ts {
			c.settleKey(t.k, t.ks, nil)
		}
		return
	}
	c.wins = slices.Grow(c.wins[:0], len(ts))[:len(ts)]
	for len(c.diffBufs) < workers {
		c.diffBufs = append(c.diffBufs, nil)
		c.msgBufs = append(c.msgBufs, nil)
	}
	inParallel(len(ts), workers, keyBatch, func(w, lo, hi int) {
		for i := lo; i < hi; i++ {
			ks := ts[i].ks
			c.wins[i] = keyWinnerOf(ks, &c.diffBufs[w])
			if len(ks.claims) > 1 || ks.hasDiags { // settleKey's test
				kw := &c.wins[i]
				kw.diags, kw.diagsChanged = conflictDiags(ks.claims, c.keyDiags[ts[i].k], &c.msgBufs[w])
				kw.diagsDone = true
			}
		}
	})
	for i, t := range ts {
		c.settleKey(t.k, t.ks, &c.wins[i])
	}
	c.wins = resetList(c.wins)
	for w, b := range c.diffBufs {
		c.diffBufs[w] = resetList(b)
	}
}

// lookUpIPs returns states (empty) with the states of ips, nil for those
// that have none, looked up on several goroutines when there are many.
func (c *claims) lookUpIPs(ips []ipTouch, states []*ipState) []*ipState {
	states = slices.Grow(states, len(ips))[:len(ips)]
	workers := workersFor(len(ips), parallelMinIPs, c.forceWorkers)
	if workers <= 1 {
		// Not through inParallel's function, which would be made on the
		// heap.
		for i, t := range ips {
			states[i] = c.ips[t.ip]
		}
		return states
	}
	inParallel(len(ips), workers, ipBatch, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			states[i] = c.ips[ips[i].ip]
		}
	})
	return states
}
