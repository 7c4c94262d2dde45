package sourcevip

import (
	"net/netip"
)

// Subnet is a remote node's pod subnet on an Overlay network, as HNS holds it
// in the network's RemoteSubnetRoute policies.
type Subnet struct {
	// Prefix is the remote node's pod subnet (DestinationPrefix). Host bits
	// are ignored: 10.244.2.7/24 means 10.244.2.0/24.
	Prefix netip.Prefix
	// ProviderAddress is the remote node's IP on the underlay.
	ProviderAddress netip.Addr
}

// Network describes this node's HNS network in one address family.
// Build it with NewOverlay or NewL2Bridge. The zero value is an L2Bridge
// network with no addresses.
//
// A Network is never modified after construction, so it is safe for
// concurrent use.
type Network struct {
	overlay   bool
	nodeIP    netip.Addr
	sourceVIP netip.Addr
	hostMAC   string

	// providers holds the provider addresses of the usable remote subnets:
	// the IPs of the other nodes. The IPv4 ones are in providers4 instead,
	// as integers, which hash several times faster than a netip.Addr.
	providers  map[netip.Addr]struct{}
	providers4 map[uint32]struct{}
	// lengths holds the distinct prefix lengths of the usable remote
	// subnets, longest first; a lookup masks the IP once per length.
	lengths []int
	// byPrefix maps each masked remote subnet to its provider address (the
	// lowest one when several subnets share a prefix). On an IPv4 network
	// byPrefix4 holds them instead, keyed by prefix4Key, for the same
	// reason.
	byPrefix  map[netip.Prefix]netip.Addr
	byPrefix4 map[uint64]netip.Addr
	// providerInSubnet is set when a provider address lies in a remote
	// subnet: only then can a backend in one be a provider address, and
	// ForcesNodeIP need look it up.
	providerInSubnet bool
}

// Endpoint is an HNS endpoint the plan needs HNS to hold: a remote endpoint
// for a backend on another node, an Overlay ClusterIP endpoint, or the
// Overlay source-VIP endpoint. Local pod endpoints never appear here: they
// belong to the CNI.
//
// It marshals to the "endpoints" entries of the planner's JSON (see examples/hnslb-plan);
// a zero address marshals as "".
type Endpoint struct {
	// IP is the endpoint's address.
	IP netip.Addr `json:"ip"`
	// Remote is true for endpoints created with HNS's RemoteEndpoint flag.
	Remote bool `json:"remote"`
	// MACAddress is in HNS's form, lower-case hex joined by '-'.
	MACAddress string `json:"macAddress"`
	// ProviderAddress is the underlay address behind a remote endpoint on an
	// Overlay network (HNS's ProviderAddress policy); "" otherwise.
	ProviderAddress netip.Addr `json:"providerAddress"`
}
