package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// On Overlay, the node is built from the HNS network's RemoteSubnetRoute
// policies: a remote pod's endpoint gets its node's provider address, and
// when the network's routes change (a node moved to another address), the
// next node refresh (here, after an update of the Node object) re-plans
// and the endpoint follows.
func TestRemoteSubnets(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: testNode},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: testNodeIP}}},
	}
	c := &cluster{t: t, client: kubefake.NewClientset(node,
		service("web", "10.96.0.50", corev1.ServiceTypeClusterIP, 0),
		slice("web-1", "web", "10.244.2.5", "win-2"))}
	c.cut = cutWatches(c.client)
	hc, err := newHNS("latest", testNetwork, string(lbpolicy.Overlay), "", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	c.h = hc.(*fake.HNS)
	netID := c.h.Networks()[0].Id
	route := func(pa string) {
		settings, _ := json.Marshal(hns.RemoteSubnetRoutePolicySetting{DestinationPrefix: "10.244.2.0/24", ProviderAddress: pa})
		c.h.SetNetworkPolicies(netID, hns.NetworkPolicy{Type: hns.NetworkPolicyRemoteSubnetRoute, Settings: settings})
	}
	route("10.0.0.12")
	opts := hnsadapter.NodeOptions{SourceVIPs: []string{"10.244.1.2"}, HostMAC: "00-15-5d-00-00-01"}
	ctx := context.Background()
	c.node, err = hnsadapter.NodeFor(ctx, c.h, testNetwork, node, opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{nodeName: testNode, networkName: testNetwork, syncPeriod: time.Hour, burstSyncs: 1, fullSyncPeriod: time.Hour, node: opts}
	p, err := newProxy(ctx, cfg, c.client, c.h, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	r := c.start(p)
	defer r.stop()
	pod := netip.MustParseAddr("10.244.2.5")
	providerOf := func() string {
		for _, ep := range c.h.EndpointsByIP(netID)[pod] {
			for _, pol := range ep.Policies {
				var s hns.ProviderAddressEndpointPolicySetting
				if pol.Type == hns.EndpointPolicyProviderAddress && json.Unmarshal(pol.Settings, &s) == nil {
					return s.ProviderAddress
				}
			}
		}
		return ""
	}
	c.converge("start")
	waitFor(t, "the remote endpoint on 10.0.0.12", func() bool { return providerOf() == "10.0.0.12" })

	// win-2 moved to another address: the network's route says so.
	route("10.0.0.13")
	if c.node, err = hnsadapter.NodeFor(ctx, c.h, testNetwork, node, opts); err != nil {
		t.Fatal(err)
	}
	node = node.DeepCopy()
	node.Labels = map[string]string{"touched": "1"}
	node.ResourceVersion = "2" // the fake clientset keeps what it is given
	if _, err := c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the remote endpoint on 10.0.0.13", func() bool { return providerOf() == "10.0.0.13" })
	c.converge("after the move")
}
