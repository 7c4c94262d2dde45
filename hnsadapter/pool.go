package hnsadapter

import (
	"context"
	"sync"
	"sync/atomic"
)

// parallel runs do(ctx, i) for every i in [0, n) on at most workers
// goroutines. Each do makes its HNS calls one after the other, so at most
// workers calls are in flight. Items not yet started when ctx ends are
// skipped: out[i].ok says which ran.
func parallel[T any](ctx context.Context, workers, n int, do func(ctx context.Context, i int) T) (out []ran[T]) {
	out = make([]ran[T], n)
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if ctx.Err() != nil {
				break
			}
			out[i] = ran[T]{do(ctx, i), true}
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				out[i] = ran[T]{do(ctx, i), true}
			}
		}()
	}
	wg.Wait()
	return out
}

// ran is the outcome of one item of parallel: v, if ok (it was started).
type ran[T any] struct {
	v  T
	ok bool
}
