// Package endpoints turns EndpointSlices into the backends kube-proxy would
// use for each service port: it merges a Service's slices (Merge) and sorts
// the result into the cluster and local sets of KEP-1669 with topology
// filtering (Categorize).
//
// The rules are those of Linux kube-proxy's endpointslicecache.go and
// topology.go (CategorizeEndpoints), so a Windows proxy that uses this
// package picks the same backends as kube-proxy on a Linux node:
//
//   - ready = Ready == nil || *Ready; serving = Serving == nil || *Serving;
//     terminating = Terminating != nil && *Terminating.
//   - Cluster set: ready endpoints, filtered by topology hints; if none,
//     every serving and terminating endpoint (topology ignored).
//   - Local set: local ready endpoints; if none, local serving and
//     terminating ones. Topology never applies to the local set.
//
// ByService groups EndpointSlices by Service, ParseAddr reads addresses as
// kube-proxy does (leading zeros allowed), and Merge reports what it had to
// skip as SliceErrors instead of failing. A Merger merges like Merge in
// memory it reuses, for a caller that merges one Service after another.
//
// The package is pure: no I/O, no goroutines, no globals, no clock. Inputs
// are never modified, and the same input always gives the same output.
package endpoints
