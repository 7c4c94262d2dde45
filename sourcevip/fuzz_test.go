package sourcevip_test

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/sourcevip"
)

// fuzzDecoder turns fuzz bytes into addresses and prefixes from a small
// space, so that subnets, provider addresses and backends often meet.
type fuzzDecoder struct{ data []byte }

func (d *fuzzDecoder) next() byte {
	if len(d.data) == 0 {
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b
}

// addr reads three bytes: a kind, then the last two bytes of the address.
// Kinds: IPv4 10.h.x.y, IPv6 fd00:h::x:y, IPv4-mapped IPv6, zoned IPv6 and
// the invalid Addr; h is the kind's top three bits.
func (d *fuzzDecoder) addr() netip.Addr {
	kind, x, y := d.next(), d.next(), d.next()
	h := kind >> 5
	switch kind & 7 {
	case 0, 1, 2:
		return netip.AddrFrom4([4]byte{10, h, x, y})
	case 3, 4:
		return netip.AddrFrom16([16]byte{0: 0xfd, 3: h, 14: x, 15: y})
	case 5:
		return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 13: h, 14: x, 15: y})
	case 6:
		return netip.AddrFrom16([16]byte{0: 0xfd, 3: h, 14: x, 15: y}).WithZone("z")
	default:
		return netip.Addr{}
	}
}

// prefix reads an address and a length byte. Lengths one past the family's
// bit length make an invalid Prefix; IPv6 lengths favour the last 16 bits,
// where the addresses differ.
func (d *fuzzDecoder) prefix() netip.Prefix {
	ip, b := d.addr(), int(d.next())
	var bits int
	switch {
	case ip.BitLen() == 32:
		bits = b % 34
	case b&0x80 == 0:
		bits = 112 + b%18
	default:
		bits = b % 130
	}
	return netip.PrefixFrom(ip, bits)
}

// refProviderAddress is ProviderAddress by a linear scan of the subnets, in
// the words of its contract.
func refProviderAddress(nodeIP netip.Addr, subnets []sourcevip.Subnet, ip netip.Addr) (netip.Addr, bool) {
	usable := refUsable(nodeIP, subnets)
	for _, s := range usable {
		if s.ProviderAddress == ip {
			return ip, true
		}
	}
	var best sourcevip.Subnet
	found := false
	for _, s := range usable {
		if !s.Prefix.Contains(ip) {
			continue
		}
		if !found || s.Prefix.Bits() > best.Prefix.Bits() ||
			s.Prefix.Bits() == best.Prefix.Bits() && s.ProviderAddress.Less(best.ProviderAddress) {
			best, found = s, true
		}
	}
	if found {
		return best.ProviderAddress, true
	}
	return nodeIP, false
}

// refForcesNodeIP is ForcesNodeIP on an Overlay by a linear scan.
func refForcesNodeIP(nodeIP netip.Addr, subnets []sourcevip.Subnet, ip netip.Addr) bool {
	inSubnet := false
	for _, s := range refUsable(nodeIP, subnets) {
		if s.ProviderAddress == ip {
			return true
		}
		inSubnet = inSubnet || s.Prefix.Contains(ip)
	}
	return !inSubnet
}

// refUsable returns the subnets NewOverlay keeps.
func refUsable(nodeIP netip.Addr, subnets []sourcevip.Subnet) []sourcevip.Subnet {
	var out []sourcevip.Subnet
	for _, s := range subnets {
		if s.Prefix.IsValid() && s.ProviderAddress.IsValid() && s.Prefix.Addr().BitLen() == nodeIP.BitLen() {
			out = append(out, s)
		}
	}
	return out
}

// conjureMac is winkernel's, verbatim but for the name of the prefix.
func conjureMac(macPrefix string, ip net.IP) string {
	if ip4 := ip.To4(); ip4 != nil {
		a, b, c, d := ip4[0], ip4[1], ip4[2], ip4[3]
		return fmt.Sprintf("%v-%02x-%02x-%02x-%02x", macPrefix, a, b, c, d)
	} else if ip6 := ip.To16(); ip6 != nil {
		a, b, c, d := ip6[15], ip6[14], ip6[13], ip6[12]
		return fmt.Sprintf("%v-%02x-%02x-%02x-%02x", macPrefix, a, b, c, d)
	}
	return "02-11-11-11-11-11"
}

var macPattern = regexp.MustCompile(`^02-11(-[0-9a-f]{2}){4}$`)

// FuzzSourceVIP checks Network against linear-scan references: input
// layout is node IP, source VIP, subnet count, subnets (prefix, length, PA),
// then backends; see fuzzDecoder.
func FuzzSourceVIP(f *testing.F) {
	f.Add([]byte{
		0, 0, 2, 0, 0, 250, // node IP 10.0.0.2, source VIP 10.0.0.250
		2,                    // two subnets
		0, 1, 0, 24, 0, 0, 3, // 10.0.1.0/24 -> 10.0.0.3
		0, 1, 0, 16, 0, 0, 4, // 10.0.1.0/16 -> 10.0.0.4
		0, 1, 5, 0, 0, 3, 0, 2, 5, 3, 9, 9, // backends 10.0.1.5, 10.0.0.3, 10.0.2.5, fd00::909
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &fuzzDecoder{data: data}
		nodeIP, svip := d.addr(), d.addr()
		subnets := make([]sourcevip.Subnet, d.next()%16)
		for i := range subnets {
			subnets[i] = sourcevip.Subnet{Prefix: d.prefix(), ProviderAddress: d.addr()}
		}
		var backends []netip.Addr
		for len(d.data) > 0 && len(backends) < 32 {
			backends = append(backends, d.addr())
		}
		// Also ask about every address the subnets name.
		queries := slices.Clone(backends)
		queries = append(queries, nodeIP, svip, netip.Addr{})
		for _, s := range subnets {
			queries = append(queries, s.ProviderAddress, s.Prefix.Addr(), s.Prefix.Masked().Addr())
		}

		orig := slices.Clone(subnets)
		n := sourcevip.NewOverlay(nodeIP, svip, hostMAC, subnets)
		if diff := cmp.Diff(orig, subnets, equateNetip); diff != "" {
			t.Fatalf("NewOverlay changed its input (-before +after):\n%s", diff)
		}
		// Other orders of the same subnets.
		rev := reversed(subnets)
		rot := append(slices.Clone(subnets[len(subnets)/2:]), subnets[:len(subnets)/2]...)
		others := []*sourcevip.Network{
			sourcevip.NewOverlay(nodeIP, svip, hostMAC, rev),
			sourcevip.NewOverlay(nodeIP, svip, hostMAC, rot),
		}
		l2 := sourcevip.NewL2Bridge(nodeIP)

		for _, ip := range queries {
			pa, found := n.ProviderAddress(ip)
			wantPA, wantFound := refProviderAddress(nodeIP, subnets, ip)
			if pa != wantPA || found != wantFound {
				t.Fatalf("ProviderAddress(%v) = (%v, %v), want (%v, %v); subnets %v", ip, pa, found, wantPA, wantFound, subnets)
			}
			forces := n.ForcesNodeIP(ip)
			if want := refForcesNodeIP(nodeIP, subnets, ip); forces != want {
				t.Fatalf("ForcesNodeIP(%v) = %v, want %v; subnets %v", ip, forces, want, subnets)
			}
			ep := n.RemoteEndpoint(ip)
			if want := (sourcevip.Endpoint{IP: ip, Remote: true, MACAddress: sourcevip.RemoteMAC(ip), ProviderAddress: pa}); ep != want {
				t.Fatalf("RemoteEndpoint(%v) = %+v, want %+v", ip, ep, want)
			}
			for i, o := range others {
				opa, ofound := o.ProviderAddress(ip)
				if opa != pa || ofound != found || o.ForcesNodeIP(ip) != forces || o.RemoteEndpoint(ip) != ep {
					t.Fatalf("order %d: ProviderAddress(%v) = (%v, %v), ForcesNodeIP = %v; in the given order (%v, %v), %v",
						i, ip, opa, ofound, o.ForcesNodeIP(ip), pa, found, forces)
				}
			}

			if pa, found := l2.ProviderAddress(ip); pa.IsValid() || found {
				t.Fatalf("L2Bridge ProviderAddress(%v) = (%v, %v), want (invalid IP, false)", ip, pa, found)
			}
			if l2.ForcesNodeIP(ip) {
				t.Fatalf("L2Bridge ForcesNodeIP(%v) = true", ip)
			}
			if want := (sourcevip.Endpoint{IP: ip, Remote: true, MACAddress: sourcevip.RemoteMAC(ip)}); l2.RemoteEndpoint(ip) != want {
				t.Fatalf("L2Bridge RemoteEndpoint(%v) = %+v, want %+v", ip, l2.RemoteEndpoint(ip), want)
			}

			mac := sourcevip.RemoteMAC(ip)
			if want := conjureMac("02-11", net.IP(ip.AsSlice())); mac != want {
				t.Fatalf("RemoteMAC(%v) = %q, winkernel's conjureMac gives %q", ip, mac, want)
			}
			if !macPattern.MatchString(mac) {
				t.Fatalf("RemoteMAC(%v) = %q, not of the form 02-11-xx-xx-xx-xx", ip, mac)
			}
		}

		got := n.SourceVIP(backends)
		if got != nodeIP && got != svip {
			t.Fatalf("SourceVIP(%v) = %v, neither the node IP %v nor the source VIP %v", backends, got, nodeIP, svip)
		}
		want := svip
		if slices.ContainsFunc(backends, n.ForcesNodeIP) {
			want = nodeIP
		}
		if got != want {
			t.Fatalf("SourceVIP(%v) = %v, want %v", backends, got, want)
		}
		for i, o := range others {
			if o.SourceVIP(backends) != got {
				t.Fatalf("order %d: SourceVIP(%v) = %v, in the given order %v", i, backends, o.SourceVIP(backends), got)
			}
		}
		if got := l2.SourceVIP(backends); got.IsValid() {
			t.Fatalf("L2Bridge SourceVIP(%v) = %v, want invalid IP", backends, got)
		}

		if got, want := n.ClusterIPEndpoint(svip), (sourcevip.Endpoint{IP: svip, Remote: true, MACAddress: hostMAC, ProviderAddress: nodeIP}); got != want {
			t.Fatalf("ClusterIPEndpoint = %+v, want %+v", got, want)
		}
		if got, want := n.SourceVIPEndpoint(), (sourcevip.Endpoint{IP: svip, MACAddress: hostMAC}); got != want {
			t.Fatalf("SourceVIPEndpoint = %+v, want %+v", got, want)
		}
		if l2.ClusterIPEndpoint(svip) != (sourcevip.Endpoint{}) || l2.SourceVIPEndpoint() != (sourcevip.Endpoint{}) {
			t.Fatalf("L2Bridge endpoints not zero: %+v, %+v", l2.ClusterIPEndpoint(svip), l2.SourceVIPEndpoint())
		}
	})
}
