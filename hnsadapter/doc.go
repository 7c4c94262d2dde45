// Package hnsadapter applies an lbpolicy.Plan to HNS with the fewest calls
// that converge: a Reconciler diffs the plan against what HNS holds and
// creates, updates in place, or deletes only what differs, through an
// hns.Client (hns.NewHCN on Windows, fake.HNS in tests). Sync lists HNS and
// compares the whole plan. SyncSnapshot applies what changed in an
// lbpolicy.Tracker's Snapshot (SyncChanges, a change set from lbpolicy.Diff)
// from what the Reconciler knows HNS holds, without listing, at a cost that
// grows with the change rather than the cluster; it falls back to a full
// sync periodically (FullSyncPeriod) to repair what changed behind its
// back. SyncSnapshot applies nothing before the Tracker's informers have
// synced (lbpolicy.Tracker.RequireSynced), since the first sync decides
// what to adopt.
//
// The adapter never modifies or deletes an HNS object it does not own: one
// it created, one it adopted at start-up because its identity key matched
// the plan's, one its ownership record names (Options.OwnershipFile), or,
// with an explicit option, every load balancer on the managed network. It
// never deletes an endpoint a load balancer it knows of references, and
// never takes an HNS answer as proof: a failed create may have taken
// effect, and an update answered as done may have been ignored.
package hnsadapter
