package lbpolicy

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Tracker plans incrementally, for a proxy driven by informers. It holds the
// current Services, EndpointSlices and Node, is told about each add, update
// and delete, and re-plans only the Services whose Service object or
// EndpointSlices changed. Snapshot returns, in one call, what changed
// since the previous Snapshot and the plan those changes lead to: always
// exactly the one Compute returns for the same Node, Services and
// EndpointSlices, byte for byte as JSON. An applier hands the Snapshot to
// hnsadapter's Reconciler.SyncSnapshot, which touches only what changed
// and looks the plan up by key (LoadBalancer, Endpoint) without building
// it.
//
// With client-go informers, register the handlers the Tracker returns
// (they take client-go's objects and tombstones, without this package
// depending on client-go), and tell it when the informers have listed
// everything (RequireSynced): until then its Snapshots are not Ready.
//
//	t, err := lbpolicy.NewTracker(node)
//	...
//	report := func(err error) { log.Error(err, "informer event not tracked") }
//	svcReg, _ := svcInformer.AddEventHandler(t.ServiceEventHandler(report))
//	sliceReg, _ := sliceInformer.AddEventHandler(t.EndpointSliceEventHandler(report))
//	t.RequireSynced(svcReg.HasSynced, sliceReg.HasSynced)
//	for range syncSignal {
//		s := t.Snapshot()
//		res, err := rec.SyncSnapshot(ctx, &s) // hnsadapter.Reconciler
//		...
//	}
//
// Or call the typed methods (OnServiceAdd, OnServiceUpdate, ...) from
// handlers of your own.
//
// Rules, as in Compute:
//   - A Service is keyed by namespace/name: an add of a Service the Tracker
//     already holds replaces it (an update), and a delete needs only the
//     key, so a tombstone whose final state is unknown deletes the right
//     object.
//   - An EndpointSlice belongs to the Service named by its
//     kubernetes.io/service-name label, in its namespace. Slices are kept
//     whether or not that Service exists yet, and used when it appears; a
//     slice whose label changes moves from one Service to the other; a
//     slice without the label plans nothing.
//   - Node changes (SetNode) re-plan everything, but for a change of
//     RemoteSubnets alone, which re-plans only what it affects.
//
// The Tracker keeps references to the objects it is given and reads them
// again when it re-plans their Service: as with informers' caches, callers
// must not modify an object after handing it over (informer objects are
// immutable by contract). It never modifies them itself. An update that
// hands over the very object already held (an informer's resync) costs
// nothing. The event methods never panic: a nil object changes nothing.
//
// A Tracker is safe for concurrent use: events may arrive from several
// goroutines, and Snapshot may be called at any time. Every Snapshot
// consumes the changes it reports, so one Tracker feeds one applier. The
// slices in a Snapshot and its Plan are never modified afterwards (later
// Snapshots build new ones, and share them when nothing changed); callers
// must treat them as read-only.
//
// Cost: an event files its object and marks its Service; Snapshot
// re-plans each marked Service once, however many events changed it, at
// the cost of planning that one Service plus a map update per load
// balancer and endpoint IP whose plan changed (more where several Services
// claim one frontend or IP). A Snapshot that re-plans many Services plans
// them on every core GOMAXPROCS allows, and settles many keys and IPs
// likewise, with the same result as on one. So Snapshot costs what
// changed since the previous one, never the size of the cluster; its Plan
// is O(n) (the newest plan built, with what changed since merged in; the
// same plan when nothing changed). SetNode and the first Snapshot are
// O(n). With 10,000 Services and 100,000 endpoints loaded, an
// EndpointSlice update and a Snapshot take about 5 µs, its Plan about
// 4.5 ms (BenchmarkTracker*). Besides the objects and the claims, a
// Tracker keeps the newest plan built and which keys, IPs and diagnostics
// changed since, and for each Snapshot still held whose plan is not
// built, what changed after it; nothing for Snapshots no one holds. When
// 16 Snapshots in a row had no plan built (an applier that uses the
// changes and lookups, as hnsadapter's SyncSnapshot does between full
// syncs), it drops that plan and makes the next from the claims, sorting
// them: at 10,000 Services it then holds about 3.5 KB per Service instead
// of 4.5.
//
// Create one with NewTracker; the zero Tracker is not usable.
type Tracker struct {
	mu      sync.Mutex
	node    *node
	objects objects   // the Services and EndpointSlices held (tracker_objects.go)
	claims  claims    // the plan, assembled one Service at a time (tracker_claims.go)
	log     changeLog // what changed since the last Snapshot (tracker_changelog.go)
	plans   planCache // what builds the Snapshots' plans (tracker_plans.go)
	planner planner   // what plans one Service (tracker_output.go)
	// helpers plan beside planner when a Snapshot plans many Services,
	// into outs (tracker_parallel.go); forceWorkers, when set, is how many
	// goroutines plan, settle and list changes at every Snapshot (tests).
	helpers      []*planner
	outs         []serviceOutput
	forceWorkers int
	// pending are the Services to re-plan at the next Snapshot (mark).
	pending []*serviceState

	// hasSynced are the informers' sync signals (RequireSynced); synced
	// is set once all of them said true, and stays set.
	syncMu    sync.Mutex
	hasSynced []func() bool
	synced    bool
}

// NewTracker returns a Tracker for node, holding no Services or
// EndpointSlices yet. It fails, like Compute, only for an invalid node.
func NewTracker(n Node) (*Tracker, error) {
	v, err := n.validate()
	if err != nil {
		return nil, err
	}
	t := &Tracker{node: v, objects: newObjects()}
	t.rebuild()
	return t, nil
}

// SetNode replaces the node and re-plans everything, except when only its
// RemoteSubnets changed (a node joined or left the cluster): the Tracker
// then makes again the remote endpoints (their provider addresses) and
// re-plans only the Services with a remote backend whose load balancer's
// source VIP the change affects, at a cost of O(remote backends) rather
// than planning every Service. An invalid node is rejected with Compute's
// error and changes nothing.
func (t *Tracker) SetNode(n Node) error {
	v, err := n.validate()
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flush() // the Services' outputs must be the current ones
	if onlyRemoteSubnetsDiffer(t.node, v) {
		t.setRemoteSubnets(v) // tracker_subnets.go
		return nil
	}
	t.node = v
	t.rebuild()
	return nil
}

// OnServiceAdd takes an added Service. If the Tracker already holds a
// Service of that namespace/name, this one replaces it. A nil svc changes
// nothing.
func (t *Tracker) OnServiceAdd(svc *corev1.Service) {
	t.OnServiceUpdate(nil, svc)
}

// OnServiceUpdate takes an updated Service. old, the previous state as
// informers give it, may be nil: it is only used to drop the old
// namespace/name should it differ (informers never do that; the Tracker
// then treats the update as a delete and an add). A nil svc changes
// nothing.
func (t *Tracker) OnServiceUpdate(old, svc *corev1.Service) {
	if svc == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old != nil && (old.Namespace != svc.Namespace || old.Name != svc.Name) {
		t.mark(t.objects.deleteService(types.NamespacedName{Namespace: old.Namespace, Name: old.Name}))
	}
	t.mark(t.objects.putService(svc))
}

// OnServiceDelete deletes the Service namespace/name. Deleting a Service
// the Tracker does not hold changes nothing. Its EndpointSlices stay, for
// when it comes back.
func (t *Tracker) OnServiceDelete(namespace, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mark(t.objects.deleteService(types.NamespacedName{Namespace: namespace, Name: name}))
}

// OnEndpointSliceAdd takes an added EndpointSlice. If the Tracker already
// holds a slice of that namespace/name, this one replaces it. A nil sl
// changes nothing.
func (t *Tracker) OnEndpointSliceAdd(sl *discovery.EndpointSlice) {
	t.OnEndpointSliceUpdate(nil, sl)
}

// OnEndpointSliceUpdate takes an updated EndpointSlice. The Service it
// belongs to is read from the new object's label; the Tracker remembers
// which Service held the previous version, so old may be nil: it is only
// used to drop the old namespace/name should it differ. A nil sl changes
// nothing.
func (t *Tracker) OnEndpointSliceUpdate(old, sl *discovery.EndpointSlice) {
	if sl == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old != nil && (old.Namespace != sl.Namespace || old.Name != sl.Name) {
		t.mark(t.objects.deleteSlice(types.NamespacedName{Namespace: old.Namespace, Name: old.Name}))
	}
	from, to := t.objects.putSlice(sl)
	t.mark(from)
	t.mark(to)
}

// OnEndpointSliceDelete deletes the EndpointSlice namespace/name from the
// Service the Tracker filed it under. Deleting a slice the Tracker does
// not hold changes nothing.
func (t *Tracker) OnEndpointSliceDelete(namespace, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mark(t.objects.deleteSlice(types.NamespacedName{Namespace: namespace, Name: name}))
}

// Snapshot returns what changed in the plan since the previous Snapshot
// (the first reports the whole plan as added) and the plan it leads to.
// Changes.Apply of its Changes to the previous Snapshot's Plan gives its
// Plan. It costs what changed, not the size of the plan (except the first
// Snapshot, and the first after SetNode, which may change anything).
func (t *Tracker) Snapshot() Snapshot {
	// Asked before taking the lock: the informers deliver events while
	// their sync signals may take locks of their own, and once synced
	// they stay synced, so every event that made them so is already in.
	ready := t.ready()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flush()
	ch := t.log.take(&t.claims)
	return Snapshot{Changes: ch, t: t, step: t.plans.next(&ch, &t.log), ready: ready,
		network: t.node.NetworkName, version: t.node.version}
}

// RequireSynced makes Snapshots Ready only once every hasSynced has
// returned true: pass the HasSynced of the Service and EndpointSlice
// informers, or of the handler registrations client-go's AddEventHandler
// returns (true once the handler has been given every object of the
// informer's initial list). Until then the Tracker's plan may lack
// Services or endpoints that exist, and an applier must not act on it:
// hnsadapter's Reconciler adopts leftover HNS objects at its first sync,
// and a partial plan would leave them unadopted. A Tracker with nothing
// registered is always ready. The functions are called, without the
// Tracker's lock, by Snapshot, until all have said true once.
func (t *Tracker) RequireSynced(hasSynced ...func() bool) {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	for _, f := range hasSynced {
		if f != nil {
			t.hasSynced = append(t.hasSynced, f)
			t.synced = false
		}
	}
}

// ready reports whether every registered sync signal has said true.
func (t *Tracker) ready() bool {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	if t.synced {
		return true
	}
	for len(t.hasSynced) > 0 {
		if !t.hasSynced[0]() {
			return false
		}
		t.hasSynced = t.hasSynced[1:]
	}
	t.synced, t.hasSynced = true, nil
	return true
}

// Snapshot is a Tracker's plan at one moment, and what changed in it
// since the previous Snapshot. Its Plan is built on first use.
type Snapshot struct {
	// Changes is what changed since the previous Snapshot: what an applier
	// must create, update and delete.
	Changes Changes

	t       *Tracker
	step    *planStep
	ready   bool
	network string
	version Version
}

// Ready reports whether the Tracker's informers had all synced when the
// Snapshot was taken (see RequireSynced): whether its plan holds every
// Service and EndpointSlice that existed then. The zero Snapshot is not
// ready.
func (s Snapshot) Ready() bool { return s.ready }

// NetworkName is the HNS network of the Tracker's Node when the Snapshot
// was taken (Node.NetworkName).
func (s Snapshot) NetworkName() string { return s.network }

// HNSVersion is the HNS version the Snapshot's plan was made for: the
// Tracker's Node.HNSVersion, or the newest when it gives none.
func (s Snapshot) HNSVersion() Version { return s.version }

// Plan returns the plan at the time of the Snapshot: exactly what Compute
// returns for the Node, Services and EndpointSlices the Tracker held then.
// The first call builds it (O(n): the previous plan with what changed
// merged in; events wait meanwhile); later calls, and later Snapshots
// when nothing changed, return the same slices: treat them as read-only.
// The zero Snapshot's plan is empty.
func (s Snapshot) Plan() Plan {
	if s.step == nil {
		return emptyPlan()
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return s.t.plans.plan(s.step, &s.t.claims, &s.t.log)
}

// mark notes that st's Service must be re-planned (nil: nothing to do).
// The Tracker re-plans the marked Services at the next Snapshot (flush):
// an event costs filing its object, and a Service changed by several
// events before a Snapshot is planned once. Until then the claims, the
// change log and every Snapshot's plan and lookups stay what they were
// at the latest Snapshot, which is what they must give.
func (t *Tracker) mark(st *serviceState) {
	if st != nil && !st.pending {
		st.pending = true
		t.pending = append(t.pending, st)
	}
}

// flush re-plans the marked Services and settles the claims.
func (t *Tracker) flush() {
	if len(t.pending) == 0 {
		return
	}
	for _, st := range t.pending {
		st.pending = false
	}
	t.replanAll(t.pending)
	clear(t.pending)
	t.pending = t.pending[:0]
	if cap(t.pending) > 4096 {
		t.pending = nil // a large batch's: do not keep the room
	}
	t.claims.settle()
}

// replan plans st's Service alone and replaces its output in the claims.
// The caller settles the claims.
func (t *Tracker) replan(st *serviceState) {
	var out serviceOutput
	if st.svc != nil {
		out = t.planner.plan(t.node, st, &st.out)
	}
	t.apply(st, out)
}

// apply replaces st's output, planned from its Service (none when it has
// none), with out in the claims. The caller settles the claims.
func (t *Tracker) apply(st *serviceState, out serviceOutput) {
	old, same := st.out, st.svc != nil && st.planned == st.svc
	st.out, st.planned = out, st.svc
	t.claims.replace(st, &old, &st.out, same)
	t.objects.forgetIfEmpty(st)
}

// rebuild throws away the claims and makes them again from the held
// objects (after a node change, and at the start).
func (t *Tracker) rebuild() {
	t.log.rememberAll(&t.claims)
	t.claims.reset(t.node, &t.log)
	states := t.objects.inOrder()
	for _, st := range states {
		st.out, st.planned = serviceOutput{}, nil // its claims went with the old maps
	}
	t.replanAll(states)
	t.claims.settle()
}
