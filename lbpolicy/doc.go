// Package lbpolicy computes the HNS load balancers a Windows Kubernetes
// node needs: Compute takes Services, EndpointSlices and a Node and
// returns a Plan — the load balancers (ClusterIP, NodePort, ExternalIP,
// Ingress and HealthCheck), the HNS endpoints they need, and Diagnostics.
//
// The rules are those of docs/semantics.md §2–§5: kube-proxy's endpoint selection
// (package endpoints), winkernel's load-balancer flags, the Overlay
// source-VIP rule (package sourcevip) and HNS's capabilities by version.
// Where hnslb deliberately differs from winkernel, the doc comments say so.
//
// A load balancer is identified by its Key (family, frontend VIP,
// protocol, external port); everything else is content that an update
// may change in place. Plans are sorted and deterministic, so they can be
// diffed, compared byte for byte as JSON, and applied by package
// hnsadapter. When two Services' load balancers want one Key, the one whose
// address fewer users can write wins (ClusterIP and NodePort, then Ingress
// and HealthCheck, then ExternalIP: the CVE-2020-8554 class), then the
// older Service (metadata.creationTimestamp; none counts as newest), then
// namespace/name and port name; the other gets a FrontendConflict error.
//
// For informer-driven proxies, Tracker keeps Services, EndpointSlices and
// the Node, re-plans only the Services an event touches, and returns, in
// one Snapshot, the same Plan as Compute and its Changes: the load
// balancers, endpoints and diagnostics added, updated or removed since the
// previous Snapshot. Its typed event methods take *v1.Service and
// *discoveryv1.EndpointSlice; the EventHandlers it returns plug into
// client-go informers without this package importing client-go. It is
// safe for concurrent use; see ExampleTracker.
//
// The files follow the same split: compute.go holds the rules of Compute
// and compute_machinery.go what makes it fast, compute_parallel.go how it
// uses several cores; conflicts.go the rules for
// candidates that want one frontend or endpoint IP, shared by Compute and
// the Tracker; tracker.go the Tracker's API, with its stored objects, its
// claims (the incrementally assembled plan), its change log and its plan
// cache each in a tracker_*.go file of its own, and informer.go the glue
// for informers.
//
// The package is pure: no I/O, no goroutines left running (Compute's
// workers end before it returns), no globals, no clock, and it never
// modifies its inputs. It never panics on input; problems with one
// object become Diagnostics and never stop the others from being planned.
package lbpolicy
