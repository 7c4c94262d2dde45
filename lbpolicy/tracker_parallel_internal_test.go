package lbpolicy

import (
	"sync/atomic"
	"testing"
)

// inParallel calls f once for every item, whatever the number of
// goroutines, and hands a panic of f's to its caller once every batch is
// finished.
func TestInParallel(t *testing.T) {
	tests := []struct {
		name           string
		n, workers     int
		batch, panicAt int // panicAt < 0: none
	}{
		{"one goroutine", 100, 1, 7, -1},
		{"three goroutines", 1000, 3, 16, -1},
		{"more goroutines than batches", 5, 4, 2, -1},
		{"a panic, one goroutine", 50, 1, 4, 21},
		{"a panic, two goroutines", 500, 2, 8, 333},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make([]atomic.Int32, tt.n)
			var got any
			func() {
				defer func() { got = recover() }()
				inParallel(tt.n, tt.workers, tt.batch, func(w, lo, hi int) {
					if w < 0 || w >= tt.workers {
						t.Errorf("goroutine index %d of %d", w, tt.workers)
					}
					for i := lo; i < hi; i++ {
						if i == tt.panicAt {
							panic(i)
						}
						seen[i].Add(1)
					}
				})
			}()
			if tt.panicAt >= 0 {
				if got != tt.panicAt {
					t.Fatalf("recovered %v, want the panic %d", got, tt.panicAt)
				}
				return
			}
			if got != nil {
				t.Fatalf("panic: %v", got)
			}
			for i := range seen {
				if n := seen[i].Load(); n != 1 {
					t.Errorf("item %d done %d times, want once", i, n)
				}
			}
		})
	}
}
