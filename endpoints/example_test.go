package endpoints_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/endpoints"
)

// A rolling update seen from node-1: its own pod is terminating, so the
// local set (traffic policy Local) falls back to it while the cluster set
// (traffic policy Cluster) uses the ready pods elsewhere.
func ExampleCategorize() {
	yes, no := true, false
	node1, node2 := "node-1", "node-2"
	name, proto, port := "http", corev1.ProtocolTCP, int32(8080)
	slices := []*discovery.EndpointSlice{{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default",
			Name:      "web-x7k2p",
			Labels:    map[string]string{discovery.LabelServiceName: "web"},
		},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
		Endpoints: []discovery.Endpoint{
			{Addresses: []string{"10.244.2.7"}, NodeName: &node2},
			{Addresses: []string{"10.244.1.5"}, NodeName: &node1,
				Conditions: discovery.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}},
			{Addresses: []string{"10.244.2.300"}, NodeName: &node2},
		},
	}}

	byService := endpoints.ByService(slices)
	ports, errs := endpoints.Merge(byService[types.NamespacedName{Namespace: "default", Name: "web"}], discovery.AddressTypeIPv4, "node-1")
	for _, err := range errs {
		fmt.Println(err)
	}
	cluster, local := endpoints.Categorize(ports[endpoints.PortKey{Name: "http", Protocol: corev1.ProtocolTCP}],
		endpoints.Topology{NodeName: "node-1"})
	for _, e := range cluster {
		fmt.Printf("cluster: %v:%d\n", e.Addr, e.Port)
	}
	for _, e := range local {
		fmt.Printf("local:   %v:%d (terminating: %v)\n", e.Addr, e.Port, e.Terminating)
	}
	// Output:
	// EndpointSlice default/web-x7k2p: endpoints[2].addresses[0] "10.244.2.300" skipped: not an IP address
	// cluster: 10.244.2.7:8080
	// local:   10.244.1.5:8080 (terminating: true)
}

// A Merger merges Service after Service in the same memory: each result
// is used before the next merge.
func ExampleMerger() {
	name, proto, port := "http", corev1.ProtocolTCP, int32(8080)
	slice := func(svc string, addrs ...string) *discovery.EndpointSlice {
		s := &discovery.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-x7k2p", Labels: map[string]string{discovery.LabelServiceName: svc}},
			AddressType: discovery.AddressTypeIPv4,
			Ports:       []discovery.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
		}
		for _, a := range addrs {
			s.Endpoints = append(s.Endpoints, discovery.Endpoint{Addresses: []string{a}})
		}
		return s
	}
	byService := endpoints.ByService([]*discovery.EndpointSlice{
		slice("api", "10.244.1.9"),
		slice("web", "10.244.2.7", "10.244.1.5"),
	})
	var m endpoints.Merger
	for _, svc := range []string{"api", "web"} {
		ports, _ := m.Merge(byService[types.NamespacedName{Namespace: "default", Name: svc}], discovery.AddressTypeIPv4, "node-1")
		for _, e := range ports[endpoints.PortKey{Name: "http", Protocol: corev1.ProtocolTCP}] {
			fmt.Printf("%s: %v:%d\n", svc, e.Addr, e.Port)
		}
	}
	// Output:
	// api: 10.244.1.9:8080
	// web: 10.244.1.5:8080
	// web: 10.244.2.7:8080
}
