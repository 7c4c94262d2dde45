package lbpolicy_test

import (
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/internal/gencluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The generated clusters of the benchmarks and property tests live in
// internal/gencluster, shared with hnsadapter's benchmarks.
type clusterShape = gencluster.Shape

var benchShape = gencluster.Bench

func genNode(shape clusterShape) lbpolicy.Node { return gencluster.Node(shape) }

func genCluster(shape clusterShape, seed uint64) ([]*corev1.Service, []*discovery.EndpointSlice) {
	return gencluster.Cluster(shape, seed)
}
