package hnsadapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Reconciler makes HNS hold what a plan says, with the fewest calls that
// converge. Each Sync lists HNS once, matches load balancers by identity
// key (lbpolicy.Key), and creates, updates or deletes only what differs;
// identical objects cost no call. SyncChanges does the same for only the
// keys and endpoints a change set names, from the Reconciler's record of
// what HNS holds (what the last Sync listed, plus its own calls since).
//
// The contract:
//   - Sync is idempotent: a second Sync with the same plan and an unchanged
//     HNS makes no mutating call.
//   - The Reconciler only modifies or deletes objects it owns: those it
//     created (found by a list where HNS answered the create with an
//     error: see below), those it adopted at its first successful Sync,
//     those its ownership record names (Options.OwnershipFile), and, with
//     Options.ClaimNetwork, those that option claims (see Options).
//     Another agent's load balancers and endpoints are never touched; one
//     holding a key or endpoint IP the plan wants is reported as a
//     *ConflictError, without a call.
//   - No load balancer it knows of is left pointing at an endpoint it
//     deleted: an owned endpoint is deleted only when no load balancer
//     references it, and one the plan wants replaced (its pod moved) only
//     after the owned load balancers that use it were moved off it; one a
//     load balancer of another agent references is never deleted nor
//     replaced (*InUseError).
//   - HNS's answers are checked, not believed. A create answered with an
//     error (other than "already exists") or without the object's ID may
//     have taken effect: the next sync is a full one, and in its list the
//     object holding the key (or IP) with exactly what the create sent is
//     the Reconciler's, so it is neither a conflict nor left behind. An
//     update answered as done is read back until one is seen to take
//     effect, and again from any full sync whose list shows a load
//     balancer other than an update answered (kubernetes#131466).
//   - Failures are per object: a failed object is reported in
//     Result.Errors and retried with exponential backoff by later syncs;
//     other objects proceed. Every sync reports every failure still
//     outstanding, those of objects waiting in backoff included. A failed
//     list aborts the whole sync: it never means "empty".
//   - Drift is repaired: an owned load balancer deleted or changed out of
//     band is recreated or updated by the next full sync (every Sync; a
//     SyncChanges every Options.FullSyncPeriod, or sooner when an HNS
//     answer shows it).
//
// A known limit: a sync of changes does not list load balancers, so it
// cannot see one another agent made since the last full list. If such a
// load balancer references an owned endpoint the plan no longer uses, the
// sync of changes deletes the endpoint, leaving that load balancer a
// dangling reference; the next full sync reports it
// (ReasonDanglingReference). The window is from the last full list to the
// delete, at most Options.FullSyncPeriod. Closing it would cost a list of
// every load balancer in each sync of changes that deletes an endpoint,
// as most pod churn does: with 10,000 load balancers, 27 times the time
// of such a sync on the fake, and seconds against HNS.
//
// Syncs are serialised: a sync called while another runs waits for it.
//
// Create one with NewReconciler; the zero Reconciler is not usable.
type Reconciler struct {
	backend hns.Client
	opts    Options
	log     logr.Logger

	mu sync.Mutex // held for the whole of a sync; guards all below

	network *hns.HostComputeNetwork // looked up by the first successful sync
	version lbpolicy.Version
	caps    lbpolicy.Capabilities
	started bool // a sync has listed HNS: adoption is over

	owned ownership
	// objects is what the Reconciler remembers per object from one sync
	// to the next: retries and last failures, what is left to do, what
	// to adopt (objects.go).
	objects objectTable
	// view is what HNS holds, as the last full sync listed it and every
	// call since changed it; syncs of changes work from it.
	view *view
	// fullNeeded says why the next sync must list HNS (the view may be
	// wrong), or is "" when it need not. Set through requireFull.
	fullNeeded fullReason
	// lastFull is when the last full sync started.
	lastFull time.Time
	// updates is what in-place updates were seen to do on this HNS. The
	// workers of a sync share it.
	updates *inPlaceUpdates
	// scratch is what the last sync of changes's maps leave to the next
	// (scratch.go).
	scratch scratch
	// forceWorkers, when positive, is how many goroutines the parts of a
	// sync that only read run on, however little they have to do: a sync
	// of changes examining its load balancers (lbexamine.go), phase 3
	// choosing its deletes (tests).
	forceWorkers int
	// spareRun is the syncRun the last sync finished with, for the next
	// to reuse.
	spareRun *syncRun
	// full holds the per-endpoint arrays of the last full sync, for the
	// next to empty and reuse (fullsync.go).
	full fullScratch
	// journal is the state of the ownership record's files (journal.go).
	journal journalState

	lastSuccess atomic.Pointer[time.Time] // read without mu (metrics.go)
}

// NewReconciler returns a Reconciler applying plans to b. It validates opts
// (an *OptionError names the bad field) and makes no HNS call: the first
// Sync looks up the network and HNS's version, and adopts what the plan
// wants.
func NewReconciler(b hns.Client, opts Options) (*Reconciler, error) {
	if b == nil {
		return nil, errors.New("hnsadapter: NewReconciler: nil hns.Client")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Reconciler{
		backend: b,
		opts:    opts,
		log:     opts.Logger,
		owned:   newOwnership(opts.OwnershipFile != ""),
		objects: newObjectTable(opts.InitialBackoff, opts.MaxBackoff),
		updates: &inPlaceUpdates{log: opts.Logger},
	}, nil
}

// Sync makes HNS hold plan, in three phases:
//
//  1. create the plan's endpoints that HNS lacks (a local endpoint with the
//     IP wins over the plan's remote one, kubernetes#138000);
//  2. create, update (in place where HNS can, verified; else delete then
//     create) and delete load balancers (an owned endpoint the plan
//     replaces is deleted in phase 1 only after the load balancers using
//     it were moved off it);
//  3. delete the owned endpoints the plan no longer uses that no load
//     balancer in HNS references any more (a set difference computed after
//     phase 2, never reference counts: kubernetes#91703, kubernetes#135144).
//
// A backend with no HNS endpoint is left out of its load balancer with a
// LocalEndpointMissing diagnostic. A load balancer left with no backend is
// not sent (HNS rejects it); one already in HNS is then kept as it is
// rather than deleted, since a pod's endpoint is often only briefly
// missing. A load balancer whose remote endpoint could not be created this
// sync waits (Result.Pending), untouched, so that a working load balancer
// is never replaced by a partial one.
//
// Sync returns an error only when it could not proceed at all: the network
// or version lookup or a list failed (the error wraps the *hns.Error), or plan
// is nil. It then changed nothing. Per-object failures are in
// Result.Errors. If ctx ends during the sync, the remaining calls are not
// made, and Sync returns what it did with ctx's error.
func (r *Reconciler) Sync(ctx context.Context, plan *lbpolicy.Plan) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if plan == nil {
		return Result{Calls: map[hns.Op]int{}}, errors.New("hnsadapter: Sync: nil plan")
	}
	return r.sync(ctx, plan, nil, nil)
}

// sync makes a full sync or a sync of changes, as fullSyncReason says.
// The plan is plan, or, when plan is nil, snap's: a sync of changes then
// looks it up through snap, and only a full sync builds it.
func (r *Reconciler) sync(ctx context.Context, plan *lbpolicy.Plan, changes *lbpolicy.Changes, snap *lbpolicy.Snapshot) (Result, error) {
	now := r.opts.Now()
	why := r.fullSyncReason(changes, now)
	if plan == nil && why != "" {
		p := snap.Plan()
		plan = &p
	}
	s := newSyncRun(r, plan, now)
	s.res.Full = why != ""
	var err error
	if s.res.Full {
		err = s.runFull(ctx)
	} else {
		s.idx = newPlanIndex(plan, snap)
		err = s.runChanges(ctx, changes)
	}
	switch {
	case err != nil:
		r.requireFull(fullAborted)
	case ctx.Err() != nil:
		r.requireFull(fullCutShort)
		err = ctx.Err()
	}
	if snap != nil && r.network != nil && snap.HNSVersion() != r.version {
		s.diagnose(lbpolicy.SeverityWarning, "Node", ReasonHNSVersionMismatch,
			"the plan was made for HNS %s, but HNS is %s: set Node.HNSVersion to %s (hnsadapter.NodeFor does)",
			snap.HNSVersion(), r.version, r.version)
	}
	r.saveRecord()
	s.recycle()
	s.res.Calls = s.calls.snapshot()
	sortErrors(s.res.Errors)
	sortDiagnostics(s.res.Diagnostics)
	r.syncDone(s, err) // LastSuccess and Options.Metrics (metrics.go)
	res := s.res
	*s = syncRun{calls: s.calls, onRelease: s.onRelease, filters: s.filters} // holds nothing of this sync
	r.spareRun = s
	if v := r.log.V(1); v.Enabled() {
		r.logSync(v, &res, why, err)
	}
	return res, err
}

// logSync logs what a sync did.
func (r *Reconciler) logSync(v logr.Logger, res *Result, why fullReason, err error) {
	v.Info("HNS sync done", "created", res.Created, "updated", res.Updated,
		"deleted", res.Deleted, "adopted", res.Adopted, "endpointsCreated", res.EndpointsCreated,
		"endpointsDeleted", res.EndpointsDeleted, "errors", len(res.Errors), "pending", res.Pending,
		"mutatingCalls", res.MutatingCalls(), "full", res.Full, "fullReason", why, "aborted", err != nil)
}

// Owned returns how many load balancers and endpoints the Reconciler owns.
func (r *Reconciler) Owned() (loadBalancers, endpoints int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.owned.lbs), len(r.owned.eps)
}

// lookup finds the network and HNS's version, once.
func (r *Reconciler) lookup(ctx context.Context, c *calls) error {
	if r.network != nil {
		return nil
	}
	network, err := c.getNetworkByName(ctx, r.opts.NetworkName)
	if err != nil {
		return fmt.Errorf("hnsadapter: looking up HNS network %q: %w", r.opts.NetworkName, err)
	}
	if network == nil || network.Id == "" {
		return fmt.Errorf("hnsadapter: looking up HNS network %q: no network returned", r.opts.NetworkName)
	}
	version, err := c.version(ctx)
	if err != nil {
		return fmt.Errorf("hnsadapter: querying the HNS version: %w", err)
	}
	r.network, r.version, r.caps = network, version, version.Capabilities()
	r.updates.supported, r.updates.version = r.caps.Modify, version
	r.log.V(1).Info("HNS found", "network", network.Name, "networkID", network.Id, "type", network.Type,
		"version", version.String(), "inPlaceUpdate", r.caps.Modify)
	return nil
}

// SyncChanges makes HNS hold plan, like Sync, but looks only at what
// changes names, plus what earlier syncs could not finish: it brings the
// load balancers of the keys and the endpoints of the IPs changes names
// (added, updated or removed) to what plan says, from what the Reconciler
// knows HNS holds, without listing. plan is the whole current plan and
// changes what changed since the plan of the previous sync, as
// lbpolicy.Diff gives them (with a Tracker, call SyncSnapshot, which needs
// no whole plan).
//
// Its cost is that of what changed, not of the plan: no list unless a
// load balancer it looks at has a local backend it has not seen an HNS
// endpoint for (one list of the network's endpoints then finds the pod
// endpoints the CNI made since). A sync of changes is a full Sync instead
// (Result.Full) when it is the first, when Options.FullSyncPeriod has
// passed since the last full one (which repairs drift the Reconciler
// cannot see: objects deleted or changed out of band), when changes is
// nil, or when an earlier sync found HNS other than it knew (a call cut
// short, an endpoint gone, an answer without the object) or made a create
// that failed (only a list says whether it took effect).
func (r *Reconciler) SyncChanges(ctx context.Context, plan *lbpolicy.Plan, changes *lbpolicy.Changes) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if plan == nil {
		return Result{Calls: map[hns.Op]int{}}, errors.New("hnsadapter: SyncChanges: nil plan")
	}
	return r.sync(ctx, plan, changes, nil)
}

// ErrNotReady is the error (test with errors.Is) of SyncSnapshot for a
// Snapshot that is not Ready: the Tracker's informers had not synced, so
// its plan may lack Services and endpoints that exist.
var ErrNotReady = errors.New("the plan is not complete: the Tracker's informers have not synced (lbpolicy.Tracker.RequireSynced)")

// SyncSnapshot makes HNS hold the plan of snap, a Tracker's Snapshot: the
// sync a proxy driven by informers calls each time it takes one. It is
// SyncChanges with snap's Changes, except that the plan is looked up
// through snap, by key and IP, instead of being built: a sync of changes
// costs what changed, however large the cluster. A full sync (see
// SyncChanges for when) builds snap's plan (snap.Plan).
//
// Before anything, it checks that snap may be applied, and makes no HNS
// call if not:
//   - snap must be Ready (lbpolicy.Tracker.RequireSynced): a plan made
//     before the informers synced lacks objects that exist, and the first
//     sync adopts, for good, only the leftover HNS objects the plan wants.
//     The error wraps ErrNotReady.
//   - snap's network (the Tracker's Node.NetworkName), when set, must be
//     Options.NetworkName: an *OptionError otherwise.
//
// The change set of snap is spent whatever happens: after an error, or a
// refused snap, the next sync is a full one, with the plan of the
// Snapshot it is given.
func (r *Reconciler) SyncSnapshot(ctx context.Context, snap *lbpolicy.Snapshot) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case snap == nil:
		return Result{Calls: map[hns.Op]int{}}, errors.New("hnsadapter: SyncSnapshot: nil Snapshot")
	case !snap.Ready():
		r.requireFull(fullAborted)
		return Result{Calls: map[hns.Op]int{}}, fmt.Errorf("hnsadapter: SyncSnapshot: %w", ErrNotReady)
	case snap.NetworkName() != "" && snap.NetworkName() != r.opts.NetworkName:
		r.requireFull(fullAborted)
		return Result{Calls: map[hns.Op]int{}}, &OptionError{Field: "NetworkName", Message: fmt.Sprintf(
			"the Snapshot's node is on HNS network %q (lbpolicy.Node.NetworkName), this Reconciler manages %q: give both the same name",
			snap.NetworkName(), r.opts.NetworkName)}
	}
	return r.sync(ctx, nil, &snap.Changes, snap)
}
