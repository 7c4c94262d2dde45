package hnsadapter

import (
	"context"
	"sync"
	"sync/atomic"
)

// parallel runs do(ctx, i) for every i in [0, n) on at most workers
// goroutines. Each do makes its HNS calls one after the other, so at most
// workers calls are in flight. Items not yet started when ctx ends are
// skipped: started[i] says which ran.
func parallel[T any](ctx context.Context, workers, n int, do func(ctx context.Context, i int) T) (out []T, started []bool) {
	out = make([]T, n)
	started = make([]bool, n)
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if ctx.Err() != nil {
				break
			}
			started[i] = true
			out[i] = do(ctx, i)
		}
		return out, started
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
				started[i] = true
				out[i] = do(ctx, i)
			}
		}()
	}
	wg.Wait()
	return out, started
}
