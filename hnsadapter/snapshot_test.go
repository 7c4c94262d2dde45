package hnsadapter_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/internal/gencluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// world is a generated cluster that changes as a live one does, fed to a
// Tracker as informers would.
type world struct {
	shape  gencluster.Shape
	node   lbpolicy.Node
	tr     *lbpolicy.Tracker
	svcs   map[string]*corev1.Service
	slices map[string]*discovery.EndpointSlice
	gone   []*corev1.Service // deleted, to come back
}

func newWorld(t testing.TB, shape gencluster.Shape, seed uint64) *world {
	t.Helper()
	w := &world{shape: shape, node: gencluster.Node(shape), svcs: map[string]*corev1.Service{}, slices: map[string]*discovery.EndpointSlice{}}
	tr, err := lbpolicy.NewTracker(w.node)
	require.NoError(t, err)
	w.tr = tr
	svcs, sls := gencluster.Cluster(shape, seed)
	for _, s := range svcs {
		w.svcs[s.Namespace+"/"+s.Name] = s
		tr.OnServiceAdd(s)
	}
	for _, s := range sls {
		w.slices[s.Namespace+"/"+s.Name] = s
		tr.OnEndpointSliceAdd(s)
	}
	return w
}

// plan is Compute over the world now.
func (w *world) plan(t testing.TB) lbpolicy.Plan {
	t.Helper()
	var svcs []*corev1.Service
	for _, s := range w.svcs {
		svcs = append(svcs, s)
	}
	var sls []*discovery.EndpointSlice
	for _, s := range w.slices {
		sls = append(sls, s)
	}
	p, err := lbpolicy.Compute(w.node, svcs, sls)
	require.NoError(t, err)
	return p
}

func (w *world) localIPs() []string {
	var sls []*discovery.EndpointSlice
	for _, s := range w.slices {
		sls = append(sls, s)
	}
	return gencluster.LocalIPs(sls)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// event makes one change a live cluster makes: an endpoint replaced (the
// pod moved or was recreated), made unready, or removed; a Service
// deleted or back.
func (w *world) event(r *rand.Rand) {
	names := sortedKeys(w.slices)
	switch k := r.IntN(10); {
	case k < 7:
		old := w.slices[names[r.IntN(len(names))]]
		s := old.DeepCopy()
		if len(s.Endpoints) == 0 || s.AddressType != discovery.AddressTypeIPv4 {
			return
		}
		e := &s.Endpoints[r.IntN(len(s.Endpoints))]
		switch r.IntN(3) {
		case 0:
			node := r.IntN(w.shape.Nodes + 1)
			e.Addresses = []string{fmt.Sprintf("10.%d.%d.%d", 64+node/256, node%256, 200+r.IntN(50))}
			e.NodeName = ptrTo(fmt.Sprintf("win-%d", node+1))
		case 1:
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			e.Conditions = discovery.EndpointConditions{Ready: ptrTo(!ready), Serving: ptrTo(true), Terminating: ptrTo(ready)}
		case 2:
			s.Endpoints = s.Endpoints[1:]
		}
		w.slices[s.Namespace+"/"+s.Name] = s
		w.tr.OnEndpointSliceUpdate(old, s)
	case k < 8 || len(w.gone) == 0:
		svcNames := sortedKeys(w.svcs)
		s := w.svcs[svcNames[r.IntN(len(svcNames))]]
		delete(w.svcs, s.Namespace+"/"+s.Name)
		w.gone = append(w.gone, s)
		w.tr.OnServiceDelete(s.Namespace, s.Name)
	default:
		s := w.gone[0]
		w.gone = w.gone[1:]
		w.svcs[s.Namespace+"/"+s.Name] = s
		w.tr.OnServiceAdd(s)
	}
}

func ptrTo[T any](v T) *T { return &v }

// addLocals gives e's fake a local endpoint for each of ips it lacks, as
// the CNI makes the pods' endpoints.
func (e *env) addLocals(ips []string) {
	for _, ip := range ips {
		if _, ok := e.locals[ip]; !ok {
			e.locals[ip] = e.h.AddLocalEndpoint(e.netID, "pod-"+ip, ip)
		}
	}
}

// Syncs of a Tracker's Snapshots, which look the plan up instead of
// building it, leave HNS as full syncs of Compute's plan do, at every step
// of a live cluster's churn, with the same mutating calls and without
// listing load balancers.
func TestSyncSnapshotMatchesSync(t *testing.T) {
	shape := gencluster.Shape{Services: 60, Endpoints: 600, Nodes: 8, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	for i, profile := range []string{"ws2022", "latest"} {
		t.Run(profile, func(t *testing.T) {
			w := newWorld(t, shape, 21)
			r := rand.New(rand.NewPCG(21, uint64(len(profile))))
			full := newEnv(t, profile)
			// Load balancers examined on several goroutines (lbexamine.go)
			// in one profile.
			inc := newEnv(t, profile, withOptions(func(o *hnsadapter.Options) { o.FullSyncPeriod = 1000 * time.Hour }),
				withWorkers(2*i))
			var fullCalls, incCalls int
			rounds := 60
			if testing.Short() {
				rounds = 20
			}
			for round := range rounds {
				for range r.IntN(4) {
					w.event(r)
				}
				p := w.plan(t)
				full.addLocals(w.localIPs())
				inc.addLocals(w.localIPs())
				a := full.sync(&p)
				snap := w.tr.Snapshot()
				inc.h.ResetCalls()
				b, err := inc.r.SyncSnapshot(context.Background(), &snap)
				require.NoError(t, err, "round %d", round)
				if round > 0 {
					assert.False(t, b.Full, "round %d", round)
					assert.Zero(t, b.Calls[hns.OpListLoadBalancers], "round %d", round)
				}
				assert.Equal(t, errorStrings(a.Errors), errorStrings(b.Errors), "round %d: errors", round)
				fullCalls += a.MutatingCalls()
				incCalls += b.MutatingCalls()
				if diff := cmp.Diff(hnsLines(full.h), hnsLines(inc.h)); diff != "" {
					t.Fatalf("round %d: load balancers (-Sync +SyncSnapshot):\n%s", round, diff)
				}
				if diff := cmp.Diff(remoteLines(full.h, full.netID), remoteLines(inc.h, inc.netID)); diff != "" {
					t.Fatalf("round %d: remote endpoints (-Sync +SyncSnapshot):\n%s", round, diff)
				}
			}
			assert.Equal(t, fullCalls, incCalls, "mutating calls")
			assert.NotZero(t, incCalls)
		})
	}
}

func errorStrings(errs []*hnsadapter.ObjectError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// A Snapshot taken before the informers synced is refused without any
// HNS call, so the first sync — the one that adopts what a previous run
// left — sees the whole plan.
func TestSyncSnapshotWaitsForSync(t *testing.T) {
	shape := gencluster.Shape{Services: 20, Endpoints: 200, Nodes: 4}
	w := newWorld(t, shape, 3)
	e := newEnv(t, "latest")
	e.addLocals(w.localIPs())
	p := w.plan(t)
	e.syncClean(&p) // a previous run
	lbs := len(e.h.LoadBalancers())
	require.NotZero(t, lbs)

	// The restarted proxy's Tracker has seen half the Services when the
	// first sync is attempted.
	e.restart()
	tr, err := lbpolicy.NewTracker(w.node)
	require.NoError(t, err)
	synced := false
	tr.RequireSynced(func() bool { return synced })
	names := sortedKeys(w.svcs)
	for _, n := range names[:len(names)/2] {
		tr.OnServiceAdd(w.svcs[n])
	}
	for _, n := range sortedKeys(w.slices) {
		tr.OnEndpointSliceAdd(w.slices[n])
	}
	snap := tr.Snapshot()
	e.h.ResetCalls()
	_, err = e.r.SyncSnapshot(context.Background(), &snap)
	require.True(t, errors.Is(err, hnsadapter.ErrNotReady), "got %v", err)
	assert.Empty(t, e.h.CallLog(), "HNS calls made for a Snapshot that is not ready")

	for _, n := range names[len(names)/2:] {
		tr.OnServiceAdd(w.svcs[n])
	}
	synced = true
	snap = tr.Snapshot()
	e.h.ResetCalls()
	res, err := e.r.SyncSnapshot(context.Background(), &snap)
	require.NoError(t, err)
	assert.True(t, res.Full)
	assert.Zero(t, res.MutatingCalls(), "the restart adopts everything")
	assert.Equal(t, lbs, res.Adopted)
	assert.Empty(t, res.Errors)
}

// A Snapshot of a node on another network than the Reconciler's is
// refused, naming both.
func TestSyncSnapshotNetworkMismatch(t *testing.T) {
	node := gencluster.Node(gencluster.Shape{})
	node.NetworkName = "cbr0"
	tr, err := lbpolicy.NewTracker(node)
	require.NoError(t, err)
	e := newEnv(t, "latest")
	snap := tr.Snapshot()
	_, err = e.r.SyncSnapshot(context.Background(), &snap)
	var oe *hnsadapter.OptionError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "NetworkName", oe.Field)
	assert.Contains(t, oe.Message, `"cbr0"`)
	assert.Contains(t, oe.Message, `"`+netName+`"`)
	assert.Empty(t, e.h.CallLog())
}

// A Snapshot planned for another HNS version than the backend's gets one
// diagnostic per sync saying which to set; one planned for the backend's
// gets none.
func TestSyncSnapshotVersionMismatch(t *testing.T) {
	p, err := hns.ProfileNamed("ws2019")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, version string
		want          int
	}{
		{"newest by default", "", 1},
		{"the backend's", p.Version.String(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := gencluster.Node(gencluster.Shape{})
			node.NetworkName, node.HNSVersion, node.EnableDSR = netName, tc.version, false
			tr, err := lbpolicy.NewTracker(node)
			require.NoError(t, err)
			e := newEnv(t, "ws2019")
			for range 2 {
				snap := tr.Snapshot()
				res, err := e.r.SyncSnapshot(context.Background(), &snap)
				require.NoError(t, err)
				var got int
				for _, d := range res.Diagnostics {
					if d.Reason == hnsadapter.ReasonHNSVersionMismatch {
						got++
						assert.Contains(t, d.Message, p.Version.String())
					}
				}
				assert.Equal(t, tc.want, got)
			}
		})
	}
}
