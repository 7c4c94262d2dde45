package sourcevip_test

import (
	"net/netip"
	"testing"

	"github.com/hnslb/hnslb/sourcevip"
)

// benchSubnets returns n remote /24 pod subnets 10.x.y.0/24, node i's
// provider address being 192.168.x.y.
func benchSubnets(n int) []sourcevip.Subnet {
	out := make([]sourcevip.Subnet, n)
	for i := range out {
		x, y := byte(i>>8), byte(i)
		out[i] = sourcevip.Subnet{
			Prefix:          netip.PrefixFrom(netip.AddrFrom4([4]byte{10, x, y, 0}), 24),
			ProviderAddress: netip.AddrFrom4([4]byte{192, 168, x, y}),
		}
	}
	return out
}

// benchBackends returns n backends: mostly pods of the remote subnets, some
// remote node IPs and some external addresses.
func benchBackends(n, subnets int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		s := (i * 7919) % subnets
		x, y := byte(s>>8), byte(s)
		switch i % 10 {
		case 0:
			out[i] = netip.AddrFrom4([4]byte{192, 168, x, y}) // a node's IP
		case 1:
			out[i] = netip.AddrFrom4([4]byte{172, 16, x, y}) // external
		default:
			out[i] = netip.AddrFrom4([4]byte{10, x, y, byte(2 + i%250)})
		}
	}
	return out
}

func BenchmarkProviderAddress(b *testing.B) {
	const nSubnets = 5000
	n := sourcevip.NewOverlay(netip.MustParseAddr("192.168.200.1"), netip.MustParseAddr("10.250.0.2"), "00-15-5d-01-02-03", benchSubnets(nSubnets))
	backends := benchBackends(4096, nSubnets)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		_, _ = n.ProviderAddress(backends[i&4095])
		i++
	}
}

// BenchmarkProviderAddressMixedLengths has subnets of four prefix lengths,
// the worst realistic case: up to four map lookups per miss.
func BenchmarkProviderAddressMixedLengths(b *testing.B) {
	const nSubnets = 5000
	subnets := benchSubnets(nSubnets)
	for i := range subnets {
		subnets[i].Prefix = netip.PrefixFrom(subnets[i].Prefix.Addr(), 24+i%4)
	}
	n := sourcevip.NewOverlay(netip.MustParseAddr("192.168.200.1"), netip.MustParseAddr("10.250.0.2"), "00-15-5d-01-02-03", subnets)
	backends := benchBackends(4096, nSubnets)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		_, _ = n.ProviderAddress(backends[i&4095])
		i++
	}
}

// BenchmarkSourceVIP decides the SourceVIP of one load balancer with 100,000
// remote backends, all in remote subnets (the slow path: every backend is
// looked at).
func BenchmarkSourceVIP(b *testing.B) {
	const nSubnets = 5000
	n := sourcevip.NewOverlay(netip.MustParseAddr("192.168.200.1"), netip.MustParseAddr("10.250.0.2"), "00-15-5d-01-02-03", benchSubnets(nSubnets))
	backends := make([]netip.Addr, 100_000)
	for i := range backends {
		s := i % nSubnets
		backends[i] = netip.AddrFrom4([4]byte{10, byte(s >> 8), byte(s), byte(2 + i%250)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n.SourceVIP(backends) != netip.MustParseAddr("10.250.0.2") {
			b.Fatal("want the source VIP")
		}
	}
}

func BenchmarkNewOverlay(b *testing.B) {
	subnets := benchSubnets(5000)
	b.ReportAllocs()
	for b.Loop() {
		sourcevip.NewOverlay(netip.MustParseAddr("192.168.200.1"), netip.MustParseAddr("10.250.0.2"), "00-15-5d-01-02-03", subnets)
	}
}

func BenchmarkRemoteMAC(b *testing.B) {
	ip := netip.MustParseAddr("10.244.2.7")
	b.ReportAllocs()
	for b.Loop() {
		_ = sourcevip.RemoteMAC(ip)
	}
}

// BenchmarkAppendRemoteEndpoints makes the remote endpoints of 100,000
// backends, as a whole plan of the lbpolicy benchmark does.
func BenchmarkAppendRemoteEndpoints(b *testing.B) {
	const nSubnets = 5000
	n := sourcevip.NewOverlay(netip.MustParseAddr("192.168.200.1"), netip.MustParseAddr("10.250.0.2"), "00-15-5d-01-02-03", benchSubnets(nSubnets))
	ips := make([]netip.Addr, 100_000)
	for i := range ips {
		s := i % nSubnets
		ips[i] = netip.AddrFrom4([4]byte{10, byte(s >> 8), byte(s), byte(2 + i%250)})
	}
	dst := make([]sourcevip.Endpoint, 0, len(ips))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = n.AppendRemoteEndpoints(dst[:0], ips)
	}
}
