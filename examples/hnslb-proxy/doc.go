// Command hnslb-proxy is a reference Windows service proxy built only from
// hnslb's public API: what kube-proxy's winkernel mode does, in a few
// hundred lines.
//
//   - client-go informers (Services, EndpointSlices, and this node's Node)
//     from -kubeconfig or the in-cluster config feed an lbpolicy.Tracker;
//   - the lbpolicy.Node comes from the v1.Node and the HNS network;
//   - no sync applies before both informers have synced (the Tracker's
//     readiness gate), so that leftovers of a previous run are adopted,
//     not taken for another agent's;
//   - a bounded-frequency runner (internal/runner: -min-sync-period,
//     -burst-syncs, and a periodic run every -sync-period) applies each
//     Tracker Snapshot with the Reconciler, which makes a full sync every
//     -full-sync-period;
//   - /healthz and /livez answer as kube-proxy's (on -healthz-bind-address,
//     default 0.0.0.0:10256), and a server per Service with a
//     healthCheckNodePort answers as kube-proxy's service health server;
//   - Prometheus metrics on -metrics-bind-address (sync duration, HNS calls
//     by operation and outcome, objects in backoff, last successful sync);
//   - SIGTERM or SIGINT shut it down gracefully.
//
// On Windows it programs the machine's HNS (hns.NewHCN). On any OS,
// -fake-hns PROFILE runs it against an in-memory fake.HNS holding the
// network -network-name (of type -fake-network-type), which gives each
// local pod an HNS endpoint as the CNI would, and serves its state on
// /debug/hns of the metrics address (JSON that fake.Load reads back, or
// ?format=text); POST /debug/hns/faults?op=&code=&count= makes it fail,
// DELETE clears the faults; -fake-hns-state FILE keeps it across restarts:
//
//	go run . -fake-hns latest -kubeconfig ~/.kube/config -node-name NODE -v 1
//
// It is a module of its own, so that client-go and the Prometheus client
// never become requirements of an importer of the library. It uses only
// the library's public API: hnsadapter.NodeFor for the node,
// lbpolicy.Tracker (RequireSynced, Snapshot, HealthChecks) fed by the
// informers, Reconciler.SyncSnapshot, Options.Metrics and LastSuccess.
package main
