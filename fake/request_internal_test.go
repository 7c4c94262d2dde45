package fake

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// idKey is strings.ToUpper, whichever word of the ID holds what it must
// change.
func TestIDKey(t *testing.T) {
	for _, id := range []string{
		"",
		"A",
		"a",
		"0A1B2C3D-4E5F-4A7B-8C9D-0E1F2A3B4C5D",
		"0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d",
		"0A1B2C3D-4E5F-4A7B-8C9D-0E1F2A3B4C5d", // in the tail after the last word
		"0A1B2C3d-4E5F-4A7B-8C9D-0E1F2A3B4C5D", // last byte of the first word
		"0A1B2C3D-4E5F-4a7B-8C9D-0E1F2A3B4C5D", // a middle word
		"0A1B2C3D-4E5F-4A7B-8C9D-0E1F2A3B4C5D-z",
		"ABCDEFGHé",    // beyond ASCII
		"ABC_[]^@-ABC", // below '`', not letters
		"ABC`{|}~-ABC", // from '`': no lower-case letter, read one by one
		"\xff\xfeABCDEFGH",
		"lb-1",
	} {
		if got, want := idKey(id), strings.ToUpper(id); got != want {
			t.Errorf("idKey(%q) = %q, want %q", id, got, want)
		}
	}
}

// A new ID never repeats a stored one, however the objects and the ID
// stream came to be; only while every stored ID came from the current
// stream does freshID skip its lookups (onlyNewIDs).
func TestFreshIDNeverTaken(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	probe := New(p)
	probe.SeedIDs(7)
	first := probe.AddNetwork("probe", "Overlay") // the first ID of seed 7
	for _, tc := range []struct {
		name     string
		setup    func(h *HNS)
		onlyNew  bool
		wantNext string // "" = anything but first
	}{
		{"seed on an empty fake", func(h *HNS) { h.SeedIDs(7) }, true, first},
		{"the same seed twice, nothing stored", func(h *HNS) { h.SeedIDs(7); h.SeedIDs(7) }, true, first},
		{"the same seed again over objects", func(h *HNS) {
			h.SeedIDs(7)
			h.AddNetwork("a", "Overlay")
			h.SeedIDs(7)
		}, false, ""},
		{"an ID seeded that the stream makes next", func(h *HNS) {
			h.SeedIDs(7)
			h.AddLoadBalancer(hns.HostComputeLoadBalancer{Id: first})
		}, false, ""},
		{"the same, in lower case", func(h *HNS) {
			h.SeedIDs(7)
			h.AddEndpoint(hns.HostComputeEndpoint{Id: strings.ToLower(first)})
		}, false, ""},
		{"a state restored over a seed", func(h *HNS) {
			h.SeedIDs(7)
			if err := h.Restore(State{Networks: []hns.HostComputeNetwork{{Id: first, Name: "a"}}}); err != nil {
				t.Fatal(err)
			}
		}, false, ""},
		{"an empty state restored", func(h *HNS) {
			h.SeedIDs(7)
			if err := h.Restore(State{}); err != nil {
				t.Fatal(err)
			}
		}, true, first},
		{"IDs made, not seeded", func(h *HNS) { h.AddNetwork("a", "Overlay") }, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(p)
			tc.setup(h)
			if h.onlyNewIDs != tc.onlyNew {
				t.Errorf("onlyNewIDs = %v, want %v", h.onlyNewIDs, tc.onlyNew)
			}
			got := h.AddNetwork("next", "Overlay")
			switch {
			case tc.wantNext != "" && got != tc.wantNext:
				t.Errorf("next ID %s, want %s", got, tc.wantNext)
			case tc.wantNext == "" && strings.EqualFold(got, first):
				t.Errorf("next ID %s is taken", got)
			}
		})
	}
}

// replaceLB leaves the frontend index as the stored load balancers make
// it, whether an update keeps, moves or adds frontends.
func TestReplaceLBIndex(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	lb := func(id string, port uint16, vips ...string) hns.HostComputeLoadBalancer {
		return hns.HostComputeLoadBalancer{Id: id, FrontendVIPs: vips,
			PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, ExternalPort: port}}}
	}
	f := func(vip string, port uint16) frontend { return frontend{vip: vip, protocol: 6, port: port} }
	for _, tc := range []struct {
		name   string
		next   hns.HostComputeLoadBalancer // replaces A (10.0.0.1:80), beside B (10.0.0.2:80)
		want   map[frontend]holders
		shared int
	}{
		{"same frontends", lb("A", 80, "10.0.0.1"), map[frontend]holders{
			f("10.0.0.1", 80): {one: "A"}, f("10.0.0.2", 80): {one: "B"}}, 0},
		{"another port", lb("A", 81, "10.0.0.1"), map[frontend]holders{
			f("10.0.0.1", 81): {one: "A"}, f("10.0.0.2", 80): {one: "B"}}, 0},
		{"a VIP added", lb("A", 80, "10.0.0.1", "::ffff:10.0.0.3"), map[frontend]holders{
			f("10.0.0.1", 80): {one: "A"}, f("10.0.0.3", 80): {one: "A"}, f("10.0.0.2", 80): {one: "B"}}, 0},
		{"B's frontend shared", lb("A", 80, "10.0.0.2"), map[frontend]holders{
			f("10.0.0.2", 80): {one: "B", more: []string{"A"}}}, 1},
		{"no VIP", lb("A", 80), map[frontend]holders{
			f("", 80): {one: "A"}, f("10.0.0.2", 80): {one: "B"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(p)
			h.putLB(lb("A", 80, "10.0.0.1"))
			h.putLB(lb("B", 80, "10.0.0.2"))
			h.replaceLB("A", newLBEntry(tc.next), h.lbs["A"].fronts)
			if diff := cmp.Diff(tc.want, h.lbsByFrontend, cmp.AllowUnexported(holders{})); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
			if got := h.lbs["A"].lb; !cmp.Equal(got, tc.next) {
				t.Errorf("stored %+v, want %+v", got, tc.next)
			}
			if h.sharedFrontends != tc.shared {
				t.Errorf("sharedFrontends = %d, want %d", h.sharedFrontends, tc.shared)
			}
			h.deleteLB("B")
			if h.sharedFrontends != 0 {
				t.Errorf("sharedFrontends = %d once B is gone, want 0", h.sharedFrontends)
			}
		})
	}
}

// An update that keeps its frontends skips the frontend lookup only while
// no frontend is shared: one a seeded load balancer also holds still
// fails the update, with 0xB7 naming the other holder.
func TestUpdateKeepingASharedFrontend(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		seedVIP  string // "" = no seeded load balancer
		wantCode hns.Code
	}{
		{"no other holder", "", 0},
		{"another frontend seeded", "10.0.0.2", 0},
		{"the same frontend seeded", "10.0.0.1", hns.CodeAlreadyExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(p)
			net := h.AddNetwork("cbr0", "L2Bridge")
			ep := h.AddLocalEndpoint(net, "pod", "10.244.0.5")
			want := &hns.HostComputeLoadBalancer{HostComputeEndpoints: []string{ep}, FrontendVIPs: []string{"10.0.0.1"},
				PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
				SchemaVersion: hns.V2SchemaVersion()}
			got, err := h.CreateLoadBalancer(t.Context(), want)
			if err != nil {
				t.Fatal(err)
			}
			seeded := ""
			if tc.seedVIP != "" {
				seed := cloneLB(*want)
				seed.FrontendVIPs = []string{tc.seedVIP}
				seeded = h.AddLoadBalancer(seed)
			}
			_, err = h.UpdateLoadBalancer(t.Context(), got.Id, want)
			if code := hns.CodeOf(err); code != tc.wantCode {
				t.Fatalf("update: %v, want code 0x%X", err, uint32(tc.wantCode))
			}
			if why := errors.Unwrap(err); tc.wantCode != 0 && (why == nil || !strings.Contains(why.Error(), seeded)) {
				t.Errorf("update: explanation %v does not name %s", why, seeded)
			}
		})
	}
}

// newLBCopies and resolve: the stored copy names the endpoints by their
// IDs, the answer as the stored one does, and neither shares a slice with
// the other or with what was sent.
func TestLBCopies(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "0A1B2C3D-4E5F-4A7B-8C9D-0E1F2A3B4C5D", "1A1B2C3D-4E5F-4A7B-8C9D-0E1F2A3B4C5D"
	for _, tc := range []struct {
		name string
		refs []string
		vips []string
	}{
		{"as stored, one VIP", []string{a, b}, []string{"10.0.0.1"}},
		{"lower case, no VIP", []string{strings.ToLower(b)}, nil},
		{"empty VIP list", []string{a}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(p)
			h.AddEndpoint(hns.HostComputeEndpoint{Id: a})
			h.AddEndpoint(hns.HostComputeEndpoint{Id: b})
			sent := &hns.HostComputeLoadBalancer{HostComputeEndpoints: tc.refs, FrontendVIPs: tc.vips,
				PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 1, ExternalPort: 80}},
				SchemaVersion: hns.V2SchemaVersion()}
			r := h.prepareLB(hns.OpCreateLoadBalancer, sent)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if err := h.resolve(hns.OpCreateLoadBalancer, r, nil); err != nil {
				t.Fatal(err)
			}
			want := *sent
			want.HostComputeEndpoints = nil
			for _, ref := range tc.refs {
				want.HostComputeEndpoints = append(want.HostComputeEndpoints, strings.ToUpper(ref))
			}
			for name, got := range map[string]*hns.HostComputeLoadBalancer{"stored": &r.c.entry.lb, "answer": &r.c.answer} {
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
				for _, n := range []int{cap(got.HostComputeEndpoints) - len(got.HostComputeEndpoints),
					cap(got.FrontendVIPs) - len(got.FrontendVIPs), cap(got.PortMappings) - len(got.PortMappings)} {
					if n != 0 {
						t.Errorf("%s: a slice has room for %d more", name, n)
					}
				}
			}
			r.c.answer.HostComputeEndpoints[0] = "changed"
			r.c.answer.PortMappings[0].ExternalPort = 1
			if r.c.entry.lb.HostComputeEndpoints[0] == "changed" || r.c.entry.lb.PortMappings[0].ExternalPort == 1 {
				t.Error("the answer shares memory with the stored copy")
			}
		})
	}
}

// prepareEP stores IP addresses normalized and a MAC derived for a local
// endpoint without one, and answers with a copy sharing nothing, of any
// shape.
func TestPrepareEP(t *testing.T) {
	pol := []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: []byte(`{"ProviderAddress":"10.0.0.4"}`)}}
	for _, tc := range []struct {
		name string
		in   hns.HostComputeEndpoint
		want hns.HostComputeEndpoint
	}{
		{"usual shape",
			hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: "::ffff:10.1.2.3"}}, Policies: pol, MacAddress: "00-11-22-33-44-55"},
			hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: "10.1.2.3"}}, Policies: pol, MacAddress: "00-11-22-33-44-55"}},
		{"no MAC",
			hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: "10.1.2.3"}}},
			hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: "10.1.2.3"}}, MacAddress: "00-15-5D-01-02-03"}},
		{"two addresses",
			hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: "10.1.2.3"}, {IpAddress: "FD00::1"}}, MacAddress: "00-11-22-33-44-55"},
			hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: "10.1.2.3"}, {IpAddress: "fd00::1"}}, MacAddress: "00-11-22-33-44-55"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.SchemaVersion, tc.want.SchemaVersion = hns.V2SchemaVersion(), hns.V2SchemaVersion()
			r := prepareEP(&tc.in)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if diff := cmp.Diff(&tc.want, r.stored); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			answer := r.answer()
			if diff := cmp.Diff(&tc.want, answer); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			answer.IpConfigurations[0].IpAddress = "changed"
			if len(answer.Policies) > 0 {
				answer.Policies[0].Settings[0] = 'x'
			}
			if diff := cmp.Diff(&tc.want, r.stored); diff != "" {
				t.Errorf("stored after the answer changed (-want +got):\n%s", diff)
			}
			if tc.in.IpConfigurations[0].IpAddress == "changed" || len(pol[0].Settings) > 0 && pol[0].Settings[0] == 'x' {
				t.Error("the copies share memory with the input")
			}
		})
	}
}

// An update resolves its references as looking each up would, whatever
// happened to the endpoints since the load balancer last resolved them
// (lbEntry.refs): deleted, deleted and their slot taken by a new one,
// seeded again, spelled in lower case, moved.
func TestUpdateResolvesAsALookup(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	type env struct {
		h   *HNS
		net string
		eps []string // a, b, c
	}
	create := func(e *env, ip string) string {
		ep := &hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: ip}}, SchemaVersion: hns.V2SchemaVersion()}
		got, err := e.h.CreateEndpoint(t.Context(), e.net, ep)
		if err != nil {
			t.Fatal(err)
		}
		return got.Id
	}
	for _, tc := range []struct {
		name     string
		change   func(e *env) // after the load balancer is created on a, b
		refs     func(e *env) []string
		wantCode hns.Code
		wantRefs func(e *env) []string // stored; default refs
	}{
		{"unchanged", func(*env) {}, func(e *env) []string { return e.eps[:2] }, 0, nil},
		{"moved and one added", func(*env) {}, func(e *env) []string { return []string{e.eps[2], e.eps[1], e.eps[0]} }, 0, nil},
		{"lower case", func(*env) {}, func(e *env) []string { return []string{strings.ToLower(e.eps[0]), e.eps[1]} }, 0,
			func(e *env) []string { return e.eps[:2] }},
		{"one deleted", func(e *env) {
			if err := e.h.DeleteEndpoint(t.Context(), e.eps[1]); err != nil {
				t.Fatal(err)
			}
		}, func(e *env) []string { return e.eps[:2] }, hns.CodeInvalidReference, nil},
		{"one deleted, its slot taken by a new one", func(e *env) {
			if !e.h.RemoveEndpoint(e.eps[1]) {
				t.Fatal("RemoveEndpoint: not found")
			}
			create(e, "10.244.1.9")
		}, func(e *env) []string { return e.eps[:2] }, hns.CodeInvalidReference, nil},
		{"one deleted and seeded again", func(e *env) {
			e.h.RemoveEndpoint(e.eps[1])
			e.h.AddEndpoint(hns.HostComputeEndpoint{Id: e.eps[1], HostComputeNetwork: e.net})
		}, func(e *env) []string { return e.eps[:2] }, 0, nil},
		{"another endpoint seeded with a lower-case ID", func(e *env) {
			e.h.AddEndpoint(hns.HostComputeEndpoint{Id: "0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", HostComputeNetwork: e.net})
		}, func(e *env) []string { return []string{strings.ToLower(e.eps[0]), e.eps[1]} }, 0,
			func(e *env) []string { return e.eps[:2] }},
		{"restored", func(e *env) {
			if err := e.h.Restore(e.h.Snapshot()); err != nil {
				t.Fatal(err)
			}
		}, func(e *env) []string { return e.eps[:2] }, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{h: New(p)}
			e.net = e.h.AddNetwork("cbr0", "L2Bridge")
			for _, ip := range []string{"10.244.1.1", "10.244.1.2", "10.244.1.3"} {
				e.eps = append(e.eps, create(e, ip))
			}
			lb := &hns.HostComputeLoadBalancer{HostComputeEndpoints: e.eps[:2], FrontendVIPs: []string{"10.0.0.1"},
				PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
				SchemaVersion: hns.V2SchemaVersion()}
			made, err := e.h.CreateLoadBalancer(t.Context(), lb)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(e)
			lb.HostComputeEndpoints = tc.refs(e)
			got, err := e.h.UpdateLoadBalancer(t.Context(), made.Id, lb)
			if code := hns.CodeOf(err); code != tc.wantCode {
				t.Fatalf("update: %v, want code 0x%X", err, uint32(tc.wantCode))
			}
			if ierr := e.h.IndexError(); ierr != nil {
				t.Error(ierr)
			}
			if err != nil {
				return
			}
			want := lb.HostComputeEndpoints
			if tc.wantRefs != nil {
				want = tc.wantRefs(e)
			}
			stored, err := e.h.GetLoadBalancer(t.Context(), made.Id)
			if err != nil {
				t.Fatal(err)
			}
			for name, refs := range map[string][]string{"answer": got.HostComputeEndpoints, "stored": stored.HostComputeEndpoints} {
				if diff := cmp.Diff(want, refs); diff != "" {
					t.Errorf("%s references (-want +got):\n%s", name, diff)
				}
			}
			// The next update finds the references where this one left them.
			if _, err := e.h.UpdateLoadBalancer(t.Context(), made.Id, lb); err != nil {
				t.Errorf("second update: %v", err)
			}
		})
	}
}

// Load balancers of every size the copies come in (one allocation for up
// to 4 and up to 10 references with a VIP, slices of their own beyond),
// created and then updated with the references the create answered (the
// very strings), with copies of them, and in lower case: what is stored
// and answered is the same as a lookup of each reference gives, and the
// answer shares no memory with the stored copy or the request.
func TestLBCopiesEverySize(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 4, 5, 10, 11, 40} {
		for _, vips := range [][]string{nil, {"10.0.0.1"}, {"10.0.0.1", "10.0.0.2", "10.0.0.3"}} {
			t.Run(fmt.Sprintf("%d refs, %d VIPs", n, len(vips)), func(t *testing.T) {
				h := New(p)
				net := h.AddNetwork("cbr0", "L2Bridge")
				var ids []string
				for i := range n + 1 {
					ep := &hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: fmt.Sprintf("10.244.0.%d", i+1)}},
						SchemaVersion: hns.V2SchemaVersion()}
					got, err := h.CreateEndpoint(t.Context(), net, ep)
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, got.Id)
				}
				sent := &hns.HostComputeLoadBalancer{HostComputeEndpoints: slices.Clone(ids[:n]), FrontendVIPs: slices.Clone(vips),
					PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 1, ExternalPort: 80}},
					SchemaVersion: hns.V2SchemaVersion()}
				made, err := h.CreateLoadBalancer(t.Context(), sent)
				if err != nil {
					t.Fatal(err)
				}
				checkLBAnswer(t, h, "create", sent, made, ids[:n])
				for _, tc := range []struct {
					name string
					refs func() []string
				}{
					{"the same strings, moved one along", func() []string { return ids[1 : n+1] }},
					{"copies of the strings", func() []string {
						out := make([]string, n)
						for i, id := range ids[:n] {
							out[i] = strings.Clone(id)
						}
						return out
					}},
					{"lower case", func() []string {
						out := make([]string, n)
						for i, id := range ids[:n] {
							out[i] = strings.ToLower(id)
						}
						return out
					}},
					{"the same strings", func() []string { return ids[:n] }},
				} {
					sent.HostComputeEndpoints = tc.refs()
					got, err := h.UpdateLoadBalancer(t.Context(), made.Id, sent)
					if err != nil {
						t.Fatalf("update with %s: %v", tc.name, err)
					}
					want := ids[:n]
					if tc.name == "the same strings, moved one along" {
						want = ids[1 : n+1]
					}
					checkLBAnswer(t, h, "update with "+tc.name, sent, got, want)
				}
				if err := h.IndexError(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// checkLBAnswer checks got, the answer to a create or update of sent,
// and the load balancer stored: references wantRefs, the rest as sent,
// and no memory shared between the answer, the stored copy and sent.
func checkLBAnswer(t *testing.T, h *HNS, call string, sent, got *hns.HostComputeLoadBalancer, wantRefs []string) {
	t.Helper()
	want := cloneLB(*sent)
	want.Id, want.HostComputeEndpoints = got.Id, slices.Clone(wantRefs)
	stored, err := h.GetLoadBalancer(t.Context(), got.Id)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	e := h.lbs[idKey(got.Id)]
	h.mu.Unlock()
	for name, lb := range map[string]*hns.HostComputeLoadBalancer{"answer": got, "stored": stored, "entry": &e.lb} {
		if diff := cmp.Diff(&want, lb); diff != "" {
			t.Errorf("%s: %s (-want +got):\n%s", call, name, diff)
		}
	}
	for _, s := range [][]string{got.HostComputeEndpoints, got.FrontendVIPs} {
		if cap(s) != len(s) {
			t.Errorf("%s: an answer's slice has room for %d more", call, cap(s)-len(s))
		}
	}
	got.HostComputeEndpoints[0] = "changed"
	got.PortMappings[0].ExternalPort = 1
	if len(got.FrontendVIPs) > 0 {
		got.FrontendVIPs[0] = "changed"
	}
	if diff := cmp.Diff(&want, &e.lb); diff != "" {
		t.Errorf("%s: the stored copy changed with the answer (-want +got):\n%s", call, diff)
	}
	if slices.Contains(sent.HostComputeEndpoints, "changed") || slices.Contains(sent.FrontendVIPs, "changed") ||
		sent.PortMappings[0].ExternalPort == 1 {
		t.Errorf("%s: the answer shares memory with the request", call)
	}
}

// After Restore, an ID string the fake answered before names no endpoint
// the restored state lacks, though the slots are numbered afresh and
// another endpoint now has the slot it had (epSlots.byID is reset).
func TestRestoreForgetsRecentIDs(t *testing.T) {
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		t.Fatal(err)
	}
	h := New(p)
	net := h.AddNetwork("cbr0", "L2Bridge")
	var ids []string
	for _, ip := range []string{"10.244.1.1", "10.244.1.2", "10.244.1.3"} {
		ep := &hns.HostComputeEndpoint{IpConfigurations: []hns.IpConfig{{IpAddress: ip}}, SchemaVersion: hns.V2SchemaVersion()}
		got, err := h.CreateEndpoint(t.Context(), net, ep)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.Id)
	}
	lb := &hns.HostComputeLoadBalancer{HostComputeEndpoints: ids[:1], FrontendVIPs: []string{"10.0.0.1"},
		PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
		SchemaVersion: hns.V2SchemaVersion()}
	made, err := h.CreateLoadBalancer(t.Context(), lb)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []int{1, 2} { // one of them is not last in ID order: another takes its slot
		t.Run(fmt.Sprintf("without endpoint %d", gone), func(t *testing.T) {
			s := h.Snapshot()
			s.Endpoints = slices.DeleteFunc(s.Endpoints, func(ep hns.HostComputeEndpoint) bool { return ep.Id == ids[gone] })
			r := New(p)
			if err := r.Restore(h.Snapshot()); err != nil { // the same slots and IDs noted as h
				t.Fatal(err)
			}
			if err := r.Restore(s); err != nil {
				t.Fatal(err)
			}
			lb.HostComputeEndpoints = []string{ids[0], ids[gone]}
			_, err := r.UpdateLoadBalancer(t.Context(), made.Id, lb)
			checkCode(t, err, hns.CodeInvalidReference)
		})
	}
}

func checkCode(t *testing.T, err error, want hns.Code) {
	t.Helper()
	if code := hns.CodeOf(err); code != want {
		t.Errorf("got %v, want code 0x%X", err, uint32(want))
	}
}
