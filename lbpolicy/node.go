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

// validate checks n and returns its parsed view. Every problem with a
// field is reported at once, in field order; what needs the fields
// together (the planned families and their networks) is checked after.
func (n Node) validate() (*node, error) {
	var errs fieldErrors
	v := &node{Node: n}
	if strings.TrimSpace(n.Name) == "" {
		errs.add("nodeName", "", "is required")
	}
	v.NetworkType = parseNetworkType(n.NetworkType, &errs)
	nodeIPs, order := parseNodeIPs(n.NodeIPs, &errs, v)
	sourceVIPs := parseSourceVIPs(n.SourceVIPs, &errs)
	if n.HostMAC != "" {
		if mac, ok := normalizeMAC(n.HostMAC); ok {
			v.HostMAC = mac
		} else {
			errs.add("hostMAC", n.HostMAC, `is not a MAC address like "00-15-5d-01-02-03"`)
		}
	} else if v.NetworkType == Overlay {
		errs.add("hostMAC", "", "is required on an Overlay network")
	}
	subnets := parseRemoteSubnets(n.RemoteSubnets, &errs)
	v.applyDefaults(&errs)
	families := order
	if len(n.IPFamilies) > 0 {
		families = parseIPFamilies(n.IPFamilies, nodeIPs, len(n.NodeIPs) > 0, &errs)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidNode, errors.Join(errs...))
	}
	if err := v.planFamilies(families, nodeIPs, sourceVIPs, subnets); err != nil {
		return nil, err
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

// fieldErrors collects a Node's problems, in the order found.
type fieldErrors []error

func (e *fieldErrors) add(field, value, reason string) {
	*e = append(*e, &FieldError{Field: field, Value: value, Reason: reason})
}

func parseNetworkType(t NetworkType, errs *fieldErrors) NetworkType {
	switch {
	case strings.EqualFold(string(t), string(Overlay)):
		return Overlay
	case strings.EqualFold(string(t), string(L2Bridge)):
		return L2Bridge
	}
	errs.add("networkType", string(t), "must be Overlay or L2Bridge")
	return ""
}

// parseNodeIPs returns the node IP of each family, and the families in
// the order given.
//
// A node IP read leniently (leading zeros, IPv4-mapped IPv6; see
// endpoints.ParseAddrNormalized) is accepted, as kube-proxy does, with a
// warning NonCanonicalAddress on the Node in every plan.
func parseNodeIPs(in []string, errs *fieldErrors, v *node) (map[IPFamily]netip.Addr, []IPFamily) {
	nodeIPs := map[IPFamily]netip.Addr{}
	var order []IPFamily
	for i, s := range in {
		a, normalized, err := endpoints.ParseAddrNormalized(s)
		if err != nil {
			errs.add(fmt.Sprintf("nodeIPs[%d]", i), s, "is not an IP address")
			continue
		}
		if normalized {
			v.diagnostics = append(v.diagnostics, Diagnostic{
				Severity: SeverityWarning, Object: "Node " + v.Name, Reason: ReasonNonCanonicalAddress,
				Message: fmt.Sprintf("nodeIPs[%d] %q is read as %s, as kube-proxy does: write it canonically", i, s, a),
			})
		}
		f := familyOf(a)
		if _, dup := nodeIPs[f]; dup {
			errs.add(fmt.Sprintf("nodeIPs[%d]", i), s, "a second "+string(f)+" node IP; give one per family")
			continue
		}
		nodeIPs[f] = a
		order = append(order, f)
	}
	if len(in) == 0 {
		errs.add("nodeIPs", "", "is required: the node's IP, one per family")
	}
	return nodeIPs, order
}

func parseSourceVIPs(in []string, errs *fieldErrors) map[IPFamily]netip.Addr {
	sourceVIPs := map[IPFamily]netip.Addr{}
	for i, s := range in {
		a, err := endpoints.ParseAddr(s)
		if err != nil {
			errs.add(fmt.Sprintf("sourceVIPs[%d]", i), s, "is not an IP address")
			continue
		}
		if _, dup := sourceVIPs[familyOf(a)]; dup {
			errs.add(fmt.Sprintf("sourceVIPs[%d]", i), s, "a second source VIP of its family; give one per family")
			continue
		}
		sourceVIPs[familyOf(a)] = a
	}
	return sourceVIPs
}

func parseRemoteSubnets(in []RemoteSubnet, errs *fieldErrors) []sourcevip.Subnet {
	var subnets []sourcevip.Subnet
	for i, rs := range in {
		p, err := netip.ParsePrefix(strings.TrimSpace(rs.DestinationPrefix))
		if err != nil {
			errs.add(fmt.Sprintf("remoteSubnets[%d].destinationPrefix", i), rs.DestinationPrefix, "is not a CIDR prefix")
			continue
		}
		pa, err := endpoints.ParseAddr(rs.ProviderAddress)
		if err != nil {
			errs.add(fmt.Sprintf("remoteSubnets[%d].providerAddress", i), rs.ProviderAddress, "is not an IP address")
			continue
		}
		subnets = append(subnets, sourcevip.Subnet{Prefix: p.Masked(), ProviderAddress: pa})
	}
	return subnets
}

// applyDefaults sets the health port, root endpoint, HNS version and its
// capabilities, from the Node or their defaults.
func (v *node) applyDefaults(errs *fieldErrors) {
	v.healthzPort = DefaultHealthzPort
	if v.HealthzPort != 0 {
		if v.HealthzPort < 1 || v.HealthzPort > 65535 {
			errs.add("healthzPort", fmt.Sprint(v.HealthzPort), "must be 1-65535")
		} else {
			v.healthzPort = uint16(v.HealthzPort)
		}
	}
	v.rootEndpoint = DefaultRootEndpointName
	if v.RootEndpointName != "" {
		v.rootEndpoint = v.RootEndpointName
	}
	v.version = newestVersion()
	if v.HNSVersion != "" {
		ver, err := ParseVersion(v.HNSVersion)
		if err != nil {
			errs.add("hnsVersion", v.HNSVersion, "want major.minor, e.g. 15.5")
		} else {
			v.version = ver
		}
	}
	v.caps = v.version.Capabilities()
}

// parseIPFamilies returns the families ipFamilies asks for, each of which
// needs a node IP (unless nodeIPs, missing, is reported already).
func parseIPFamilies(in []IPFamily, nodeIPs map[IPFamily]netip.Addr, haveNodeIPs bool, errs *fieldErrors) []IPFamily {
	var families []IPFamily
	seen := map[IPFamily]bool{}
	for i, f := range in {
		switch {
		case f != IPv4 && f != IPv6:
			errs.add(fmt.Sprintf("ipFamilies[%d]", i), string(f), "must be IPv4 or IPv6")
		case seen[f]:
			errs.add(fmt.Sprintf("ipFamilies[%d]", i), string(f), "is listed twice")
		case !nodeIPs[f].IsValid() && haveNodeIPs:
			errs.add(fmt.Sprintf("ipFamilies[%d]", i), string(f), "has no node IP of that family in nodeIPs")
		default:
			seen[f] = true
			families = append(families, f)
		}
	}
	return families
}

// planFamilies sets the families planned, each with its network: Overlay
// plans the primary family only, and IPv6 needs an HNS version that has
// it; both are diagnostics. An Overlay family without a source VIP is an
// invalid node.
func (v *node) planFamilies(families []IPFamily, nodeIPs, sourceVIPs map[IPFamily]netip.Addr, subnets []sourcevip.Subnet) error {
	if v.NetworkType == Overlay && len(families) > 1 {
		v.diagnostics = append(v.diagnostics, Diagnostic{
			Severity: SeverityWarning, Object: "Node " + v.Name, Reason: ReasonOverlaySingleStack,
			Message: fmt.Sprintf("Overlay networks are single-stack: planning %s only, not %s", families[0], families[1]),
		})
		families = families[:1]
	}
	for _, f := range families {
		if f == IPv6 && !v.caps.IPv6 {
			v.diagnostics = append(v.diagnostics, Diagnostic{
				Severity: SeverityError, Object: "Node " + v.Name, Reason: ReasonIPv6Unsupported,
				Message: fmt.Sprintf("HNS %s has no IPv6 load balancers (needs 11.10 or later): IPv6 is not planned", v.version),
			})
			continue
		}
		fam := family{name: f, nodeIP: nodeIPs[f]}
		if v.NetworkType == Overlay {
			svip, ok := sourceVIPs[f]
			if !ok {
				return fmt.Errorf("%w: %w", ErrInvalidNode, v.missingSourceVIP(f))
			}
			fam.network = sourcevip.NewOverlay(fam.nodeIP, svip, v.HostMAC, subnetsOf(subnets, f))
		} else {
			fam.network = sourcevip.NewL2Bridge(fam.nodeIP)
		}
		v.families = append(v.families, fam)
	}
	return nil
}

// missingSourceVIP is the error for an Overlay family f without a source
// VIP: it names a sourceVIPs entry of the other family, if there is one,
// as that is the likely mistake.
func (v *node) missingSourceVIP(f IPFamily) *FieldError {
	for i, s := range v.SourceVIPs {
		if a, err := endpoints.ParseAddr(s); err == nil && familyOf(a) != f {
			return &FieldError{Field: fmt.Sprintf("sourceVIPs[%d]", i), Value: s,
				Reason: fmt.Sprintf("is %s, but the Overlay network plans %s: give an %s source VIP", familyOf(a), f, f)}
		}
	}
	return &FieldError{Field: "sourceVIPs", Reason: "an Overlay network needs a source VIP for " + string(f)}
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
