package fake_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// stateCluster is dumpCluster plus ports the host holds: every kind of
// state the fake has (networks, local endpoints with and without an IP,
// remote endpoints with a policy, load balancers HNS would refuse, a
// dangling reference, reserved ports).
func stateCluster(t testing.TB, seed uint64) cluster {
	c := dumpCluster(t, seed)
	c.h.ReservePort("", 6, 10256)
	c.h.ReservePort("192.0.2.10", 17, 53)
	c.h.ReservePort("::ffff:192.0.2.11", 6, 443) // stored unmapped
	c.h.ReservePort("fd00::10", 6, 80)
	return c
}

func dumpJSON(t *testing.T, h *fake.HNS) []byte {
	t.Helper()
	b, err := h.DumpJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func load(t *testing.T, profileName string, data []byte) *fake.HNS {
	t.Helper()
	h, err := fake.Load(profile(t, profileName), data)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStateRoundTrip(t *testing.T) {
	c := stateCluster(t, 42)
	dump := dumpJSON(t, c.h)
	golden(t, "state.json.golden", string(dump))

	h := load(t, "latest", dump)
	if diff := cmp.Diff(string(dump), string(dumpJSON(t, h))); diff != "" {
		t.Errorf("DumpJSON after Load differs (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(c.h.Snapshot(), h.Snapshot()); diff != "" {
		t.Errorf("Snapshot after Load differs (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(c.h.Dump(), h.Dump()); diff != "" {
		t.Errorf("Dump after Load differs (-before +after):\n%s", diff)
	}
	if err := h.IndexError(); err != nil {
		t.Error(err)
	}
	if len(h.Calls()) != 0 || len(h.CallLog()) != 0 {
		t.Errorf("Load made Client calls: %v %v", h.Calls(), h.CallLog())
	}
}

// TestStateRoundTripBehaviour: what was loaded acts as what was dumped:
// reserved ports, taken frontends and IPs, dangling references.
func TestStateRoundTripBehaviour(t *testing.T) {
	c := stateCluster(t, 42)
	h := load(t, "latest", dumpJSON(t, c.h))
	ctx := t.Context()

	_, err := h.CreateLoadBalancer(ctx, lb("10.96.0.99", 10256, c.pods[0]))
	if !hns.IsPortAlreadyExists(err) {
		t.Errorf("create on a reserved port: %v, want 0x803B0013", err)
	}
	_, err = h.CreateLoadBalancer(ctx, lb("192.0.2.11", 443, c.pods[0]))
	if !hns.IsPortAlreadyExists(err) {
		t.Errorf("create on a reserved (v4-mapped) VIP: %v, want 0x803B0013", err)
	}
	_, err = h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, c.pods[0]))
	if !hns.IsAlreadyExists(err) {
		t.Errorf("create of a held frontend: %v, want 0xB7", err)
	}
	local := remoteEP("10.244.0.11", "192.168.1.3")
	if _, err := h.CreateEndpoint(ctx, c.net, local); !hns.IsAlreadyExists(err) {
		t.Errorf("create of a local endpoint's IP: %v, want 0xB7", err)
	}
	r, err := h.Trace(flowTo("10.96.0.30"))
	if err != nil || len(r.Missing) != 1 || r.LoadBalancerID != c.dangling {
		t.Errorf("Trace of the dangling load balancer: %+v, %v", r, err)
	}
	root, err := h.Trace(fake.Flow{Origin: fake.FromOutside, Protocol: 6, Destination: "192.0.2.10", Port: 10256})
	if err != nil || !cmp.Equal(root.Backends, []string{"<cbr0>"}) || !cmp.Equal(root.Local, []string{"<cbr0>"}) {
		t.Errorf("Trace to the root endpoint (local, no IP): %+v, %v", root, err)
	}
	if got, err := h.GetNetworkByName(ctx, "nat"); err != nil || got.Type != "NAT" {
		t.Errorf("GetNetworkByName(nat) = %v, %v", got, err)
	}
}

// TestStateFormat pins the JSON field names the audit tool reads: those
// of hcn's JSON.
func TestStateFormat(t *testing.T) {
	c := stateCluster(t, 42)
	var doc map[string][]map[string]any
	if err := json.Unmarshal(dumpJSON(t, c.h), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(list string, i int) []string {
		var out []string
		for k := range doc[list][i] {
			out = append(out, k)
		}
		return out
	}
	want := map[string][]string{
		"Networks":      {"ID", "Name", "Type", "SchemaVersion"},
		"LoadBalancers": {"ID", "HostComputeEndpoints", "SourceVIP", "FrontendVIPs", "PortMappings", "SchemaVersion"},
		"Endpoints":     {"ID", "Name", "HostComputeNetwork", "IpConfigurations", "MacAddress", "SchemaVersion"},
		"ReservedPorts": {"Protocol", "Port"},
	}
	if len(doc) != len(want) {
		t.Errorf("top-level keys: %d, want %d", len(doc), len(want))
	}
	for list, fields := range want {
		if len(doc[list]) == 0 {
			t.Errorf("%s: empty", list)
			continue
		}
		for _, f := range fields {
			if _, ok := doc[list][0][f]; !ok {
				t.Errorf("%s[0] has no %q: %v", list, f, keys(list, 0))
			}
		}
	}
	var remote map[string]any
	for _, ep := range doc["Endpoints"] {
		if ep["Flags"] != nil {
			remote = ep
		}
	}
	if remote == nil || remote["Policies"] == nil {
		t.Errorf("no remote endpoint with Flags and Policies in %v", doc["Endpoints"])
	}

	empty, err := fake.New(profile(t, "latest")).DumpJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"Networks\": [],\n  \"LoadBalancers\": [],\n  \"Endpoints\": []\n}\n"; string(empty) != want {
		t.Errorf("empty fake dumps as\n%s\nwant\n%s", empty, want)
	}
}

const (
	netID = "11111111-1111-4111-8111-111111111111"
	epID  = "E0000000-0000-4000-8000-00000000000A"
	lbID  = "B0000000-0000-4000-8000-000000000001"
)

// validState is a small State that Restore accepts.
func validState() fake.State {
	return fake.State{
		Networks: []hns.HostComputeNetwork{{Id: netID, Name: "cbr0", Type: "L2Bridge"}},
		Endpoints: []hns.HostComputeEndpoint{{
			Id: epID, Name: "web-a", HostComputeNetwork: netID,
			IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.0.11"}},
		}},
		LoadBalancers: []hns.HostComputeLoadBalancer{*lb("10.96.0.10", 80, epID)},
	}
}

func TestRestoreRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *fake.State)
		want   []string // in the error, in order
	}{{
		name:   "load balancer without ID",
		change: func(s *fake.State) { s.LoadBalancers[0].Id = "" },
		want:   []string{"LoadBalancers[0]: no ID"},
	}, {
		name:   "ID that is not a GUID",
		change: func(s *fake.State) { s.Endpoints[0].Id = "web-a" },
		want:   []string{`Endpoints[0] "web-a": ID "web-a" is not a GUID`},
	}, {
		name: "two load balancers with one ID",
		change: func(s *fake.State) {
			s.LoadBalancers[0].Id = lbID
			s.LoadBalancers = append(s.LoadBalancers, *lb("10.96.0.11", 80, epID))
			s.LoadBalancers[1].Id = strings.ToLower(lbID)
		},
		want: []string{"LoadBalancers[1]: ID b0000000-0000-4000-8000-000000000001 is also the ID of LoadBalancers[0]"},
	}, {
		name:   "an endpoint with a network's ID",
		change: func(s *fake.State) { s.Endpoints[0].Id = netID },
		want:   []string{`Endpoints[0] "web-a": ID ` + netID + ` is also the ID of Networks[0] "cbr0"`},
	}, {
		name:   "endpoint on a network the state lacks",
		change: func(s *fake.State) { s.Endpoints[0].HostComputeNetwork = "22222222-2222-4222-8222-222222222222" },
		want:   []string{`Endpoints[0] "web-a": HostComputeNetwork "22222222-2222-4222-8222-222222222222" is not one of the state's networks`},
	}, {
		name:   "endpoint on no network",
		change: func(s *fake.State) { s.Endpoints[0].HostComputeNetwork = "" },
		want:   []string{`Endpoints[0] "web-a": HostComputeNetwork "" is not one of the state's networks`},
	}, {
		name: "policy settings that are not JSON",
		change: func(s *fake.State) {
			s.Endpoints[0].Policies = []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: []byte("{")}}
		},
		want: []string{`Endpoints[0] "web-a": Policies[0] (ProviderAddress): Settings are not JSON`},
	}, {
		name:   "network schema 1.0",
		change: func(s *fake.State) { s.Networks[0].SchemaVersion = hns.SchemaVersion{Major: 1} },
		want:   []string{`Networks[0] "cbr0": SchemaVersion 1.0`},
	}, {
		name:   "reserved port on a name",
		change: func(s *fake.State) { s.ReservedPorts = []fake.ReservedPort{{VIP: "node-1", Protocol: 6, Port: 80}} },
		want:   []string{`ReservedPorts[0]: VIP "node-1" is not an IP address`},
	}, {
		name: "every fault is named",
		change: func(s *fake.State) {
			s.Networks[0].Id = ""
			s.LoadBalancers[0].Id = "x"
		},
		want: []string{`Networks[0] "cbr0": no ID`, `LoadBalancers[0]: ID "x" is not a GUID`, `Endpoints[0] "web-a": HostComputeNetwork`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fake.New(profile(t, "latest"))
			seeded := h.AddNetwork("before", "NAT")
			before := h.Snapshot()
			s := validState()
			s.LoadBalancers[0].Id = "B0000000-0000-4000-8000-0000000000FF"
			tt.change(&s)
			err := h.Restore(s)
			if err == nil {
				t.Fatal("Restore accepted it")
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error\n  %v\ndoes not say %q", err, w)
				}
				msg = msg[i+len(w):]
			}
			if diff := cmp.Diff(before, h.Snapshot()); diff != "" {
				t.Errorf("a refused Restore changed the state:\n%s", diff)
			}
			if _, err := h.GetNetworkByName(t.Context(), "before"); err != nil {
				t.Errorf("network %s gone: %v", seeded, err)
			}
		})
	}
}

func TestRestoreAccepts(t *testing.T) {
	s := validState()
	s.LoadBalancers[0].Id = lbID
	// A dangling reference: HNS keeps it when an endpoint is deleted
	// under a load balancer.
	s.LoadBalancers[0].HostComputeEndpoints = append(s.LoadBalancers[0].HostComputeEndpoints, "E0000000-0000-4000-8000-0000000000FF")
	// An absent network schema reads as 2.0; the reference's case does not
	// matter.
	s.Endpoints[0].HostComputeNetwork = strings.ToLower(netID)
	s.Endpoints[0].Policies = []hns.EndpointPolicy{{Type: "ACL", Settings: []byte(`{ "Action" : "Allow" }`)}}

	h := fake.New(profile(t, "ws2022"))
	h.AddNetwork("replaced", "NAT")
	h.ReservePort("", 6, 80)
	h.InjectFault(fake.Fault{Op: hns.OpVersion, Count: 1})
	_, _ = h.Version(t.Context())
	if err := h.Restore(s); err != nil {
		t.Fatal(err)
	}
	got := h.Snapshot()
	if len(got.Networks) != 1 || got.Networks[0].SchemaVersion != hns.V2SchemaVersion() || len(got.ReservedPorts) != 0 {
		t.Errorf("Restore did not replace the state: %+v", got)
	}
	if s := string(got.Endpoints[0].Policies[0].Settings); s != `{"Action":"Allow"}` {
		t.Errorf("Settings stored as %s, want them compacted", s)
	}
	if got := h.Calls()[hns.OpVersion]; got != 1 {
		t.Errorf("Restore reset the call counters: %v", h.Calls())
	}
	if h.Profile().Name != "ws2022" {
		t.Errorf("profile = %v", h.Profile())
	}
	ctx := t.Context()
	if _, err := h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, epID)); !hns.IsAlreadyExists(err) {
		t.Errorf("the restored load balancer does not hold its frontend: %v", err)
	}
	if _, err := h.CreateLoadBalancer(ctx, lb("10.96.0.11", 80, epID)); err != nil {
		t.Errorf("the replaced reservation still holds: %v", err)
	}
}

func TestParseStateRejects(t *testing.T) {
	for name, data := range map[string]string{
		"not JSON":        `{`,
		"misspelt list":   `{"Networks": [], "LoadBalancer": []}`,
		"misspelt field":  `{"LoadBalancers": [{"Id": "B0000000-0000-4000-8000-000000000001", "FrontendVIP": ["10.96.0.10"]}]}`,
		"two objects":     `{} {}`,
		"a list":          `[]`,
		"field of a type": `{"Endpoints": [{"IpConfigurations": [{"IpAddress": 5}]}]}`,
	} {
		if _, err := fake.ParseState([]byte(data)); err == nil {
			t.Errorf("%s: ParseState(%s) accepted it", name, data)
		}
		if _, err := fake.Load(profile(t, "latest"), []byte(data)); err == nil {
			t.Errorf("%s: Load(%s) accepted it", name, data)
		}
	}
}

// FuzzLoad: whatever Load accepts dumps, loads back, and dumps the same.
func FuzzLoad(f *testing.F) {
	c := stateCluster(f, 42)
	seed, err := c.h.DumpJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"Networks": [], "LoadBalancers": [], "Endpoints": []}`))
	scenario, err := os.ReadFile(filepath.Join("testdata", "scenarios", "service-churn", "before.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(scenario)
	p := profile(f, "latest")
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := fake.Load(p, data)
		if err != nil {
			if h != nil {
				t.Fatal("Load returned a fake and an error")
			}
			return
		}
		if err := h.IndexError(); err != nil {
			t.Fatal(err)
		}
		text := h.Dump()
		dump, err := h.DumpJSON()
		if err != nil {
			t.Fatalf("DumpJSON of what Load accepted: %v", err)
		}
		again, err := fake.Load(p, dump)
		if err != nil {
			t.Fatalf("Load of DumpJSON's output: %v\n%s", err, dump)
		}
		dump2, err := again.DumpJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(string(dump), string(dump2)) {
			t.Fatalf("dump -> load -> dump differs:\n%s", cmp.Diff(string(dump), string(dump2)))
		}
		if text != again.Dump() {
			t.Fatalf("Dump differs after a round trip:\n%s", cmp.Diff(text, again.Dump()))
		}
		// The loaded fake answers Client calls.
		if _, err := again.ListLoadBalancers(t.Context()); err != nil {
			t.Fatal(err)
		}
		var target *hns.Error
		_, err = again.CreateLoadBalancer(t.Context(), lb("10.96.0.10", 80, "E0000000-0000-4000-8000-00000000000A"))
		if err != nil && !errors.As(err, &target) {
			t.Fatalf("create: %v is not an *hns.Error", err)
		}
	})
}
