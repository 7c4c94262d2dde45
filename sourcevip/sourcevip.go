package sourcevip

import (
	"net/netip"
)

// Subnet is a remote node's pod subnet on an Overlay network, as HNS holds it
// in the network's RemoteSubnetRoute policies.
type Subnet struct {
	// Prefix is the remote node's pod subnet (DestinationPrefix).
	Prefix netip.Prefix
	// ProviderAddress is the remote node's IP on the underlay.
	ProviderAddress netip.Addr
}

// Network describes this node's HNS network in one address family.
// Build it with NewNetwork; the zero value is an L2Bridge network with no
// addresses.
type Network struct {
	overlay   bool
	nodeIP    netip.Addr
	sourceVIP netip.Addr
	hostMAC   string
	subnets   []Subnet // longest prefix first, then by prefix, for lookups
}

// Endpoint is an HNS endpoint the plan needs HNS to hold: a remote endpoint
// for a backend on another node, an Overlay ClusterIP endpoint, or the
// Overlay source-VIP endpoint. Local pod endpoints never appear here: they
// belong to the CNI.
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
