package lbpolicy_test

import (
	"runtime"
	"testing"

	"github.com/hnslb/hnslb/lbpolicy"
)

// BenchmarkCompute plans the cluster: 10,000 Services, 100,000
// endpoints, mixed kinds, 5% ETP Local, 10% with two ports, 10%
// dual-stack (the IPv6 half is dropped on this Overlay node, as on a real
// one; BenchmarkComputeL2BridgeDualStack plans both families).
func BenchmarkCompute(b *testing.B) {
	benchCompute(b, genNode(benchShape))
}

// BenchmarkComputeL2BridgeDualStack plans the same cluster on a dual-stack
// L2Bridge node: both families, remote endpoints without provider
// addresses.
func BenchmarkComputeL2BridgeDualStack(b *testing.B) {
	benchCompute(b, lbpolicy.Node{
		Name: thisNode, NodeIPs: []string{"10.0.0.4", "fd00::4"}, NetworkType: lbpolicy.L2Bridge,
		ForwardHealthCheckVIP: true,
	})
}

func benchCompute(b *testing.B, node lbpolicy.Node) {
	svcs, slices := genCluster(benchShape, 1)
	plan, err := lbpolicy.Compute(node, svcs, slices)
	if err != nil {
		b.Fatal(err)
	}
	lbs := len(plan.LoadBalancers)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := lbpolicy.Compute(node, svcs, slices); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(lbs), "LBs")
	b.ReportMetric(float64(len(plan.Endpoints)), "endpoints")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(lbs), "allocs/LB")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
}
