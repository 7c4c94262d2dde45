package fake_test

import (
	"context"
	"fmt"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// A ClusterIP Service with two local pods on an L2Bridge node, a second
// create of the same frontend, and where a pod's connection goes.
func ExampleHNS() {
	ctx := context.Background()
	p, _ := hns.ProfileNamed("ws2022")
	h := fake.New(p)
	net := h.AddNetwork("cbr0", "L2Bridge")
	a := h.AddLocalEndpoint(net, "web-a", "10.244.0.11")
	b := h.AddLocalEndpoint(net, "web-b", "10.244.0.12")

	lb := &hns.HostComputeLoadBalancer{
		HostComputeEndpoints: []string{a, b},
		FrontendVIPs:         []string{"10.96.0.10"},
		PortMappings:         []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
		SchemaVersion:        hns.V2SchemaVersion(),
	}
	if _, err := h.CreateLoadBalancer(ctx, lb); err != nil {
		fmt.Println(err)
	}
	_, err := h.CreateLoadBalancer(ctx, lb)
	fmt.Println("again:", hns.IsAlreadyExists(err))

	r, _ := h.Trace(fake.Flow{Origin: fake.FromPod, Protocol: 6, Destination: "10.96.0.10", Port: 80, NodeIPs: []string{"192.168.1.2"}})
	fmt.Println("backends:", r.Backends, "SNAT:", r.SNATSource)
	fmt.Println("mutating calls:", h.Calls().Mutating())
	fmt.Print(h.DumpStable())
	// Output:
	// again: true
	// backends: [10.244.0.11 10.244.0.12] SNAT: 192.168.1.2
	// mutating calls: 2
	// == Networks (1) ==
	//
	// Name          : cbr0
	// Type          : L2Bridge
	//
	// == Load balancers (1) ==
	//
	// Virtual IPs   : 10.96.0.10
	// Protocol      : TCP
	// Ports         : 80 -> 8080
	// Flags         : None
	// Port flags    : None
	// Distribution  : None
	// Source VIP    : -
	// Endpoints     : 10.244.0.11, 10.244.0.12
	// Schema        : 2.0
	//
	// == Endpoints (2) ==
	//
	// Name          : web-a
	// IP Address    : 10.244.0.11
	// MAC Address   : 00-15-5D-F4-00-0B
	// Remote        : no (local)
	// Provider Addr : -
	// Network       : cbr0 (L2Bridge)
	//
	// Name          : web-b
	// IP Address    : 10.244.0.12
	// MAC Address   : 00-15-5D-F4-00-0C
	// Remote        : no (local)
	// Provider Addr : -
	// Network       : cbr0 (L2Bridge)
}

// Failing the next two creates, as a flaky HNS would.
func ExampleHNS_InjectFault() {
	ctx := context.Background()
	h := fake.New(hns.Profiles()[len(hns.Profiles())-1])
	ep := h.AddLocalEndpoint(h.AddNetwork("cbr0", "L2Bridge"), "web-a", "10.244.0.11")
	h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Count: 2})
	lb := &hns.HostComputeLoadBalancer{
		HostComputeEndpoints: []string{ep},
		PortMappings:         []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 30080, Flags: 18}},
		SchemaVersion:        hns.V2SchemaVersion(),
	}
	for range 3 {
		_, err := h.CreateLoadBalancer(ctx, lb)
		fmt.Println(err)
	}
	// Output:
	// hns CreateLoadBalancer: hcnCreateLoadBalancer failed in Win32: Unspecified error (0x80004005) {"Success":false,"Error":"Unspecified error ","ErrorCode":2147500037}
	// hns CreateLoadBalancer: hcnCreateLoadBalancer failed in Win32: Unspecified error (0x80004005) {"Success":false,"Error":"Unspecified error ","ErrorCode":2147500037}
	// <nil>
}
