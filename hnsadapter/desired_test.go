package hnsadapter

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

func TestSameLoadBalancer(t *testing.T) {
	base := func() *hns.HostComputeLoadBalancer {
		return &hns.HostComputeLoadBalancer{
			Id:                   "A",
			HostComputeEndpoints: []string{"EP-1", "EP-2"},
			SourceVIP:            "10.244.1.254",
			FrontendVIPs:         []string{"fd00::10"},
			PortMappings:         []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
			SchemaVersion:        hns.V2SchemaVersion(),
			Flags:                lbpolicy.FlagIPv6,
		}
	}
	same := []func(*hns.HostComputeLoadBalancer){
		func(lb *hns.HostComputeLoadBalancer) { lb.Id = "B" },
		func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"ep-2", "ep-1"} },
		func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = []string{"fd00:0::10"} },
		func(lb *hns.HostComputeLoadBalancer) { lb.SchemaVersion = hns.SchemaVersion{} },
		func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-2", "ep-1", "EP-2"} },
	}
	for i, f := range same {
		lb := base()
		f(lb)
		assert.True(t, sameLoadBalancer(base(), lb), "same %d", i)
	}
	differ := []func(*hns.HostComputeLoadBalancer){
		func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-1"} },
		func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-1", "EP-3"} },
		func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-1", "EP-1"} },
		func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-1", "EP-2", "EP-3"} },
		func(lb *hns.HostComputeLoadBalancer) { lb.SourceVIP = "" },
		func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = nil },
		func(lb *hns.HostComputeLoadBalancer) { lb.PortMappings[0].InternalPort = 8081 },
		func(lb *hns.HostComputeLoadBalancer) {
			lb.PortMappings[0].Flags = lbpolicy.PortMappingVipExternalIP
		},
		func(lb *hns.HostComputeLoadBalancer) {
			lb.PortMappings[0].DistributionType = lbpolicy.DistributionSourceIP
		},
		func(lb *hns.HostComputeLoadBalancer) { lb.Flags |= lbpolicy.FlagDSR },
	}
	for i, f := range differ {
		lb := base()
		f(lb)
		assert.False(t, sameLoadBalancer(base(), lb), "differ %d", i)
	}
}

func TestLoadBalancerKeyOfHNSObjects(t *testing.T) {
	lb := &hns.HostComputeLoadBalancer{
		FrontendVIPs: []string{"fd00::10"}, Flags: lbpolicy.FlagIPv6,
		PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 17, ExternalPort: 53}},
	}
	k, ok := LoadBalancerKey(lb)
	assert.True(t, ok)
	assert.Equal(t, "IPv6/fd00::10/UDP/53", k.String())

	_, ok = LoadBalancerKey(&hns.HostComputeLoadBalancer{FrontendVIPs: []string{"10.0.0.1"}})
	assert.False(t, ok, "no port mapping")
	_, ok = LoadBalancerKey(&hns.HostComputeLoadBalancer{FrontendVIPs: []string{"nope"}, PortMappings: lb.PortMappings})
	assert.False(t, ok, "bad VIP")
}

func TestMatchesEndpoint(t *testing.T) {
	want := lbpolicy.Endpoint{
		IP: netip.MustParseAddr("10.244.2.7"), Remote: true, MACAddress: "02-11-0a-f4-02-07",
		ProviderAddress: netip.MustParseAddr("10.0.0.2"),
	}
	ep := desiredEndpoint(&want, "net")
	assert.True(t, matchesEndpoint(ep, &want))

	// As HNS may print it: other case, separators and JSON layout.
	settings, _ := json.MarshalIndent(map[string]any{"ProviderAddress": "10.0.0.2", "Other": 1}, "", " ")
	ep2 := *ep
	ep2.MacAddress = "02:11:0A:F4:02:07"
	ep2.Policies = []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: settings}}
	assert.True(t, matchesEndpoint(&ep2, &want))

	for name, f := range map[string]func(*hns.HostComputeEndpoint){
		"IP":    func(e *hns.HostComputeEndpoint) { e.IpConfigurations = []hns.IpConfig{{IpAddress: "10.244.2.8"}} },
		"local": func(e *hns.HostComputeEndpoint) { e.Flags = 0 },
		"MAC":   func(e *hns.HostComputeEndpoint) { e.MacAddress = "02-11-0a-f4-02-08" },
		"PA": func(e *hns.HostComputeEndpoint) {
			e.Policies = desiredEndpoint(&lbpolicy.Endpoint{ProviderAddress: netip.MustParseAddr("10.0.0.3")}, "").Policies
		},
		"no PA":  func(e *hns.HostComputeEndpoint) { e.Policies = nil },
		"no IPs": func(e *hns.HostComputeEndpoint) { e.IpConfigurations = nil },
	} {
		e := *ep
		f(&e)
		assert.False(t, matchesEndpoint(&e, &want), name)
	}
}

// Long endpoint lists (past the allocation-free comparison) compare as
// sets too.
func TestSameIDSetLong(t *testing.T) {
	var a, b []string
	for i := range 40 {
		a = append(a, fmt.Sprintf("EP-%02d", i))
		b = append(b, fmt.Sprintf("ep-%02d", 39-i))
	}
	assert.True(t, sameIDSet(a, b))
	assert.True(t, sameIDSet(a, append(b, "EP-07")), "a duplicate")
	assert.False(t, sameIDSet(a, append(b[:39:39], "EP-99")))
	assert.False(t, sameIDSet(a[:10], b[:10]))
}

// The settings written by hand are json.Marshal's.
func TestProviderAddressSettings(t *testing.T) {
	for _, pa := range []string{"10.0.0.4", "255.255.255.255", "fd00::4", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		"::ffff:255.255.255.255", "fe80::1%eth0"} {
		want, err := json.Marshal(hns.ProviderAddressEndpointPolicySetting{ProviderAddress: pa})
		if err != nil {
			t.Fatal(err)
		}
		addr := netip.MustParseAddr(pa)
		assert.Equal(t, string(want), string(appendPASettings(nil, addr)), pa)
		// desiredEndpoint writes them into its own allocation.
		ep := desiredEndpoint(&lbpolicy.Endpoint{IP: netip.MustParseAddr("10.1.0.1"), Remote: true, ProviderAddress: addr}, "net")
		if assert.Len(t, ep.Policies, 1, pa) {
			assert.Equal(t, string(want), string(ep.Policies[0].Settings), pa)
		}
	}
}

// TestMatchesLoadBalancer: matchesLoadBalancer, the full sync's compare,
// says what sameLoadBalancer says of the load balancer desiredLoadBalancer
// builds, for held load balancers equal to it and differing from it in
// each field, spelled as HNS may spell them.
func TestMatchesLoadBalancer(t *testing.T) {
	plans := map[string]lbpolicy.LoadBalancer{
		"IPv6 ClusterIP with source VIP": {
			FrontendVIPs: []netip.Addr{netip.MustParseAddr("fd00::10")}, Protocol: lbpolicy.ProtocolTCP,
			InternalPort: 8080, ExternalPort: 80, Flags: lbpolicy.FlagIPv6 | lbpolicy.FlagDSR,
			SourceVIP: netip.MustParseAddr("fd00:244::2"),
		},
		"IPv4 NodePort without source VIP": {
			Protocol: lbpolicy.ProtocolUDP, InternalPort: 53, ExternalPort: 30053,
			PortMappingFlags: lbpolicy.PortMappingVipExternalIP, DistributionType: lbpolicy.DistributionSourceIP,
		},
		"IPv4-mapped VIP": {
			FrontendVIPs: []netip.Addr{netip.MustParseAddr("::ffff:10.96.0.1")}, Protocol: lbpolicy.ProtocolTCP,
			ExternalPort: 443, SourceVIP: netip.MustParseAddr("10.244.0.2"),
		},
	}
	ids := []string{"EP-1", "EP-2"}
	edits := map[string]func(*hns.HostComputeLoadBalancer){
		"as built":         func(*hns.HostComputeLoadBalancer) {},
		"other ID, schema": func(lb *hns.HostComputeLoadBalancer) { lb.Id, lb.SchemaVersion = "X", hns.SchemaVersion{} },
		"IDs reordered":    func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"ep-2", "EP-1"} },
		"an ID missing":    func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-1"} },
		"another ID":       func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = []string{"EP-1", "EP-3"} },
		"VIP spelt longer": func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = respell(lb.FrontendVIPs) },
		"VIP gone":         func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = nil },
		"VIP added":        func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = append(lb.FrontendVIPs, "10.96.9.9") },
		"VIP other":        func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = []string{"10.96.9.9"} },
		"VIP unparsable":   func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = []string{"nope"} },
		"source VIP spelt": func(lb *hns.HostComputeLoadBalancer) { lb.SourceVIP = respell([]string{lb.SourceVIP})[0] },
		"source VIP gone":  func(lb *hns.HostComputeLoadBalancer) { lb.SourceVIP = "" },
		"source VIP set":   func(lb *hns.HostComputeLoadBalancer) { lb.SourceVIP = "10.244.0.3" },
		"source VIP bad":   func(lb *hns.HostComputeLoadBalancer) { lb.SourceVIP = "nope" },
		"internal port":    func(lb *hns.HostComputeLoadBalancer) { lb.PortMappings[0].InternalPort++ },
		"mapping flags":    func(lb *hns.HostComputeLoadBalancer) { lb.PortMappings[0].Flags ^= lbpolicy.PortMappingLocalRoutedVIP },
		"distribution": func(lb *hns.HostComputeLoadBalancer) {
			lb.PortMappings[0].DistributionType ^= lbpolicy.DistributionSourceIP
		},
		"two port mappings": func(lb *hns.HostComputeLoadBalancer) { lb.PortMappings = append(lb.PortMappings, lb.PortMappings[0]) },
		"no port mapping":   func(lb *hns.HostComputeLoadBalancer) { lb.PortMappings = nil },
		"flags":             func(lb *hns.HostComputeLoadBalancer) { lb.Flags ^= lbpolicy.FlagDSR },
	}
	matched := 0
	for pname, plan := range plans {
		for ename, edit := range edits {
			held := desiredLoadBalancer(&plan, ids)
			held.PortMappings = append([]hns.LoadBalancerPortMapping(nil), held.PortMappings...)
			edit(held)
			want := sameLoadBalancer(held, desiredLoadBalancer(&plan, ids))
			if want {
				matched++
			}
			assert.Equal(t, want, matchesLoadBalancer(held, &plan, ids), "%s, %s", pname, ename)
		}
	}
	assert.Greater(t, matched, len(plans)*3, "the cases that match")
}

// respell writes IPv4 addresses as IPv4-mapped IPv6 and IPv6 ones in full.
func respell(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, s := range addrs {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			out[i] = s
		case a.Unmap().Is4():
			out[i] = netip.AddrFrom16(a.As16()).String()
		default:
			out[i] = a.StringExpanded()
		}
	}
	return out
}

// TestDesiredLoadBalancerAddresses: the addresses and endpoint IDs of a
// desired load balancer, cut from shared allocations, are each
// address's text and the IDs given, whatever their number, and do not
// change when the caller's buffer of IDs is reused.
func TestDesiredLoadBalancerAddresses(t *testing.T) {
	many := func(n int, format string) (addrs []netip.Addr, texts []string) {
		for i := range n {
			a := netip.MustParseAddr(fmt.Sprintf(format, i+1))
			addrs, texts = append(addrs, a), append(texts, a.String())
		}
		return addrs, texts
	}
	v4, v4Texts := many(3, "10.96.0.%d")
	v6, v6Texts := many(12, "fd00:1234:5678:9abc:def0:1234:5678:%x")
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("EP-%02d", i)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		src       netip.Addr
		frontends []netip.Addr
		ids       []string
		wantSrc   string
		wantVIPs  []string
	}{
		{name: "none", ids: ids(1)},
		{name: "source VIP only", src: netip.MustParseAddr("10.244.1.254"), ids: ids(8), wantSrc: "10.244.1.254"},
		{name: "frontends only", frontends: v4, ids: ids(9), wantVIPs: v4Texts},
		{name: "both", src: netip.MustParseAddr("10.244.1.254"), frontends: v4[:1], ids: ids(2),
			wantSrc: "10.244.1.254", wantVIPs: v4Texts[:1]},
		{name: "IPv6, past the stack buffer", src: netip.MustParseAddr("fd00::254"), frontends: v6, ids: ids(40),
			wantSrc: "fd00::254", wantVIPs: v6Texts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := &lbpolicy.LoadBalancer{SourceVIP: tc.src, FrontendVIPs: tc.frontends, Protocol: lbpolicy.ProtocolTCP,
				InternalPort: 8080, ExternalPort: 80}
			buf := slices.Clone(tc.ids)
			lb := desiredLoadBalancer(plan, buf)
			for i := range buf {
				buf[i] = "reused"
			}
			assert.Equal(t, tc.wantSrc, lb.SourceVIP)
			assert.Equal(t, tc.wantVIPs, lb.FrontendVIPs)
			assert.Equal(t, tc.ids, lb.HostComputeEndpoints)
		})
	}
}
