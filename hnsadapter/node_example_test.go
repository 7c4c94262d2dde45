package hnsadapter_test

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The Node a plan is for, from the Kubernetes Node (from an informer) and
// the HNS network the CNI made: the remote subnets and HNS's version come
// from HNS, so that the plan matches the host. On Windows the client is
// hns.NewHCN(networkName, logger); here, the fake of a Windows Server 2022
// node on a flannel VXLAN network with one other node.
func ExampleNodeFor() {
	profile, _ := hns.ProfileNamed("ws2022")
	h := fake.New(profile)
	network := h.AddNetwork("vxlan0", "Overlay")
	h.SetNetworkPolicies(network, hns.NetworkPolicy{Type: hns.NetworkPolicyRemoteSubnetRoute,
		Settings: json.RawMessage(`{"DestinationPrefix":"10.244.2.0/24","IsolationId":4096,"ProviderAddress":"192.0.2.12"}`)})

	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "win-1", Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.11"}}},
	}
	n, err := hnsadapter.NodeFor(context.Background(), h, "vxlan0", node, hnsadapter.NodeOptions{
		SourceVIPs: []string{"10.244.1.2"}, HostMAC: "00-15-5D-AA-BB-01",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Name, n.Zone, n.NodeIPs, n.NetworkType, "HNS", n.HNSVersion)
	fmt.Printf("remote subnets: %+v\n", n.RemoteSubnets)

	_, err = hnsadapter.NodeFor(context.Background(), h, "cbr0", node, hnsadapter.NodeOptions{})
	fmt.Println("not yet created:", hns.IsNotFound(err))
	// Output:
	// win-1 zone-a [192.0.2.11] Overlay HNS 13.3
	// remote subnets: [{DestinationPrefix:10.244.2.0/24 ProviderAddress:192.0.2.12}]
	// not yet created: true
}
