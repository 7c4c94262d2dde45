// Command hnslb-audit compares what HNS holds on a real Windows node with
// what hnslb plans for it: which load balancers and endpoints match, which
// are missing, which are extra (and whether an extra one looks like a
// Service's or foreign), and which differ, field by field. It never changes
// HNS: dump only lists, and compare reads files.
//
// Usage:
//
//	hnslb-audit dump [-network NAME] [-o FILE]
//	hnslb-audit compare -f CLUSTER... -node NODE -hns DUMP [-service-cidr CIDR]... [-o table|json]
//
// # On the node: dump
//
// dump reads HNS through hns.NewHCN (ListLoadBalancers, ListEndpoints,
// GetNetworkByName) and writes one JSON document,
//
//	{"Networks": [...], "LoadBalancers": [...], "Endpoints": [...]}
//
// whose elements are HNS's objects exactly as hcn marshals them (ID,
// HostComputeEndpoints, SourceVIP, FrontendVIPs, PortMappings, Flags;
// IpConfigurations, MacAddress, Policies, ...), sorted by ID. With
// -network NAME (the node's networkName, e.g. flannel.4096) Networks holds
// that network and Endpoints only its endpoints; without it, Networks is
// empty and Endpoints holds every network's. A list that fails because an
// object vanished while HNS listed it is tried again,
// up to three times. Build it for the node and run it there, as an
// administrator:
//
//	GOOS=windows go build -o hnslb-audit.exe ./examples/hnslb-audit
//	.\hnslb-audit.exe dump -network flannel.4096 -o hns.json
//
// On any other OS dump says why it cannot (hns.NewHCN's error) and exits 2.
//
// Its test through the real hcn code, TestHCNStubDump (Windows only),
// runs under Wine with the stand-in HNS of internal/wine/hnsstub
// (.ci/wine-test.sh, HNSLB_HNSSTUB=1): dump of a fake holding the sample
// cluster as hnsadapter's Reconciler synced it (clean, and drifted) must
// write exactly fake.HNS.DumpJSON's bytes; without -network, the fake's
// state with Networks empty.
//
// # Without the binary: collectlogs.ps1
//
// compare also reads what Microsoft's log collection script already
// gathers on Windows nodes: collectlogs.ps1 of microsoft/wcnscripts
// (scripts/collectlogs/collectlogs.ps1; its default -HnsSchemaVersion 2)
// writes, in its output directory, policy.txt (Get-HnsLoadBalancer
// -Version 2 | ConvertTo-Json -Depth 20), endpoint.txt (a table, then
// Get-HnsEndpoint -Version 2 | ConvertTo-Json -Depth 20) and network.txt
// (a table, then Get-HnsNetwork -Version 2 | ConvertTo-Json -Depth 20).
// Give that
// directory to -hns. The same files can be written by hand with
// hns.v2.psm1 (the module collectlogs.ps1 downloads):
//
//	ipmo .\hns.v2.psm1
//	mkdir hns; cd hns
//	Get-HnsLoadBalancer -Version 2 | ConvertTo-Json -Depth 20 > policy.txt
//	Get-HnsEndpoint -Version 2 | ConvertTo-Json -Depth 20 > endpoint.txt
//	Get-HnsNetwork -Version 2 | ConvertTo-Json -Depth 20 > network.txt
//
// Text may be UTF-8 or UTF-16 with a byte-order mark (what Windows
// PowerShell 5.1 writes with `>`); lists may be written as ConvertTo-Json
// writes them (one object alone, or {"value": [...], "Count": n}). The HNS
// v1 JSON of hns.psm1's Get-HnsPolicyList and Get-HnsEndpoint (or
// collectlogs.ps1 -HnsSchemaVersion 1; Policies/References, IPAddress,
// VirtualNetwork) is refused with an error saying how to get v2: v1 load
// balancers do not carry the port-mapping flags and distribution that
// compare checks.
//
// # Anywhere: compare
//
// compare plans the cluster for the node exactly as hnslb-plan does (the
// same -f inputs and -node file; set the node's hnsVersion to what the node
// runs, since the dump does not record it), reads what HNS holds (-hns: a
// dump file, fake.HNS.DumpJSON's included, its ReservedPorts ignored; "-"
// for stdin; or a collectlogs.ps1 directory), and reports:
//
//	kubectl get svc,endpointslices -A -o yaml > cluster.yaml
//	hnslb-audit compare -f cluster.yaml -node node.yaml -hns hns.json
//
// Load balancers are matched by identity key (lbpolicy.Key, e.g.
// IPv4/10.96.0.10/TCP/80, the string in hnslb's logs and errors), an HNS
// load balancer's taken with hnsadapter.LoadBalancerKey. Each key is
//
//   - match: HNS holds what the plan says;
//   - missing: planned, not in HNS;
//   - extra: in HNS, not planned, with a hint: a Service's (its VIP is a
//     clusterIP, externalIP or load-balancer ingress IP of a Service, or
//     in a -service-cidr; or its node port is a Service's, or in the
//     default NodePort range) or foreign;
//   - different: field by field — frontendVIPs, internalPort, flags,
//     portMappingFlags, distributionType, sourceVIP, portMappings (not
//     exactly one), and backends added or removed.
//
// An HNS load balancer without a port mapping or with an unparsable VIP
// has no key: it is extra, with key "". The ID and SchemaVersion are not
// compared. Backends are shown by IP and, where an EndpointSlice says
// (targetRef), by pod and Service: "10.244.1.5 (pod default/web-1,
// Service default/web)". HNS names a load balancer's endpoints by ID;
// they are resolved through the dump's endpoints (IpConfigurations[0]),
// and an ID that names no endpoint is a difference of its own (dangling).
// A planned backend is resolved as the Reconciler resolves it: a local
// endpoint on the node's network with its IP, else a remote one; <name>
// (the root endpoint of HealthCheck load balancers) by local endpoint name.
// A planned backend without an HNS endpoint is a difference too.
//
// Endpoints: the plan's (remote endpoints, and on Overlay the source-VIP
// endpoint) are missing, different (remote, macAddress, providerAddress)
// or match; a local endpoint with a planned remote endpoint's IP is a
// match, since the Reconciler creates none there. Remote endpoints on the
// node's network that the plan does not want are extra, with how many HNS
// load balancers use them. Local endpoints are the CNI's and are not
// audited otherwise. The node's network is found in the dump by name
// (networkName); a dump without it, or a node without networkName, makes
// every network's endpoints count, with a diagnostic.
//
// # Flags of compare
//
//	-f FILE          Services and EndpointSlices (repeatable; - is stdin; a directory reads its *.yaml, *.yml, *.json)
//	-node FILE       the node, as hnslb-plan -node reads it
//	-hns PATH        a dump file, - for stdin, or a collectlogs.ps1 directory
//	-service-cidr    the cluster's Service CIDRs (repeatable, or comma-separated), for the hints
//	-o table|json    table (default): what was compared, then every entry that does not match with
//	                 its differences, then the diagnostics; json: every entry, a stable interface
//
// The JSON document has every key always, lists never null:
//
//	{"loadBalancers": [{"key": "IPv4/10.96.0.10/UDP/53", "service": "kube-system/kube-dns", "port": "dns",
//	                    "kind": "ClusterIP", "status": "different", "hnsID": "5F0C...", "hint": "",
//	                    "differences": [{"field": "flags", "planned": "1 DSR", "hns": "0 None"}]}],
//	 "endpoints": [{"ip": "10.244.3.9", "status": "missing", "hnsID": "", "hint": "",
//	                "differences": [{"field": "remote", "planned": "yes", "hns": ""}, ...]}],
//	 "diagnostics": [{"severity": "warning", "object": "...", "reason": "...", "message": "..."}]}
//
// loadBalancers are in key order (those without a key last), endpoints
// in IP order. status is match, missing, extra or different. differences
// are empty for a match, and for missing and extra list every field the
// one side has (the other side ""), so that the entry says what to create
// or what is there. A field's values are text in one normal form (addresses
// normalised, flags as "number names", MACs lower case with '-'); backends
// are one difference each (field "backends"). hnsID is the HNS object's ID
// ("" when missing); hint says why an extra one looks like a Service's or
// foreign, or why an endpoint is what it is. diagnostics are the plan's
// (as hnslb-plan prints them) and the audit's own (NetworkNotInDump,
// NoNetwork).
//
// # Exit status
//
//	0  dump: the dump was written; compare: HNS matches the plan
//	1  compare: HNS differs from the plan (a summary goes to stderr)
//	2  bad flags, unreadable or undecodable input, an invalid node, no
//	   HNS on this machine (dump), or the output could not be written
//
// Messages go to stderr; stdout carries only the dump or the report.
package main
