// Package cluster reads the inputs of the hnslb example programs: Services
// and EndpointSlices as kubectl prints them, and the lbpolicy.Node a plan is
// computed for. It also holds the built-in sample cluster.
//
// Decode accepts YAML or JSON: single objects, multi-document YAML ("---"),
// and v1 Lists with items (nested Lists too), which is exactly what
//
//	kubectl get svc,endpointslices -A -o yaml
//	kubectl get svc,endpointslices -A -o json
//
// print. Services must be v1 and EndpointSlices discovery.k8s.io/v1; objects
// of other kinds (Endpoints, Pods, …) are listed in Objects.Ignored, not
// rejected, so the output of "kubectl get all" can be fed in as is. Objects
// without metadata.namespace are put in "default", as kubectl apply would.
//
// Errors name the source, the document (1-based) and, where known, the
// object and the field, for example
//
//	cluster.yaml: document 3 (Service default/web): spec.ports[0].port: json: cannot unmarshal string into Go value of type int32
//
// DecodeEvents (and ReadEvents) read watch events as
//
//	kubectl get svc,endpointslices -A --watch -o json --output-watch-events
//
// prints them ({"type":"ADDED|MODIFIED|DELETED","object":{…}}, one after
// another, or as YAML documents), for replaying into an lbpolicy.Tracker;
// events about other kinds are skipped and listed.
//
// Decoding is bounded (MaxDocumentBytes, MaxInputBytes, MaxListDepth) and
// never panics, whatever the input.
//
// This package is for the example programs only: it does I/O, and nothing
// in the library imports it.
package cluster
