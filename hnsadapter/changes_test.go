package hnsadapter_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// syncChanges runs one SyncChanges with the changes from prev to p, which
// must not fail as a whole, with the fake's counters reset first.
func (e *env) syncChanges(prev, p *lbpolicy.Plan) hnsadapter.Result {
	e.t.Helper()
	e.h.ResetCalls()
	ch := lbpolicy.Diff(prev, p)
	res, err := e.r.SyncChanges(context.Background(), p, &ch)
	if err != nil {
		e.t.Fatalf("SyncChanges: %v", err)
	}
	for _, err := range res.Errors {
		e.t.Errorf("SyncChanges: %v", err)
	}
	return res
}

func (e *env) assertHolds(p *lbpolicy.Plan, drop ...string) {
	e.t.Helper()
	assert.Empty(e.t, cmp.Diff(planLines(p, drop...), hnsLines(e.h)), "load balancers (-plan +HNS)")
	assert.Empty(e.t, cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID)), "remote endpoints (-plan +HNS)")
}

// A sync of changes calls HNS only for what changed: no list, one update
// on latest, delete and create on ws2022, and the remote endpoints made
// and removed around them.
func TestSyncChangesCallsOnlyForChanges(t *testing.T) {
	tests := []struct {
		profile string
		want    map[hns.Op]int
	}{
		{"latest", map[hns.Op]int{hns.OpCreateEndpoint: 1, hns.OpDeleteEndpoint: 1,
			hns.OpUpdateLoadBalancer: 1, hns.OpGetLoadBalancer: 1}},
		{"ws2022", map[hns.Op]int{hns.OpCreateEndpoint: 1, hns.OpDeleteEndpoint: 1,
			hns.OpDeleteLoadBalancer: 1, hns.OpCreateLoadBalancer: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			e := newEnv(t, tt.profile)
			empty := &lbpolicy.Plan{}
			p0 := plan(basePlan())
			res := e.syncChanges(empty, p0)
			assert.True(t, res.Full, "the first sync is full")
			e.assertHolds(p0)

			lbs := basePlan()
			lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.9")
			p1 := plan(lbs)
			res = e.syncChanges(p0, p1)
			assert.False(t, res.Full)
			assert.Equal(t, tt.want, calls(res.Calls))
			assert.Equal(t, 1, res.Updated)
			e.assertHolds(p1)

			res = e.syncChanges(p1, p1)
			assert.Empty(t, calls(res.Calls), "no change, no call")
		})
	}
}

// Deleting a Service through a change set deletes its load balancers, and
// the remote endpoint only it used, not the one another Service shares.
func TestSyncChangesServiceDeletion(t *testing.T) {
	e := newEnv(t, "latest")
	p0 := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p0)

	p1 := plan(basePlan()[:3:3]) // dns's NodePort goes
	res := e.syncChanges(p0, p1)
	assert.Equal(t, map[hns.Op]int{hns.OpDeleteLoadBalancer: 1}, calls(res.Calls),
		"10.244.4.4 is still used by dns's ClusterIP")
	p2 := plan(basePlan()[:2:2]) // and dns
	res = e.syncChanges(p1, p2)
	assert.Equal(t, map[hns.Op]int{hns.OpDeleteLoadBalancer: 1, hns.OpDeleteEndpoint: 1}, calls(res.Calls))
	e.assertHolds(p2)
	p3 := plan(basePlan()[1:2:2]) // and web: 10.244.3.8 goes, 10.244.2.7 stays for api
	res = e.syncChanges(p2, p3)
	assert.Equal(t, map[hns.Op]int{hns.OpDeleteLoadBalancer: 1, hns.OpDeleteEndpoint: 1}, calls(res.Calls))
	e.assertHolds(p3)
}

// What happens behind the Reconciler's back is repaired by the full sync
// that falls due after Options.FullSyncPeriod.
func TestSyncChangesFullSyncRepairsDrift(t *testing.T) {
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.FullSyncPeriod = time.Minute }))
	p := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p)
	web := e.lbByKey("IPv4/10.96.0.10/TCP/80")
	require.True(t, e.h.RemoveLoadBalancer(web.Id))

	e.clock.Advance(59 * time.Second)
	res := e.syncChanges(p, p)
	assert.False(t, res.Full)
	assert.Empty(t, calls(res.Calls), "nothing changed that the Reconciler can see")

	e.clock.Advance(time.Second)
	res = e.syncChanges(p, p)
	assert.True(t, res.Full)
	assert.Equal(t, 1, res.Created)
	e.assertHolds(p)

	// Sync is always full, and restarts the period.
	require.True(t, e.h.RemoveLoadBalancer(e.lbByKey("IPv4/10.96.0.11/TCP/80").Id))
	e.clock.Advance(30 * time.Second)
	res = e.sync(p)
	assert.True(t, res.Full)
	assert.Equal(t, 1, res.Created)
	e.clock.Advance(59 * time.Second)
	assert.False(t, e.syncChanges(p, p).Full)
}

// A nil change set, and a sync after one that failed, compare everything:
// the failed sync's change set is spent.
func TestSyncChangesFullAfterAbort(t *testing.T) {
	e := newEnv(t, "latest")
	p0 := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p0)

	res, err := e.r.SyncChanges(context.Background(), p0, nil)
	require.NoError(t, err)
	assert.True(t, res.Full, "nil changes")

	// The local backend 10.244.1.9 has no HNS endpoint yet: the sync
	// lists the network's endpoints, which fails.
	lbs := append(basePlan(), svc("new", "10.96.0.20", "10.244.1.9", "10.244.2.7"))
	p1 := plan(lbs)
	e.h.InjectFault(fake.Fault{Op: hns.OpListEndpoints, Count: 1})
	ch := lbpolicy.Diff(p0, p1)
	_, err = e.r.SyncChanges(context.Background(), p1, &ch)
	require.Error(t, err)
	var hnsErr *hns.Error
	assert.ErrorAs(t, err, &hnsErr)

	e.h.ResetCalls()
	ch = lbpolicy.Diff(p1, p1) // empty: the caller moved on
	res, err = e.r.SyncChanges(context.Background(), p1, &ch)
	require.NoError(t, err)
	assert.True(t, res.Full)
	assert.Equal(t, 1, res.Created)
}

// A pod's HNS endpoint made by the CNI after the Service changed is found
// by a later sync of changes: the load balancer waits in the dirty set,
// and the endpoint list it costs is spaced by the backoff.
func TestSyncChangesFindsLateLocalEndpoint(t *testing.T) {
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) {
		o.InitialBackoff, o.MaxBackoff = time.Second, time.Minute
	}))
	p0 := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p0)

	lbs := basePlan()
	lbs[1] = svc("api", "10.96.0.11", "10.244.1.50", "10.244.2.7", "10.244.2.9")
	p1 := plan(lbs)
	e.h.ResetCalls()
	ch := lbpolicy.Diff(p0, p1)
	res, err := e.r.SyncChanges(context.Background(), p1, &ch)
	require.NoError(t, err)
	assert.Equal(t, map[hns.Op]int{hns.OpListEndpoints: 1}, calls(res.Calls),
		"one list to look for the new pod's endpoint; the load balancer is already right without it")
	require.Len(t, res.Diagnostics, 1)
	assert.Equal(t, hnsadapter.ReasonLocalEndpointMissing, res.Diagnostics[0].Reason)

	res = e.syncChanges(p1, p1)
	assert.Empty(t, calls(res.Calls), "in backoff: no list")

	e.locals["10.244.1.50"] = e.h.AddLocalEndpoint(e.netID, "pod-10.244.1.50", "10.244.1.50")
	e.clock.Advance(time.Second)
	res = e.syncChanges(p1, p1)
	assert.False(t, res.Full)
	assert.Equal(t, map[hns.Op]int{hns.OpListEndpoints: 1, hns.OpUpdateLoadBalancer: 1,
		hns.OpGetLoadBalancer: 1}, calls(res.Calls))
	e.assertHolds(p1)

	res = e.syncChanges(p1, p1)
	assert.Empty(t, calls(res.Calls), "done: nothing left to look at")
}

// A pod that moves to another node: the plan's remote endpoint for its IP
// changes (new MAC and provider address). The old endpoint is replaced,
// and every load balancer using it follows, though none of them changed in
// the plan: each is first moved off the old endpoint (one update), which
// is then deleted, and then onto the new one (a second update), so that
// none ever points at a deleted endpoint.
func TestSyncChangesReplacedEndpoint(t *testing.T) {
	e := newEnv(t, "latest")
	p0 := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p0)

	p1 := plan(basePlan())
	for i := range p1.Endpoints {
		if p1.Endpoints[i].IP == ip("10.244.2.7") {
			p1.Endpoints[i].MACAddress = "02-11-0a-f4-05-07"
			p1.Endpoints[i].ProviderAddress = ip("10.0.0.5")
		}
	}
	res := e.syncChanges(p0, p1)
	assert.Equal(t, map[hns.Op]int{hns.OpDeleteEndpoint: 1, hns.OpCreateEndpoint: 1,
		hns.OpUpdateLoadBalancer: 4, hns.OpGetLoadBalancer: 1}, calls(res.Calls), "web and api use 10.244.2.7")
	assert.Equal(t, 2, res.Updated)
	e.assertHolds(p1)
	full := e.sync(p1)
	assert.Equal(t, listOnly, calls(full.Calls), "a full sync finds nothing to do")
}

// Syncs of changes leave HNS as full syncs do, at every step of a random
// churn, without listing load balancers.
func TestSyncChangesMatchesSync(t *testing.T) {
	for i, profile := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		t.Run(profile, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(profile))))
			full := newEnv(t, profile)
			// Load balancers examined on several goroutines (for fewer
			// than lbexamine.go's examineMin, only if forced) in half the
			// profiles.
			inc := newEnv(t, profile, withOptions(func(o *hnsadapter.Options) { o.FullSyncPeriod = 1000 * time.Hour }),
				withWorkers(3*(i%2)))
			w := newChurnWorld(rng)
			prev := &lbpolicy.Plan{}
			var fullCalls, incCalls int
			for round := range 100 {
				p := w.step()
				a := full.sync(p)
				b := inc.syncChanges(prev, p)
				if round > 0 {
					assert.False(t, b.Full, "round %d", round)
					assert.Zero(t, b.Calls[hns.OpListLoadBalancers], "round %d", round)
				}
				fullCalls += a.MutatingCalls()
				incCalls += b.MutatingCalls()
				if diff := cmp.Diff(hnsLines(full.h), hnsLines(inc.h)); diff != "" {
					t.Fatalf("round %d: load balancers (-Sync +SyncChanges):\n%s", round, diff)
				}
				if diff := cmp.Diff(remoteLines(full.h, full.netID), remoteLines(inc.h, inc.netID)); diff != "" {
					t.Fatalf("round %d: remote endpoints (-Sync +SyncChanges):\n%s", round, diff)
				}
				prev = p
			}
			assert.Equal(t, fullCalls, incCalls, "mutating calls")
		})
	}
}

// A sync of changes with many load balancers in scope examines them on
// several goroutines, then records what it found in key order, and
// chooses many endpoints to delete on several goroutines too: its
// calls, what HNS then holds, and its Result (errors, diagnostics,
// counts) are those of one goroutine, round after round of churn.
func TestSyncChangesWorkers(t *testing.T) {
	for _, profile := range []string{"ws2019", "latest"} {
		t.Run(profile, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(len(profile))))
			noFull := withOptions(func(o *hnsadapter.Options) { o.FullSyncPeriod = 1000 * time.Hour })
			one := newEnv(t, profile, noFull, withWorkers(1))
			many := newEnv(t, profile, noFull, withWorkers(3))
			one.h.SeedIDs(5)
			many.h.SeedIDs(5)
			w := newChurnWorld(rng)
			prev := &lbpolicy.Plan{}
			var diagnostics int
			for round := range 100 {
				p := w.step()
				a, b := one.syncChanges(prev, p), many.syncChanges(prev, p)
				diagnostics += len(a.Diagnostics)
				if diff := cmp.Diff(errorStrings(a.Errors), errorStrings(b.Errors)); diff != "" {
					t.Fatalf("round %d: errors (-1 goroutine +3):\n%s", round, diff)
				}
				a.Errors, b.Errors = nil, nil
				if diff := cmp.Diff(a, b); diff != "" {
					t.Fatalf("round %d: result (-1 goroutine +3):\n%s", round, diff)
				}
				if diff := cmp.Diff(hnsLines(one.h), hnsLines(many.h)); diff != "" {
					t.Fatalf("round %d: load balancers (-1 goroutine +3):\n%s", round, diff)
				}
				prev = p
			}
			assert.NotZero(t, diagnostics, "the churn should leave backends without endpoint")
		})
	}
}

// An HNS answer that contradicts the view (a frontend "already exists"
// that the view does not hold) makes the next sync of changes a full one,
// even when the contradiction came up during a full sync.
func TestSyncChangesRelistsAfterContradiction(t *testing.T) {
	e := newEnv(t, "latest")
	p := plan(basePlan())
	e.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Code: hns.CodeAlreadyExists, Count: 1})
	ch := lbpolicy.Diff(&lbpolicy.Plan{}, p)
	res, err := e.r.SyncChanges(context.Background(), p, &ch)
	require.NoError(t, err)
	require.True(t, res.Full)
	require.Len(t, res.Errors, 1)
	assert.True(t, hns.IsAlreadyExists(res.Errors[0]))

	e.clock.Advance(time.Second) // the failed load balancer's backoff
	res = e.syncChanges(p, p)
	assert.True(t, res.Full, "the view may be wrong: list again")
	assert.Equal(t, 1, res.Created)
	e.assertHolds(p)
	assert.False(t, e.syncChanges(p, p).Full)
}

// idDropper answers creates without the new object's ID, as a backend
// breaking its contract would.
type idDropper struct {
	hns.Client
	drop bool
}

func (d *idDropper) CreateLoadBalancer(ctx context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	got, err := d.Client.CreateLoadBalancer(ctx, lb)
	if err == nil && d.drop {
		return nil, nil
	}
	return got, err
}

func (d *idDropper) CreateEndpoint(ctx context.Context, networkID string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	got, err := d.Client.CreateEndpoint(ctx, networkID, ep)
	if err == nil && d.drop {
		cp := *got
		cp.Id = ""
		return &cp, nil
	}
	return got, err
}

// Objects created under IDs HNS did not say are errors, never owned as
// "": the next sync lists, and takes each object that holds the key or IP
// with what the create sent as its own (no second create of it).
func TestSyncChangesCreateWithoutID(t *testing.T) {
	for _, tt := range []struct {
		name          string
		lb            lbpolicy.LoadBalancer
		errs          int
		ownedLBs, eps int
		secondCreates int
	}{
		{name: "load balancer", lb: svc("web", "10.96.0.10", "10.244.1.2", "10.244.1.3"), errs: 1, ownedLBs: 1},
		{name: "endpoints", lb: svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.8"), errs: 2, ownedLBs: 1, eps: 2, secondCreates: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dropper := &idDropper{drop: true}
			e := newEnv(t, "latest", withBackend(func(b hns.Client) hns.Client { dropper.Client = b; return dropper }))
			p := plan([]lbpolicy.LoadBalancer{tt.lb})
			ch := lbpolicy.Diff(&lbpolicy.Plan{}, p)
			res, err := e.r.SyncChanges(context.Background(), p, &ch)
			require.NoError(t, err)
			assert.Len(t, res.Errors, tt.errs)
			for _, err := range res.Errors {
				var missing *hnsadapter.MissingIDError
				if assert.ErrorAs(t, err, &missing, "the Reconciler's own finding") {
					assert.Equal(t, err.Op, missing.Op)
				}
				assert.Zero(t, hns.CodeOf(err), "not dressed as an HNS error")
			}
			dropper.drop = false

			e.clock.Advance(time.Second)
			res = e.syncChanges(p, p)
			assert.True(t, res.Full)
			assert.Equal(t, tt.secondCreates, res.Calls[hns.OpCreateLoadBalancer]+res.Calls[hns.OpCreateEndpoint])
			e.assertHolds(p)
			lbs, eps := e.r.Owned()
			assert.Equal(t, [2]int{tt.ownedLBs, tt.eps}, [2]int{lbs, eps}, "owned load balancers, endpoints")
		})
	}
}

// A plan not sorted as lbpolicy sorts it is indexed rather than searched:
// the same calls, the same HNS.
func TestSyncChangesUnsortedPlan(t *testing.T) {
	e := newEnv(t, "latest")
	p0 := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p0)

	lbs := basePlan()
	lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.9")
	p1 := plan(lbs)
	reversed := &lbpolicy.Plan{LoadBalancers: slices.Clone(p1.LoadBalancers), Endpoints: slices.Clone(p1.Endpoints)}
	slices.Reverse(reversed.LoadBalancers)
	slices.Reverse(reversed.Endpoints)
	res := e.syncChanges(p0, reversed)
	assert.False(t, res.Full)
	assert.Equal(t, map[hns.Op]int{hns.OpCreateEndpoint: 1, hns.OpDeleteEndpoint: 1,
		hns.OpUpdateLoadBalancer: 1, hns.OpGetLoadBalancer: 1}, calls(res.Calls))
	e.assertHolds(p1)
}

// A key held by two owned load balancers (both claimed at start-up, and
// the delete of one failed): the next sync of changes that looks at the
// key keeps one, brought to the plan, and deletes the other.
func TestSyncChangesDeletesAnotherOwned(t *testing.T) {
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) {
		o.ClaimNetwork, o.FullSyncPeriod = true, 1000*time.Hour
	}))
	web := svc("web", "10.96.0.10", "10.244.1.2")
	held := foreignLB("10.96.0.10", e.locals["10.244.1.2"]) // as the plan wants it
	held.PortMappings[0].InternalPort, held.SourceVIP = web.InternalPort, web.SourceVIP.String()
	for range 2 {
		e.h.AddLoadBalancer(held)
	}
	p := plan([]lbpolicy.LoadBalancer{web})
	e.h.InjectFault(fake.Fault{Op: hns.OpDeleteLoadBalancer, Count: 1})
	res, err := e.r.Sync(context.Background(), p)
	require.NoError(t, err)
	require.Len(t, res.Errors, 1, "the delete of the second")
	require.Len(t, e.h.LoadBalancers(), 2)

	e.clock.Advance(time.Minute) // past the delete's backoff
	res = e.syncChanges(p, p)
	assert.False(t, res.Full)
	assert.Equal(t, 1, res.Deleted)
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
}
