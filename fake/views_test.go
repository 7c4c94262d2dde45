package fake_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

func TestLoadBalancersByKey(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	add := func(id string, lb *hns.HostComputeLoadBalancer) string {
		lb.Id = id
		return n.h.AddLoadBalancer(*lb)
	}
	web := add("A0000000-0000-4000-8000-000000000002", lb("10.96.0.10", 80, n.pods[0]))
	leftover := add("A0000000-0000-4000-8000-000000000001", lb("10.96.0.10", 80, n.pods[1])) // same key: sorted first
	multi := lb("10.96.0.11", 53, n.pods[0])
	multi.FrontendVIPs = append(multi.FrontendVIPs, "192.0.2.10") // the first VIP is the key's
	multi.PortMappings[0].Protocol = 17
	multiID := add("A0000000-0000-4000-8000-000000000003", multi)
	v6 := lb("fd00::10", 80, n.pods[0])
	v6.Flags = lbpolicy.FlagIPv6
	v6ID := add("A0000000-0000-4000-8000-000000000004", v6)
	nodePortID := add("A0000000-0000-4000-8000-000000000005", lb("", 30080, n.pods[0]))
	noPorts := lb("10.96.0.12", 80, n.pods[0])
	noPorts.PortMappings = nil
	add("A0000000-0000-4000-8000-000000000006", noPorts)
	add("A0000000-0000-4000-8000-000000000007", lb("not-an-ip", 80, n.pods[0]))

	got := n.h.LoadBalancersByKey()
	ids := map[string][]string{}
	for k, lbs := range got {
		for _, lb := range lbs {
			ids[k.String()] = append(ids[k.String()], lb.Id)
			if hk, ok := hnsadapter.LoadBalancerKey(&lb); !ok || hk != k {
				t.Errorf("load balancer %s is under key %s; hnsadapter.LoadBalancerKey says %s, %v", lb.Id, k, hk, ok)
			}
		}
	}
	want := map[string][]string{
		"IPv4/10.96.0.10/TCP/80": {leftover, web},
		"IPv4/10.96.0.11/UDP/53": {multiID},
		"IPv6/fd00::10/TCP/80":   {v6ID},
		"IPv4/*/TCP/30080":       {nodePortID},
	}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("IDs by key (-want +got):\n%s", d)
	}
	k := lbpolicy.Key{Family: lbpolicy.IPv4, VIP: netip.MustParseAddr("10.96.0.10"), Protocol: lbpolicy.ProtocolTCP, Port: 80}
	if len(got[k]) != 2 {
		t.Fatalf("a plan's key does not find its load balancers: %v", got[k])
	}
	got[k][0].HostComputeEndpoints[0] = "changed"
	if d := cmp.Diff(got[k][1:], n.h.LoadBalancersByKey()[k][1:]); d != "" || n.h.LoadBalancersByKey()[k][0].HostComputeEndpoints[0] == "changed" {
		t.Error("LoadBalancersByKey shares its objects with the fake")
	}
}

func TestEndpointsByIP(t *testing.T) {
	h := fake.New(profile(t, "latest"))
	a := h.AddNetwork("cbr0", "L2Bridge")
	b := h.AddNetwork("other", "L2Bridge")
	podA := h.AddLocalEndpoint(a, "pod-a", "10.244.0.11")
	h.AddLocalEndpoint(a, "cbr0", "") // no IP: left out
	dual := h.AddEndpoint(hns.HostComputeEndpoint{Id: "E0000000-0000-4000-8000-000000000001", Name: "dual", HostComputeNetwork: a,
		IpConfigurations: []hns.IpConfig{{IpAddress: "::ffff:10.244.0.12"}, {IpAddress: "fd00::12"}, {IpAddress: "bogus"}}})
	remote := h.AddEndpoint(hns.HostComputeEndpoint{Id: "E0000000-0000-4000-8000-000000000002", HostComputeNetwork: a,
		IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.2.7"}}, Flags: hns.EndpointFlagsRemoteEndpoint})
	otherPod := h.AddLocalEndpoint(b, "pod-a-elsewhere", "10.244.0.11") // same IP, other network

	ids := func(m map[netip.Addr][]hns.HostComputeEndpoint) map[string][]string {
		out := map[string][]string{}
		for ip, eps := range m {
			for _, ep := range eps {
				out[ip.String()] = append(out[ip.String()], ep.Id)
			}
		}
		return out
	}
	onA := map[string][]string{
		"10.244.0.11": {podA},
		"10.244.0.12": {dual},
		"fd00::12":    {dual},
		"10.244.2.7":  {remote},
	}
	if d := cmp.Diff(onA, ids(h.EndpointsByIP(a))); d != "" {
		t.Errorf("network cbr0 (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{"10.244.0.11": {otherPod}}, ids(h.EndpointsByIP(b))); d != "" {
		t.Errorf("network other (-want +got):\n%s", d)
	}
	all := ids(h.EndpointsByIP(""))
	if d := cmp.Diff([]string{min(podA, otherPod), max(podA, otherPod)}, all["10.244.0.11"]); d != "" {
		t.Errorf("every network: 10.244.0.11 (-want +got):\n%s", d)
	}
	if got := h.EndpointsByIP("no-such-network"); len(got) != 0 {
		t.Errorf("unknown network: %v, want none", got)
	}
}
