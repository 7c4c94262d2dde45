package hnsadapter_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// unsupportedPlan is a plan made for the newest HNS: beside a plain
// ClusterIP, load balancers a Windows Server 2019 HNS (10.3) refuses with
// 0x57: session affinity, IPv6, and 65 backends without DSR.
func unsupportedPlan(e *env) (*lbpolicy.Plan, map[string]string) {
	affinity := svc("sticky", "10.96.0.11", "10.244.1.2")
	affinity.DistributionType = lbpolicy.DistributionSourceIP
	e.h.AddLocalEndpoint(e.netID, "pod-v6", "fd00:244:1::2")
	v6 := svc("web6", "fd00::10", "fd00:244:1::2")
	v6.IPFamily, v6.Flags, v6.SourceVIP = lbpolicy.IPv6, lbpolicy.FlagIPv6, netip.Addr{}
	var many []string
	for i := range 65 {
		ip := fmt.Sprintf("10.244.1.%d", 100+i)
		e.h.AddLocalEndpoint(e.netID, "pod-"+ip, ip)
		many = append(many, ip)
	}
	big := svc("big", "10.96.0.12", many...)
	p := plan([]lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.3"), affinity, v6, big})
	return p, map[string]string{
		affinity.Key().String(): "session affinity",
		v6.Key().String():       "IPv6",
		big.Key().String():      "more than 64 backends without DSR",
	}
}

type unsupportedReport struct {
	Op                hns.Op
	Feature           string
	Version           lbpolicy.Version
	Tried             bool
	Failures          int
	RetryAtZero, Diag bool
}

func unsupportedReports(t *testing.T, res hnsadapter.Result) map[string]unsupportedReport {
	t.Helper()
	diags := map[string]bool{}
	for _, d := range res.Diagnostics {
		if d.Reason == hnsadapter.ReasonUnsupported && d.Severity == lbpolicy.SeverityError {
			diags[d.Object] = true
		}
	}
	got := map[string]unsupportedReport{}
	for _, oe := range res.Errors {
		var ue *hnsadapter.UnsupportedError
		if !errors.As(oe.Err, &ue) {
			t.Errorf("unexpected error: %v", oe)
			continue
		}
		var key string
		if _, err := fmt.Sscanf(oe.Object, "LoadBalancer %s", &key); err != nil {
			t.Fatalf("object %q: %v", oe.Object, err)
		}
		svcObject := oe.Object[len("LoadBalancer "+key+" ("):]
		svcObject = svcObject[:len(svcObject)-1]
		got[key] = unsupportedReport{Op: oe.Op, Feature: ue.Feature, Version: ue.Version, Tried: oe.Tried,
			Failures: oe.Failures, RetryAtZero: oe.RetryAt.IsZero(), Diag: diags[svcObject]}
	}
	return got
}

// A plan for the newest HNS against a WS2019 backend: what that HNS
// cannot hold is never sent (no 0x57), each such load balancer is a typed
// error at every sync, without backoff; the rest is applied.
func TestUnsupportedNotSent(t *testing.T) {
	e := newEnv(t, "ws2019")
	p, features := unsupportedPlan(e)
	want := map[string]unsupportedReport{}
	for k, f := range features {
		want[k] = unsupportedReport{Op: hns.OpCreateLoadBalancer, Feature: f, Version: lbpolicy.Version{Major: 10, Minor: 3},
			Tried: true, RetryAtZero: true, Diag: true}
	}
	ctx := context.Background()
	for i, step := range []string{"first sync", "full sync", "sync of changes", "after the backoff would end"} {
		e.h.ResetCalls()
		var res hnsadapter.Result
		var err error
		switch step {
		case "full sync":
			res, err = e.r.Sync(ctx, p)
		case "after the backoff would end":
			e.clock.Advance(hnsadapter.DefaultMaxBackoff)
			fallthrough
		default:
			res, err = e.r.SyncChanges(ctx, p, &lbpolicy.Changes{})
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if d := cmp.Diff(want, unsupportedReports(t, res)); d != "" {
			t.Errorf("%s: reports (-want +got):\n%s", step, d)
		}
		for _, c := range e.h.CallLog() {
			if c.Err != nil {
				t.Errorf("%s: a call failed: %v", step, c)
			}
		}
		if wantCreates := map[bool]int{true: 1}[i == 0]; res.Calls[hns.OpCreateLoadBalancer] != wantCreates || res.Pending != 0 {
			t.Errorf("%s: %d creates, %d pending; want %d and 0", step, res.Calls[hns.OpCreateLoadBalancer], res.Pending, wantCreates)
		}
	}
	if n := len(e.h.LoadBalancers()); n != 1 {
		t.Errorf("HNS holds %d load balancers, want the plain ClusterIP only", n)
	}
}

// A load balancer HNS holds is left as it is when the plan asks for what
// HNS cannot do: no update is tried.
func TestUnsupportedUpdateNotSent(t *testing.T) {
	e := newEnv(t, "ws2019")
	plain := svc("sticky", "10.96.0.11", "10.244.1.2")
	e.syncClean(plan([]lbpolicy.LoadBalancer{plain}))
	before := e.h.LoadBalancers()

	sticky := plain
	sticky.DistributionType = lbpolicy.DistributionSourceIP
	res := e.sync(plan([]lbpolicy.LoadBalancer{sticky}))
	want := map[string]unsupportedReport{plain.Key().String(): {Op: hns.OpUpdateLoadBalancer, Feature: "session affinity",
		Version: lbpolicy.Version{Major: 10, Minor: 3}, Tried: true, RetryAtZero: true, Diag: true}}
	if d := cmp.Diff(want, unsupportedReports(t, res)); d != "" {
		t.Errorf("reports (-want +got):\n%s", d)
	}
	if n := e.h.Calls().Mutating(); n != 0 {
		t.Errorf("%d mutating calls, want 0", n)
	}
	if d := cmp.Diff(before, e.h.LoadBalancers()); d != "" {
		t.Errorf("HNS changed (-before +after):\n%s", d)
	}
}

// On the newest HNS the same plan is applied whole.
func TestUnsupportedNothingOnNewestHNS(t *testing.T) {
	e := newEnv(t, "latest")
	p, _ := unsupportedPlan(e)
	res := e.syncClean(p)
	if res.Created != 4 {
		t.Errorf("created %d load balancers, want 4", res.Created)
	}
}

// The case end to end: a ClientIP-affinity Service planned by
// Compute for the default (newest) HNS, applied to a WS2019 HNS. The load
// balancer is not sent and every sync says why; a Node from NodeFor (the
// host's version) plans it without affinity, and it applies cleanly.
func TestComputedPlanForNewestHNSOnWS2019(t *testing.T) {
	ctx := context.Background()
	p, _ := hns.ProfileNamed("ws2019")
	h := fake.New(p)
	netID := h.AddNetwork("cbr0", "L2Bridge")
	h.AddLocalEndpoint(netID, "web-a", "10.244.1.5")
	node := k8sNode("win-1", "", internalIP("10.0.0.4"))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "sticky"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			SessionAffinity: corev1.ServiceAffinityClientIP,
			Ports:           []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
	}
	name, port, ready, here := "http", int32(8080), true, "win-1"
	slice := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "sticky-a", Labels: map[string]string{discovery.LabelServiceName: "sticky"}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Port: &port}},
		Endpoints: []discovery.Endpoint{{Addresses: []string{"10.244.1.5"}, NodeName: &here,
			Conditions: discovery.EndpointConditions{Ready: &ready}}},
	}
	r, err := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: "cbr0"})
	if err != nil {
		t.Fatal(err)
	}

	newest, err := lbpolicy.Compute(lbpolicy.Node{Name: "win-1", NodeIPs: []string{"10.0.0.4"}, NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0"},
		[]*corev1.Service{svc}, []*discovery.EndpointSlice{slice})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.ResetCalls()
		res, err := r.Sync(ctx, &newest)
		if err != nil {
			t.Fatal(err)
		}
		var ue *hnsadapter.UnsupportedError
		if len(res.Errors) != 1 || !errors.As(res.Errors[0], &ue) || ue.Feature != "session affinity" || res.Errors[0].Failures != 0 {
			t.Fatalf("sync %d: errors %v, want one UnsupportedError (session affinity) without backoff", i, res.Errors)
		}
		if c := h.Calls(); c.Mutating() != 0 {
			t.Errorf("sync %d: %d mutating calls, want none", i, c.Mutating())
		}
	}

	n, err := hnsadapter.NodeFor(ctx, h, "cbr0", node, hnsadapter.NodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hostPlan, err := lbpolicy.Compute(n, []*corev1.Service{svc}, []*discovery.EndpointSlice{slice})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Sync(ctx, &hostPlan)
	if err != nil || len(res.Errors) != 0 || res.Created != 1 {
		t.Fatalf("sync of the host's plan: created %d, errors %v, %v; want 1 created, no error", res.Created, res.Errors, err)
	}
}

// Across HNS versions and load balancers asking for each capability, the
// Reconciler sends exactly what HNS accepts: no call fails with 0x57, and
// what it does not send is an UnsupportedError.
func TestUnsupportedMatchesHNS(t *testing.T) {
	versions := []lbpolicy.Version{{Major: 9, Minor: 2}, {Major: 9, Minor: 3}, {Major: 10, Minor: 1}, {Major: 10, Minor: 3},
		{Major: 11, Minor: 9}, {Major: 11, Minor: 10}, {Major: 12, Minor: 0}, {Major: 15, Minor: 4}, {Major: 16, Minor: 0}}
	type variant struct {
		name                    string
		dsr, v6, affinity, many bool
	}
	var variants []variant
	for i := range 16 {
		variants = append(variants, variant{name: fmt.Sprintf("dsr=%v v6=%v affinity=%v 65-backends=%v", i&1 != 0, i&2 != 0, i&4 != 0, i&8 != 0),
			dsr: i&1 != 0, v6: i&2 != 0, affinity: i&4 != 0, many: i&8 != 0})
	}
	seen := map[bool]int{}
	for _, v := range versions {
		for _, va := range variants {
			h := fake.New(hns.ProfileFor(v))
			netID := h.AddNetwork("cbr0", "L2Bridge")
			lb := lbpolicy.LoadBalancer{Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}, Protocol: lbpolicy.ProtocolTCP, InternalPort: 8080, ExternalPort: 80}
			n := 1
			if va.many {
				n = 65
			}
			for i := range n {
				a := fmt.Sprintf("10.244.1.%d", 10+i)
				if va.v6 {
					a = fmt.Sprintf("fd00:244:1::%x", 10+i)
				}
				h.AddLocalEndpoint(netID, "pod-"+a, a)
				var be lbpolicy.Backend
				if err := be.UnmarshalText([]byte(a)); err != nil {
					t.Fatal(err)
				}
				lb.Backends = append(lb.Backends, be)
			}
			if va.v6 {
				lb.IPFamily, lb.Flags, lb.FrontendVIPs = lbpolicy.IPv6, lbpolicy.FlagIPv6, []netip.Addr{netip.MustParseAddr("fd00::10")}
			}
			if va.dsr {
				lb.Flags |= lbpolicy.FlagDSR
			}
			if va.affinity {
				lb.DistributionType = lbpolicy.DistributionSourceIP
			}
			r, err := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: "cbr0", Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Sync(context.Background(), &lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{lb}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range h.CallLog() {
				if c.Err != nil {
					t.Errorf("HNS %s, %s: call %v", v, va.name, c)
				}
			}
			var ue *hnsadapter.UnsupportedError
			unsupported := len(res.Errors) == 1 && errors.As(res.Errors[0], &ue) && ue.Version == v
			if sent := res.Created == 1; sent == unsupported || len(res.Errors) > 1 {
				t.Errorf("HNS %s, %s: created %d, errors %v", v, va.name, res.Created, res.Errors)
			}
			seen[unsupported]++
		}
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Errorf("sent %d, not sent %d: the test covers one side only", seen[false], seen[true])
	}
}
