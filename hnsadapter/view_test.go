package hnsadapter

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// viewContent is what a view says HNS holds, by value, for comparisons.
type viewContent struct {
	LBs         map[string]hns.HostComputeLoadBalancer
	Keys        map[string]lbpolicy.Key
	ByKey       map[lbpolicy.Key][]string
	Refs        map[string]int
	EPs         map[string]hns.HostComputeEndpoint
	LocalByIP   map[netip.Addr][]string
	LocalByName map[string][]string
	RemoteByIP  map[netip.Addr][]string
}

func contentOf(v *view) viewContent {
	c := viewContent{LBs: map[string]hns.HostComputeLoadBalancer{}, EPs: map[string]hns.HostComputeEndpoint{},
		Keys: v.keys, ByKey: v.byKey, Refs: v.refs, LocalByIP: v.localByIP, LocalByName: v.localByName, RemoteByIP: v.remoteByIP}
	for id, lb := range v.lbs {
		c.LBs[id] = *lb
	}
	for id, ep := range v.eps {
		c.EPs[id] = *ep
	}
	return c
}

// TestViewReuse: a full sync's view made from the last one (reusing the
// parts whose lists did not change) holds what a view made afresh from
// the same lists holds, whatever the sync changed in the last view and
// whatever changed in the lists.
func TestViewReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		lbs, eps := randomLists(rng)
		old := newView(lbs, eps)
		if round%3 == 0 {
			old = newViewReusing(lbs, eps, newView(cloneLists(lbs, eps))) // itself reused
		}
		// The sync's own calls change the view, or not.
		switch rng.IntN(5) {
		case 0:
			ep := eps[rng.IntN(len(eps))]
			old.removeEndpoint(ep.Id)
		case 1:
			lb := lbs[rng.IntN(len(lbs))]
			old.removeLB(lb.Id)
		case 2:
			lb := lbs[rng.IntN(len(lbs))]
			lb.HostComputeEndpoints = lb.HostComputeEndpoints[:1]
			old.putLB(&lb)
		}
		// The next list: the same (copied), or changed in one field.
		lbs2, eps2 := cloneLists(lbs, eps)
		switch rng.IntN(6) {
		case 0:
			lbs2[rng.IntN(len(lbs2))].HostComputeEndpoints[0] = "EP-9999"
		case 1:
			eps2[rng.IntN(len(eps2))].IpConfigurations[0].IpAddress = "10.9.9.9"
		case 2:
			eps2[rng.IntN(len(eps2))].Policies[0].Settings[3] = 'x'
		case 3:
			eps2 = eps2[1:]
		}
		want := contentOf(newView(cloneLists(lbs2, eps2)))
		got := newViewReusing(lbs2, eps2, old)
		if diff := cmp.Diff(want, contentOf(got), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Fatalf("round %d: reused view (-fresh +reused):\n%s", round, diff)
		}
	}
}

// TestListEqualityKnowsEveryField: sameLBList and sameEndpointList compare
// every field of the schema types; a field added to them must be added
// there, or a changed list would keep a stale view.
func TestListEqualityKnowsEveryField(t *testing.T) {
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[hns.HostComputeLoadBalancer](): 7,
		reflect.TypeFor[hns.HostComputeEndpoint]():     8,
		reflect.TypeFor[hns.EndpointPolicy]():          2,
		reflect.TypeFor[hns.IpConfig]():                2,
	} {
		if typ.NumField() != n {
			t.Errorf("%s has %d fields, the list comparisons know %d", typ, typ.NumField(), n)
		}
	}
	lb := hns.HostComputeLoadBalancer{Id: "A", HostComputeEndpoints: []string{"E"}, SourceVIP: "1.1.1.1",
		FrontendVIPs: []string{"2.2.2.2"}, PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6}},
		SchemaVersion: hns.V2SchemaVersion(), Flags: 1}
	for i, f := range []func(*hns.HostComputeLoadBalancer){
		func(x *hns.HostComputeLoadBalancer) { x.Id = "B" },
		func(x *hns.HostComputeLoadBalancer) { x.HostComputeEndpoints = []string{"F"} },
		func(x *hns.HostComputeLoadBalancer) { x.SourceVIP = "" },
		func(x *hns.HostComputeLoadBalancer) { x.FrontendVIPs = nil },
		func(x *hns.HostComputeLoadBalancer) { x.PortMappings = []hns.LoadBalancerPortMapping{{Protocol: 17}} },
		func(x *hns.HostComputeLoadBalancer) { x.SchemaVersion = hns.SchemaVersion{} },
		func(x *hns.HostComputeLoadBalancer) { x.Flags = 0 },
	} {
		other := lb
		f(&other)
		if sameLBList([]hns.HostComputeLoadBalancer{lb}, []hns.HostComputeLoadBalancer{other}) {
			t.Errorf("load balancer field %d: a change is not seen", i)
		}
	}
	ep := hns.HostComputeEndpoint{Id: "A", Name: "n", HostComputeNetwork: "N", MacAddress: "M", Flags: 1,
		SchemaVersion: hns.V2SchemaVersion(), IpConfigurations: []hns.IpConfig{{IpAddress: "1.1.1.1", PrefixLength: 32}},
		Policies: []hns.EndpointPolicy{{Type: "T", Settings: []byte("{}")}}}
	for i, f := range []func(*hns.HostComputeEndpoint){
		func(x *hns.HostComputeEndpoint) { x.Id = "B" },
		func(x *hns.HostComputeEndpoint) { x.Name = "m" },
		func(x *hns.HostComputeEndpoint) { x.HostComputeNetwork = "O" },
		func(x *hns.HostComputeEndpoint) { x.MacAddress = "m" },
		func(x *hns.HostComputeEndpoint) { x.Flags = 0 },
		func(x *hns.HostComputeEndpoint) { x.SchemaVersion = hns.SchemaVersion{} },
		func(x *hns.HostComputeEndpoint) { x.IpConfigurations = []hns.IpConfig{{IpAddress: "1.1.1.1"}} },
		func(x *hns.HostComputeEndpoint) {
			x.Policies = []hns.EndpointPolicy{{Type: "U", Settings: []byte("{}")}}
		},
		func(x *hns.HostComputeEndpoint) {
			x.Policies = []hns.EndpointPolicy{{Type: "T", Settings: []byte("[]")}}
		},
	} {
		other := ep
		f(&other)
		if sameEndpointList([]hns.HostComputeEndpoint{ep}, []hns.HostComputeEndpoint{other}) {
			t.Errorf("endpoint field %d: a change is not seen", i)
		}
	}
}

// randomLists are a few load balancers over a few local and remote
// endpoints, some sharing an IP, a key or a name.
func randomLists(rng *rand.Rand) ([]hns.HostComputeLoadBalancer, []hns.HostComputeEndpoint) {
	var eps []hns.HostComputeEndpoint
	for i := range 2 + rng.IntN(10) {
		ep := hns.HostComputeEndpoint{Id: fmt.Sprintf("EP-%d", i), MacAddress: "02-00-00-00-00-01",
			IpConfigurations: []hns.IpConfig{{IpAddress: fmt.Sprintf("10.1.0.%d", rng.IntN(6))}},
			Policies:         []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: []byte(`{"ProviderAddress":"10.0.0.1"}`)}}}
		if rng.IntN(3) == 0 {
			ep.Name = fmt.Sprintf("pod-%d", rng.IntN(3))
		} else {
			ep.Flags = hns.EndpointFlagsRemoteEndpoint
		}
		eps = append(eps, ep)
	}
	var lbs []hns.HostComputeLoadBalancer
	for i := range 1 + rng.IntN(8) {
		lb := hns.HostComputeLoadBalancer{Id: fmt.Sprintf("LB-%d", i),
			FrontendVIPs: []string{fmt.Sprintf("10.96.0.%d", rng.IntN(4))},
			PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, ExternalPort: 80}}}
		for range 1 + rng.IntN(3) {
			lb.HostComputeEndpoints = append(lb.HostComputeEndpoints, eps[rng.IntN(len(eps))].Id)
		}
		lbs = append(lbs, lb)
	}
	return lbs, eps
}

// cloneLists deep-copies lists.
func cloneLists(lbs []hns.HostComputeLoadBalancer, eps []hns.HostComputeEndpoint) ([]hns.HostComputeLoadBalancer, []hns.HostComputeEndpoint) {
	lbs = slices.Clone(lbs)
	for i := range lbs {
		lbs[i].HostComputeEndpoints = slices.Clone(lbs[i].HostComputeEndpoints)
		lbs[i].FrontendVIPs = slices.Clone(lbs[i].FrontendVIPs)
		lbs[i].PortMappings = slices.Clone(lbs[i].PortMappings)
	}
	eps = slices.Clone(eps)
	for i := range eps {
		eps[i].IpConfigurations = slices.Clone(eps[i].IpConfigurations)
		pols := slices.Clone(eps[i].Policies)
		for j := range pols {
			pols[j].Settings = slices.Clone(pols[j].Settings)
		}
		eps[i].Policies = pols
	}
	return lbs, eps
}

// TestRemoteWalk: walking the view's endpoints in IP order finds, for
// every plan endpoint, what existingRemote and view.local find by looking
// it up, whatever the view holds: several endpoints per IP, owned or not,
// matching or not, local ones, an ID listed twice, MACs and provider
// addresses spelled otherwise than this package sends them.
func TestRemoteWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 300 {
		var eps []hns.HostComputeEndpoint
		ids := rng.Perm(100) // IDs not in IP order
		for i := range 1 + rng.IntN(40) {
			ep := *desiredEndpoint(&lbpolicy.Endpoint{IP: netip.AddrFrom4([4]byte{10, 1, 0, byte(rng.IntN(6))}),
				Remote: rng.IntN(5) > 0, MACAddress: fmt.Sprintf("02-00-00-00-00-%02X", rng.IntN(2)),
				ProviderAddress: netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + rng.IntN(2))})}, "net")
			ep.Id = fmt.Sprintf("EP-%03d", ids[i])
			switch rng.IntN(8) {
			case 0:
				ep.MacAddress = strings.ToLower(strings.ReplaceAll(ep.MacAddress, "-", ":"))
			case 1:
				ep.Policies = []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress,
					Settings: json.RawMessage(`{ "providerAddress": "::ffff:10.0.0.1" }`)}}
			case 2:
				ep.Policies = append([]hns.EndpointPolicy{{Type: "OutBoundNAT", Settings: json.RawMessage(`{}`)}}, ep.Policies...)
			case 3:
				ep.Policies = nil
			}
			if i > 0 && rng.IntN(20) == 0 {
				ep.Id = eps[rng.IntN(i)].Id // listed twice
			}
			eps = append(eps, ep)
		}
		r := &Reconciler{owned: newOwnership(false)}
		s := &syncRun{r: r, v: newView(nil, eps)}
		for id := range s.v.eps {
			if rng.IntN(3) == 0 {
				r.owned.addEndpoint(id, netip.Addr{})
			}
		}
		var walk *listWalk
		if sorted := s.v.byIP(); sorted != nil {
			walk = &listWalk{remotes: ipWalk{all: sorted.remotes}, locals: ipWalk{all: sorted.locals}}
		} else if !hasDuplicateID(eps) {
			t.Fatalf("round %d: no walk for a view made from its list", round)
		}
		for last := range 8 {
			want := &lbpolicy.Endpoint{IP: netip.AddrFrom4([4]byte{10, 1, 0, byte(last)}), Remote: true,
				MACAddress: "02-00-00-00-00-00", ProviderAddress: netip.AddrFrom4([4]byte{10, 0, 0, 1})}
			wantID, wantOK := s.existingRemote(want)
			wantLocal, wantLocalOK := s.v.local(want.IP)
			if walk == nil {
				continue
			}
			var gotID string
			e := s.existingRemoteIn(walk.remotes.holding(want.IP), want)
			if e != nil {
				gotID = e.ep.Id
			}
			if gotID != wantID || (e != nil) != wantOK {
				t.Fatalf("round %d, %s: walk found %q %v, lookup %q %v", round, want.IP, gotID, e != nil, wantID, wantOK)
			}
			locals := walk.locals.holding(want.IP)
			if len(locals) > 0 != wantLocalOK || wantLocalOK && locals[0].ep != wantLocal {
				t.Fatalf("round %d, %s: walk found locals %v, lookup %v %v", round, want.IP, locals, wantLocal, wantLocalOK)
			}
		}
	}
}

func hasDuplicateID(eps []hns.HostComputeEndpoint) bool {
	seen := map[string]bool{}
	for _, ep := range eps {
		if seen[ep.Id] {
			return true
		}
		seen[ep.Id] = true
	}
	return false
}

// TestPruneAfterChanges: prune forgets every owned object the view lacks,
// however the view and ownership changed since the last prune, though it
// skips the lookups while neither did; ownsKeyed follows ownership.
func TestPruneAfterChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lbs, eps := randomLists(rng)
	o := newOwnership(false)
	v := newView(lbs, eps)
	o.addEndpoint(eps[0].Id, netip.Addr{})
	o.addLB(lbs[0].Id, lbpolicy.Key{})
	steps := []struct {
		name string
		do   func()
		want [2]int // load balancers, endpoints forgotten
		skip bool   // neither changed: the lookups are skipped
	}{
		{"an owned endpoint the view lacks", func() { o.addEndpoint("EP-GONE", netip.Addr{}) }, [2]int{0, 1}, false},
		{"nothing changed", func() {}, [2]int{0, 0}, true},
		{"an owned load balancer the view lacks", func() { o.addLB("LB-GONE", lbpolicy.Key{}) }, [2]int{1, 0}, false},
		{"the view reused from the same lists", func() {
			l, e := cloneLists(lbs, eps)
			v = newViewReusing(l, e, v)
		}, [2]int{0, 0}, true},
		{"the view reused, then an owned endpoint it lacks", func() {
			l, e := cloneLists(lbs, eps)
			v = newViewReusing(l, e, v)
			o.addEndpoint("EP-GONE-2", netip.Addr{})
		}, [2]int{0, 1}, false},
		{"the view lost an owned endpoint", func() { v.removeEndpoint(eps[0].Id) }, [2]int{0, 1}, false},
		{"the view lost an owned load balancer", func() { v.removeLB(lbs[0].Id) }, [2]int{1, 0}, false},
		{"the view's endpoints listed again without one owned", func() {
			o.addEndpoint(eps[1].Id, netip.Addr{})
			o.prune(v)
			v.setEndpoints(eps[2:])
		}, [2]int{0, 1}, false},
	}
	for _, st := range steps {
		st.do()
		if skip := v.prunedAt == o.gen+1; skip != st.skip {
			t.Errorf("%s: prune skips its lookups: %v, want %v", st.name, skip, st.skip)
		}
		if lbsGone, epsGone := o.prune(v); [2]int{lbsGone, epsGone} != st.want {
			t.Fatalf("%s: prune forgot %d load balancers, %d endpoints; want %v", st.name, lbsGone, epsGone, st.want)
		}
		for id := range o.eps {
			if _, ok := v.eps[id]; !ok {
				t.Fatalf("%s: owned endpoint %s kept, not in the view", st.name, id)
			}
		}
	}

	v = newView(lbs, eps)
	keyed := v.byKeySorted()
	if len(keyed.all) == 0 {
		t.Fatal("no load balancer with a key")
	}
	e := &keyed.all[0]
	for _, own := range []bool{true, true, false, true} {
		if own {
			o.addLB(e.id, e.key)
		} else {
			o.removeLB(e.id)
		}
		if got := o.ownsKeyed(e); got != own {
			t.Fatalf("ownsKeyed = %v after ownership set to %v", got, own)
		}
	}
}

// TestSortByIP: sortByIP orders entries as sorting them by IP, then ID
// (case-insensitively), does: IPv4 before IPv6, zones, repeated IPs.
func TestSortByIP(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ips := []string{"10.0.0.1", "10.0.0.2", "9.255.255.255", "::1", "fe80::1", "fe80::1%eth0", "fe80::1%eth1", "2001:db8::1", "255.255.255.255"}
	for round := range 200 {
		var es []listedEndpoint
		for i := range rng.IntN(30) {
			id := fmt.Sprintf("EP-%02d", rng.IntN(40))
			if rng.IntN(4) == 0 {
				id = strings.ToLower(id)
			}
			es = append(es, listedEndpoint{ip: netip.MustParseAddr(ips[rng.IntN(len(ips))]), id: id, pos: i})
		}
		want := slices.Clone(es)
		slices.SortStableFunc(want, func(a, b listedEndpoint) int {
			if c := a.ip.Compare(b.ip); c != 0 {
				return c
			}
			return strings.Compare(idKey(a.id), idKey(b.id))
		})
		sortByIP(es)
		key := func(e listedEndpoint) string { return e.ip.String() + " " + idKey(e.id) }
		if diff := cmp.Diff(mapSlice(want, key), mapSlice(es, key)); diff != "" {
			t.Fatalf("round %d: sortByIP (-want +got):\n%s", round, diff)
		}
		slices.SortFunc(es, func(a, b listedEndpoint) int { return a.pos - b.pos })
		for i := range es {
			if es[i].pos != i {
				t.Fatalf("round %d: entries lost or repeated: %v", round, es)
			}
		}
	}
}

func mapSlice[T, U any](s []T, f func(T) U) []U {
	out := make([]U, len(s))
	for i := range s {
		out[i] = f(s[i])
	}
	return out
}

// TestUpdateMovesRefs: an update of a load balancer on the same key
// moves the view's references from its old endpoints to its new ones,
// and reports as released only the endpoints no load balancer references
// any more, whether the IDs come sorted in idKey form (as this package
// sends them) or not.
func TestUpdateMovesRefs(t *testing.T) {
	lb := func(id string, eps ...string) hns.HostComputeLoadBalancer {
		return hns.HostComputeLoadBalancer{Id: id, HostComputeEndpoints: eps, FrontendVIPs: []string{"10.96.0.1"},
			PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}}
	}
	for _, tc := range []struct {
		name         string
		from, to     []string
		told         bool // the new IDs are said to be in key order
		wantRefs     map[string]int
		wantReleased []string
	}{
		{name: "one backend replaced", from: []string{"A", "B", "C"}, to: []string{"A", "C", "D"},
			wantRefs: map[string]int{"A": 1, "C": 2, "D": 1}, wantReleased: []string{"B"}},
		{name: "all kept", from: []string{"A", "B"}, to: []string{"A", "B"},
			wantRefs: map[string]int{"A": 1, "B": 1, "C": 1}},
		{name: "shared one dropped", from: []string{"B", "C"}, to: []string{"B"},
			wantRefs: map[string]int{"B": 1, "C": 1}},
		{name: "all replaced", from: []string{"A"}, to: []string{"E", "F"},
			wantRefs: map[string]int{"C": 1, "E": 1, "F": 1}, wantReleased: []string{"A"}},
		{name: "unsorted, other case", from: []string{"c", "a", "b"}, to: []string{"D", "a"},
			wantRefs: map[string]int{"A": 1, "C": 1, "D": 1}, wantReleased: []string{"B"}},
		{name: "one backend replaced, order told", from: []string{"A", "B", "C"}, to: []string{"A", "C", "D"}, told: true,
			wantRefs: map[string]int{"A": 1, "C": 2, "D": 1}, wantReleased: []string{"B"}},
		{name: "unsorted before, order told", from: []string{"c", "a", "b"}, to: []string{"A", "D"}, told: true,
			wantRefs: map[string]int{"A": 1, "C": 1, "D": 1}, wantReleased: []string{"B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Another load balancer, on another key, references C.
			other := lb("OTHER", "C")
			other.PortMappings[0].ExternalPort = 81
			v := newView([]hns.HostComputeLoadBalancer{lb("LB", tc.from...), other}, nil)
			var released []string
			v.released = func(id string) { released = append(released, id) }
			updated := lb("LB", tc.to...)
			// A worker that saw the answer's IDs in key order says so;
			// otherwise putLB works it out.
			if tc.told {
				k, ok := LoadBalancerKey(&updated)
				v.putLBKeyed(&updated, k, ok, true, false)
			} else {
				v.putLB(&updated)
			}
			if diff := cmp.Diff(tc.wantRefs, v.refs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("references (-want +got):\n%s", diff)
			}
			slices.Sort(released)
			if diff := cmp.Diff(tc.wantReleased, released, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("released (-want +got):\n%s", diff)
			}
		})
	}
}
