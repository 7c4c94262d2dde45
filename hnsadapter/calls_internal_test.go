package hnsadapter

import (
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Every operation has its slot in a sync's call counts.
func TestCallOps(t *testing.T) {
	if got := len(hns.Ops()); got != numOps {
		t.Fatalf("hns.Ops() has %d operations, numOps says %d", got, numOps)
	}
	c := newCalls(nil, logr.Discard(), nil, nil)
	for i, op := range hns.Ops() {
		for range i + 1 {
			c.done(op, time.Time{}, nil, "", "", -1)
		}
	}
	got := c.snapshot()
	for i, op := range hns.Ops() {
		if got[op] != i+1 {
			t.Errorf("%s counted %d times, want %d", op, got[op], i+1)
		}
	}
}
