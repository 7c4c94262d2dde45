package lbpolicy

import (
	"runtime"
	"sync/atomic"
)

// How a Tracker uses several cores. Planning one Service reads only its
// state (Service, slices, previous output) and the node, and writes only
// the planner's scratch memory, so a Snapshot that re-plans many Services
// plans them on several goroutines, each with a planner of its own, into
// one output per Service; the calling goroutine then hands the outputs to
// the claims in the order one goroutine would have, so the claims, the
// change log and every Snapshot are the same for any number of workers.

const (
	// parallelMinPlans is the fewest Services planned on several
	// goroutines: a Snapshot after a few events plans in less time than
	// waking a goroutine takes.
	parallelMinPlans = 64
	// planBatch is how many Services a worker takes at a time: the
	// workers share the Services however the scheduler runs them.
	planBatch = 16
)

// planWorkers returns how many goroutines plan n Services: one for few,
// else one per usable core, each with a few batches at least.
func (t *Tracker) planWorkers(n int) int {
	if t.forceWorkers > 0 {
		return t.forceWorkers
	}
	if n < parallelMinPlans {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), n/(2*planBatch)))
}

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
	outs := t.planParallel(sts, workers)
	for i, st := range sts {
		t.apply(st, outs[i])
	}
	clear(outs) // the scratch must not keep old outputs alive
	if cap(outs) > 4096 {
		outs = nil // a rebuild's: do not keep the room
	}
	t.outs = outs[:0]
}

// planParallel plans the Services of sts on workers goroutines, this one
// included, and returns their outputs, outs[i] for sts[i]. The workers
// only read the Services' states and the node.
func (t *Tracker) planParallel(sts []*serviceState, workers int) []serviceOutput {
	outs := t.outs[:0]
	if cap(outs) < len(sts) {
		outs = make([]serviceOutput, 0, len(sts))
	}
	outs = outs[:len(sts)]
	for len(t.helpers) < workers-1 {
		t.helpers = append(t.helpers, &planner{})
	}
	n := t.node
	var next atomic.Int64
	work := func(p *planner) {
		for {
			lo := int(next.Add(planBatch)) - planBatch
			if lo >= len(sts) {
				return
			}
			for i := lo; i < min(lo+planBatch, len(sts)); i++ {
				if st := sts[i]; st.svc != nil {
					outs[i] = p.plan(n, st, &st.out)
				}
			}
		}
	}
	tasks := make([]*task, workers-1)
	for w := range tasks {
		p := t.helpers[w]
		tasks[w] = start(func() { work(p) })
	}
	// This goroutine works too, rather than waiting (see
	// computer.services), and waits for the others even if it panics.
	var p any
	func() {
		defer func() { p = recover() }()
		work(&t.planner)
	}()
	waitAll(tasks...)
	if p != nil {
		panic(p)
	}
	return outs
}
