// Package lbpolicy computes the HNS load balancers a Windows Kubernetes
// node needs: Compute takes Services, EndpointSlices and a Node and
// returns a Plan — the load balancers (ClusterIP, NodePort, ExternalIP,
// Ingress and HealthCheck), the HNS endpoints they need, and Diagnostics.
//
// The rules are those of DESIGN.md §2–§5: kube-proxy's endpoint selection
// (package endpoints), winkernel's load-balancer flags, the Overlay
// source-VIP rule (package sourcevip) and HNS's capabilities by version.
// Where hnslb deliberately differs from winkernel, the doc comments say so.
//
// A load balancer is identified by its Key (family, frontend VIP,
// protocol, external port); everything else is content that an update
// may change in place. Plans are sorted and deterministic, so they can be
// diffed, compared byte for byte as JSON, and applied by package
// hnsadapter.
//
// For informer-driven proxies, Tracker keeps Services, EndpointSlices and
// the Node, re-plans only the Services an event touches, and returns the
// same Plan as Compute, plus Changes: the load balancers, endpoints and
// diagnostics added, updated or removed since the last call. It is safe
// for concurrent use; see ExampleTracker.
//
// The package is pure: no I/O, no goroutines, no globals, no clock, and it
// never modifies its inputs. It never panics on input; problems with one
// object become Diagnostics and never stop the others from being planned.
package lbpolicy
