package fake_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

func TestFaultFailsExactlyCountCalls(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	n.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Count: 2})
	for i := range 2 {
		_, err := n.h.CreateLoadBalancer(t.Context(), lb("10.96.0.10", 80, n.pods[0]))
		checkHCNError(t, err, hns.OpCreateLoadBalancer, "hcnCreateLoadBalancer", 0x80004005)
		if len(n.h.LoadBalancers()) != 0 {
			t.Fatalf("call %d: a failed create stored a load balancer", i)
		}
	}
	mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
	// Other operations were never affected.
	if _, err := n.h.ListLoadBalancers(t.Context()); err != nil {
		t.Errorf("ListLoadBalancers: %v", err)
	}
	if got := n.h.Calls()[hns.OpCreateLoadBalancer]; got != 3 {
		t.Errorf("CreateLoadBalancer calls = %d, want 3 (failed ones count)", got)
	}
}

func TestFaultUntilCleared(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	n.h.InjectFault(fake.Fault{Op: hns.OpVersion, Code: hns.CodeModuleNotFound})
	for range 5 {
		if _, err := n.h.Version(t.Context()); !hns.IsHNSUnavailable(err) {
			t.Fatalf("Version = %v, want ModuleNotFound", err)
		}
	}
	n.h.ClearFaults()
	if _, err := n.h.Version(t.Context()); err != nil {
		t.Errorf("Version after ClearFaults: %v", err)
	}
}

func TestFaultEveryOp(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	n.h.InjectFault(fake.Fault{Code: hns.CodeInvalidParameter, Count: 2})
	if _, err := n.h.GetNetworkByName(t.Context(), "cbr0"); !hns.IsInvalidParameter(err) {
		t.Errorf("GetNetworkByName = %v, want the injected 0x57", err)
	}
	err := n.h.DeleteEndpoint(t.Context(), n.pods[0])
	checkHCNError(t, err, hns.OpDeleteEndpoint, "hcnDeleteEndpoint", hns.CodeInvalidParameter)
	if err := n.h.DeleteEndpoint(t.Context(), n.pods[0]); err != nil {
		t.Errorf("DeleteEndpoint after the fault ran out: %v", err)
	}
}

func TestFaultMatch(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	a := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0])).Id
	b := mustCreate(t, n.h, lb("10.96.0.11", 80, n.pods[0])).Id
	n.h.InjectFault(fake.Fault{
		Op:    hns.OpDeleteLoadBalancer,
		Code:  hns.CodeNotFound,
		Match: func(id string) bool { return strings.EqualFold(id, a) },
	})
	n.h.InjectFault(fake.Fault{
		Op:    hns.OpCreateLoadBalancer,
		Code:  hns.CodePortAlreadyExists,
		Match: func(key string) bool { return key == "IPv4/*/TCP/30080" },
	})
	if err := n.h.DeleteLoadBalancer(t.Context(), b); err != nil {
		t.Errorf("DeleteLoadBalancer(b): %v", err)
	}
	if err := n.h.DeleteLoadBalancer(t.Context(), strings.ToLower(a)); !hns.IsNotFound(err) {
		t.Errorf("DeleteLoadBalancer(a) = %v, want the injected NotFound", err)
	}
	if _, err := n.h.CreateLoadBalancer(t.Context(), lb("", 30080, n.pods[0])); !hns.IsPortAlreadyExists(err) {
		t.Errorf("CreateLoadBalancer(NodePort 30080) = %v, want the injected 0x803B0013", err)
	}
	mustCreate(t, n.h, lb("", 30081, n.pods[0]))
}

func TestVanishDuringList(t *testing.T) {
	for _, tt := range []struct {
		op   hns.Op
		fn   string
		list func(h *fake.HNS) (int, error)
	}{
		{hns.OpListLoadBalancers, "hcnOpenLoadBalancer", func(h *fake.HNS) (int, error) {
			l, err := h.ListLoadBalancers(context.Background())
			return len(l), err
		}},
		{hns.OpListEndpoints, "hcnOpenEndpoint", func(h *fake.HNS) (int, error) {
			l, err := h.ListEndpoints(context.Background(), "")
			return len(l), err
		}},
	} {
		t.Run(string(tt.op), func(t *testing.T) {
			n := newNode(t, "latest", "L2Bridge")
			mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
			mustCreate(t, n.h, lb("10.96.0.11", 80, n.pods[0]))
			n.h.InjectFault(fake.Fault{Op: tt.op, VanishDuringList: true, Count: 1})
			got, err := tt.list(n.h)
			checkHCNError(t, err, tt.op, tt.fn, hns.CodeNotFound)
			if !hns.IsNotFound(err) {
				t.Errorf("IsNotFound(%v) = false", err)
			}
			if got != 0 {
				t.Errorf("the failed list returned %d objects; a failed list returns none", got)
			}
			if got, err := tt.list(n.h); err != nil || got == 0 {
				t.Errorf("next list = %d, %v; want the whole list", got, err)
			}
		})
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	n.h.SetLatency(hns.OpCreateLoadBalancer, time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, n.pods[0]))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CreateLoadBalancer = %v, want context.DeadlineExceeded", err)
	}
	var e *hns.Error
	if !errors.As(err, &e) || e.Op != hns.OpCreateLoadBalancer || e.Code != 0 {
		t.Errorf("error %#v: want an *hns.Error of CreateLoadBalancer with code 0", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the call took %v", d)
	}
	if len(n.h.LoadBalancers()) != 0 {
		t.Errorf("an abandoned create stored a load balancer")
	}
	if got := n.h.Calls()[hns.OpCreateLoadBalancer]; got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}

	// A context already done fails at once, even without latency.
	n.h.SetLatency(hns.OpCreateLoadBalancer, 0)
	done, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if _, err := n.h.CreateLoadBalancer(done, lb("10.96.0.10", 80, n.pods[0])); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateLoadBalancer(canceled) = %v, want context.Canceled", err)
	}
	if len(n.h.LoadBalancers()) != 0 {
		t.Errorf("a canceled create stored a load balancer")
	}
}

func TestLatencyOverlaps(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	n.h.SetLatency("", 200*time.Millisecond)
	n.h.SetLatency(hns.OpVersion, time.Millisecond) // an op's own latency wins
	start := time.Now()
	if _, err := n.h.Version(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 200*time.Millisecond {
		t.Errorf("Version took %v: want its own latency, not the default", d)
	}

	const calls = 20
	start = time.Now()
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := n.h.ListLoadBalancers(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if d < 200*time.Millisecond {
		t.Errorf("calls took %v, less than their latency", d)
	}
	if d >= calls*200*time.Millisecond/2 {
		t.Errorf("%d concurrent calls of 200ms took %v: the latency does not overlap", calls, d)
	}
}

func TestCalls(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	ctx := t.Context()
	created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
	_, _ = n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, n.pods[0])) // fails: counted
	_, _ = n.h.UpdateLoadBalancer(ctx, created.Id, lb("10.96.0.10", 80, n.pods[1]))
	_, _ = n.h.ListLoadBalancers(ctx)
	_, _ = n.h.GetLoadBalancer(ctx, created.Id)
	_ = n.h.DeleteLoadBalancer(ctx, created.Id)
	_, _ = n.h.CreateEndpoint(ctx, n.net, remoteEP("10.244.1.5", ""))
	_, _ = n.h.ListEndpoints(ctx, n.net)
	_ = n.h.DeleteEndpoint(ctx, n.pods[2])
	_, _ = n.h.GetNetworkByName(ctx, "cbr0")
	_, _ = n.h.Version(ctx)
	n.h.AddLocalEndpoint(n.net, "seeded", "10.244.0.99") // not a call
	_, _ = n.h.Trace(fake.Flow{Origin: fake.FromPod, Protocol: 6, Destination: "10.96.0.10", Port: 80})

	want := fake.Calls{
		hns.OpCreateLoadBalancer: 2,
		hns.OpUpdateLoadBalancer: 1,
		hns.OpListLoadBalancers:  1,
		hns.OpGetLoadBalancer:    1,
		hns.OpDeleteLoadBalancer: 1,
		hns.OpCreateEndpoint:     1,
		hns.OpListEndpoints:      1,
		hns.OpDeleteEndpoint:     1,
		hns.OpGetNetwork:         1,
		hns.OpVersion:            1,
	}
	got := n.h.Calls()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
	if got.Mutating() != 6 {
		t.Errorf("Mutating = %d, want 6", got.Mutating())
	}
	got[hns.OpVersion] = 100 // a copy
	n.h.ResetCalls()
	if c := n.h.Calls(); len(c) != 0 || c.Mutating() != 0 {
		t.Errorf("after ResetCalls: %v", c)
	}
}

// A FailAfter fault fails a mutating call after it took effect: the state
// changes, the answer is the fault's error, and the call log shows both.
// On a read it is an ordinary fault.
func TestFaultFailAfter(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	ctx := t.Context()
	fail := func(op hns.Op) { n.h.InjectFault(fake.Fault{Op: op, Mode: fake.FailAfter, Count: 1}) }

	fail(hns.OpCreateLoadBalancer)
	got, err := n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, n.pods[0]))
	checkHCNError(t, err, hns.OpCreateLoadBalancer, "hcnCreateLoadBalancer", 0x80004005)
	if got != nil {
		t.Errorf("a failed create answered %+v", got)
	}
	lbs := n.h.LoadBalancers()
	if len(lbs) != 1 {
		t.Fatalf("the create did not take effect: %d load balancers", len(lbs))
	}
	id := lbs[0].Id
	if log := n.h.CallLog(); log[len(log)-1].String() != "CreateLoadBalancer "+id+" -> 0x80004005" {
		t.Errorf("call log: %v", log[len(log)-1])
	}

	fail(hns.OpUpdateLoadBalancer)
	if _, err := n.h.UpdateLoadBalancer(ctx, id, lb("10.96.0.10", 80, n.pods[1])); err == nil {
		t.Error("update: no error")
	}
	if eps := n.h.LoadBalancers()[0].HostComputeEndpoints; len(eps) != 1 || eps[0] != n.pods[1] {
		t.Errorf("the update did not take effect: %v", eps)
	}

	fail(hns.OpCreateEndpoint)
	if _, err := n.h.CreateEndpoint(ctx, n.net, remoteEP("10.244.1.5", "")); err == nil {
		t.Error("create endpoint: no error")
	}
	if len(n.h.Endpoints()) != 4 {
		t.Errorf("the endpoint create did not take effect: %d endpoints", len(n.h.Endpoints()))
	}

	fail(hns.OpDeleteLoadBalancer)
	if err := n.h.DeleteLoadBalancer(ctx, id); err == nil {
		t.Error("delete: no error")
	}
	fail(hns.OpDeleteEndpoint)
	if err := n.h.DeleteEndpoint(ctx, n.pods[2]); err == nil {
		t.Error("delete endpoint: no error")
	}
	if len(n.h.LoadBalancers()) != 0 || len(n.h.Endpoints()) != 3 {
		t.Errorf("the deletes did not take effect:\n%s", n.h.Dump())
	}

	// A call that fails on its own answers the fault's error, changing
	// nothing; a read fails as with any fault.
	fail(hns.OpDeleteEndpoint)
	if err := n.h.DeleteEndpoint(ctx, n.pods[2]); hns.IsNotFound(err) || err == nil {
		t.Errorf("delete of a missing endpoint = %v, want the fault's E_FAIL", err)
	}
	fail(hns.OpListLoadBalancers)
	if _, err := n.h.ListLoadBalancers(ctx); err == nil {
		t.Error("list: no error")
	}
}

// An AnswerWithoutID fault answers a create or update with the object
// without its ID; other operations never match it.
func TestFaultAnswerWithoutID(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	ctx := t.Context()
	n.h.InjectFault(fake.Fault{Mode: fake.AnswerWithoutID, Count: 3})
	if _, err := n.h.ListLoadBalancers(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, n.pods[0]))
	if err != nil || got == nil || got.Id != "" || len(got.PortMappings) != 1 {
		t.Fatalf("create = %+v, %v; want the object without its ID", got, err)
	}
	id := n.h.LoadBalancers()[0].Id
	got, err = n.h.UpdateLoadBalancer(ctx, id, lb("10.96.0.10", 80, n.pods[1]))
	if err != nil || got == nil || got.Id != "" {
		t.Fatalf("update = %+v, %v; want the object without its ID", got, err)
	}
	ep, err := n.h.CreateEndpoint(ctx, n.net, remoteEP("10.244.1.5", ""))
	if err != nil || ep == nil || ep.Id != "" || ep.IpConfigurations[0].IpAddress != "10.244.1.5" {
		t.Fatalf("create endpoint = %+v, %v; want the object without its ID", ep, err)
	}
	if len(n.h.LoadBalancers()) != 1 || len(n.h.Endpoints()) != 4 {
		t.Errorf("the calls did not take effect:\n%s", n.h.Dump())
	}
	got, err = n.h.CreateLoadBalancer(ctx, lb("10.96.0.11", 80, n.pods[0]))
	if err != nil || got.Id == "" {
		t.Errorf("after the fault ran out: %+v, %v", got, err)
	}
}
