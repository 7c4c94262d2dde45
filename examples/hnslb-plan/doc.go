// Command hnslb-plan prints the HNS load balancers and endpoints that hnslb
// would program on one Windows node for a set of Services and
// EndpointSlices: the lbpolicy.Plan, with its diagnostics. It only computes;
// it never talks to HNS or to a cluster.
//
// Usage:
//
//	hnslb-plan [-f FILE]... [-node FILE] [-o table|json]
//
// With no arguments it plans the built-in sample cluster for the built-in
// sample node (an Overlay node with DSR; see examples/internal/cluster/sample).
// Either input can be replaced on its own, so
//
//	go run ./examples/hnslb-plan -node testdata/nodes/l2bridge-dualstack.yaml
//
// plans the sample cluster on a dual-stack L2Bridge node, and
//
//	kubectl get svc,endpointslices -A -o yaml | go run ./examples/hnslb-plan -f - -node node.yaml
//
// plans a live cluster's objects.
//
// Flags:
//
//	-f FILE
//		Services and EndpointSlices, in YAML or JSON: single objects,
//		multi-document YAML or v1 Lists, as kubectl get -o yaml|json prints
//		them. Repeatable. "-" reads stdin; a directory reads its *.yaml,
//		*.yml and *.json files in name order (not recursively). Objects of
//		other kinds are ignored with a note on stderr. Default: the sample.
//	-node FILE
//		The node, in YAML or JSON, with the fields of lbpolicy.Node (see
//		testdata/nodes). Unknown fields are errors. Default: the sample node.
//	-o table|json
//		table (default): load balancers with decoded flags, in the spirit of
//		"hnsdiag list loadbalancers", then the HNS endpoints and the
//		diagnostics. json: the Plan's JSON, a stable interface (DESIGN.md
//		§9); lists are never null.
//
// Exit status:
//
//	0  the plan was printed and has no error diagnostics
//	1  the plan was printed and has at least one error diagnostic
//	2  no plan: bad flags, an unreadable or undecodable file, an invalid
//	   node, or the output could not be written
//
// Messages go to stderr; stdout carries only the plan.
package main
