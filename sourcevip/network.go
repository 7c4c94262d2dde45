package sourcevip

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
)

// NewOverlay returns an Overlay network of nodeIP's address family.
//
// sourceVIP is the family's configured source VIP (the address of the local
// HNS endpoint HNS SNATs to), hostMAC the MAC of the node's host vNIC,
// already normalized to HNS's lower-case dashed form, and subnets the
// network's RemoteSubnetRoute policies: one pod subnet per remote node and
// that node's provider address.
//
// NewOverlay copies what it needs from subnets: the caller may reuse or
// modify the slice afterwards. A subnet is ignored when its prefix is
// invalid, of the other address family than nodeIP, or its provider address
// is invalid. Host bits of a prefix are masked off. The order of subnets
// never matters.
//
// The subnets are indexed for lookups that cost one map access per distinct
// prefix length, so planning many backends against thousands of remote
// subnets stays cheap.
func NewOverlay(nodeIP, sourceVIP netip.Addr, hostMAC string, subnets []Subnet) *Network {
	n := &Network{
		overlay:   true,
		nodeIP:    nodeIP,
		sourceVIP: sourceVIP,
		hostMAC:   hostMAC,
	}
	// Provider addresses are mostly of the node's family.
	if nodeIP.Is4() {
		n.providers, n.providers4 = map[netip.Addr]struct{}{}, make(map[uint32]struct{}, len(subnets))
		n.byPrefix4 = make(map[uint64]netip.Addr, len(subnets))
	} else {
		n.providers, n.providers4 = make(map[netip.Addr]struct{}, len(subnets)), map[uint32]struct{}{}
		n.byPrefix = make(map[netip.Prefix]netip.Addr, len(subnets))
	}
	for _, s := range subnets {
		if !s.Prefix.IsValid() || !s.ProviderAddress.IsValid() || s.Prefix.Addr().BitLen() != nodeIP.BitLen() {
			continue
		}
		if pa := s.ProviderAddress; pa.Is4() {
			n.providers4[uint32Of(pa)] = struct{}{}
		} else {
			n.providers[pa] = struct{}{}
		}
		p := s.Prefix.Masked()
		var added bool
		if nodeIP.Is4() {
			added = addSubnet(n.byPrefix4, prefix4Key(uint32Of(p.Addr()), p.Bits()), s.ProviderAddress)
		} else {
			added = addSubnet(n.byPrefix, p, s.ProviderAddress)
		}
		if added && !slices.Contains(n.lengths, p.Bits()) {
			n.lengths = append(n.lengths, p.Bits())
		}
	}
	slices.Sort(n.lengths)
	slices.Reverse(n.lengths)
	for pa := range n.providers4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], pa)
		_, in := n.containing(netip.AddrFrom4(b))
		n.providerInSubnet = n.providerInSubnet || in
	}
	for pa := range n.providers {
		_, in := n.containing(pa)
		n.providerInSubnet = n.providerInSubnet || in
	}
	return n
}

// addSubnet maps a subnet's key to pa and reports whether the key is new.
// Of equal prefixes it keeps the lowest provider address, so the result
// never depends on the order of the input.
func addSubnet[K comparable](m map[K]netip.Addr, k K, pa netip.Addr) bool {
	old, dup := m[k]
	if !dup || pa.Less(old) {
		m[k] = pa
	}
	return !dup
}

// uint32Of returns an IPv4 address as an integer.
func uint32Of(ip netip.Addr) uint32 {
	a := ip.As4()
	return binary.BigEndian.Uint32(a[:])
}

// prefix4Key is the byPrefix4 key of the IPv4 prefix of length bits
// that holds ip.
func prefix4Key(ip uint32, bits int) uint64 {
	masked := ip &^ (^uint32(0) >> bits) // a shift by 32 gives 0
	return uint64(masked)<<8 | uint64(bits)
}

// NewL2Bridge returns an L2Bridge network for nodeIP's address family.
// L2Bridge networks have no source VIP, no remote subnets and no provider
// addresses: pods are reachable on the underlay directly.
func NewL2Bridge(nodeIP netip.Addr) *Network {
	return &Network{nodeIP: nodeIP}
}

// Overlay reports whether n is an Overlay network.
func (n *Network) Overlay() bool { return n.overlay }

// NodeIP returns the node's IP in this family.
func (n *Network) NodeIP() netip.Addr { return n.nodeIP }

// ForcesNodeIP reports whether a remote (non-local) backend makes its load
// balancer use the node IP as SourceVIP instead of the source VIP.
//
// On an Overlay network that is the case when the backend is another node's
// IP (it equals some remote subnet's provider address: a hostNetwork pod, for
// example) or lies outside every remote subnet (an external IP). Traffic to
// such a backend leaves through the underlay, where the source VIP, an
// address of the overlay, is not routable (KEP-5100 rules a–c). Callers pass
// only non-local backends: a local backend never forces the node IP.
//
// On an L2Bridge network ForcesNodeIP is always false.
func (n *Network) ForcesNodeIP(remoteBackend netip.Addr) bool {
	if !n.overlay {
		return false
	}
	// Most backends are pods in a remote subnet, which no provider
	// address is in: one look-up.
	if _, inSubnet := n.containing(remoteBackend); !inSubnet {
		return true
	}
	return n.providerInSubnet && n.isProvider(remoteBackend)
}

// SourceVIP returns the SourceVIP of a load balancer whose remote (non-local)
// backends are given.
//
// On an L2Bridge network it is the zero Addr, which marshals as "": winkernel
// sends an empty SourceVIP there, whatever its comment says. On an Overlay
// network it is the node IP when any remote backend ForcesNodeIP, else the
// configured source VIP; with no remote backend at all (every backend is
// local) it is the source VIP.
//
// Differs from winkernel: winkernel decides once per service port, over the
// backends of all its load balancers, so a local-only load balancer
// (externalTrafficPolicy: Local) can get the node IP because of a backend it
// does not even use. hnslb decides per load balancer, over that load
// balancer's own backends.
func (n *Network) SourceVIP(remoteBackends []netip.Addr) netip.Addr {
	if !n.overlay {
		return netip.Addr{}
	}
	for _, ip := range remoteBackends {
		if n.ForcesNodeIP(ip) {
			return n.nodeIP
		}
	}
	return n.sourceVIP
}

// ProviderAddress returns the provider address of a remote backend on an
// Overlay network: the underlay address of the node that hosts it, which HNS
// needs on the backend's remote endpoint.
//
// If ip equals some remote subnet's provider address, it is that node's own
// IP and the result is (ip, true). Otherwise the result is the provider
// address of the remote subnet containing ip; when several do, the longest
// prefix wins, and among equal prefixes the lowest provider address, so the
// result never depends on the order of the subnets. When nothing matches the
// result is (node IP, false).
//
// Differs from winkernel: winkernel takes the last matching subnet in the
// network's policy order, so overlapping subnets resolve arbitrarily.
//
// Addresses follow net/netip: an IPv4-mapped IPv6 address is not in an IPv4
// subnet, and an address with an IPv6 zone is in no subnet.
//
// On an L2Bridge network the result is (zero Addr, false).
func (n *Network) ProviderAddress(ip netip.Addr) (pa netip.Addr, found bool) {
	if !n.overlay {
		return netip.Addr{}, false
	}
	if n.isProvider(ip) {
		return ip, true
	}
	if pa, ok := n.containing(ip); ok {
		return pa, true
	}
	return n.nodeIP, false
}

// isProvider reports whether ip is the provider address of a usable
// remote subnet.
func (n *Network) isProvider(ip netip.Addr) bool {
	if ip.Is4() {
		_, ok := n.providers4[uint32Of(ip)]
		return ok
	}
	_, ok := n.providers[ip]
	return ok
}

// containing returns the provider address of the longest remote subnet
// containing ip. It matches exactly where netip.Prefix.Contains does.
func (n *Network) containing(ip netip.Addr) (netip.Addr, bool) {
	if ip.BitLen() != n.nodeIP.BitLen() || ip.Zone() != "" {
		// Prefixes hold only the node's family and never a zone.
		return netip.Addr{}, false
	}
	if ip.Is4() {
		a := uint32Of(ip)
		for _, bits := range n.lengths {
			if pa, ok := n.byPrefix4[prefix4Key(a, bits)]; ok {
				return pa, true
			}
		}
		return netip.Addr{}, false
	}
	for _, bits := range n.lengths {
		p, err := ip.Prefix(bits)
		if err != nil {
			continue // unreachable: lengths fit the family
		}
		if pa, ok := n.byPrefix[p]; ok {
			return pa, true
		}
	}
	return netip.Addr{}, false
}

// RemoteEndpoint returns the HNS remote endpoint for a backend on another
// node: the backend's IP with the RemoteEndpoint flag and the MAC of
// RemoteMAC. On an Overlay network it carries the backend's ProviderAddress
// (the node IP when no remote subnet matches, as winkernel does); on an
// L2Bridge network the provider address is the zero Addr.
func (n *Network) RemoteEndpoint(ip netip.Addr) Endpoint {
	ep := Endpoint{IP: ip, Remote: true, MACAddress: RemoteMAC(ip)}
	if n.overlay {
		ep.ProviderAddress, _ = n.ProviderAddress(ip)
	}
	return ep
}

// ClusterIPEndpoint returns the Overlay remote endpoint for a ClusterIP:
// winkernel creates one per ClusterIP, with the host's MAC and the node IP as
// provider address, so that the VIP is routable inside the overlay.
//
// L2Bridge networks need no such endpoint and callers must not ask for one;
// if they do, the result is the zero Endpoint.
func (n *Network) ClusterIPEndpoint(vip netip.Addr) Endpoint {
	if !n.overlay {
		return Endpoint{}
	}
	return Endpoint{IP: vip, Remote: true, MACAddress: n.hostMAC, ProviderAddress: n.nodeIP}
}

// SourceVIPEndpoint returns the Overlay local endpoint for the source VIP,
// with the host's MAC: HNS SNATs load-balanced traffic to the address of this
// endpoint, and it must exist before a load balancer names it as SourceVIP.
//
// L2Bridge networks have no source VIP: the result is the zero Endpoint.
func (n *Network) SourceVIPEndpoint() Endpoint {
	if !n.overlay {
		return Endpoint{}
	}
	return Endpoint{IP: n.sourceVIP, MACAddress: n.hostMAC}
}

// invalidMAC is what winkernel's conjureMac returns for an address that is
// neither IPv4 nor IPv6.
const invalidMAC = "02-11-11-11-11-11"

const hexDigits = "0123456789abcdef"

// RemoteMAC returns the MAC HNS remote endpoints get for ip, as winkernel's
// conjureMac("02-11", ip) builds it: "02-11-" and four bytes of the address
// in lower-case hex joined by '-'.
//
// For IPv4 (and, as net.IP.To4 treats it, IPv4-mapped IPv6) the bytes are the
// four octets in order: 10.244.2.7 ⇒ "02-11-0a-f4-02-07". For IPv6 they are
// the last four bytes in reverse order (bytes 15, 14, 13, 12), as winkernel
// takes them. An invalid address gives "02-11-11-11-11-11".
func RemoteMAC(ip netip.Addr) string {
	var buf [len(invalidMAC)]byte
	return string(appendRemoteMAC(buf[:0], ip))
}

// appendRemoteMAC appends RemoteMAC(ip) to dst.
func appendRemoteMAC(dst []byte, ip netip.Addr) []byte {
	a := ip.As16() // zero for an invalid address; not used then
	var b [4]byte
	switch {
	case ip.Is4() || ip.Is4In6():
		b = [4]byte{a[12], a[13], a[14], a[15]}
	case ip.Is6():
		b = [4]byte{a[15], a[14], a[13], a[12]}
	default:
		return append(dst, invalidMAC...)
	}
	dst = append(dst, '0', '2', '-', '1', '1')
	for _, o := range b {
		dst = append(dst, '-', hexDigits[o>>4], hexDigits[o&0x0f])
	}
	return dst
}

// AppendRemoteEndpoints appends RemoteEndpoint(ip) for each of ips, in
// order, to dst. It is the fast form for whole plans: the MAC strings share
// one allocation.
func (n *Network) AppendRemoteEndpoints(dst []Endpoint, ips []netip.Addr) []Endpoint {
	// A Builder hands over its bytes without the copy string(buf) makes.
	var sb strings.Builder
	sb.Grow(len(ips) * len(invalidMAC))
	var mac [len(invalidMAC)]byte
	for _, ip := range ips {
		sb.Write(appendRemoteMAC(mac[:0], ip))
	}
	macs := sb.String()
	for i, ip := range ips {
		ep := Endpoint{IP: ip, Remote: true, MACAddress: macs[i*len(invalidMAC) : (i+1)*len(invalidMAC)]}
		if n.overlay {
			ep.ProviderAddress, _ = n.ProviderAddress(ip)
		}
		dst = append(dst, ep)
	}
	return dst
}
