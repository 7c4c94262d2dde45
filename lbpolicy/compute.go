package lbpolicy

import (
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// Compute returns the plan for node. Being written.
func Compute(node Node, services []*corev1.Service, slices []*discovery.EndpointSlice) (Plan, error) {
	panic("TODO")
}
