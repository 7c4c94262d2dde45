package sourcevip

import "net/netip"

// NewOverlay returns an Overlay network.
func NewOverlay(nodeIP, sourceVIP netip.Addr, hostMAC string, subnets []Subnet) *Network {
	panic("TODO")
}

// NewL2Bridge returns an L2Bridge network.
func NewL2Bridge(nodeIP netip.Addr) *Network { panic("TODO") }

// Overlay reports whether n is an Overlay network.
func (n *Network) Overlay() bool { panic("TODO") }

// NodeIP returns the node's IP in this family.
func (n *Network) NodeIP() netip.Addr { panic("TODO") }

// ForcesNodeIP reports whether a remote (non-local) backend makes its load balancer use the node IP as SourceVIP.
func (n *Network) ForcesNodeIP(remoteBackend netip.Addr) bool { panic("TODO") }

// SourceVIP returns the SourceVIP of a load balancer whose remote backends are given.
func (n *Network) SourceVIP(remoteBackends []netip.Addr) netip.Addr { panic("TODO") }

// ProviderAddress returns the provider address of a remote backend.
func (n *Network) ProviderAddress(ip netip.Addr) (pa netip.Addr, found bool) { panic("TODO") }

// RemoteEndpoint returns the HNS remote endpoint for a backend on another node.
func (n *Network) RemoteEndpoint(ip netip.Addr) Endpoint { panic("TODO") }

// ClusterIPEndpoint returns the Overlay remote endpoint for a ClusterIP.
func (n *Network) ClusterIPEndpoint(vip netip.Addr) Endpoint { panic("TODO") }

// SourceVIPEndpoint returns the Overlay local endpoint for the source VIP.
func (n *Network) SourceVIPEndpoint() Endpoint { panic("TODO") }

// RemoteMAC returns the MAC HNS remote endpoints get for ip.
func RemoteMAC(ip netip.Addr) string { panic("TODO") }
