package fake_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

func remoteSubnetRoute(prefix, pa string) hns.NetworkPolicy {
	return hns.NetworkPolicy{Type: hns.NetworkPolicyRemoteSubnetRoute,
		Settings: json.RawMessage(`{ "DestinationPrefix": "` + prefix + `", "ProviderAddress": "` + pa + `" }`)}
}

func TestSetNetworkPolicies(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "ws2022", "Overlay")
	in := []hns.NetworkPolicy{remoteSubnetRoute("10.244.2.0/24", "192.0.2.12"), remoteSubnetRoute("10.244.3.0/24", "192.0.2.13")}
	n.h.SetNetworkPolicies(n.net, in...)
	in[0].Settings[0] = 'x' // the fake keeps a copy

	got, err := n.h.GetNetworkByName(ctx, "cbr0")
	if err != nil {
		t.Fatal(err)
	}
	want := []hns.NetworkPolicy{ // compacted, as HNS prints them
		{Type: hns.NetworkPolicyRemoteSubnetRoute, Settings: json.RawMessage(`{"DestinationPrefix":"10.244.2.0/24","ProviderAddress":"192.0.2.12"}`)},
		{Type: hns.NetworkPolicyRemoteSubnetRoute, Settings: json.RawMessage(`{"DestinationPrefix":"10.244.3.0/24","ProviderAddress":"192.0.2.13"}`)},
	}
	if d := cmp.Diff(want, got.Policies); d != "" {
		t.Errorf("GetNetworkByName's policies (-want +got):\n%s", d)
	}
	routes, err := got.RemoteSubnetRoutes()
	if err != nil || len(routes) != 2 || routes[1].ProviderAddress != "192.0.2.13" {
		t.Errorf("RemoteSubnetRoutes() = %+v, %v", routes, err)
	}
	got.Policies[0].Settings[0] = 'x' // and gives copies
	if d := cmp.Diff(want, n.h.Networks()[0].Policies); d != "" {
		t.Errorf("Networks()' policies after the answer was changed (-want +got):\n%s", d)
	}
	if !strings.Contains(n.h.Dump(), `Policy        : RemoteSubnetRoute {"DestinationPrefix":"10.244.3.0/24"`) {
		t.Errorf("Dump does not show the policies:\n%s", n.h.Dump())
	}

	n.h.SetNetworkPolicies(n.net) // a node left: no policies
	if got := n.h.Networks()[0].Policies; got != nil {
		t.Errorf("policies after clearing = %v, want none", got)
	}
}

func TestSetNetworkPoliciesPanics(t *testing.T) {
	n := newNode(t, "ws2022", "Overlay")
	for name, f := range map[string]func(){
		"unknown network": func() { n.h.SetNetworkPolicies("no-such-network") },
		"settings not JSON": func() {
			n.h.SetNetworkPolicies(n.net, hns.NetworkPolicy{Type: "RemoteSubnetRoute", Settings: json.RawMessage(`{`)})
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// A network's policies and address spaces survive DumpJSON and Load.
func TestStateKeepsNetworkPolicies(t *testing.T) {
	s := validState()
	s.LoadBalancers[0].Id = lbID
	s.Networks[0].Type = "Overlay"
	s.Networks[0].Policies = []hns.NetworkPolicy{remoteSubnetRoute("10.244.2.0/24", "192.0.2.12")}
	s.Networks[0].Ipams = []hns.Ipam{{Type: "Static", Subnets: []hns.Subnet{{
		IpAddressPrefix: "10.244.1.0/24",
		Policies:        []json.RawMessage{json.RawMessage(`{"Type":"VSID","Settings":{"IsolationId":4096}}`)},
		Routes:          []hns.Route{{NextHop: "10.244.1.1", DestinationPrefix: "0.0.0.0/0"}},
	}}}}
	h := fake.New(profile(t, "ws2022"))
	if err := h.Restore(s); err != nil {
		t.Fatal(err)
	}
	dump := dumpJSON(t, h)
	back := load(t, "ws2022", dump)
	want := s.Networks[0]
	want.Policies = []hns.NetworkPolicy{{Type: hns.NetworkPolicyRemoteSubnetRoute,
		Settings: json.RawMessage(`{"DestinationPrefix":"10.244.2.0/24","ProviderAddress":"192.0.2.12"}`)}}
	want.SchemaVersion = hns.V2SchemaVersion()
	if d := cmp.Diff([]hns.HostComputeNetwork{want}, back.Networks()); d != "" {
		t.Errorf("networks after DumpJSON and Load (-want +got):\n%s", d)
	}
	if d := cmp.Diff(string(dump), string(dumpJSON(t, back))); d != "" {
		t.Errorf("DumpJSON after Load differs (-before +after):\n%s", d)
	}
}

func TestRestoreRejectsBadNetworkPolicy(t *testing.T) {
	s := validState()
	s.Networks[0].Policies = []hns.NetworkPolicy{{Type: "RemoteSubnetRoute", Settings: json.RawMessage(`{"DestinationPrefix":`)}}
	h := fake.New(profile(t, "ws2022"))
	err := h.Restore(s)
	const want = `fake: state: Networks[0] "cbr0": Policies[0] (RemoteSubnetRoute): Settings are not JSON`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Restore: %v, want an error containing %q", err, want)
	}
	if len(h.Networks()) != 0 {
		t.Errorf("Restore changed the fake: %v", h.Networks())
	}
}
