package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Diff's agreement with a Tracker Snapshot's Changes over random event sequences is
// checked by the tracker harness (trackerHarness.check); these cases cover
// what a Tracker never produces.
func TestDiff(t *testing.T) {
	ip := netip.MustParseAddr
	lb := func(svc, vip string, port uint16, backends ...string) lbpolicy.LoadBalancer {
		l := lbpolicy.LoadBalancer{Service: svc, Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
			FrontendVIPs: []netip.Addr{ip(vip)}, Protocol: lbpolicy.ProtocolTCP, InternalPort: 8080, ExternalPort: port}
		for _, b := range backends {
			l.Backends = append(l.Backends, lbpolicy.Backend{IP: ip(b)})
		}
		return l
	}
	ep := func(addr, mac string) lbpolicy.Endpoint {
		return lbpolicy.Endpoint{IP: ip(addr), Remote: true, MACAddress: mac}
	}
	warn := lbpolicy.Diagnostic{Severity: lbpolicy.SeverityWarning, Object: "Service default/a", Reason: "Test", Message: "m"}

	a1 := lb("default/a", "10.96.0.1", 80, "10.244.2.2")
	a2 := lb("default/a", "10.96.0.1", 80, "10.244.2.2", "10.244.2.3")
	renamed := a1
	renamed.Service = "default/b"
	b1 := lb("default/b", "10.96.0.2", 80, "10.244.2.2")
	tests := []struct {
		name          string
		before, after lbpolicy.Plan
		want          lbpolicy.Changes
	}{
		{name: "empty"},
		{
			name:   "added, updated and removed",
			before: lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{a1, b1}, Endpoints: []lbpolicy.Endpoint{ep("10.244.2.2", "02-11-0a-f4-02-02"), ep("10.244.2.9", "02-11-0a-f4-02-09")}},
			after:  lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{a2}, Endpoints: []lbpolicy.Endpoint{ep("10.244.2.2", "02-11-0a-f4-02-99"), ep("10.244.2.3", "02-11-0a-f4-02-03")}, Diagnostics: []lbpolicy.Diagnostic{warn}},
			want: lbpolicy.Changes{
				UpdatedLoadBalancers: []lbpolicy.LoadBalancer{a2},
				RemovedLoadBalancers: []lbpolicy.Key{b1.Key()},
				AddedEndpoints:       []lbpolicy.Endpoint{ep("10.244.2.3", "02-11-0a-f4-02-03")},
				UpdatedEndpoints:     []lbpolicy.Endpoint{ep("10.244.2.2", "02-11-0a-f4-02-99")},
				RemovedEndpoints:     []netip.Addr{ip("10.244.2.9")},
				AddedDiagnostics:     []lbpolicy.Diagnostic{warn},
			},
		},
		{
			name:   "another Service on the same key is an update",
			before: lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{a1}},
			after:  lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{renamed}},
			want:   lbpolicy.Changes{UpdatedLoadBalancers: []lbpolicy.LoadBalancer{renamed}},
		},
		{
			name:   "duplicates: the first of a key counts",
			before: lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{a1, a2}, Diagnostics: []lbpolicy.Diagnostic{warn, warn}},
			after:  lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{a1, a1}, Diagnostics: []lbpolicy.Diagnostic{warn}},
		},
		{
			name:   "diagnostic removed",
			before: lbpolicy.Plan{Diagnostics: []lbpolicy.Diagnostic{warn}},
			want:   lbpolicy.Changes{RemovedDiagnostics: []lbpolicy.Diagnostic{warn}},
		},
	}
	addrs := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lbpolicy.Diff(&tt.before, &tt.after)
			if diff := cmp.Diff(tt.want, got, addrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			if got.Empty() != (tt.want.Empty()) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

// FuzzDiff: for two clusters planned for one node, Diff agrees with the
// test's own difference of the plans, applying it to the first plan gives
// the second, and a plan differs from itself in nothing.
func FuzzDiff(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11})
	f.Add(bytes.Repeat([]byte{2, 7, 1}, 40), bytes.Repeat([]byte{2, 7, 2}, 40))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		node, svcsA, slicesA := fuzzCluster(a)
		// The same node: fuzzCluster takes it from the first byte.
		_, svcsB, slicesB := fuzzCluster(append(slices.Clone(a[:min(1, len(a))]), b...))
		before, err := lbpolicy.Compute(node, svcsA, slicesA)
		if err != nil {
			t.Skip(err)
		}
		after, err := lbpolicy.Compute(node, svcsB, slicesB)
		if err != nil {
			t.Skip(err)
		}
		ch := lbpolicy.Diff(&before, &after)
		if diff := cmp.Diff(planChanges(before, after), ch, addrCmp, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Diff (-oracle +Diff):\n%s", diff)
		}
		got, _ := json.Marshal(ch.Apply(before))
		want, _ := json.Marshal(after)
		if !bytes.Equal(got, want) {
			t.Fatalf("Diff(a, b).Apply(a) is not b:\n%s", jsonDiff(want, got))
		}
		if same := lbpolicy.Diff(&after, &after); !same.Empty() {
			t.Fatalf("Diff(b, b) is not empty: %+v", same)
		}
	})
}
