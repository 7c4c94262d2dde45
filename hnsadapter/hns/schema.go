package hns

import (
	"encoding/json"
	"fmt"

	"github.com/hnslb/hnslb/lbpolicy"
)

// The types below mirror the HCN v2 schema of github.com/Microsoft/hcsshim/hcn
// field for field, with the same JSON tags, so that a neutral object and its
// hcn counterpart marshal to the same JSON. Only the fields load balancing
// needs are kept.

// SchemaVersion is the HCN schema version; hnslb always sends 2.0.
type SchemaVersion struct {
	Major int `json:"Major"`
	Minor int `json:"Minor"`
}

// V2SchemaVersion is the schema version every object hnslb sends carries.
func V2SchemaVersion() SchemaVersion { return SchemaVersion{Major: 2, Minor: 0} }

// The flag and distribution fields use lbpolicy's types (LoadBalancerFlags,
// PortMappingFlags, DistributionType): they carry HNS's values, so a plan's
// flags go to HNS unchanged.

// LoadBalancerPortMapping mirrors hcn.LoadBalancerPortMapping.
type LoadBalancerPortMapping struct {
	Protocol         uint32                    `json:",omitempty"` // TCP = 6, UDP = 17
	InternalPort     uint16                    `json:",omitempty"`
	ExternalPort     uint16                    `json:",omitempty"`
	DistributionType lbpolicy.DistributionType `json:",omitempty"`
	Flags            lbpolicy.PortMappingFlags `json:",omitempty"`
}

// HostComputeLoadBalancer mirrors hcn.HostComputeLoadBalancer.
type HostComputeLoadBalancer struct {
	Id                   string                     `json:"ID,omitempty"`
	HostComputeEndpoints []string                   `json:",omitempty"`
	SourceVIP            string                     `json:",omitempty"`
	FrontendVIPs         []string                   `json:",omitempty"`
	PortMappings         []LoadBalancerPortMapping  `json:",omitempty"`
	SchemaVersion        SchemaVersion              `json:",omitempty"`
	Flags                lbpolicy.LoadBalancerFlags `json:",omitempty"`
}

// EndpointFlags mirror hcn.EndpointFlags.
type EndpointFlags uint32

// Endpoint flags, with HNS's values.
const (
	EndpointFlagsNone           EndpointFlags = 0
	EndpointFlagsRemoteEndpoint EndpointFlags = 1
)

// EndpointPolicyType mirrors hcn.EndpointPolicyType.
type EndpointPolicyType string

// EndpointPolicyProviderAddress is hcn.NetworkProviderAddress: the
// underlay address of a remote endpoint on an Overlay network.
const EndpointPolicyProviderAddress EndpointPolicyType = "ProviderAddress"

// EndpointPolicy mirrors hcn.EndpointPolicy.
type EndpointPolicy struct {
	Type     EndpointPolicyType `json:""`
	Settings json.RawMessage    `json:",omitempty"`
}

// ProviderAddressEndpointPolicySetting mirrors hcn's setting of that name.
type ProviderAddressEndpointPolicySetting struct {
	ProviderAddress string `json:",omitempty"`
}

// IpConfig mirrors hcn.IpConfig.
type IpConfig struct { //nolint:revive // hcn's name
	IpAddress    string `json:",omitempty"` //nolint:revive // hcn's name
	PrefixLength uint8  `json:",omitempty"`
}

// HostComputeEndpoint mirrors the parts of hcn.HostComputeEndpoint that
// load balancing uses.
type HostComputeEndpoint struct {
	Id                 string           `json:"ID,omitempty"`
	Name               string           `json:",omitempty"`
	HostComputeNetwork string           `json:",omitempty"` // network ID
	Policies           []EndpointPolicy `json:",omitempty"`
	IpConfigurations   []IpConfig       `json:",omitempty"` //nolint:revive // hcn's name
	MacAddress         string           `json:",omitempty"`
	Flags              EndpointFlags    `json:",omitempty"`
	SchemaVersion      SchemaVersion    `json:",omitempty"`
}

// HostComputeNetwork mirrors the parts of hcn.HostComputeNetwork the
// adapter and NodeFor need: its ID, name, type, policies (the Overlay
// network's RemoteSubnetRoute policies among them) and address spaces.
type HostComputeNetwork struct {
	Id            string          `json:"ID,omitempty"`
	Name          string          `json:",omitempty"`
	Type          string          `json:",omitempty"` // "Overlay", "L2Bridge", ...
	Policies      []NetworkPolicy `json:",omitempty"`
	Ipams         []Ipam          `json:",omitempty"`
	SchemaVersion SchemaVersion   `json:",omitempty"`
}

// NetworkPolicyType mirrors hcn.NetworkPolicyType.
type NetworkPolicyType string

// NetworkPolicyRemoteSubnetRoute is hcn.RemoteSubnetRoute: on an Overlay
// network, one per other node, routing that node's pod subnet to its
// underlay address. Its Settings are a RemoteSubnetRoutePolicySetting.
const NetworkPolicyRemoteSubnetRoute NetworkPolicyType = "RemoteSubnetRoute"

// NetworkPolicy mirrors hcn.NetworkPolicy. Settings are kept as HNS wrote
// them; their shape depends on Type.
type NetworkPolicy struct {
	Type     NetworkPolicyType `json:""`
	Settings json.RawMessage   `json:",omitempty"`
}

// RemoteSubnetRoutePolicySetting mirrors hcn's setting of that name.
type RemoteSubnetRoutePolicySetting struct {
	DestinationPrefix           string
	IsolationId                 uint16 //nolint:revive // hcn's name
	ProviderAddress             string
	DistributedRouterMacAddress string
}

// Route mirrors hcn.Route.
type Route struct {
	NextHop           string `json:",omitempty"`
	DestinationPrefix string `json:",omitempty"`
	Metric            uint16 `json:",omitempty"`
}

// Subnet mirrors hcn.Subnet: one address prefix of a network.
type Subnet struct {
	IpAddressPrefix string            `json:",omitempty"` //nolint:revive // hcn's name
	Policies        []json.RawMessage `json:",omitempty"`
	Routes          []Route           `json:",omitempty"`
}

// Ipam mirrors hcn.Ipam: an address space of a network.
type Ipam struct {
	Type    string   `json:",omitempty"` // "Static", "DHCP"
	Subnets []Subnet `json:",omitempty"`
}

// RemoteSubnetRoutes returns the settings of n's RemoteSubnetRoute
// policies, in the order HNS lists them; nil if there are none (an
// L2Bridge network, or an Overlay network on a node alone in its
// cluster). A policy whose Settings are not such a setting is an error
// naming the policy.
func (n *HostComputeNetwork) RemoteSubnetRoutes() ([]RemoteSubnetRoutePolicySetting, error) {
	if n == nil {
		return nil, nil
	}
	var out []RemoteSubnetRoutePolicySetting
	for i, p := range n.Policies {
		if p.Type != NetworkPolicyRemoteSubnetRoute {
			continue
		}
		var s RemoteSubnetRoutePolicySetting
		if err := json.Unmarshal(p.Settings, &s); err != nil {
			return nil, fmt.Errorf("hns: network %q: Policies[%d] (%s): %w", n.Name, i, p.Type, err)
		}
		out = append(out, s)
	}
	return out, nil
}
