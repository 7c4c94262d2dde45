package fake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

func TestCallLog(t *testing.T) {
	n := newNode(t, "ws2022", "L2Bridge")
	ctx := t.Context()
	const missing = "5E1A1F2B-0000-4000-8000-000000000000"
	created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
	_, _ = n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, n.pods[0]))
	_, _ = n.h.UpdateLoadBalancer(ctx, created.Id, lb("10.96.0.10", 80, n.pods[1]))
	_, _ = n.h.GetLoadBalancer(ctx, missing)
	_, _ = n.h.ListLoadBalancers(ctx)
	_ = n.h.DeleteLoadBalancer(ctx, created.Id)
	ep, _ := n.h.CreateEndpoint(ctx, n.net, remoteEP("10.244.1.5", ""))
	_, _ = n.h.CreateEndpoint(ctx, missing, remoteEP("10.244.1.6", ""))
	_, _ = n.h.ListEndpoints(ctx, "")
	_, _ = n.h.ListEndpoints(ctx, n.net)
	_ = n.h.DeleteEndpoint(ctx, n.pods[2])
	_, _ = n.h.GetNetworkByName(ctx, "cbr0")
	_, _ = n.h.GetNetworkByName(ctx, "nat")
	n.h.InjectFault(fake.Fault{Op: hns.OpVersion, Count: 1})
	_, _ = n.h.Version(ctx)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_ = n.h.DeleteEndpoint(canceled, n.pods[1])
	n.h.AddLocalEndpoint(n.net, "seeded", "10.244.0.99") // not a call
	_ = n.h.Dump()                                       // nor this

	want := []string{
		"CreateLoadBalancer " + created.Id + " -> ok",
		"CreateLoadBalancer -> 0xB7",
		"UpdateLoadBalancer " + created.Id + " -> 0x80004001",
		"GetLoadBalancer " + missing + " -> 0x490",
		"ListLoadBalancers -> ok",
		"DeleteLoadBalancer " + created.Id + " -> ok",
		"CreateEndpoint " + n.net + " " + ep.Id + " -> ok",
		"CreateEndpoint " + missing + " -> 0x490",
		"ListEndpoints -> ok",
		"ListEndpoints " + n.net + " -> ok",
		"DeleteEndpoint " + n.pods[2] + " -> ok",
		"GetNetworkByName " + n.net + " -> ok",
		"GetNetworkByName -> 0x490",
		"Version -> 0x80004005",
		"DeleteEndpoint " + n.pods[1] + " -> error",
	}
	log := n.h.CallLog()
	var got []string
	for _, c := range log {
		got = append(got, c.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CallLog (-want +got):\n%s", diff)
	}
	if last := log[len(log)-1]; !errors.Is(last.Err, context.Canceled) || last.Code != 0 {
		t.Errorf("the canceled call is logged as %+v", last)
	}
	if first := log[0]; first.Op != hns.OpCreateLoadBalancer || first.Err != nil || first.Code != 0 {
		t.Errorf("the first call is logged as %+v", first)
	}
	if second := log[1]; !hns.IsAlreadyExists(second.Err) || second.Code != hns.CodeAlreadyExists {
		t.Errorf("the failed create is logged as %+v", second)
	}

	// Counted as logged.
	counted := 0
	for _, k := range n.h.Calls() {
		counted += k
	}
	if counted != len(log) {
		t.Errorf("%d calls counted, %d logged", counted, len(log))
	}
	mutating := 0
	for _, c := range log {
		if c.Op.Mutating() {
			mutating++
		}
	}
	if got := n.h.Calls().Mutating(); got != mutating {
		t.Errorf("Calls().Mutating() = %d, the log has %d mutating calls", got, mutating)
	}

	log[0].IDs[0] = "changed" // a copy
	if n.h.CallLog()[0].IDs[0] != created.Id {
		t.Error("CallLog shares memory with the fake")
	}
	n.h.ResetCalls()
	if got := n.h.CallLog(); len(got) != 0 {
		t.Errorf("after ResetCalls: %v", got)
	}
}
