package lbpolicy_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// What the health-check servers of a node answer: one per Service with
// externalTrafficPolicy Local, on its healthCheckNodePort, 200 while the
// node has a ready local endpoint, 503 otherwise (a terminating pod no
// longer counts, so the cloud load balancer drains the node first).
func ExampleTracker_HealthChecks() {
	tr, _ := lbpolicy.NewTracker(lbpolicy.Node{Name: "win-1", NodeIPs: []string{"10.0.0.4"},
		NetworkType: lbpolicy.L2Bridge, NetworkName: "cbr0"})
	tr.OnServiceAdd(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.10",
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 32000,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080}}},
	})
	yes, no, here, other := true, false, "win-1", "win-2"
	name, port := "http", int32(8080)
	slice := func(eps ...discovery.Endpoint) *discovery.EndpointSlice {
		return &discovery.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "web-abc", Labels: map[string]string{discovery.LabelServiceName: "web"}},
			AddressType: discovery.AddressTypeIPv4, Ports: []discovery.EndpointPort{{Name: &name, Port: &port}}, Endpoints: eps,
		}
	}
	serve := func() {
		for _, hc := range tr.HealthChecks() {
			status := 503
			if hc.LocalEndpoints > 0 {
				status = 200
			}
			fmt.Printf("%s on :%d -> %d (localEndpoints %d)\n", hc.Service, hc.NodePort, status, hc.LocalEndpoints)
		}
	}
	tr.OnEndpointSliceAdd(slice(
		discovery.Endpoint{Addresses: []string{"10.244.1.5"}, NodeName: &here, Conditions: discovery.EndpointConditions{Ready: &yes}},
		discovery.Endpoint{Addresses: []string{"10.244.2.5"}, NodeName: &other, Conditions: discovery.EndpointConditions{Ready: &yes}},
	))
	serve()
	tr.OnEndpointSliceUpdate(nil, slice( // the local pod terminates
		discovery.Endpoint{Addresses: []string{"10.244.1.5"}, NodeName: &here, Conditions: discovery.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}},
		discovery.Endpoint{Addresses: []string{"10.244.2.5"}, NodeName: &other, Conditions: discovery.EndpointConditions{Ready: &yes}},
	))
	serve()
	// Output:
	// shop/web on :32000 -> 200 (localEndpoints 1)
	// shop/web on :32000 -> 503 (localEndpoints 0)
}
