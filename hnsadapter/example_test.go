package hnsadapter_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// An informer-driven proxy: events go into a Tracker, and each sync hands
// the Tracker's Snapshot to SyncSnapshot. Nothing is applied before the
// informers have synced; the first sync lists HNS and compares everything;
// the next ones touch only what changed. On Windows the backend is
// hns.NewHCN("cbr0", logger); here, the fake.
func ExampleReconciler_SyncSnapshot() {
	ctx := context.Background()
	profile, _ := hns.ProfileNamed("latest")
	h := fake.New(profile)
	network := h.AddNetwork("cbr0", "L2Bridge")
	h.AddLocalEndpoint(network, "web-a", "10.244.1.5") // the CNI made the pods' endpoints
	h.AddLocalEndpoint(network, "web-b", "10.244.1.6")

	tr, _ := lbpolicy.NewTracker(lbpolicy.Node{Name: "win-1", NodeIPs: []string{"10.0.0.4"},
		NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0"})
	r, _ := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: "cbr0"})
	informersSynced := false // with client-go: the handler registrations' HasSynced
	tr.RequireSynced(func() bool { return informersSynced })
	sync := func(step string) {
		s := tr.Snapshot()
		res, err := r.SyncSnapshot(ctx, &s)
		if err != nil {
			fmt.Printf("%s: %v\n", step, err)
			return
		}
		fmt.Printf("%s: full=%v created=%d updated=%d lists=%d mutating calls=%d\n", step, res.Full,
			res.Created, res.Updated, res.Calls[hns.OpListLoadBalancers], res.MutatingCalls())
	}

	ready, port, here := true, int32(8080), "win-1"
	pod := func(ip string) discovery.Endpoint {
		return discovery.Endpoint{Addresses: []string{ip}, NodeName: &here, Conditions: discovery.EndpointConditions{Ready: &ready}}
	}
	name := "http"
	slice := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-abc", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Port: &port}},
		Endpoints:   []discovery.Endpoint{pod("10.244.1.5")},
	}
	tr.OnServiceAdd(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
	})
	sync("listing")
	tr.OnEndpointSliceAdd(slice)
	informersSynced = true
	sync("start")

	scaled := slice.DeepCopy()
	scaled.Endpoints = append(scaled.Endpoints, pod("10.244.1.6"))
	tr.OnEndpointSliceUpdate(slice, scaled)
	sync("scaled up")
	sync("nothing new")
	// Output:
	// listing: hnsadapter: SyncSnapshot: the plan is not complete: the Tracker's informers have not synced (lbpolicy.Tracker.RequireSynced)
	// start: full=true created=1 updated=0 lists=1 mutating calls=1
	// scaled up: full=false created=0 updated=1 lists=0 mutating calls=1
	// nothing new: full=false created=0 updated=0 lists=0 mutating calls=0
}
