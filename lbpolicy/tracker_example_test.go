package lbpolicy_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

func ExampleTracker() {
	tr, err := lbpolicy.NewTracker(lbpolicy.Node{Name: "win-1", NodeIPs: []string{"10.0.0.4"}, NetworkType: lbpolicy.L2Bridge})
	if err != nil {
		fmt.Println(err)
		return
	}
	// At each sync: what changed, and the plan it leads to (an applier
	// hands both to hnsadapter's Reconciler.SyncChanges).
	sync := func(step string) lbpolicy.Plan {
		s := tr.Snapshot()
		ch := s.Changes
		fmt.Println(step + ":")
		for _, lb := range ch.AddedLoadBalancers {
			fmt.Printf("  add    %s -> %v\n", lb.Key(), lb.Backends)
		}
		for _, lb := range ch.UpdatedLoadBalancers {
			fmt.Printf("  update %s -> %v\n", lb.Key(), lb.Backends)
		}
		for _, k := range ch.RemovedLoadBalancers {
			fmt.Printf("  delete %s\n", k)
		}
		for _, ep := range ch.AddedEndpoints {
			fmt.Printf("  add    remote endpoint %s\n", ep.IP)
		}
		for _, ip := range ch.RemovedEndpoints {
			fmt.Printf("  delete remote endpoint %s\n", ip)
		}
		return s.Plan()
	}

	// The informers' initial list arrives, slice first.
	ready, port, here, there := true, int32(8080), "win-1", "win-2"
	slice := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-abc", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: ptr("http"), Port: &port}},
		Endpoints: []discovery.Endpoint{
			{Addresses: []string{"10.244.1.5"}, NodeName: &here, Conditions: discovery.EndpointConditions{Ready: &ready}},
			{Addresses: []string{"10.244.2.7"}, NodeName: &there, Conditions: discovery.EndpointConditions{Ready: &ready}},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeNodePort,
			ClusterIP:  "10.96.0.10",
			ClusterIPs: []string{"10.96.0.10"},
			Ports:      []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080}},
		},
	}
	tr.OnEndpointSliceAdd(slice)
	tr.OnServiceAdd(svc)
	sync("initial sync")

	// The remote pod goes away.
	updated := slice.DeepCopy()
	updated.Endpoints = updated.Endpoints[:1]
	tr.OnEndpointSliceUpdate(slice, updated)
	sync("endpoint removed")

	// The Service is deleted.
	tr.OnServiceDelete("default", "web")
	plan := sync("service deleted")

	fmt.Println("plan:", len(plan.LoadBalancers), "load balancers")
	// Output:
	// initial sync:
	//   add    IPv4/*/TCP/30080 -> [10.244.1.5 10.244.2.7]
	//   add    IPv4/10.96.0.10/TCP/80 -> [10.244.1.5 10.244.2.7]
	//   add    remote endpoint 10.244.2.7
	// endpoint removed:
	//   update IPv4/*/TCP/30080 -> [10.244.1.5]
	//   update IPv4/10.96.0.10/TCP/80 -> [10.244.1.5]
	//   delete remote endpoint 10.244.2.7
	// service deleted:
	//   delete IPv4/*/TCP/30080
	//   delete IPv4/10.96.0.10/TCP/80
	// plan: 0 load balancers
}

// exampleTombstone stands for client-go's
// cache.DeletedFinalStateUnknown, which EventHandler recognizes by its
// shape.
type exampleTombstone struct {
	Key string
	Obj interface{}
}

// With client-go, register the Tracker's handlers with the informers:
//
//	svcInformer.AddEventHandler(tr.ServiceEventHandler(report))
//	sliceInformer.AddEventHandler(tr.EndpointSliceEventHandler(report))
//
// They take the objects as informers hand them over, tombstones included,
// and report what they cannot use.
func ExampleTracker_ServiceEventHandler() {
	tr, _ := lbpolicy.NewTracker(lbpolicy.Node{Name: "win-1", NodeIPs: []string{"10.0.0.4"}, NetworkType: lbpolicy.L2Bridge})
	report := func(err error) { fmt.Println("not tracked:", err) }
	services := tr.ServiceEventHandler(report)

	services.OnAdd(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}, true)
	services.OnAdd(&discovery.EndpointSlice{}, false) // the wrong informer
	// The Service was deleted while the watch was down.
	services.OnDelete(exampleTombstone{Key: "default/web"})
	// Output:
	// not tracked: lbpolicy: Service event handler: OnAdd: got *v1.EndpointSlice, want a non-nil *v1.Service: unexpected object
}
