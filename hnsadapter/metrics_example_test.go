package hnsadapter_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// callCounter is a Metrics for the example; a proxy would feed a
// Prometheus counter vector and histograms instead.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int // "op outcome"
	syncs int
}

func (c *callCounter) CallDone(op hns.Op, err error, _ time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[string(op)+" "+outcome]++
}

func (c *callCounter) SyncDone(s hnsadapter.SyncStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncs++
	fmt.Printf("sync: full=%v errors=%d inBackoff=%d failed=%v\n", s.Full, len(s.Result.Errors), s.InBackoff, s.Err != nil)
}

// Metrics without a metrics library, and the last successful sync for a
// /healthz handler.
func ExampleMetrics() {
	profile, _ := hns.ProfileNamed("latest")
	h := fake.New(profile)
	network := h.AddNetwork("cbr0", "L2Bridge")
	h.AddLocalEndpoint(network, "web-a", "10.244.1.5")
	m := &callCounter{calls: map[string]int{}}
	r, _ := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: "cbr0", Metrics: m})

	tr, _ := lbpolicy.NewTracker(lbpolicy.Node{Name: "win-1", NodeIPs: []string{"10.0.0.4"},
		NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0"})
	s := tr.Snapshot()
	plan := s.Plan()
	if _, err := r.SyncChanges(context.Background(), &plan, &s.Changes); err != nil {
		fmt.Println(err)
	}
	h.InjectFault(fake.Fault{Op: hns.OpListLoadBalancers, Count: 1})
	first := r.LastSuccess()
	if _, err := r.Sync(context.Background(), &plan); err != nil {
		fmt.Println("LastSuccess unchanged by the failed sync:", r.LastSuccess().Equal(first))
	}
	fmt.Println(m.calls)
	// Output:
	// sync: full=true errors=0 inBackoff=0 failed=false
	// sync: full=true errors=0 inBackoff=0 failed=true
	// LastSuccess unchanged by the failed sync: true
	// map[GetNetworkByName ok:1 ListEndpoints ok:1 ListLoadBalancers error:1 ListLoadBalancers ok:1 Version ok:1]
}
