package lbpolicy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hnslb/hnslb/endpoints"
	"github.com/hnslb/hnslb/sourcevip"
)

// NetworkType is the HNS network type of the node's pod network.
type NetworkType string

// The network types hnslb plans for.
const (
	Overlay  NetworkType = "Overlay"
	L2Bridge NetworkType = "L2Bridge"
)

// Defaults applied by Validate.
const (
	DefaultHealthzPort      = 10256 // kube-proxy's --healthz-bind-address port
	DefaultRootEndpointName = "cbr0"
)

// Node describes the Windows node a plan is for. It reads from JSON or YAML
// with the tags below (see testdata/nodes for examples). Addresses are
// strings so that Validate can name the field that is wrong.
type Node struct {
	// Name is the Kubernetes node name; endpoints with this nodeName are local.
	Name string `json:"nodeName"`
	// Zone is the node's topology.kubernetes.io/zone label.
	Zone string `json:"zone,omitempty"`
	// NodeIPs are the node's IPs, at most one per family.
	NodeIPs []string `json:"nodeIPs"`
	// NetworkType is Overlay or L2Bridge.
	NetworkType NetworkType `json:"networkType"`
	// NetworkName is the HNS network's name (used by the apply layer).
	NetworkName string `json:"networkName,omitempty"`
	// SourceVIPs are the overlay source VIPs, at most one per family.
	// Required on Overlay for every planned family.
	SourceVIPs []string `json:"sourceVIPs,omitempty"`
	// HostMAC is the MAC of the node's HNS host vNIC ("00-15-5d-…"),
	// required on Overlay.
	HostMAC string `json:"hostMAC,omitempty"`
	// EnableDSR turns on direct server return for ClusterIP load balancers.
	EnableDSR bool `json:"enableDSR"`
	// RemoteSubnets are the other nodes' pod subnets (Overlay), from the
	// HNS network's RemoteSubnetRoute policies.
	RemoteSubnets []RemoteSubnet `json:"remoteSubnets,omitempty"`
	// ForwardHealthCheckVIP adds a HealthCheck load balancer per ingress IP.
	ForwardHealthCheckVIP bool `json:"forwardHealthCheckVIP"`
	// HealthzPort is kube-proxy's health port, for Services without
	// healthCheckNodePort. Default 10256.
	HealthzPort int32 `json:"healthzPort,omitempty"`
	// RootEndpointName is the host's HNS endpoint, backend of HealthCheck
	// load balancers. Default "cbr0".
	RootEndpointName string `json:"rootEndpointName,omitempty"`
	// HNSVersion selects the capability profile ("15.5"). Default: newest.
	HNSVersion string `json:"hnsVersion,omitempty"`
	// IPFamilies to plan, primary first. Default: the families of NodeIPs,
	// in their order.
	IPFamilies []IPFamily `json:"ipFamilies,omitempty"`
	// PreferSameTrafficDistribution enables node topology hints
	// (kube-proxy's feature gate of that name). Default true.
	PreferSameTrafficDistribution *bool `json:"preferSameTrafficDistribution,omitempty"`
}

// RemoteSubnet is one RemoteSubnetRoute policy of an Overlay network.
type RemoteSubnet struct {
	DestinationPrefix string `json:"destinationPrefix"`
	ProviderAddress   string `json:"providerAddress"`
}

// FieldError says which Node field is wrong and why.
type FieldError struct {
	Field  string // JSON path, e.g. "sourceVIPs[1]"
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("node field %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("node field %s %q: %s", e.Field, e.Value, e.Reason)
}

// ErrInvalidNode is wrapped by every error Validate and Compute return for
// a bad Node; errors.As finds the individual *FieldError values.
var ErrInvalidNode = errors.New("invalid node")

// family is the validated, parsed view of one planned address family.
type family struct {
	name    IPFamily
	nodeIP  netip.Addr
	network *sourcevip.Network
}

// node is the validated, parsed view of a Node.
type node struct {
	Node
	version      Version
	caps         Capabilities
	families     []family
	topology     endpoints.Topology
	healthzPort  uint16
	rootEndpoint string
	diagnostics  []Diagnostic
}

// Validate checks n and reports every problem at once. Compute calls it.
func (n Node) Validate() error {
	_, err := n.validate()
	return err
}

func familyOf(a netip.Addr) IPFamily {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

func (n Node) validate() (*node, error) {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Reason: reason})
	}
	v := &node{Node: n}

	if strings.TrimSpace(n.Name) == "" {
		bad("nodeName", "", "is required")
	}
	var nt NetworkType
	switch {
	case strings.EqualFold(string(n.NetworkType), string(Overlay)):
		nt = Overlay
	case strings.EqualFold(string(n.NetworkType), string(L2Bridge)):
		nt = L2Bridge
	default:
		bad("networkType", string(n.NetworkType), "must be Overlay or L2Bridge")
	}
	v.NetworkType = nt

	nodeIPs := map[IPFamily]netip.Addr{}
	var order []IPFamily
	for i, s := range n.NodeIPs {
		a, err := endpoints.ParseAddr(s)
		if err != nil {
			bad(fmt.Sprintf("nodeIPs[%d]", i), s, "is not an IP address")
			continue
		}
		f := familyOf(a)
		if _, dup := nodeIPs[f]; dup {
			bad(fmt.Sprintf("nodeIPs[%d]", i), s, "a second "+string(f)+" node IP; give one per family")
			continue
		}
		nodeIPs[f] = a
		order = append(order, f)
	}
	if len(n.NodeIPs) == 0 {
		bad("nodeIPs", "", "is required: the node's IP, one per family")
	}

	sourceVIPs := map[IPFamily]netip.Addr{}
	for i, s := range n.SourceVIPs {
		a, err := endpoints.ParseAddr(s)
		if err != nil {
			bad(fmt.Sprintf("sourceVIPs[%d]", i), s, "is not an IP address")
			continue
		}
		if _, dup := sourceVIPs[familyOf(a)]; dup {
			bad(fmt.Sprintf("sourceVIPs[%d]", i), s, "a second source VIP of its family; give one per family")
			continue
		}
		sourceVIPs[familyOf(a)] = a
	}

	if n.HostMAC != "" {
		if mac, ok := normalizeMAC(n.HostMAC); ok {
			v.HostMAC = mac
		} else {
			bad("hostMAC", n.HostMAC, `is not a MAC address like "00-15-5d-01-02-03"`)
		}
	} else if nt == Overlay {
		bad("hostMAC", "", "is required on an Overlay network")
	}

	var subnets []sourcevip.Subnet
	for i, rs := range n.RemoteSubnets {
		p, err := netip.ParsePrefix(strings.TrimSpace(rs.DestinationPrefix))
		if err != nil {
			bad(fmt.Sprintf("remoteSubnets[%d].destinationPrefix", i), rs.DestinationPrefix, "is not a CIDR prefix")
			continue
		}
		pa, err := endpoints.ParseAddr(rs.ProviderAddress)
		if err != nil {
			bad(fmt.Sprintf("remoteSubnets[%d].providerAddress", i), rs.ProviderAddress, "is not an IP address")
			continue
		}
		subnets = append(subnets, sourcevip.Subnet{Prefix: p.Masked(), ProviderAddress: pa})
	}

	v.healthzPort = DefaultHealthzPort
	if n.HealthzPort != 0 {
		if n.HealthzPort < 1 || n.HealthzPort > 65535 {
			bad("healthzPort", fmt.Sprint(n.HealthzPort), "must be 1-65535")
		} else {
			v.healthzPort = uint16(n.HealthzPort)
		}
	}
	v.rootEndpoint = DefaultRootEndpointName
	if n.RootEndpointName != "" {
		v.rootEndpoint = n.RootEndpointName
	}

	v.version = newestVersion()
	if n.HNSVersion != "" {
		ver, err := ParseVersion(n.HNSVersion)
		if err != nil {
			bad("hnsVersion", n.HNSVersion, "want major.minor, e.g. 15.5")
		} else {
			v.version = ver
		}
	}
	v.caps = v.version.Capabilities()

	families := order
	if len(n.IPFamilies) > 0 {
		families = nil
		seen := map[IPFamily]bool{}
		for i, f := range n.IPFamilies {
			switch {
			case f != IPv4 && f != IPv6:
				bad(fmt.Sprintf("ipFamilies[%d]", i), string(f), "must be IPv4 or IPv6")
			case seen[f]:
				bad(fmt.Sprintf("ipFamilies[%d]", i), string(f), "is listed twice")
			case !nodeIPs[f].IsValid() && len(n.NodeIPs) > 0:
				bad(fmt.Sprintf("ipFamilies[%d]", i), string(f), "has no node IP of that family in nodeIPs")
			default:
				seen[f] = true
				families = append(families, f)
			}
		}
	}

	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidNode, errors.Join(errs...))
	}

	if nt == Overlay && len(families) > 1 {
		v.diagnostics = append(v.diagnostics, Diagnostic{
			Severity: SeverityWarning, Object: "Node " + n.Name, Reason: ReasonOverlaySingleStack,
			Message: fmt.Sprintf("Overlay networks are single-stack: planning %s only, not %s", families[0], families[1]),
		})
		families = families[:1]
	}
	for _, f := range families {
		if f == IPv6 && !v.caps.IPv6 {
			v.diagnostics = append(v.diagnostics, Diagnostic{
				Severity: SeverityError, Object: "Node " + n.Name, Reason: ReasonIPv6Unsupported,
				Message: fmt.Sprintf("HNS %s has no IPv6 load balancers (needs 11.10 or later): IPv6 is not planned", v.version),
			})
			continue
		}
		fam := family{name: f, nodeIP: nodeIPs[f]}
		if nt == Overlay {
			svip, ok := sourceVIPs[f]
			if !ok {
				return nil, fmt.Errorf("%w: %w", ErrInvalidNode, &FieldError{Field: "sourceVIPs", Reason: "an Overlay network needs a source VIP for " + string(f)})
			}
			fam.network = sourcevip.NewOverlay(fam.nodeIP, svip, v.HostMAC, subnetsOf(subnets, f))
		} else {
			fam.network = sourcevip.NewL2Bridge(fam.nodeIP)
		}
		v.families = append(v.families, fam)
	}
	if n.EnableDSR && !v.caps.DSR {
		v.diagnostics = append(v.diagnostics, Diagnostic{
			Severity: SeverityWarning, Object: "Node " + n.Name, Reason: ReasonDSRUnsupported,
			Message: fmt.Sprintf("enableDSR is set but HNS %s has no DSR (needs 9.3-9.x or 10.2 and later): planned without DSR", v.version),
		})
	}
	v.topology = endpoints.Topology{
		NodeName:       n.Name,
		Zone:           n.Zone,
		PreferSameNode: n.PreferSameTrafficDistribution == nil || *n.PreferSameTrafficDistribution,
	}
	return v, nil
}

func subnetsOf(all []sourcevip.Subnet, f IPFamily) []sourcevip.Subnet {
	var out []sourcevip.Subnet
	for _, s := range all {
		if familyOf(s.Prefix.Addr()) == f {
			out = append(out, s)
		}
	}
	return out
}

// normalizeMAC accepts "00-15-5D-01-02-03" or "00:15:5d:01:02:03" and
// returns HNS's dash form in lower case.
func normalizeMAC(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == ':' })
	if len(parts) != 6 || len(s) != 17 {
		return "", false
	}
	for _, p := range parts {
		if len(p) != 2 || strings.Trim(p, "0123456789abcdef") != "" {
			return "", false
		}
	}
	return strings.Join(parts, "-"), true
}
