package endpoints

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// Endpoint is one backend of one service port in one address family, as
// kube-proxy sees it after merging the Service's EndpointSlices.
type Endpoint struct {
	// Addr is the endpoint's first address, in the slice's family.
	Addr netip.Addr
	// Port is the endpoint port from the slice (not the Service's
	// targetPort: slices are authoritative).
	Port int32
	// NodeName is the endpoint's nodeName, "" when unset.
	NodeName string
	// Local is true when NodeName equals this node's name (both non-empty).
	Local bool

	Ready       bool // Ready == nil || *Ready
	Serving     bool // Serving == nil || *Serving
	Terminating bool // Terminating != nil && *Terminating

	// Hints are the slice's topology hints for this endpoint, shared with
	// the input object: read them, never modify them.
	Hints *discovery.EndpointHints
}

// PortKey names a service port the way EndpointSlices do: by port name
// (empty for a Service's single unnamed port) and protocol.
type PortKey struct {
	Name     string
	Protocol corev1.Protocol
}

// Ports holds the merged endpoints of one Service in one family, per port.
// Each list is sorted by address, then port.
type Ports map[PortKey][]Endpoint

// Topology describes this node for topology-aware routing.
type Topology struct {
	// NodeName is the node's name, matched against node hints. Empty
	// disables node filtering.
	NodeName string
	// Zone is the node's topology.kubernetes.io/zone label, matched
	// against zone hints. Empty disables zone filtering.
	Zone string
	// PreferSameNode enables node hints (kube-proxy's
	// PreferSameTrafficDistribution feature gate).
	PreferSameNode bool
}
