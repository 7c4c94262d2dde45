package hnsadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

func k8sNode(name, zone string, addrs ...corev1.NodeAddress) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: addrs}}
	if zone != "" {
		n.Labels = map[string]string{corev1.LabelTopologyZone: zone}
	}
	return n
}

func internalIP(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func externalIP(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: ip}
}

func rsrPolicy(prefix, pa string) hns.NetworkPolicy {
	return hns.NetworkPolicy{Type: hns.NetworkPolicyRemoteSubnetRoute,
		Settings: json.RawMessage(`{"DestinationPrefix":"` + prefix + `","IsolationId":4096,"ProviderAddress":"` + pa + `"}`)}
}

func TestNodeFor(t *testing.T) {
	overlayOpts := hnsadapter.NodeOptions{SourceVIPs: []string{"10.244.1.2"}, HostMAC: "00-15-5D-AA-BB-01"}
	tests := []struct {
		name        string
		profile     string
		networkType string
		policies    []hns.NetworkPolicy
		network     string // looked up; default "cbr0"
		node        *corev1.Node
		opts        hnsadapter.NodeOptions
		want        lbpolicy.Node
		wantErr     func(error) bool
	}{{
		name: "Overlay with remote subnets, sorted", profile: "ws2022", networkType: "Overlay",
		policies: []hns.NetworkPolicy{
			rsrPolicy("10.244.3.0/24", "192.0.2.13"),
			{Type: "ProviderAddress", Settings: json.RawMessage(`{"ProviderAddress":"192.0.2.11"}`)},
			rsrPolicy("10.244.2.0/24", "192.0.2.12"),
		},
		node: k8sNode("win-1", "zone-a", corev1.NodeAddress{Type: corev1.NodeHostName, Address: "win-1"}, internalIP("192.0.2.11")),
		opts: overlayOpts,
		want: lbpolicy.Node{
			Name: "win-1", Zone: "zone-a", NodeIPs: []string{"192.0.2.11"}, NetworkType: lbpolicy.Overlay, NetworkName: "cbr0",
			SourceVIPs: []string{"10.244.1.2"}, HostMAC: "00-15-5D-AA-BB-01", HNSVersion: "13.3",
			RemoteSubnets: []lbpolicy.RemoteSubnet{
				{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "192.0.2.12"},
				{DestinationPrefix: "10.244.3.0/24", ProviderAddress: "192.0.2.13"},
			},
		},
	}, {
		name: "L2Bridge, options passed through", profile: "latest", networkType: "l2bridge",
		node: k8sNode("win-2", "", internalIP("10.0.0.5")),
		opts: hnsadapter.NodeOptions{EnableDSR: true, ForwardHealthCheckVIP: true, HealthzPort: 10257, RootEndpointName: "host"},
		want: lbpolicy.Node{
			Name: "win-2", NodeIPs: []string{"10.0.0.5"}, NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0",
			EnableDSR: true, ForwardHealthCheckVIP: true, HealthzPort: 10257, RootEndpointName: "host", HNSVersion: "16.0",
		},
	}, {
		name: "dual-stack: one InternalIP per family, the first family first", profile: "latest", networkType: "L2Bridge",
		node: k8sNode("win-3", "", externalIP("203.0.113.5"), internalIP("fd00::5"), internalIP("fd00::6"),
			internalIP("10.0.0.5"), internalIP("10.0.0.6")),
		want: lbpolicy.Node{
			Name: "win-3", NodeIPs: []string{"fd00::5", "10.0.0.5"}, NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0", HNSVersion: "16.0",
		},
	}, {
		name: "ExternalIP when there is no InternalIP of the family", profile: "latest", networkType: "L2Bridge",
		node: k8sNode("win-4", "", internalIP("10.0.0.5"), externalIP("2001:db8::5"), corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "bogus"}),
		want: lbpolicy.Node{
			Name: "win-4", NodeIPs: []string{"10.0.0.5", "2001:db8::5"}, NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0", HNSVersion: "16.0",
		},
	}, {
		name: "missing network: hns NotFound, wrapped", profile: "latest", networkType: "L2Bridge", network: "vxlan0",
		node:    k8sNode("win-1", "", internalIP("10.0.0.5")),
		wantErr: func(err error) bool { return hns.IsNotFound(err) && strings.Contains(err.Error(), `"vxlan0"`) },
	}, {
		name: "unsupported network type", profile: "latest", networkType: "NAT",
		node: k8sNode("win-1", "", internalIP("10.0.0.5")),
		wantErr: func(err error) bool {
			var nt *hnsadapter.NetworkTypeError
			return errors.As(err, &nt) && nt.Type == "NAT" && nt.Network == "cbr0"
		},
	}, {
		name: "Overlay without source VIP: lbpolicy's validation error", profile: "latest", networkType: "Overlay",
		node: k8sNode("win-1", "", internalIP("10.0.0.5")),
		opts: hnsadapter.NodeOptions{HostMAC: "00-15-5D-AA-BB-01"},
		wantErr: func(err error) bool {
			var fe *lbpolicy.FieldError
			return errors.Is(err, lbpolicy.ErrInvalidNode) && errors.As(err, &fe) && fe.Field == "sourceVIPs"
		},
	}, {
		name: "Node without addresses: invalid", profile: "latest", networkType: "L2Bridge",
		node: k8sNode("win-1", ""),
		wantErr: func(err error) bool {
			var fe *lbpolicy.FieldError
			return errors.Is(err, lbpolicy.ErrInvalidNode) && errors.As(err, &fe) && fe.Field == "nodeIPs"
		},
	}, {
		name: "unreadable RemoteSubnetRoute policy", profile: "latest", networkType: "Overlay",
		policies: []hns.NetworkPolicy{{Type: hns.NetworkPolicyRemoteSubnetRoute, Settings: json.RawMessage(`[]`)}},
		node:     k8sNode("win-1", "", internalIP("10.0.0.5")), opts: overlayOpts,
		wantErr: func(err error) bool { return strings.Contains(err.Error(), "Policies[0] (RemoteSubnetRoute)") },
	}, {
		name: "nil Node", profile: "latest", networkType: "L2Bridge",
		wantErr: func(err error) bool { return strings.Contains(err.Error(), "nil Node") },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := hns.ProfileNamed(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			h := fake.New(p)
			id := h.AddNetwork("cbr0", tt.networkType)
			h.SetNetworkPolicies(id, tt.policies...)
			network := tt.network
			if network == "" {
				network = "cbr0"
			}
			got, err := hnsadapter.NodeFor(context.Background(), h, network, tt.node, tt.opts)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("NodeFor: err = %v, want another", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// A failed Version call is returned wrapped, with what HNS said.
func TestNodeForVersionFails(t *testing.T) {
	p, _ := hns.ProfileNamed("latest")
	h := fake.New(p)
	h.AddNetwork("cbr0", "L2Bridge")
	h.InjectFault(fake.Fault{Op: hns.OpVersion, Code: hns.CodeModuleNotFound})
	_, err := hnsadapter.NodeFor(context.Background(), h, "cbr0", k8sNode("win-1", "", internalIP("10.0.0.5")), hnsadapter.NodeOptions{})
	if !hns.IsHNSUnavailable(err) || !strings.Contains(err.Error(), "HNS version") {
		t.Fatalf("err = %v, want one wrapping the Version failure", err)
	}
}
