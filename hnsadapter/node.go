package hnsadapter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// NodeOptions are the parts of an lbpolicy.Node that neither the
// Kubernetes Node nor the HNS network says: kube-proxy takes them from its
// flags and config. Each field is the lbpolicy.Node field of that name.
type NodeOptions struct {
	// SourceVIPs: the overlay source VIPs, one per family; required on
	// Overlay (kube-proxy's --source-vip).
	SourceVIPs []string
	// HostMAC: the MAC of the node's HNS host vNIC; required on Overlay.
	HostMAC string
	// EnableDSR: direct server return (kube-proxy's --enable-dsr).
	EnableDSR bool
	// ForwardHealthCheckVIP: a HealthCheck load balancer per ingress IP
	// (kube-proxy's --forward-healthcheck-vip).
	ForwardHealthCheckVIP bool
	// HealthzPort: kube-proxy's health port; 0 means 10256.
	HealthzPort int32
	// RootEndpointName: the host's HNS endpoint; "" means "cbr0".
	RootEndpointName string
	// IPFamilies to plan, primary first; nil means the node IPs' families.
	IPFamilies []lbpolicy.IPFamily
	// PreferSameTrafficDistribution: nil means true.
	PreferSameTrafficDistribution *bool
}

// NetworkTypeError is an HNS network of a type hnslb does not plan for
// (it plans Overlay and L2Bridge networks, as kube-proxy's winkernel
// proxier does).
type NetworkTypeError struct {
	// Network is the HNS network's name.
	Network string
	// Type is its HNS type, e.g. "NAT".
	Type string
}

func (e *NetworkTypeError) Error() string {
	return fmt.Sprintf("hnsadapter: HNS network %q is of type %q: hnslb plans Overlay and L2Bridge networks only", e.Network, e.Type)
}

// NodeFor returns the lbpolicy.Node for node, a Kubernetes Node, whose pod
// network is the HNS network networkName, validated:
//   - Name is node's name; Zone its topology.kubernetes.io/zone label;
//   - NodeIPs are node's addresses as kube-proxy picks them: its first
//     InternalIP (else ExternalIP) address, then the first address of the
//     other family, InternalIP first again;
//   - NetworkName is networkName, and NetworkType the network's type
//     (Overlay or L2Bridge; another is a *NetworkTypeError);
//   - RemoteSubnets (Overlay) are the network's RemoteSubnetRoute
//     policies, sorted by prefix, so that equal networks give equal Nodes;
//   - HNSVersion is what c.Version reports, so that the plan is made for
//     the HNS that will hold it;
//   - the rest comes from opts.
//
// It makes two calls: c.GetNetworkByName and c.Version. A failed call is
// returned wrapped (hns.IsNotFound holds when the CNI has not created the
// network yet: retry later). A Node that does not validate (say, an
// Overlay network without opts.SourceVIPs) is an error wrapping
// lbpolicy.ErrInvalidNode and its *lbpolicy.FieldError values.
//
// Remote subnets change whenever a node joins or leaves the cluster:
// call NodeFor again then, and give the Tracker the new Node.
func NodeFor(ctx context.Context, c hns.Client, networkName string, node *corev1.Node, opts NodeOptions) (lbpolicy.Node, error) {
	if node == nil {
		return lbpolicy.Node{}, errors.New("hnsadapter: NodeFor: nil Node")
	}
	fail := func(format string, args ...any) (lbpolicy.Node, error) {
		return lbpolicy.Node{}, fmt.Errorf("hnsadapter: node for Node %q: "+format, append([]any{node.Name}, args...)...)
	}
	nw, err := c.GetNetworkByName(ctx, networkName)
	if err != nil {
		return fail("looking up HNS network %q: %w", networkName, err)
	}
	if nw == nil {
		return fail("looking up HNS network %q: no network returned", networkName)
	}
	n := lbpolicy.Node{
		Name:                          node.Name,
		Zone:                          node.Labels[corev1.LabelTopologyZone],
		NodeIPs:                       nodeIPs(node.Status.Addresses),
		NetworkName:                   networkName,
		SourceVIPs:                    slices.Clone(opts.SourceVIPs),
		HostMAC:                       opts.HostMAC,
		EnableDSR:                     opts.EnableDSR,
		ForwardHealthCheckVIP:         opts.ForwardHealthCheckVIP,
		HealthzPort:                   opts.HealthzPort,
		RootEndpointName:              opts.RootEndpointName,
		IPFamilies:                    slices.Clone(opts.IPFamilies),
		PreferSameTrafficDistribution: opts.PreferSameTrafficDistribution,
	}
	switch {
	case strings.EqualFold(nw.Type, string(lbpolicy.Overlay)):
		n.NetworkType = lbpolicy.Overlay
		if n.RemoteSubnets, err = remoteSubnets(nw); err != nil {
			return fail("%w", err)
		}
	case strings.EqualFold(nw.Type, string(lbpolicy.L2Bridge)):
		n.NetworkType = lbpolicy.L2Bridge
	default:
		return fail("%w", &NetworkTypeError{Network: networkName, Type: nw.Type})
	}
	v, err := c.Version(ctx)
	if err != nil {
		return fail("querying the HNS version: %w", err)
	}
	n.HNSVersion = v.String()
	if err := n.Validate(); err != nil {
		return fail("%w", err)
	}
	return n, nil
}

// nodeIPs picks a node's IPs as kube-proxy does (k8s.io/component-helpers
// GetNodeHostIPs): InternalIP addresses before ExternalIP ones, the first
// address, then the first of the other family. Unparsable addresses are
// skipped.
func nodeIPs(addrs []corev1.NodeAddress) []string {
	var all []netip.Addr
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP} {
		for _, a := range addrs {
			if a.Type != t {
				continue
			}
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				all = append(all, ip.Unmap())
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	out := []string{all[0].String()}
	for _, ip := range all[1:] {
		if ip.Is4() != all[0].Is4() {
			return append(out, ip.String())
		}
	}
	return out
}

// remoteSubnets returns nw's RemoteSubnetRoute policies as the Node's
// RemoteSubnets, sorted.
func remoteSubnets(nw *hns.HostComputeNetwork) ([]lbpolicy.RemoteSubnet, error) {
	routes, err := nw.RemoteSubnetRoutes()
	if err != nil {
		return nil, err
	}
	var out []lbpolicy.RemoteSubnet
	for _, r := range routes {
		out = append(out, lbpolicy.RemoteSubnet{DestinationPrefix: r.DestinationPrefix, ProviderAddress: r.ProviderAddress})
	}
	slices.SortFunc(out, func(a, b lbpolicy.RemoteSubnet) int {
		return cmp.Or(strings.Compare(a.DestinationPrefix, b.DestinationPrefix), strings.Compare(a.ProviderAddress, b.ProviderAddress))
	})
	return out, nil
}
