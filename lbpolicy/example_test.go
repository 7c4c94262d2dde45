package lbpolicy_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

func ExampleCompute() {
	node := lbpolicy.Node{
		Name:        "win-1",
		NodeIPs:     []string{"10.0.0.4"},
		NetworkType: lbpolicy.L2Bridge,
		EnableDSR:   true,
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
	ready, name, port, here, there := true, "http", int32(8080), "win-1", "win-2"
	slice := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-abc", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Port: &port}},
		Endpoints: []discovery.Endpoint{
			{Addresses: []string{"10.244.1.5"}, NodeName: &here, Conditions: discovery.EndpointConditions{Ready: &ready}},
			{Addresses: []string{"10.244.2.7"}, NodeName: &there, Conditions: discovery.EndpointConditions{Ready: &ready}},
		},
	}

	plan, err := lbpolicy.Compute(node, []*corev1.Service{svc}, []*discovery.EndpointSlice{slice})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, lb := range plan.LoadBalancers {
		fmt.Printf("%-9s %-22s -> :%d flags=%s portMapping=%s backends=%v\n",
			lb.Kind, lb.Key(), lb.InternalPort, lb.Flags, lb.PortMappingFlags, lb.Backends)
	}
	for _, ep := range plan.Endpoints {
		fmt.Printf("remote endpoint %s mac %s\n", ep.IP, ep.MACAddress)
	}
	// Output:
	// NodePort  IPv4/*/TCP/30080       -> :8080 flags=None portMapping=LocalRoutedVIP|VipExternalIP backends=[10.244.1.5 10.244.2.7]
	// ClusterIP IPv4/10.96.0.10/TCP/80 -> :8080 flags=DSR portMapping=None backends=[10.244.1.5 10.244.2.7]
	// remote endpoint 10.244.2.7 mac 02-11-0a-f4-02-07
}
