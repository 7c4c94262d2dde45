package lbpolicy_test

import (
	"testing"

	"github.com/hnslb/hnslb/lbpolicy"
)

// BenchmarkTrackerHealthChecks: what a proxy pays after each Snapshot to
// refresh its health-check servers, with the benchmarks' cluster (10,000
// Services, 100,000 endpoints, 5% of the external ones ETP Local) loaded.
//
//	go test -run '^$' -bench 'HealthChecks' -benchmem -count 5 ./lbpolicy/
func BenchmarkTrackerHealthChecks(b *testing.B) {
	node := genNode(benchShape)
	svcs, slices := genCluster(benchShape, 1)
	tr, err := lbpolicy.NewTracker(node)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range svcs {
		tr.OnServiceAdd(s)
	}
	for _, s := range slices {
		tr.OnEndpointSliceAdd(s)
	}
	n := len(tr.HealthChecks())
	if n == 0 {
		b.Fatal("no health checks in the cluster")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tr.HealthChecks()
	}
	b.ReportMetric(float64(n), "services")
}
