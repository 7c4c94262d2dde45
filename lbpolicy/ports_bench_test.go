package lbpolicy_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// manyPorts returns one Service with n ports and its slice with the same n
// ports and 3 endpoints: planning must stay linear in the number of ports
// (a Service may have any number; the API server does not cap it).
func manyPorts(n int) (*corev1.Service, *discovery.EndpointSlice) {
	var ps []corev1.ServicePort
	portNum := map[string]int32{}
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		ps = append(ps, tcpPort(name, int32(1000+i%60000), 0))
		portNum[name] = int32(2000 + i%60000)
	}
	svc := service("many", clusterIPs("10.96.0.50"), ports(ps...))
	sl := epSlice("many", "many-1", discovery.AddressTypeIPv4, portNum,
		ep{ip: "10.244.1.5", node: thisNode}, ep{ip: "10.244.2.5", node: "win-2"}, ep{ip: "10.244.3.5", node: "win-3"})
	return svc, sl
}

func BenchmarkComputeManyPorts(b *testing.B) {
	for _, n := range []int{1000, 4000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			svc, sl := manyPorts(n)
			node := l2bridge()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := lbpolicy.Compute(node, []*corev1.Service{svc}, []*discovery.EndpointSlice{sl}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrackerManyPorts is one update of that slice (an endpoint
// replaced) in a Tracker holding the Service, and its Snapshot's plan.
func BenchmarkTrackerManyPorts(b *testing.B) {
	for _, n := range []int{1000, 4000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			svc, sl := manyPorts(n)
			tr, err := lbpolicy.NewTracker(l2bridge())
			if err != nil {
				b.Fatal(err)
			}
			tr.OnServiceAdd(svc)
			tr.OnEndpointSliceAdd(sl)
			_ = tr.Snapshot().Plan()
			next := sl.DeepCopy()
			next.Endpoints[2].Addresses = []string{"10.244.3.6"}
			cur := sl
			b.ReportAllocs()
			for b.Loop() {
				tr.OnEndpointSliceUpdate(cur, next)
				cur, next = next, cur
				if len(tr.Snapshot().Plan().LoadBalancers) != n {
					b.Fatal("wrong plan")
				}
			}
		})
	}
}
