package hnsadapter

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestParallel: every task runs once, its outcome at its index, on one
// worker or several; tasks not started when ctx ends are marked not run;
// and a reused buffer holds nothing of an earlier call.
func TestParallel(t *testing.T) {
	double := func(_ context.Context, add int, x *int) int { return 2**x + add }
	tasks := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	want := func(n, add int) []ran[int] {
		out := make([]ran[int], n)
		for i := range out {
			out[i] = ran[int]{2*i + add, true}
		}
		return out
	}
	var buf []ran[int]
	for _, tc := range []struct{ workers, n int }{{1, 0}, {1, 5}, {4, 1}, {4, 3}, {4, 50}, {2, 7}, {8, keepScratch + 1}} {
		t.Run(fmt.Sprintf("%d workers, %d tasks", tc.workers, tc.n), func(t *testing.T) {
			got := parallel(context.Background(), tc.workers, 1, tasks(tc.n), &buf, double, nil)
			if diff := cmp.Diff(want(tc.n, 1), got, cmp.AllowUnexported(ran[int]{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
	// each sees every outcome once, in task order, however the workers
	// finish.
	for _, tc := range []struct{ workers, n int }{{1, 5}, {4, 1}, {4, 50}, {3, 200}} {
		t.Run(fmt.Sprintf("each, %d workers, %d tasks", tc.workers, tc.n), func(t *testing.T) {
			var seen []ran[int]
			got := parallel(context.Background(), tc.workers, 0, tasks(tc.n), &buf, double,
				func(i int, o *ran[int]) {
					if i != len(seen) {
						t.Errorf("each(%d) after %d outcomes", i, len(seen))
					}
					seen = append(seen, *o)
				})
			if diff := cmp.Diff(want(tc.n, 0), seen, cmp.AllowUnexported(ran[int]{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("outcomes each saw (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(seen, got, cmp.AllowUnexported(ran[int]{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("outcomes returned (-each saw +returned):\n%s", diff)
			}
		})
	}
	t.Run("each, ctx ended", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stopAt2 := func(_ context.Context, _ int, x *int) int {
			if *x == 2 {
				cancel()
			}
			return *x
		}
		var started []bool
		parallel(ctx, 1, 0, tasks(5), &buf, stopAt2, func(_ int, o *ran[int]) { started = append(started, o.ok) })
		if diff := cmp.Diff([]bool{true, true, true, false, false}, started); diff != "" {
			t.Errorf("tasks ran (-want +got):\n%s", diff)
		}
	})
	t.Run("ctx ended", func(t *testing.T) { // in a buffer whose tasks all ran before

		ctx, cancel := context.WithCancel(context.Background())
		stopAt2 := func(_ context.Context, _ int, x *int) int {
			if *x == 2 {
				cancel()
			}
			return *x
		}
		got := parallel(ctx, 1, 0, tasks(5), &buf, stopAt2, nil)
		wantRan := []bool{true, true, true, false, false}
		for i := range got {
			if got[i].ok != wantRan[i] {
				t.Errorf("task %d ran: %v, want %v", i, got[i].ok, wantRan[i])
			}
		}
	})
}

// TestFilterOnCores: the kept items, in order, whatever the number of
// goroutines and however the list splits among them.
func TestFilterOnCores(t *testing.T) {
	keep := func(i int) bool { return i%3 != 0 && i%7 != 1 }
	for _, n := range []int{0, 1, 2, 5, 17, filterOnMin - 1, filterOnMin, 1000} {
		for _, workers := range []int{0, 1, 2, 3, 8} {
			list := make([]int, n)
			var want []int
			for i := range list {
				list[i] = i
				if keep(i) {
					want = append(want, i)
				}
			}
			got := filterOnCores(list, coresFor(n, workers, 0), keep)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%d items on %d workers (-want +got):\n%s", n, workers, diff)
			}
		}
	}
}

// TestInBatches: every item is done once, by one of the goroutines.
func TestInBatches(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 100, 1000} {
		for _, workers := range []int{1, 2, 3} {
			var count [1000]atomic.Int32
			var bad atomic.Bool
			inBatches(n, workers, func(w, i int) {
				if w < 0 || w >= workers {
					bad.Store(true)
				}
				count[i].Add(1)
			})
			if bad.Load() {
				t.Errorf("%d items on %d workers: a goroutine index out of range", n, workers)
			}
			for i := range n {
				if c := count[i].Load(); c != 1 {
					t.Errorf("%d items on %d workers: item %d done %d times", n, workers, i, c)
				}
			}
		}
	}
}
