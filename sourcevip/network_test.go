package sourcevip_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hnslb/hnslb/sourcevip"
)

// equateNetip lets cmp compare netip values, which have unexported fields.
var equateNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

var (
	a = netip.MustParseAddr
	p = netip.MustParsePrefix
)

const hostMAC = "00-15-5d-01-02-03"

// The overlay of most tests: this node is 10.0.0.2 with pods in
// 10.244.0.0/24 and source VIP 10.244.0.2; nodes 10.0.0.3 and 10.0.0.4 hold
// 10.244.1.0/24 and 10.244.2.0/24.
var (
	nodeIP    = a("10.0.0.2")
	sourceVIP = a("10.244.0.2")
	subnets   = []sourcevip.Subnet{
		{Prefix: p("10.244.1.0/24"), ProviderAddress: a("10.0.0.3")},
		{Prefix: p("10.244.2.0/24"), ProviderAddress: a("10.0.0.4")},
	}
)

func overlay() *sourcevip.Network {
	return sourcevip.NewOverlay(nodeIP, sourceVIP, hostMAC, subnets)
}

func TestSourceVIP(t *testing.T) {
	tests := []struct {
		name     string
		network  *sourcevip.Network
		backends []netip.Addr
		want     netip.Addr
	}{{
		name:     "L2Bridge: always empty, even with external backends",
		network:  sourcevip.NewL2Bridge(nodeIP),
		backends: []netip.Addr{a("10.244.1.5"), a("10.0.0.3"), a("8.8.8.8")},
		want:     netip.Addr{},
	}, {
		name:    "L2Bridge: no backends",
		network: sourcevip.NewL2Bridge(nodeIP),
		want:    netip.Addr{},
	}, {
		name:     "zero Network is an L2Bridge",
		network:  &sourcevip.Network{},
		backends: []netip.Addr{a("8.8.8.8")},
		want:     netip.Addr{},
	}, {
		name:     "Overlay: all backends in remote subnets",
		network:  overlay(),
		backends: []netip.Addr{a("10.244.1.5"), a("10.244.2.7"), a("10.244.2.8")},
		want:     sourceVIP,
	}, {
		name:     "Overlay: a backend is a remote node's IP (hostNetwork pod)",
		network:  overlay(),
		backends: []netip.Addr{a("10.244.1.5"), a("10.0.0.3"), a("10.244.2.7")},
		want:     nodeIP,
	}, {
		name:     "Overlay: a backend is outside every remote subnet",
		network:  overlay(),
		backends: []netip.Addr{a("10.244.1.5"), a("10.244.2.7"), a("203.0.113.9")},
		want:     nodeIP,
	}, {
		name:     "Overlay: every backend is local",
		network:  overlay(),
		backends: []netip.Addr{},
		want:     sourceVIP,
	}, {
		name:    "Overlay: nil backends",
		network: overlay(),
		want:    sourceVIP,
	}, {
		name:     "Overlay without remote subnets: any remote backend is external",
		network:  sourcevip.NewOverlay(nodeIP, sourceVIP, hostMAC, nil),
		backends: []netip.Addr{a("10.244.1.5")},
		want:     nodeIP,
	}, {
		name: "Overlay IPv6",
		network: sourcevip.NewOverlay(a("fd00::2"), a("fd00:244::2"), hostMAC, []sourcevip.Subnet{
			{Prefix: p("fd00:244:1::/64"), ProviderAddress: a("fd00::3")},
		}),
		backends: []netip.Addr{a("fd00:244:1::5")},
		want:     a("fd00:244::2"),
	}, {
		name: "Overlay IPv6: a backend is a remote node's IP",
		network: sourcevip.NewOverlay(a("fd00::2"), a("fd00:244::2"), hostMAC, []sourcevip.Subnet{
			{Prefix: p("fd00:244:1::/64"), ProviderAddress: a("fd00::3")},
		}),
		backends: []netip.Addr{a("fd00:244:1::5"), a("fd00::3")},
		want:     a("fd00::2"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.network.SourceVIP(tt.backends)
			if diff := cmp.Diff(tt.want, got, equateNetip); diff != "" {
				t.Errorf("SourceVIP(%v) mismatch (-want +got):\n%s", tt.backends, diff)
			}
		})
	}
}

func TestForcesNodeIP(t *testing.T) {
	providerInSubnet := sourcevip.NewOverlay(nodeIP, sourceVIP, hostMAC, []sourcevip.Subnet{
		{Prefix: p("10.244.2.0/24"), ProviderAddress: a("10.0.0.5")},
		{Prefix: p("10.244.3.0/24"), ProviderAddress: a("10.244.2.9")},
	})
	tests := []struct {
		name    string
		network *sourcevip.Network
		backend netip.Addr
		want    bool
	}{
		{"in a remote subnet", overlay(), a("10.244.1.5"), false},
		{"a remote subnet's network address", overlay(), a("10.244.2.0"), false},
		{"a remote node's IP", overlay(), a("10.0.0.4"), true},
		{"outside every remote subnet", overlay(), a("203.0.113.9"), true},
		{"this node's IP is outside every remote subnet", overlay(), nodeIP, true},
		{"other family", overlay(), a("fd00:244:1::5"), true},
		{"invalid", overlay(), netip.Addr{}, true},
		// A provider address inside a remote subnet (a node whose IP is in
		// another node's pod subnet) still forces the node IP.
		{"a remote node's IP inside a remote subnet", providerInSubnet, a("10.244.2.9"), true},
		{"a pod beside it", providerInSubnet, a("10.244.2.8"), false},
		{"L2Bridge: external", sourcevip.NewL2Bridge(nodeIP), a("203.0.113.9"), false},
		{"L2Bridge: a node's IP", sourcevip.NewL2Bridge(nodeIP), a("10.0.0.3"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.network.ForcesNodeIP(tt.backend); got != tt.want {
				t.Errorf("ForcesNodeIP(%v) = %v, want %v", tt.backend, got, tt.want)
			}
		})
	}
}

func TestProviderAddress(t *testing.T) {
	type result struct {
		PA    netip.Addr
		Found bool
	}
	overlapping := []sourcevip.Subnet{
		{Prefix: p("10.244.0.0/16"), ProviderAddress: a("10.0.0.9")},
		{Prefix: p("10.244.2.0/24"), ProviderAddress: a("10.0.0.4")},
		{Prefix: p("10.244.2.0/25"), ProviderAddress: a("10.0.0.5")},
	}
	equal := []sourcevip.Subnet{
		{Prefix: p("10.244.5.0/24"), ProviderAddress: a("10.0.0.8")},
		{Prefix: p("10.244.5.0/24"), ProviderAddress: a("10.0.0.7")},
		// Host bits set: the same prefix once masked.
		{Prefix: p("10.244.5.77/24"), ProviderAddress: a("10.0.0.10")},
	}
	v6 := []sourcevip.Subnet{
		{Prefix: p("fd00:244:1::/64"), ProviderAddress: a("fd00::3")},
		{Prefix: p("fd00:244::/32"), ProviderAddress: a("fd00::9")},
		{Prefix: p("10.244.1.0/24"), ProviderAddress: a("10.0.0.3")}, // other family
	}
	otherFamily := []sourcevip.Subnet{
		{Prefix: p("10.244.1.0/24"), ProviderAddress: a("10.0.0.3")},
		{Prefix: p("fd00:244:1::/64"), ProviderAddress: a("10.0.0.50")},
		{Prefix: p("::ffff:10.244.9.0/120"), ProviderAddress: a("10.0.0.51")},
	}
	unusable := []sourcevip.Subnet{
		{Prefix: netip.Prefix{}, ProviderAddress: a("10.0.0.60")},
		{Prefix: p("10.244.6.0/24"), ProviderAddress: netip.Addr{}},
		{Prefix: netip.PrefixFrom(a("10.244.7.0"), 33), ProviderAddress: a("10.0.0.61")},
	}

	tests := []struct {
		name    string
		nodeIP  netip.Addr
		subnets []sourcevip.Subnet
		ip      netip.Addr
		want    result
	}{
		{"in a subnet", nodeIP, subnets, a("10.244.2.7"), result{a("10.0.0.4"), true}},
		{"a subnet's broadcast address", nodeIP, subnets, a("10.244.1.255"), result{a("10.0.0.3"), true}},
		{"equal to a provider address", nodeIP, subnets, a("10.0.0.3"), result{a("10.0.0.3"), true}},
		{"none", nodeIP, subnets, a("203.0.113.9"), result{nodeIP, false}},
		{"none: this node's IP", nodeIP, subnets, nodeIP, result{nodeIP, false}},
		{"none: no subnets", nodeIP, nil, a("10.244.1.5"), result{nodeIP, false}},
		{"none: invalid IP", nodeIP, subnets, netip.Addr{}, result{nodeIP, false}},
		{"none: IPv4-mapped IPv6 is not in an IPv4 subnet", nodeIP, subnets, a("::ffff:10.244.1.5"), result{nodeIP, false}},
		{"overlapping: longest wins", nodeIP, overlapping, a("10.244.2.7"), result{a("10.0.0.5"), true}},
		{"overlapping: middle", nodeIP, overlapping, a("10.244.2.200"), result{a("10.0.0.4"), true}},
		{"overlapping: only the shortest", nodeIP, overlapping, a("10.244.3.7"), result{a("10.0.0.9"), true}},
		{"equal prefixes: lowest provider address", nodeIP, equal, a("10.244.5.6"), result{a("10.0.0.7"), true}},
		{"equal prefixes: every provider address is a node IP", nodeIP, equal, a("10.0.0.10"), result{a("10.0.0.10"), true}},
		{"IPv6: longest wins", a("fd00::2"), v6, a("fd00:244:1::5"), result{a("fd00::3"), true}},
		{"IPv6: shorter", a("fd00::2"), v6, a("fd00:244:2::5"), result{a("fd00::9"), true}},
		{"IPv6: provider address", a("fd00::2"), v6, a("fd00::9"), result{a("fd00::9"), true}},
		{"IPv6: zoned address is in no subnet", a("fd00::2"), v6, a("fd00:244:1::5%eth0"), result{a("fd00::2"), false}},
		{"IPv6: IPv4 subnet ignored", a("fd00::2"), v6, a("10.244.1.5"), result{a("fd00::2"), false}},
		{"IPv6: IPv4 subnet's provider address ignored", a("fd00::2"), v6, a("10.0.0.3"), result{a("fd00::2"), false}},
		{"other family: IPv4 still found", nodeIP, otherFamily, a("10.244.1.5"), result{a("10.0.0.3"), true}},
		{"other family: IPv6 subnet ignored", nodeIP, otherFamily, a("fd00:244:1::5"), result{nodeIP, false}},
		{"other family: its provider address ignored", nodeIP, otherFamily, a("10.0.0.50"), result{nodeIP, false}},
		{"other family: IPv4-mapped subnet ignored", nodeIP, otherFamily, a("::ffff:10.244.9.1"), result{nodeIP, false}},
		{"other family: IPv4-mapped PA ignored", nodeIP, otherFamily, a("10.0.0.51"), result{nodeIP, false}},
		{"unusable: invalid prefix ignored", nodeIP, unusable, a("10.0.0.60"), result{nodeIP, false}},
		{"unusable: invalid PA ignored", nodeIP, unusable, a("10.244.6.1"), result{nodeIP, false}},
		{"unusable: bad length ignored", nodeIP, unusable, a("10.0.0.61"), result{nodeIP, false}},
	}
	for _, tt := range tests {
		// Every order of the subnets gives the same answer.
		orders := map[string][]sourcevip.Subnet{
			"given":    tt.subnets,
			"reversed": reversed(tt.subnets),
		}
		for order, subnets := range orders {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				n := sourcevip.NewOverlay(tt.nodeIP, sourceVIP, hostMAC, subnets)
				var got result
				got.PA, got.Found = n.ProviderAddress(tt.ip)
				if diff := cmp.Diff(tt.want, got, equateNetip); diff != "" {
					t.Errorf("ProviderAddress(%v) mismatch (-want +got):\n%s", tt.ip, diff)
				}
			})
		}
	}

	t.Run("L2Bridge", func(t *testing.T) {
		pa, found := sourcevip.NewL2Bridge(nodeIP).ProviderAddress(a("10.244.1.5"))
		if pa.IsValid() || found {
			t.Errorf("ProviderAddress on L2Bridge = (%v, %v), want (invalid IP, false)", pa, found)
		}
	})
}

func reversed(s []sourcevip.Subnet) []sourcevip.Subnet {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func TestNewOverlayDoesNotKeepOrChangeSubnets(t *testing.T) {
	in := []sourcevip.Subnet{
		{Prefix: p("10.244.1.77/24"), ProviderAddress: a("10.0.0.3")},
		{Prefix: p("10.244.2.0/24"), ProviderAddress: a("10.0.0.4")},
		{Prefix: p("fd00::/64"), ProviderAddress: a("fd00::3")},
	}
	orig := slices.Clone(in)
	n := sourcevip.NewOverlay(nodeIP, sourceVIP, hostMAC, in[:2:3])
	if diff := cmp.Diff(orig, in, equateNetip); diff != "" {
		t.Fatalf("NewOverlay changed its input (-before +after):\n%s", diff)
	}

	// The caller reuses its slice.
	in[0] = sourcevip.Subnet{Prefix: p("10.244.9.0/24"), ProviderAddress: a("10.0.0.9")}
	in[1].ProviderAddress = a("10.0.0.99")
	_ = append(in[:2:3], sourcevip.Subnet{Prefix: p("10.244.3.0/24"), ProviderAddress: a("10.0.0.5")})
	in[2] = sourcevip.Subnet{Prefix: p("10.0.0.0/8"), ProviderAddress: a("10.0.0.8")}

	checks := []struct {
		ip    netip.Addr
		pa    netip.Addr
		found bool
	}{
		{a("10.244.1.5"), a("10.0.0.3"), true},
		{a("10.244.2.5"), a("10.0.0.4"), true},
		{a("10.244.9.5"), nodeIP, false},
		{a("10.244.3.5"), nodeIP, false},
		{a("10.0.0.99"), nodeIP, false},
		{a("10.0.0.9"), nodeIP, false},
	}
	for _, c := range checks {
		pa, found := n.ProviderAddress(c.ip)
		if pa != c.pa || found != c.found {
			t.Errorf("after changing the input, ProviderAddress(%v) = (%v, %v), want (%v, %v)", c.ip, pa, found, c.pa, c.found)
		}
	}
}

func TestAccessors(t *testing.T) {
	o := overlay()
	if !o.Overlay() || o.NodeIP() != nodeIP {
		t.Errorf("overlay: Overlay() = %v, NodeIP() = %v; want true, %v", o.Overlay(), o.NodeIP(), nodeIP)
	}
	l := sourcevip.NewL2Bridge(nodeIP)
	if l.Overlay() || l.NodeIP() != nodeIP {
		t.Errorf("L2Bridge: Overlay() = %v, NodeIP() = %v; want false, %v", l.Overlay(), l.NodeIP(), nodeIP)
	}
	var z sourcevip.Network
	if z.Overlay() || z.NodeIP().IsValid() {
		t.Errorf("zero Network: Overlay() = %v, NodeIP() = %v; want false, invalid IP", z.Overlay(), z.NodeIP())
	}
}

func TestRemoteMAC(t *testing.T) {
	tests := []struct {
		ip   netip.Addr
		want string
	}{
		{a("10.244.2.7"), "02-11-0a-f4-02-07"},
		{a("0.0.0.0"), "02-11-00-00-00-00"},
		{a("255.255.171.205"), "02-11-ff-ff-ab-cd"},
		// IPv6: bytes 15, 14, 13, 12, as winkernel takes them.
		{a("2001:db8::12:3456:789a"), "02-11-9a-78-56-34"},
		{a("fd00::a"), "02-11-0a-00-00-00"},
		{a("fe80::1:2:3%eth0"), "02-11-03-00-02-00"},
		// IPv4-mapped: net.IP.To4 makes it IPv4 in winkernel.
		{a("::ffff:10.244.2.7"), "02-11-0a-f4-02-07"},
		{netip.Addr{}, "02-11-11-11-11-11"},
	}
	for _, tt := range tests {
		if got := sourcevip.RemoteMAC(tt.ip); got != tt.want {
			t.Errorf("RemoteMAC(%v) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestRemoteMACAllocs(t *testing.T) {
	ip := a("10.244.2.7")
	// The returned string is the only allocation.
	if n := testing.AllocsPerRun(100, func() { _ = sourcevip.RemoteMAC(ip) }); n > 1 {
		t.Errorf("RemoteMAC allocates %v times, want at most 1", n)
	}
}

func TestEndpoints(t *testing.T) {
	o := overlay()
	l2 := sourcevip.NewL2Bridge(nodeIP)
	tests := []struct {
		name string
		got  sourcevip.Endpoint
		want sourcevip.Endpoint
	}{{
		name: "Overlay remote endpoint in a remote subnet",
		got:  o.RemoteEndpoint(a("10.244.2.7")),
		want: sourcevip.Endpoint{IP: a("10.244.2.7"), Remote: true, MACAddress: "02-11-0a-f4-02-07", ProviderAddress: a("10.0.0.4")},
	}, {
		name: "Overlay remote endpoint for a remote node's IP",
		got:  o.RemoteEndpoint(a("10.0.0.3")),
		want: sourcevip.Endpoint{IP: a("10.0.0.3"), Remote: true, MACAddress: "02-11-0a-00-00-03", ProviderAddress: a("10.0.0.3")},
	}, {
		name: "Overlay remote endpoint outside every subnet: PA is the node IP",
		got:  o.RemoteEndpoint(a("203.0.113.9")),
		want: sourcevip.Endpoint{IP: a("203.0.113.9"), Remote: true, MACAddress: "02-11-cb-00-71-09", ProviderAddress: nodeIP},
	}, {
		name: "L2Bridge remote endpoint has no PA",
		got:  l2.RemoteEndpoint(a("10.244.2.7")),
		want: sourcevip.Endpoint{IP: a("10.244.2.7"), Remote: true, MACAddress: "02-11-0a-f4-02-07"},
	}, {
		name: "Overlay ClusterIP endpoint",
		got:  o.ClusterIPEndpoint(a("10.96.0.10")),
		want: sourcevip.Endpoint{IP: a("10.96.0.10"), Remote: true, MACAddress: hostMAC, ProviderAddress: nodeIP},
	}, {
		name: "L2Bridge ClusterIP endpoint: zero",
		got:  l2.ClusterIPEndpoint(a("10.96.0.10")),
		want: sourcevip.Endpoint{},
	}, {
		name: "Overlay source-VIP endpoint",
		got:  o.SourceVIPEndpoint(),
		want: sourcevip.Endpoint{IP: sourceVIP, Remote: false, MACAddress: hostMAC},
	}, {
		name: "L2Bridge source-VIP endpoint: zero",
		got:  l2.SourceVIPEndpoint(),
		want: sourcevip.Endpoint{},
	}, {
		name: "zero Network: source-VIP endpoint zero",
		got:  (&sourcevip.Network{}).SourceVIPEndpoint(),
		want: sourcevip.Endpoint{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got, equateNetip); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendRemoteEndpointsMatchesRemoteEndpoint(t *testing.T) {
	n := sourcevip.NewOverlay(netip.MustParseAddr("10.0.0.4"), netip.MustParseAddr("10.244.1.2"), "00-15-5d-00-00-01",
		[]sourcevip.Subnet{{Prefix: netip.MustParsePrefix("10.244.2.0/24"), ProviderAddress: netip.MustParseAddr("10.0.0.5")}})
	ips := []netip.Addr{netip.MustParseAddr("10.244.2.7"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("fd00::1:2:3:4"), {}}
	got := n.AppendRemoteEndpoints(nil, ips)
	for i, ip := range ips {
		if want := n.RemoteEndpoint(ip); got[i] != want {
			t.Errorf("RemoteEndpoints[%d] = %+v, want %+v", i, got[i], want)
		}
	}
	if len(n.AppendRemoteEndpoints(nil, nil)) != 0 {
		t.Error("AppendRemoteEndpoints(nil, nil) not empty")
	}
}
