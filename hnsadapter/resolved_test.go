package hnsadapter

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// TestResolvedMemory: what a sync of changes remembers of a load
// balancer's backends is given back only while nothing it relied on can
// have changed: the same load balancer object in the view, and no
// referenced endpoint gone and no endpoint list since.
func TestResolvedMemory(t *testing.T) {
	remote := func(id, ip string) hns.HostComputeEndpoint {
		return hns.HostComputeEndpoint{Id: id, IpConfigurations: []hns.IpConfig{{IpAddress: ip}},
			Flags: hns.EndpointFlagsRemoteEndpoint}
	}
	lbWith := func(eps ...string) hns.HostComputeLoadBalancer {
		return hns.HostComputeLoadBalancer{Id: "LB", HostComputeEndpoints: eps, FrontendVIPs: []string{"10.96.0.1"},
			PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}}
	}
	ips := []netip.Addr{netip.MustParseAddr("10.64.1.5"), {}, netip.MustParseAddr("10.64.2.5")} // the second backend is a named one
	ids := []string{"A", "ROOT", "B"}
	for _, tc := range []struct {
		name   string
		change func(v *view)
		// remembered: what the view remembers for the key (nil: nothing).
		remembered map[netip.Addr]string
	}{
		{name: "unchanged", change: func(*view) {},
			remembered: map[netip.Addr]string{netip.MustParseAddr("10.64.1.5"): "A", netip.MustParseAddr("10.64.2.5"): "B"}},
		{name: "unreferenced endpoint deleted", change: func(v *view) { v.deletedEndpoint("C") },
			remembered: map[netip.Addr]string{netip.MustParseAddr("10.64.1.5"): "A", netip.MustParseAddr("10.64.2.5"): "B"}},
		{name: "referenced endpoint gone", change: func(v *view) { v.removeEndpoint("A") }},
		{name: "endpoints listed again", change: func(v *view) {
			v.setEndpoints([]hns.HostComputeEndpoint{remote("A", "10.64.1.5"), remote("B", "10.64.2.5")})
		}},
		{name: "load balancer replaced", change: func(v *view) {
			lb := lbWith("A", "B", "ROOT")
			v.putLB(&lb)
		}},
		{name: "load balancer removed", change: func(v *view) { v.removeLB("LB") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newView([]hns.HostComputeLoadBalancer{lbWith("A", "B", "ROOT")},
				[]hns.HostComputeEndpoint{remote("A", "10.64.1.5"), remote("B", "10.64.2.5"), remote("C", "10.64.3.5"),
					{Id: "ROOT", Name: "cbr0"}})
			held := v.lbs["LB"]
			key := v.keys["LB"]
			v.keepResolved(key, v.noteResolved(ips, ids), held, answerFacts{})
			tc.change(v)
			r := v.resolvedFor(key, nil)
			got := map[netip.Addr]string{}
			for _, a := range []string{"10.64.1.5", "10.64.2.5", "10.64.3.5"} {
				if r == nil {
					break
				}
				if id, ok := r.find(netip.MustParseAddr(a)); ok {
					got[netip.MustParseAddr(a)] = id
				}
			}
			if r == nil {
				got = nil
			}
			if len(got) != len(tc.remembered) {
				t.Fatalf("remembered %v, want %v", got, tc.remembered)
			}
			for a, id := range tc.remembered {
				if got[a] != id {
					t.Errorf("%s remembered as %q, want %q", a, got[a], id)
				}
			}
		})
	}
}

// TestResolvedKeepsOnlyWhatIsHeld: a resolution naming an endpoint the
// load balancer HNS answered with does not reference, or whose backends
// are not sorted by IP, is not remembered.
func TestResolvedKeepsOnlyWhatIsHeld(t *testing.T) {
	lb := hns.HostComputeLoadBalancer{Id: "LB", HostComputeEndpoints: []string{"A"}, FrontendVIPs: []string{"10.96.0.1"},
		PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}}
	v := newView([]hns.HostComputeLoadBalancer{lb}, nil)
	key, held := v.keys["LB"], v.lbs["LB"]
	v.keepResolved(key, v.noteResolved([]netip.Addr{netip.MustParseAddr("10.64.1.5"), netip.MustParseAddr("10.64.2.5")}, []string{"A", "B"}), held, answerFacts{})
	if r := v.resolvedFor(key, held); r != nil {
		t.Errorf("remembered %v for a load balancer that references only A", r.ids)
	}
	if r := v.noteResolved([]netip.Addr{netip.MustParseAddr("10.64.2.5"), netip.MustParseAddr("10.64.1.5")}, []string{"A", "A"}); r != nil {
		t.Errorf("noted backends out of IP order: %v", r.ips)
	}
	v.keepResolved(key, v.noteResolved([]netip.Addr{netip.MustParseAddr("10.64.1.5")}, []string{"A"}), held, answerFacts{})
	if r := v.resolvedFor(key, held); r == nil {
		t.Error("a resolution the load balancer holds was not remembered")
	}
	// An answer a worker saw carry the IDs sent needs no search.
	v.keepResolved(key, v.noteResolved([]netip.Addr{netip.MustParseAddr("10.64.1.5")}, []string{"A"}), held, answerFacts{asSent: true})
	if r := v.resolvedFor(key, held); r == nil || r.ids[0] != "A" {
		t.Error("a resolution answered as sent was not remembered")
	}
}

// TestSameAsKnown: backends are the endpoints an exact memory names when
// they are the same IPs with the same IDs (in either ID form, a repeated
// IP counting once); any other IP, ID or count tells them apart.
func TestSameAsKnown(t *testing.T) {
	const a, b, c = "6A0C0C1E-0000-4000-8000-00000000000A", "6A0C0C1E-0000-4000-8000-00000000000B", "6A0C0C1E-0000-4000-8000-00000000000C"
	ip := func(s string) netip.Addr { return netip.MustParseAddr("10.64.1." + s) }
	v := newView(nil, nil)
	known := v.noteResolved([]netip.Addr{ip("1"), ip("2")}, []string{a, b})
	for _, tc := range []struct {
		name string
		ips  []netip.Addr
		ids  []string
		want bool
	}{
		{"same", []netip.Addr{ip("1"), ip("2")}, []string{a, b}, true},
		{"other ID form", []netip.Addr{ip("1"), ip("2")}, []string{strings.ToLower(a), b}, true},
		{"repeated IP", []netip.Addr{ip("1"), ip("1"), ip("2")}, []string{a, a, b}, true},
		{"endpoint replaced", []netip.Addr{ip("1"), ip("2")}, []string{a, c}, false},
		{"IP replaced", []netip.Addr{ip("1"), ip("3")}, []string{a, c}, false},
		{"one more", []netip.Addr{ip("1"), ip("2"), ip("3")}, []string{a, b, c}, false},
		{"one fewer", []netip.Addr{ip("1")}, []string{a}, false},
		{"none", nil, nil, false},
	} {
		if got := sameAsKnown(known, tc.ips, tc.ids); got != tc.want {
			t.Errorf("%s: sameAsKnown = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestExactMemory: a memory is exact (sameAsKnown may stand in for the
// held load balancer's IDs) only when the load balancer was answered
// with, or held, exactly the backends' endpoints and no backend was
// named.
func TestExactMemory(t *testing.T) {
	lb := hns.HostComputeLoadBalancer{Id: "LB", HostComputeEndpoints: []string{"A", "B"}, FrontendVIPs: []string{"10.96.0.1"},
		PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}}
	v := newView([]hns.HostComputeLoadBalancer{lb}, nil)
	key, held := v.keys["LB"], v.lbs["LB"]
	ips := []netip.Addr{netip.MustParseAddr("10.64.1.5"), netip.MustParseAddr("10.64.2.5")}
	for _, tc := range []struct {
		name  string
		ips   []netip.Addr
		facts answerFacts
		exact bool
	}{
		{"answered as sent", ips, answerFacts{asSent: true}, true},
		{"answer searched", ips, answerFacts{}, false},
		{"a named backend", []netip.Addr{{}, ips[1]}, answerFacts{asSent: true}, false},
	} {
		v.keepResolved(key, v.noteResolved(tc.ips, []string{"A", "B"}), held, tc.facts)
		r := v.resolvedFor(key, held)
		if r == nil || r.exact != tc.exact {
			t.Errorf("%s: memory %+v, want exact %v", tc.name, r, tc.exact)
		}
	}
}

// TestResolvedWalk: a walk answers as find does, whatever the order the
// IPs are asked in (ascending, as backends come, or not).
func TestResolvedWalk(t *testing.T) {
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 64, 1, byte(i)}) }
	v := newView(nil, nil)
	r := v.noteResolved([]netip.Addr{ip(2), ip(4), ip(6), ip(8)}, []string{"B", "D", "F", "H"})
	for _, asked := range [][]int{
		{1, 2, 3, 4, 5, 6, 7, 8, 9},
		{2, 2, 4, 4, 8},
		{8, 6, 4, 2},
		{4, 2, 6, 3, 8, 1},
		{9, 8},
		{},
	} {
		w := resolvedWalk{r: r}
		for _, i := range asked {
			id, ok := w.find(ip(i))
			wantID, wantOK := r.find(ip(i))
			if id != wantID || ok != wantOK {
				t.Errorf("asking %v: %d found (%q, %v), want (%q, %v)", asked, i, id, ok, wantID, wantOK)
			}
		}
	}
}

// TestStillResolved: a memory found earlier in a sync is given back
// without a lookup only while it is still the key's, made for the load
// balancer held, in this epoch; otherwise the view is asked again.
func TestStillResolved(t *testing.T) {
	lb := hns.HostComputeLoadBalancer{Id: "LB", HostComputeEndpoints: []string{"A"}, FrontendVIPs: []string{"10.96.0.1"},
		PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}}
	ips := []netip.Addr{netip.MustParseAddr("10.64.1.5")}
	setup := func() (*view, *resolvedLB, *hns.HostComputeLoadBalancer) {
		v := newView([]hns.HostComputeLoadBalancer{lb}, nil)
		held := v.lbs["LB"]
		v.keepResolved(v.keys["LB"], v.noteResolved(ips, []string{"A"}), held, answerFacts{asSent: true})
		return v, v.resolvedFor(v.keys["LB"], held), held
	}
	v, r, held := setup()
	key := v.keys["LB"]
	if got := v.stillResolved(key, r, held); got != r || r == nil {
		t.Fatalf("a memory still valid: got %p, want %p", got, r)
	}
	if got := v.stillResolved(key, nil, held); got != r {
		t.Errorf("none found earlier: got %p, want the view's %p", got, r)
	}

	v.epEpoch++ // endpoints listed again
	if got := v.stillResolved(key, r, held); got != nil {
		t.Error("a memory of an earlier epoch was given back")
	}

	v, r, held = setup()
	replaced := lb
	replaced.HostComputeEndpoints = []string{"B"}
	v.putLB(&replaced) // the load balancer replaced: its memory forgotten
	if got := v.stillResolved(key, r, held); got != nil {
		t.Error("the memory of a replaced load balancer was given back (for the old object)")
	}
	if got := v.stillResolved(key, r, v.lbs["LB"]); got != nil {
		t.Error("the memory of a replaced load balancer was given back (for the new object)")
	}
}
