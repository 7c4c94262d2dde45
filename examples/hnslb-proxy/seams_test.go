package main

import (
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// loadBalancersByKey returns h's load balancers by identity key.
// TODO(seam): replace with h.LoadBalancersByKey().
func loadBalancersByKey(h *fake.HNS) map[lbpolicy.Key][]hns.HostComputeLoadBalancer {
	out := map[lbpolicy.Key][]hns.HostComputeLoadBalancer{}
	for _, lb := range h.LoadBalancers() {
		if k, ok := hnsadapter.LoadBalancerKey(&lb); ok {
			out[k] = append(out[k], lb)
		}
	}
	return out
}
