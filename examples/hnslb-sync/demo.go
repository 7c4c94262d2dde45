package main

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/examples/internal/cluster"
)

// The built-in demo, derived from the sample cluster: a pod of a Service
// with one load balancer moves (an update, or a delete and create where
// HNS cannot update), then a Service with two load balancers goes away.
const (
	demoMovedSlice = "default/catalog-h5v2c"
	demoMovedFrom  = "10.244.2.41" // on win-node-2
	demoMovedTo    = "10.244.2.42"
	demoDeleted    = "default/legacy-gateway" // ClusterIP and externalIP
)

// demoSteps returns the built-in demo's three states.
func demoSteps() []state {
	return []state{
		{name: "demo 1: the sample cluster", objs: demoState(1)},
		{name: fmt.Sprintf("demo 2: %s's endpoint %s replaced by %s", demoMovedSlice, demoMovedFrom, demoMovedTo), objs: demoState(2)},
		{name: fmt.Sprintf("demo 3: Service %s and its EndpointSlice deleted", demoDeleted), objs: demoState(3)},
	}
}

// demoState returns the sample cluster after the first n-1 changes of the
// demo. It panics if the sample no longer has what the demo changes.
func demoState(n int) *cluster.Objects {
	_, objs := cluster.Sample()
	if n >= 2 {
		moved := false
		for _, sl := range objs.EndpointSlices {
			if sl.Namespace+"/"+sl.Name != demoMovedSlice {
				continue
			}
			for i := range sl.Endpoints {
				if ep := &sl.Endpoints[i]; len(ep.Addresses) > 0 && ep.Addresses[0] == demoMovedFrom {
					ep.Addresses[0] = demoMovedTo
					if ep.TargetRef != nil {
						ep.TargetRef.Name += "-new"
						ep.TargetRef.UID = ""
					}
					moved = true
				}
			}
		}
		if !moved {
			panic("hnslb-sync: the sample cluster has no endpoint " + demoMovedFrom + " in EndpointSlice " + demoMovedSlice)
		}
	}
	if n >= 3 {
		before := len(objs.Services)
		objs.Services = slices.DeleteFunc(objs.Services, func(s *corev1.Service) bool {
			return s.Namespace+"/"+s.Name == demoDeleted
		})
		if len(objs.Services) == before {
			panic("hnslb-sync: the sample cluster has no Service " + demoDeleted)
		}
		objs.EndpointSlices = slices.DeleteFunc(objs.EndpointSlices, func(sl *discovery.EndpointSlice) bool {
			return sl.Namespace+"/"+sl.Labels[discovery.LabelServiceName] == demoDeleted
		})
	}
	return objs
}
