package fake_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// TestConcurrentUse runs many goroutines creating, reading and deleting at
// once; run it with -race.
func TestConcurrentUse(t *testing.T) {
	n := newNode(t, "latest", "Overlay")
	const workers, rounds = 16, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := t.Context()
			for r := range rounds {
				l, err := n.h.CreateLoadBalancer(ctx, lb(fmt.Sprintf("10.96.%d.%d", w, r), 80, n.pods[r%3]))
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				ep, err := n.h.CreateEndpoint(ctx, n.net, remoteEP(fmt.Sprintf("10.250.%d.%d", w, r), "192.168.1.3"))
				if err != nil {
					t.Errorf("create endpoint: %v", err)
					return
				}
				if _, err := n.h.UpdateLoadBalancer(ctx, l.Id, lb(l.FrontendVIPs[0], 80, ep.Id)); err != nil {
					t.Errorf("update: %v", err)
				}
				if _, err := n.h.ListLoadBalancers(ctx); err != nil {
					t.Errorf("list: %v", err)
				}
				if r%5 == 0 {
					_ = n.h.DumpStable()
					_ = n.h.CallLog()
					_ = n.h.Snapshot()
				}
				_, _ = n.h.Trace(flowTo(l.FrontendVIPs[0]))
				if r%2 == 0 {
					if err := n.h.DeleteLoadBalancer(ctx, l.Id); err != nil {
						t.Errorf("delete: %v", err)
					}
					if err := n.h.DeleteEndpoint(ctx, ep.Id); err != nil {
						t.Errorf("delete endpoint: %v", err)
					}
				}
			}
		}()
	}
	// Contention on one frontend: exactly one create wins.
	wins := make(chan string, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := n.h.CreateLoadBalancer(t.Context(), lb("10.96.255.1", 53, n.pods[0]))
			switch {
			case err == nil:
				wins <- l.Id
			case !hns.IsAlreadyExists(err):
				t.Errorf("contended create: %v", err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		t.Errorf("%d creates of one frontend succeeded, want 1", len(wins))
	}

	keep := workers * (rounds / 2) // odd rounds
	if got := len(n.h.LoadBalancers()); got != keep+1 {
		t.Errorf("%d load balancers left, want %d", got, keep+1)
	}
	if got := len(n.h.Endpoints()); got != keep+3 {
		t.Errorf("%d endpoints left, want %d", got, keep+3)
	}
	c := n.h.Calls()
	if got, want := c[hns.OpCreateLoadBalancer], workers*rounds+workers; got != want {
		t.Errorf("CreateLoadBalancer calls = %d, want %d", got, want)
	}
	logged := map[hns.Op]int{}
	for _, call := range n.h.CallLog() {
		logged[call.Op]++
	}
	if diff := cmp.Diff(map[hns.Op]int(c), logged); diff != "" {
		t.Errorf("the call log differs from the counters (-counted +logged):\n%s", diff)
	}
}
