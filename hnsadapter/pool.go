package hnsadapter

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel runs do(ctx, env, &tasks[i]) for every task on at most workers
// goroutines, and returns the outcomes in the order of tasks. Each do
// makes its HNS calls one after the other, so at most workers calls are in
// flight. Tasks not yet started when ctx ends are skipped: out[i].ok says
// which ran.
//
// each, if not nil, is called on the calling goroutine with each task's
// index and outcome, in task order, as soon as that task and those before
// it are done, while the workers go on with later tasks: a sync records
// what one call did while HNS serves the next.
//
// The outcomes go in *buf, which the caller keeps from one sync to the
// next, and do takes what it needs in env rather than as a closure's
// captures: a sync of one change, with one task per phase, then allocates
// nothing here.
func parallel[E, T, O any](ctx context.Context, workers int, env E, tasks []T, buf *[]ran[O],
	do func(ctx context.Context, env E, t *T) O, each func(i int, o *ran[O]),
) []ran[O] {
	n := len(tasks)
	out := outcomes(buf, n) // assigned once: the workers capture it by value
	workers = min(workers, n)
	if workers <= 1 {
		for i := range tasks {
			if ctx.Err() == nil {
				out[i] = ran[O]{do(ctx, env, &tasks[i]), true}
			}
			if each != nil {
				each(i, &out[i])
			}
		}
		return out
	}
	var st struct { // one allocation, shared by the workers
		next atomic.Int64
		wg   sync.WaitGroup
		done chan int // the indexes of the tasks done, for each
		// recorded counts the outcomes each has taken.
		recorded atomic.Int64
	}
	if each != nil {
		st.done = make(chan int, n) // never full: no worker waits
	}
	for range workers {
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			for {
				i := int(st.next.Add(1) - 1)
				if i >= n {
					return
				}
				if ctx.Err() == nil {
					out[i] = ran[O]{do(ctx, env, &tasks[i]), true}
				}
				if st.done != nil {
					st.done <- i
					if i-int(st.recorded.Load()) > aheadMax {
						// Far ahead of each, which only the calling
						// goroutine runs: let it have the core (calls
						// that take CPU rather than wait, as a fake's,
						// would otherwise starve it).
						runtime.Gosched()
					}
				}
			}
		}()
	}
	if each != nil {
		inOrder(n, st.done, func(i int) {
			each(i, &out[i])
			st.recorded.Store(int64(i + 1))
		})
	}
	st.wg.Wait()
	return out
}

// aheadMax is how far workers may run ahead of each before they yield.
const aheadMax = 16

// inOrder calls each with 0, 1, ... n-1, each as soon as done has said
// that it and those before it are done.
func inOrder(n int, done <-chan int, each func(i int)) {
	var small [64]bool // a sync of few changes allocates nothing here
	ready := small[:]
	if n > len(small) {
		ready = make([]bool, n)
	}
	at := 0
	for range n {
		ready[<-done] = true
		for ; at < n && ready[at]; at++ {
			each(at)
		}
	}
}

// outcomes returns n empty outcomes from *buf, which it keeps for the
// next call if small.
func outcomes[O any](buf *[]ran[O], n int) []ran[O] {
	out := *buf
	if cap(out) < n {
		out = make([]ran[O], n)
	} else {
		out = out[:n]
		clear(out)
	}
	if n <= keepScratch {
		*buf = out
	}
	return out
}

// ran is the outcome of one task of parallel: v, if ok (it was started).
type ran[T any] struct {
	v  T
	ok bool
}

// filterOnMin is the shortest list filterOnCores is worth spreading
// over several goroutines: a shorter one costs less than starting them.
const filterOnMin = 256

// coresFor is how many goroutines to spread n items of work over:
// GOMAXPROCS for at least least of them (filterOnMin if 0), else one
// (force > 0: force, for any n; tests). Never more than n, nor fewer
// than one.
func coresFor(n, force, least int) int {
	if least == 0 {
		least = filterOnMin
	}
	workers := 1
	switch {
	case force > 0:
		workers = force
	case n >= least:
		workers = runtime.GOMAXPROCS(0)
	}
	return max(1, min(workers, n))
}

// inBatches calls do(w, i) for each i in [0, n) on workers goroutines (w
// the goroutine's index), which take batches of 16 in turn: each
// goroutine's items lie near one another. do must only read what the
// others change.
func inBatches(n, workers int, do func(w, i int)) {
	const batch = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(batch)) - batch
				if from >= n {
					return
				}
				for i := from; i < min(from+batch, n); i++ {
					do(w, i)
				}
			}
		}()
	}
	wg.Wait()
}

// filterInPlace returns the items of list that keep keeps, in order, in
// list's own array.
func filterInPlace[T any](list []T, keep func(T) bool) []T {
	n := 0
	for _, it := range list {
		if keep(it) {
			list[n] = it
			n++
		}
	}
	return list[:n]
}

// filterOnCores is filterInPlace on workers goroutines, each filtering a
// part of list: keep must only read.
func filterOnCores[T any](list []T, workers int, keep func(T) bool) []T {
	workers = max(1, min(workers, len(list)))
	if workers == 1 {
		return filterInPlace(list, keep)
	}
	kept, from := make([]int, workers), make([]int, workers)
	inParts(len(list), workers, func(w, lo, hi int) {
		from[w], kept[w] = lo, len(filterInPlace(list[lo:hi], keep))
	})
	n := kept[0]
	for w := 1; w < workers; w++ {
		n += copy(list[n:], list[from[w]:from[w]+kept[w]])
	}
	return list[:n]
}

// inParts splits [0, n) into workers contiguous parts and calls do(w, lo,
// hi) for each, part w on a goroutine of its own; it returns once all are
// done.
func inParts(n, workers int, do func(w, lo, hi int)) {
	size := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(w, min(w*size, n), min((w+1)*size, n))
		}()
	}
	wg.Wait()
}
