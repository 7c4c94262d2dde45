// Command hnslb-sync replays a sequence of cluster states, or a recording
// of watch events, against an in-memory HNS (package fake) and prints, per
// step, the HNS calls hnsadapter's Reconciler made, the load balancers it
// created, updated and deleted, by key and Service, and on request what HNS
// holds afterwards. It shows what applying plans costs on each HNS version: what
// is created, updated in place or deleted and created again, adopted after
// a restart, or left alone. It never talks to HNS or to a cluster.
//
// Usage:
//
//	hnslb-sync [-node FILE] [-profile NAME] [-restart-at N] [-claim-network] [-dump] [-o table|json] [STATE]...
//	hnslb-sync -events FILE [-batch N] [-node FILE] [-profile NAME] [-restart-at N] [-claim-network] [-dump] [-o table|json]
//
// With no arguments it replays a built-in demo on the built-in sample node
// (see examples/internal/cluster/sample): the sample cluster; then the
// same with the remote pod 10.244.2.41 of default/catalog replaced by
// 10.244.2.42 (one load balancer changes); then the same without Service
// default/legacy-gateway and its EndpointSlice (two load balancers go).
// Try it on each HNS:
//
//	go run ./examples/hnslb-sync -profile ws2022             # delete and create
//	go run ./examples/hnslb-sync -profile latest -o json     # one update, read back once
//	go run ./examples/hnslb-sync -restart-at 3               # a restart adopts, and leaves the deleted Service's LBs
//	go run ./examples/hnslb-sync -restart-at 3 -claim-network
//
// # State mode
//
// Each STATE argument is one step: a file, or a directory whose *.yaml,
// *.yml and *.json files together are the state (as hnslb-plan -f reads
// them; "-" is stdin, once). Every step is planned from scratch with
// lbpolicy.Compute for the node and applied with Reconciler.Sync. Steps
// are named by their argument:
//
//	go run ./examples/hnslb-sync -restart-at 4 examples/hnslb-sync/testdata/states/*
//
// # Event mode
//
// -events FILE reads watch events as
//
//	kubectl get endpointslices -A --watch --output-watch-events -o json
//
// prints them ({"type": "ADDED|MODIFIED|DELETED", "object": {...}}, JSON
// values one after another, or the same as multi-document YAML with
// -o yaml; "-" is stdin; see cluster.DecodeEvents). Events on Services and
// EndpointSlices are fed to an lbpolicy.Tracker in order: ADDED to
// On*Add, MODIFIED to On*Update with the object's previous event as the
// old object, DELETED to On*Delete. Every -batch events (default 1: a sync
// per event) make one step: the replay takes a Tracker.Snapshot, its
// Changes and its Plan, and applies both with Reconciler.SyncChanges. Events on
// other kinds, and BOOKMARK and ERROR events, are skipped with a note on
// stderr and do not count towards a batch. Steps are named by the events'
// places in the file ("event 6: MODIFIED EndpointSlice default/web-7xk2p",
// "events 1-10"), skipped ones counted, as in error messages.
//
// # The replayed node
//
// One fake HNS persists across the steps. It starts with the node's
// network (networkName, networkType; the node must name it) and the
// host's root endpoint (rootEndpointName, default cbr0, without IP). Before
// each step, every local pod of the step's EndpointSlices (an endpoint
// whose nodeName is the node's, by its first address, in the node's
// families; not a node IP or source VIP) that has no HNS endpoint yet gets
// one, named after its Pod, as the CNI would have created it when the pod
// started. Pod endpoints are never removed: a pod that leaves the slices
// keeps its endpoint, as an unready pod does. The Reconciler creates the
// remote endpoints and the Overlay source-VIP endpoint itself.
//
// -restart-at N drops the Reconciler before step N (2 or later) and makes
// a new one on the same HNS, as a restarted agent would (in event mode
// with a new Tracker too, handed the objects the cluster holds as an
// informer's initial list would). The new Reconciler owns nothing: its
// first sync adopts the load balancers the plan wants, so a restart with
// an unchanged state makes no mutating call. With -claim-network
// (hnsadapter.Options.ClaimNetwork) it also claims everything else on the
// network, so what the plan no longer wants is deleted; without it, that
// is left alone as another agent's.
//
// The replay is deterministic: the fake's IDs are seeded, the Reconciler
// makes one HNS call at a time, and its clock (backoff after failures,
// SyncChanges' periodic full compare) is a virtual one that moves 30
// seconds, kube-proxy's sync period, before each step.
//
// # Flags
//
//	-node FILE
//		The node, as hnslb-plan reads it (fields of lbpolicy.Node, see
//		testdata/nodes). Default: the sample node.
//	-profile ws2019|ws2022|ws2025|latest
//		The fake's HNS version and behaviour (hns.ProfileNamed); it
//		also replaces the node's hnsVersion, since lbpolicy plans for the
//		HNS the node runs (a note says so when they differed). Default: a
//		profile of the node's hnsVersion, or latest if it has none.
//	-restart-at N
//		Restart the Reconciler before step N (see above).
//	-claim-network
//		The Reconciler owns everything on the network (see above).
//	-events FILE
//		Event mode (see above); no STATE arguments then.
//	-batch N
//		Events per step in event mode. Default 1.
//	-dump
//		With -o table: after each step, also HNS's whole state
//		(fake.DumpStable: hnsdiag style, without IDs).
//	-o table|json
//		table (default): per step a header with the step's name, the
//		calls by hns.Op, the load balancers created, updated and deleted
//		(by key, with their Service port), how many load balancers and
//		endpoints HNS holds, the errors and diagnostics, and with -dump
//		HNS's state. In event mode the header also says what the Tracker
//		reported as changed; with -restart-at, how many load balancers the
//		new Reconciler adopted; and it names the pod endpoints added
//		before the step. json: a stable interface,
//
//		{"steps": [{"step": "demo 1: the sample cluster",
//		  "calls": {"CreateEndpoint": 25, "CreateLoadBalancer": 26, "DeleteEndpoint": 0,
//		            "DeleteLoadBalancer": 0, "GetLoadBalancer": 0, "GetNetworkByName": 1,
//		            "ListEndpoints": 1, "ListLoadBalancers": 1, "UpdateLoadBalancer": 0, "Version": 1},
//		  "created": [{"key": "IPv4/*/TCP/30080", "service": "default/api", "port": "http"}, ...],
//		  "updated": [], "deleted": [],
//		  "loadBalancers": 26, "endpoints": 33, "errors": [], "diagnostics": [], "adopted": 0,
//		  "full": true}]}
//
//		with every key always present and lists never null. calls are
//		the Client calls HNS received during the step's sync, keyed by
//		the names of hns's Op constants (hns.OpCreateLoadBalancer is
//		"CreateLoadBalancer"), every operation present: GetLoadBalancer
//		is the read-back that verifies an in-place update; GetNetworkByName
//		and Version are a new Reconciler's lookups. created, updated and
//		deleted are the load balancers the step created, changed (in place,
//		or deleted and created under a new ID) and deleted, by identity key
//		(lbpolicy.Key), in key order, with the Service and port of the plan
//		that last had the key ("" for a load balancer no plan had); they
//		are read from HNS's state before and after the step.
//		loadBalancers and endpoints count what HNS holds after the step:
//		every endpoint (the fake has one network), the root and pod
//		endpoints included. errors are the sync's per-object errors
//		(hnsadapter.Result.Errors) and the error of a sync that failed as
//		a whole. diagnostics are the plan's error diagnostics ("plan: …")
//		and the sync's diagnostics ("sync: …", e.g. LocalEndpointMissing);
//		the plan's warnings and notes are hnslb-plan's to show. adopted
//		counts the load balancers a new Reconciler adopted. full says
//		whether the sync listed HNS and compared the whole plan (always in
//		state mode; in event mode at the first step, every
//		hnsadapter.DefaultFullSyncPeriod of the virtual clock, and after
//		a failed sync) or applied only the step's changes.
//
// # Exit status
//
//	0  every step synced without error
//	1  every step was replayed, and at least one had a per-object error, a
//	   sync that failed as a whole, or an error diagnostic (each is named
//	   on stderr)
//	2  nothing was replayed: bad flags, an unreadable or undecodable file,
//	   an invalid node, or the output could not be written
//
// Messages go to stderr; stdout carries only the replay.
package main
