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
//		other kinds are ignored with a note on stderr. Text is UTF-8;
//		UTF-16 with a byte-order mark (what Windows PowerShell 5.1 writes
//		with >) is converted, anything else is refused. Duplicate keys in
//		one JSON object are refused, as in YAML. Default: the sample.
//	-node FILE
//		The node, in YAML or JSON, with the fields of lbpolicy.Node (see
//		testdata/nodes). Unknown fields are errors. Default: the sample node.
//	-o table|json
//		table (default): load balancers with their identity key (the
//		IPv4/10.96.0.10/TCP/80 of hnslb's logs and errors) and decoded
//		flags, in the spirit of "hnsdiag list loadbalancers", then the HNS
//		endpoints and the diagnostics. json: the Plan's JSON, a stable
//		interface (documented on lbpolicy.Plan), with four keys added to each load
//		balancer after the Plan's: "key" (its identity key), "flagNames"
//		and "portMappingFlagNames" (the names of the bits set in flags and
//		portMappingFlags, e.g. ["LocalRoutedVIP", "VipExternalIP"], [] for
//		none, "0x20" for a bit without a name) and "distributionTypeName"
//		("None", "SourceIPProtocol", "SourceIP"); the numbers stay. Lists
//		are never null.
//
// Exit status:
//
//	0  the plan was printed and has no error diagnostics
//	1  the plan was printed and has at least one error diagnostic
//	2  no plan: bad flags, an unreadable or undecodable file, an invalid
//	   node, or the output could not be written
//
// Messages go to stderr; stdout carries only the plan.
//
// Memory: the input is read and the JSON written as streams, endpoints'
// targetRefs are not kept, and for input files over 16 MiB the garbage
// collector gets a soft limit of 3.5 times their size, so that planning a
// 100 MB cluster dump peaks near 3.5 times the input rather than ten times.
package main
