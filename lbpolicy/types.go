package lbpolicy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hnslb/hnslb/sourcevip"
)

// Plan is everything HNS should hold for one node: the load balancers, the
// HNS endpoints that must exist for them, and what the computation noticed.
// Its JSON form is the stable schema printed by examples/hnslb-plan -o json.
type Plan struct {
	// LoadBalancers, sorted by Key.
	LoadBalancers []LoadBalancer `json:"loadBalancers"`
	// Endpoints the node must hold beyond the CNI's local pod endpoints,
	// sorted by IP.
	Endpoints []Endpoint `json:"endpoints"`
	// Diagnostics, sorted by object, then reason, then message.
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Endpoint is an HNS endpoint the plan needs; see sourcevip.Endpoint.
type Endpoint = sourcevip.Endpoint

// Kind says which part of a Service a load balancer implements.
type Kind string

// The load-balancer kinds.
const (
	KindClusterIP   Kind = "ClusterIP"
	KindNodePort    Kind = "NodePort"
	KindExternalIP  Kind = "ExternalIP"
	KindIngress     Kind = "Ingress"
	KindHealthCheck Kind = "HealthCheck"
)

// IPFamily is "IPv4" or "IPv6", as in k8s.io/api.
type IPFamily string

// The address families.
const (
	IPv4 IPFamily = "IPv4"
	IPv6 IPFamily = "IPv6"
)

// Protocol is the IANA protocol number HNS takes.
type Protocol uint32

// The protocols HNS load-balances.
const (
	ProtocolTCP Protocol = 6
	ProtocolUDP Protocol = 17
)

// String returns "TCP", "UDP" or the number.
func (p Protocol) String() string {
	switch p {
	case ProtocolTCP:
		return "TCP"
	case ProtocolUDP:
		return "UDP"
	}
	return fmt.Sprintf("%d", uint32(p))
}

// LoadBalancerFlags are HNS's LoadBalancer.Flags bits.
type LoadBalancerFlags uint32

// The load-balancer flag bits, with HNS's values.
const (
	FlagDSR  LoadBalancerFlags = 1 // EnableDirectServerReturn
	FlagIPv6 LoadBalancerFlags = 2 // IPv6
)

// String decodes the flags, e.g. "DSR|IPv6", or "None".
func (f LoadBalancerFlags) String() string {
	return decodeFlags(uint32(f), []flagName{{uint32(FlagDSR), "DSR"}, {uint32(FlagIPv6), "IPv6"}})
}

// PortMappingFlags are HNS's LoadBalancerPortMapping.Flags bits.
type PortMappingFlags uint32

// The port-mapping flag bits, with HNS's values.
const (
	PortMappingILB            PortMappingFlags = 1  // EnableInternalLoadBalancer (never set by hnslb)
	PortMappingLocalRoutedVIP PortMappingFlags = 2  // LocalRoutedVIP
	PortMappingUseMux         PortMappingFlags = 4  // UseMux
	PortMappingPreserveDIP    PortMappingFlags = 8  // PreserveDIP
	PortMappingVipExternalIP  PortMappingFlags = 16 // VipExternalIP
)

// String decodes the flags, e.g. "LocalRoutedVIP|VipExternalIP", or "None".
func (f PortMappingFlags) String() string {
	return decodeFlags(uint32(f), []flagName{
		{uint32(PortMappingILB), "ILB"},
		{uint32(PortMappingLocalRoutedVIP), "LocalRoutedVIP"},
		{uint32(PortMappingUseMux), "UseMux"},
		{uint32(PortMappingPreserveDIP), "PreserveDIP"},
		{uint32(PortMappingVipExternalIP), "VipExternalIP"},
	})
}

// DistributionType is HNS's LoadBalancerDistribution.
type DistributionType uint32

// The distribution types, with HNS's values.
const (
	DistributionNone             DistributionType = 0 // 5-tuple hash
	DistributionSourceIPProtocol DistributionType = 1
	DistributionSourceIP         DistributionType = 2 // session affinity ClientIP
)

// String returns HNS's name for the distribution.
func (d DistributionType) String() string {
	switch d {
	case DistributionNone:
		return "None"
	case DistributionSourceIPProtocol:
		return "SourceIPProtocol"
	case DistributionSourceIP:
		return "SourceIP"
	}
	return fmt.Sprintf("%d", uint32(d))
}

type flagName struct {
	bit  uint32
	name string
}

func decodeFlags(v uint32, names []flagName) string {
	if v == 0 {
		return "None"
	}
	var parts []string
	for _, n := range names {
		if v&n.bit != 0 {
			parts = append(parts, n.name)
			v &^= n.bit
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", v))
	}
	return strings.Join(parts, "|")
}

// Backend is one backend of a load balancer: a pod (or node) IP, or, for a
// HealthCheck load balancer, the host's root endpoint by name. Its text form
// is the IP, or the endpoint name in angle brackets ("<cbr0>").
type Backend struct {
	// IP of the backend; zero when EndpointName is set.
	IP netip.Addr
	// EndpointName names a local HNS endpoint (the root endpoint).
	EndpointName string
}

// String returns the IP, or "<name>" for a named endpoint.
func (b Backend) String() string {
	if b.EndpointName != "" {
		return "<" + b.EndpointName + ">"
	}
	return b.IP.String()
}

// MarshalText implements encoding.TextMarshaler.
func (b Backend) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Backend) UnmarshalText(text []byte) error {
	s := string(text)
	if len(s) > 2 && s[0] == '<' && s[len(s)-1] == '>' {
		*b = Backend{EndpointName: s[1 : len(s)-1]}
		return nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return fmt.Errorf("backend %q is neither an IP nor <endpoint-name>: %w", s, err)
	}
	*b = Backend{IP: ip}
	return nil
}

func compareBackends(a, b Backend) int {
	if c := a.IP.Compare(b.IP); c != 0 {
		return c
	}
	return strings.Compare(a.EndpointName, b.EndpointName)
}

// LoadBalancer is one HNS load balancer as it should exist: one frontend
// (VIP, protocol, external port) in one family, and its backends.
type LoadBalancer struct {
	// Service is the owning Service as "namespace/name".
	Service string `json:"service"`
	// Port is the Service port's name ("" for an unnamed port and for
	// HealthCheck load balancers, which serve the whole Service).
	Port string `json:"port"`
	// Kind is the part of the Service this load balancer implements.
	Kind Kind `json:"kind"`
	// IPFamily of the frontend and the backends.
	IPFamily IPFamily `json:"ipFamily"`
	// FrontendVIPs holds the one frontend VIP, or none for NodePort (HNS
	// then answers on every node IP).
	FrontendVIPs []netip.Addr `json:"frontendVIPs"`
	// Protocol is TCP (6) or UDP (17).
	Protocol Protocol `json:"protocol"`
	// InternalPort is the port the backends listen on.
	InternalPort uint16 `json:"internalPort"`
	// ExternalPort is the frontend port.
	ExternalPort uint16 `json:"externalPort"`
	// Flags are the load balancer's HNS flags.
	Flags LoadBalancerFlags `json:"flags"`
	// PortMappingFlags are the port mapping's HNS flags.
	PortMappingFlags PortMappingFlags `json:"portMappingFlags"`
	// DistributionType is SourceIP for session affinity ClientIP.
	DistributionType DistributionType `json:"distributionType"`
	// SourceVIP is the SNAT source; zero (JSON "") on L2Bridge.
	SourceVIP netip.Addr `json:"sourceVIP"`
	// Backends, sorted by address; never empty.
	Backends []Backend `json:"backends"`
}

// equalContent reports whether a and b would be the same HNS object: every
// field but the owner (Service and Port), which HNS does not hold. It is
// the one list of a load balancer's content fields; equalLoadBalancers adds
// the owner, and TestLoadBalancerEquality checks that every field is in one
// of them.
func equalContent(a, b *LoadBalancer) bool {
	return a.Kind == b.Kind && a.IPFamily == b.IPFamily && slices.Equal(a.FrontendVIPs, b.FrontendVIPs) &&
		a.Protocol == b.Protocol && a.InternalPort == b.InternalPort && a.ExternalPort == b.ExternalPort &&
		a.Flags == b.Flags && a.PortMappingFlags == b.PortMappingFlags && a.DistributionType == b.DistributionType &&
		a.SourceVIP == b.SourceVIP && equalBackends(a.Backends, b.Backends)
}

// equalBackends is slices.Equal for backends, written out: its generic
// form calls a comparison function per backend, which costs more than the
// comparison (the name is nearly always empty).
func equalBackends(a, b []Backend) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IP != b[i].IP || a[i].EndpointName != b[i].EndpointName {
			return false
		}
	}
	return true
}

// equalLoadBalancers compares every field, the owner included: what Changes
// and Diff call an update.
func equalLoadBalancers(a, b *LoadBalancer) bool {
	return a == b || a.Service == b.Service && a.Port == b.Port && equalContent(a, b)
}

// Key identifies a load balancer in HNS: two load balancers with the same
// key cannot coexist, and a change to anything else is an update in place.
type Key struct {
	Family IPFamily
	// VIP is the frontend VIP, zero for NodePort.
	VIP      netip.Addr
	Protocol Protocol
	Port     uint16
}

// Key returns the load balancer's identity key.
func (lb *LoadBalancer) Key() Key {
	k := Key{Family: lb.IPFamily, Protocol: lb.Protocol, Port: lb.ExternalPort}
	if len(lb.FrontendVIPs) > 0 {
		k.VIP = lb.FrontendVIPs[0]
	}
	return k
}

// String renders the key as "IPv4/10.96.0.10/TCP/80" ("*" for no VIP).
func (k Key) String() string {
	var buf [64]byte
	return string(k.append(buf[:0]))
}

// append appends k.String() to b.
func (k Key) append(b []byte) []byte {
	b = append(b, k.Family...)
	b = append(b, '/')
	if k.VIP.IsValid() {
		b = k.VIP.AppendTo(b)
	} else {
		b = append(b, '*')
	}
	b = append(b, '/')
	switch k.Protocol {
	case ProtocolTCP, ProtocolUDP:
		b = append(b, k.Protocol.String()...)
	default:
		b = strconv.AppendUint(b, uint64(k.Protocol), 10)
	}
	b = append(b, '/')
	return strconv.AppendUint(b, uint64(k.Port), 10)
}

// Compare orders keys: IPv4 before IPv6, then by VIP (none first), protocol
// and port. Plans are sorted in this order.
func (k Key) Compare(o Key) int {
	if c := strings.Compare(string(k.Family), string(o.Family)); c != 0 {
		return c
	}
	if c := k.VIP.Compare(o.VIP); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Protocol, o.Protocol); c != 0 {
		return c
	}
	return cmp.Compare(k.Port, o.Port)
}
