package hnsadapter_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// The tests of this file check what the Reconciler does with HNS answers
// it cannot trust: errors for calls that took effect, answers without the
// object's ID, updates answered as done and ignored.

const webKey = "IPv4/10.96.0.10/TCP/80"

func matchKey(k string) func(string) bool { return func(s string) bool { return s == k } }

// endpointID returns the ID of the HNS endpoint with IP a on the managed
// network.
func (e *env) endpointID(a string) string {
	e.t.Helper()
	for _, ep := range e.h.Endpoints() {
		if strings.EqualFold(ep.HostComputeNetwork, e.netID) && len(ep.IpConfigurations) > 0 && ep.IpConfigurations[0].IpAddress == a {
			return ep.Id
		}
	}
	e.t.Fatalf("no endpoint %s in HNS:\n%s", a, e.h.DumpStable())
	return ""
}

// dangling returns every reference of a load balancer in h to an endpoint
// h does not hold, as "<key> -> <endpoint ID>", sorted.
func dangling(h *fake.HNS) []string {
	eps := map[string]bool{}
	for _, ep := range h.Endpoints() {
		eps[strings.ToUpper(ep.Id)] = true
	}
	var out []string
	for _, lb := range h.LoadBalancers() {
		key, _ := hnsadapter.LoadBalancerKey(&lb)
		for _, id := range lb.HostComputeEndpoints {
			if !eps[strings.ToUpper(id)] {
				out = append(out, key.String()+" -> "+id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// A load balancer HNS created but answered with an error (HNS failing
// after the create took effect, a call cut short), or without its ID, is
// the Reconciler's from the next full list on: it holds the key and what
// the create sent. It is neither a conflict nor created again; it is
// updated, and deleted with its Service.
func TestSyncOwnsLoadBalancerCreatedDespiteError(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault fake.Fault
	}{
		{"E_FAIL after the create", fake.Fault{Mode: fake.FailAfter}},
		{"0x803B0013 after the create", fake.Fault{Mode: fake.FailAfter, Code: hns.CodePortAlreadyExists}},
		{"answer without the ID", fake.Fault{Mode: fake.AnswerWithoutID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "latest")
			f := tt.fault
			f.Op, f.Count, f.Match = hns.OpCreateLoadBalancer, 1, matchKey(webKey)
			e.h.InjectFault(f)
			lbs := basePlan()
			p := plan(lbs)
			res := e.sync(p)
			require.Len(t, res.Errors, 1)
			assert.Equal(t, hns.OpCreateLoadBalancer, res.Errors[0].Op)
			require.Len(t, hnsLines(e.h), 4, "the create took effect")

			e.clock.Advance(time.Second) // the failure's backoff
			res = e.syncClean(p)
			assert.Zero(t, res.MutatingCalls(), "found by the list: no second create")
			ownedLBs, _ := e.r.Owned()
			assert.Equal(t, 4, ownedLBs)

			lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7")
			p = plan(lbs)
			res = e.syncClean(p)
			assert.Equal(t, 1, res.Updated)
			e.assertHolds(p)

			p = plan(lbs[1:])
			res = e.syncClean(p)
			assert.Equal(t, 1, res.Deleted)
			e.assertHolds(p)
		})
	}
}

// The same with syncs of changes: after the failed create the next sync is
// a full one, whose list finds the load balancer: it is the Reconciler's,
// not created again, and goes with its Service, even one deleted before
// any retry.
func TestSyncChangesOwnsLoadBalancerCreatedDespiteError(t *testing.T) {
	for _, tt := range []struct {
		name string
		next []lbpolicy.LoadBalancer // the plan of the next sync
	}{
		{"kept", basePlan()},
		{"deleted before a retry", basePlan()[1:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.FullSyncPeriod = time.Hour }))
			e.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Mode: fake.FailAfter, Count: 1, Match: matchKey(webKey)})
			p := plan(basePlan())
			ch := lbpolicy.Diff(&lbpolicy.Plan{}, p)
			res, err := e.r.SyncChanges(context.Background(), p, &ch)
			require.NoError(t, err)
			require.Len(t, res.Errors, 1)

			next := plan(tt.next)
			res = e.syncChanges(p, next)
			assert.True(t, res.Full, "only a list says whether the create took effect")
			assert.Zero(t, res.Calls[hns.OpCreateLoadBalancer])
			assert.Equal(t, len(basePlan())-len(tt.next), res.Deleted)
			e.assertHolds(next)
			assert.False(t, e.syncChanges(next, next).Full)
		})
	}
}

// Only what a create sent is taken: a load balancer another agent made for
// the frontend after a create that did not take effect, with other
// content, stays another agent's: a conflict, never modified.
func TestSyncUnsureCreateNeverTakesForeign(t *testing.T) {
	e := newEnv(t, "latest")
	e.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Count: 1, Match: matchKey(webKey)})
	p := plan(basePlan())
	res := e.sync(p)
	require.Len(t, res.Errors, 1)
	require.Len(t, hnsLines(e.h), 3, "the create did not take effect")

	foreign := e.h.AddLoadBalancer(foreignLB("10.96.0.10", e.locals["10.244.1.2"]))
	before := snapshot(e.h, foreign)
	e.clock.Advance(time.Second)
	res = e.sync(p)
	require.Len(t, res.Errors, 1)
	var conflict *hnsadapter.ConflictError
	require.ErrorAs(t, res.Errors[0], &conflict)
	assert.True(t, strings.EqualFold(foreign, conflict.HolderID))
	e.syncClean(plan(nil))
	assert.Len(t, e.h.LoadBalancers(), 1, "the foreign load balancer only")
	assert.Empty(t, cmp.Diff(before, snapshot(e.h, foreign)), "unchanged")
}

// An endpoint HNS created but answered with an error or without its ID is
// the Reconciler's from the next full list on, when it holds the IP and
// what the create sent: it is used, and deleted when the plan drops it.
func TestSyncOwnsEndpointCreatedDespiteError(t *testing.T) {
	sourceVIP := lbpolicy.Endpoint{IP: ip("10.244.1.254"), MACAddress: "00-15-5d-00-00-01"}
	for _, tt := range []struct {
		name  string
		ip    string
		fault fake.Fault
	}{
		{"remote, E_FAIL after the create", "10.244.3.8", fake.Fault{Mode: fake.FailAfter}},
		{"remote, answer without the ID", "10.244.3.8", fake.Fault{Mode: fake.AnswerWithoutID}},
		{"local, E_FAIL after the create", "10.244.1.254", fake.Fault{Mode: fake.FailAfter}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "latest")
			f := tt.fault
			f.Op, f.Count, f.Match = hns.OpCreateEndpoint, 1, matchKey(tt.ip)
			e.h.InjectFault(f)
			lbs := []lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.2", "10.244.3.8")}
			p := plan(lbs, sourceVIP)
			res := e.sync(p)
			require.Len(t, res.Errors, 1)
			assert.Equal(t, "Endpoint "+tt.ip, res.Errors[0].Object)
			e.endpointID(tt.ip) // the create took effect

			e.clock.Advance(time.Second)
			res = e.syncClean(p)
			assert.Zero(t, res.Calls[hns.OpCreateEndpoint], "found by the list: no second create")
			_, ownedEPs := e.r.Owned()
			assert.Equal(t, 2, ownedEPs)
			e.assertHolds(p)

			p = plan([]lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.2")})
			res = e.syncClean(p)
			assert.Equal(t, 2, res.EndpointsDeleted)
			e.assertHolds(p)
			for _, ep := range e.h.Endpoints() {
				assert.NotEqual(t, []hns.IpConfig{{IpAddress: "10.244.1.254"}}, ep.IpConfigurations, "the source-VIP endpoint is gone")
			}
		})
	}
}

// An owned endpoint that another agent's load balancer references is never
// deleted, not even to replace it with the plan's new content for its IP
// (the pod moved to another node): the Reconciler reports an *InUseError
// naming that load balancer, and the plan's load balancers using the IP
// wait, untouched. Once the reference goes, the endpoint is replaced.
func TestSyncKeepsEndpointForeignLoadBalancerReferences(t *testing.T) {
	e := newEnv(t, "latest")
	lbs := []lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7")}
	p0 := plan(lbs)
	e.syncClean(p0)
	epID := e.endpointID("10.244.2.7")
	foreign := e.h.AddLoadBalancer(foreignLB("10.97.0.1", epID))
	before := snapshot(e.h, foreign, epID)
	web := e.lbByKey(webKey)

	moved := remoteEndpoint(ip("10.244.2.7"))
	moved.ProviderAddress = ip("10.0.0.99")
	p1 := plan(lbs, moved)
	check := func(res hnsadapter.Result) {
		t.Helper()
		require.Len(t, res.Errors, 1)
		assert.Equal(t, "Endpoint 10.244.2.7", res.Errors[0].Object)
		var inUse *hnsadapter.InUseError
		require.ErrorAs(t, res.Errors[0], &inUse, "the Reconciler's own decision")
		assert.True(t, strings.EqualFold(foreign, inUse.LoadBalancerID), "referenced by %s, want %s", inUse.LoadBalancerID, foreign)
		assert.True(t, strings.EqualFold(epID, inUse.EndpointID))
		assert.Equal(t, ip("10.244.2.7"), inUse.IP)
		assert.Zero(t, res.Errors[0].Failures, "no backoff: looked at again by every sync")
		assert.Zero(t, res.MutatingCalls())
		assert.Equal(t, web, e.lbByKey(webKey), "web waits, untouched")
		assert.Empty(t, cmp.Diff(before, snapshot(e.h, foreign, epID)))
		assert.Empty(t, dangling(e.h))
	}
	check(e.sync(p1))
	ch := lbpolicy.Diff(p0, p1)
	res, err := e.r.SyncChanges(context.Background(), p1, &ch)
	require.NoError(t, err)
	require.False(t, res.Full)
	check(res)

	require.True(t, e.h.RemoveLoadBalancer(foreign))
	res = e.syncClean(p1)
	assert.Equal(t, 1, res.EndpointsDeleted)
	e.assertHolds(p1)
}

// Known risk, measured and reported: a sync of changes does not list load
// balancers, so it cannot see one another agent made since the last full
// list. If that load balancer references an owned endpoint the plan no
// longer uses, the sync of changes deletes the endpoint and leaves it a
// dangling reference. The window runs from the last full list to the
// delete (at most Options.FullSyncPeriod); the next full sync reports the
// reference (ReasonDanglingReference). A reference the last full list saw
// keeps the endpoint.
func TestSyncChangesDanglingReferenceWindow(t *testing.T) {
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.FullSyncPeriod = time.Minute }))
	p0 := plan(basePlan())
	e.syncChanges(&lbpolicy.Plan{}, p0)
	seen := e.h.AddLoadBalancer(foreignLB("10.97.0.1", e.endpointID("10.244.3.8")))
	e.sync(p0) // lists it

	p1 := plan(basePlan()[1:]) // web goes: nothing in the plan uses 10.244.3.8
	res := e.syncChanges(p0, p1)
	assert.Equal(t, map[hns.Op]int{hns.OpDeleteLoadBalancer: 1}, calls(res.Calls), "10.244.3.8 is kept for %s", seen)

	unseen := e.h.AddLoadBalancer(foreignLB("10.97.0.2", e.endpointID("10.244.4.4")))
	p2 := plan(basePlan()[1:2]) // dns goes: nothing uses 10.244.4.4
	res = e.syncChanges(p1, p2)
	assert.Equal(t, 1, res.Calls[hns.OpDeleteEndpoint], "the known risk: the sync of changes cannot see %s", unseen)
	require.Len(t, dangling(e.h), 1)

	e.clock.Advance(time.Minute)
	e.h.ResetCalls()
	ch := lbpolicy.Diff(p2, p2)
	res, err := e.r.SyncChanges(context.Background(), p2, &ch)
	require.NoError(t, err)
	require.True(t, res.Full)
	var found []lbpolicy.Diagnostic
	for _, d := range res.Diagnostics {
		if d.Reason == hnsadapter.ReasonDanglingReference {
			found = append(found, d)
		}
	}
	require.Len(t, found, 1, "diagnostics: %v", res.Diagnostics)
	assert.Equal(t, lbpolicy.SeverityWarning, found[0].Severity)
	assert.Contains(t, found[0].Object, unseen)
	assert.Contains(t, found[0].Message, "10.244.4.4")
	assert.Empty(t, e.sync(p2).Diagnostics, "reported once")
}

// updateIgnorer answers updates as done without making them while ignore
// is set: kubernetes#131466 on an HNS whose updates were seen to work
// before.
type updateIgnorer struct {
	hns.Client
	mu     sync.Mutex
	ignore bool
}

func (u *updateIgnorer) set(ignore bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ignore = ignore
}

func (u *updateIgnorer) UpdateLoadBalancer(ctx context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	u.mu.Lock()
	ignore := u.ignore
	u.mu.Unlock()
	if !ignore {
		return u.Client.UpdateLoadBalancer(ctx, id, lb)
	}
	got := *lb
	got.Id = id
	return &got, nil
}

// Updates trusted after one was verified stop being trusted when a full
// sync's list shows a load balancer other than an update answered: the
// next update is read back again, HNS is caught ignoring it, and the load
// balancer is replaced: the plan is reached.
func TestSyncDistrustsUpdatesHNSIgnored(t *testing.T) {
	ig := &updateIgnorer{}
	e := newEnv(t, "latest", withBackend(func(b hns.Client) hns.Client { ig.Client = b; return ig }))
	lbs := basePlan()
	e.syncClean(plan(lbs))
	lbs[1] = svc("api", "10.96.0.11", "10.244.2.7", "10.244.1.4")
	res := e.syncClean(plan(lbs))
	assert.Equal(t, 1, res.Calls[hns.OpGetLoadBalancer], "the first update is read back")

	ig.set(true)
	lbs[1] = svc("api", "10.96.0.11", "10.244.2.7", "10.244.1.5")
	res = e.syncClean(plan(lbs))
	assert.Equal(t, 1, res.Calls[hns.OpUpdateLoadBalancer])
	assert.Zero(t, res.Calls[hns.OpGetLoadBalancer], "trusted")

	p := plan(lbs)
	res = e.syncClean(p)
	assert.Equal(t, 1, res.Updated)
	e.assertHolds(p)
	assert.Equal(t, listOnly, calls(e.syncClean(p).Calls))
}

// A remote endpoint replaced because its pod moved is deleted only once
// no load balancer references it: whatever call fails, no load balancer
// is left pointing at a deleted endpoint, and once HNS works again the
// plan is reached.
func TestSyncReplacedEndpointNeverLeftDangling(t *testing.T) {
	for _, tt := range []struct {
		profile string
		op      hns.Op
		after   int // calls of op that succeed before the fault strikes
	}{
		{"latest", hns.OpUpdateLoadBalancer, 0},
		{"latest", hns.OpUpdateLoadBalancer, 1},
		{"latest", hns.OpUpdateLoadBalancer, 2},
		{"latest", hns.OpDeleteEndpoint, 0},
		{"latest", hns.OpCreateEndpoint, 0},
		{"ws2022", hns.OpDeleteLoadBalancer, 0},
		{"ws2022", hns.OpDeleteLoadBalancer, 1},
		{"ws2022", hns.OpCreateLoadBalancer, 0},
		{"ws2022", hns.OpCreateLoadBalancer, 2},
	} {
		t.Run(fmt.Sprintf("%s/%s after %d", tt.profile, tt.op, tt.after), func(t *testing.T) {
			e := newEnv(t, tt.profile, withOptions(func(o *hnsadapter.Options) { o.Concurrency = 1 }))
			p0 := plan(basePlan())
			e.syncClean(p0)
			moved := remoteEndpoint(ip("10.244.2.7")) // web's and api's
			moved.MACAddress, moved.ProviderAddress = "02-11-0a-f4-05-07", ip("10.0.0.5")
			p1 := plan(basePlan(), moved)

			n := 0
			e.h.InjectFault(fake.Fault{Op: tt.op, Match: func(string) bool { n++; return n > tt.after }})
			res := e.sync(p1)
			assert.NotEmpty(t, res.Errors)
			assert.Empty(t, dangling(e.h), "after the failed sync")
			e.clock.Advance(time.Second)
			e.sync(p1)
			assert.Empty(t, dangling(e.h), "after a second failed sync")

			e.h.ClearFaults()
			e.clock.Advance(time.Hour)
			e.syncClean(p1)
			e.assertHolds(p1)
			assert.Equal(t, listOnly, calls(e.syncClean(p1).Calls))
		})
	}
}
