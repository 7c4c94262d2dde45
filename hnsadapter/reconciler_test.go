package hnsadapter_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
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

// The services most scenarios start from: web has a local and two remote
// backends, api shares remote 10.244.2.7 with web, and dns has a NodePort
// too.
func basePlan() []lbpolicy.LoadBalancer {
	return []lbpolicy.LoadBalancer{
		svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.8"),
		svc("api", "10.96.0.11", "10.244.2.7", "10.244.2.9"),
		svc("dns", "10.96.0.12", "10.244.1.3", "10.244.4.4"),
		nodePort("dns", 30053, "10.244.1.3", "10.244.4.4"),
	}
}

func calls(c map[hns.Op]int) map[hns.Op]int {
	out := map[hns.Op]int{}
	for op, n := range c {
		if n != 0 {
			out[op] = n
		}
	}
	return out
}

// listOnly is what a sync that changes nothing calls.
var listOnly = map[hns.Op]int{hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1}

func TestSyncCreatesFromEmpty(t *testing.T) {
	for _, profile := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		t.Run(profile, func(t *testing.T) {
			e := newEnv(t, profile)
			p := plan(basePlan())

			res := e.syncClean(p)

			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)), "load balancers (-plan +HNS)")
			assert.Empty(t, cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID)), "remote endpoints (-plan +HNS)")
			assert.Equal(t, map[hns.Op]int{
				hns.OpGetNetwork: 1, hns.OpVersion: 1,
				hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1,
				hns.OpCreateEndpoint: 4, hns.OpCreateLoadBalancer: 4,
			}, calls(res.Calls))
			assert.Equal(t, map[hns.Op]int(e.h.Calls()), calls(res.Calls), "Result.Calls agrees with the fake")
			assert.Equal(t, 4, res.Created)
			assert.Equal(t, 4, res.EndpointsCreated)
			lbs, eps := e.r.Owned()
			assert.Equal(t, [2]int{4, 4}, [2]int{lbs, eps}, "owned load balancers, endpoints")
		})
	}
}

func TestSyncNoOpResyncMakesNoMutatingCall(t *testing.T) {
	e := newEnv(t, "latest")
	p := plan(basePlan())
	e.syncClean(p)

	res := e.syncClean(p)

	assert.Equal(t, listOnly, calls(res.Calls))
	assert.Zero(t, res.Created+res.Updated+res.Deleted+res.EndpointsCreated+res.EndpointsDeleted)
}

// One backend of web moves from 10.244.3.8 to 10.244.3.9: latest updates in
// place (reading back once to verify), ws2022 and ws2025 (15.4, known to
// ignore updates) delete and create. A 15.4 that claims 15.5 is caught by
// the read-back: the reconciler falls back to delete and create, and goes
// straight to it for the next change.
func TestSyncOneEndpointChange(t *testing.T) {
	const webKey = "IPv4/10.96.0.10/TCP/80"
	endpointCalls := map[hns.Op]int{hns.OpCreateEndpoint: 1, hns.OpDeleteEndpoint: 1}
	with := func(m map[hns.Op]int) map[hns.Op]int {
		out := map[hns.Op]int{}
		for _, mm := range []map[hns.Op]int{listOnly, endpointCalls, m} {
			for op, n := range mm {
				out[op] += n
			}
		}
		return out
	}
	replace := with(map[hns.Op]int{hns.OpDeleteLoadBalancer: 1, hns.OpCreateLoadBalancer: 1})
	tests := []struct {
		name       string
		profile    string
		claims     *lbpolicy.Version // Version the backend reports, if not the profile's
		first      map[hns.Op]int
		second     map[hns.Op]int
		sameIDLast bool // the load balancer keeps its ID through both changes
	}{
		{name: "latest", profile: "latest",
			first:      with(map[hns.Op]int{hns.OpUpdateLoadBalancer: 1, hns.OpGetLoadBalancer: 1}),
			second:     with(map[hns.Op]int{hns.OpUpdateLoadBalancer: 1}),
			sameIDLast: true},
		{name: "ws2022", profile: "ws2022", first: replace, second: replace},
		{name: "ws2025", profile: "ws2025", first: replace, second: replace},
		{name: "ws2025 claiming 15.5", profile: "ws2025", claims: &lbpolicy.Version{Major: 15, Minor: 5},
			first: with(map[hns.Op]int{
				hns.OpUpdateLoadBalancer: 1, hns.OpGetLoadBalancer: 1, // silently ignored, caught
				hns.OpDeleteLoadBalancer: 1, hns.OpCreateLoadBalancer: 1, // fallback
			}),
			second: replace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []envOption
			if tt.claims != nil {
				opts = append(opts, withBackend(func(b hns.Client) hns.Client {
					return reportingVersion{Client: b, v: *tt.claims}
				}))
			}
			e := newEnv(t, tt.profile, opts...)
			lbs := basePlan()
			e.syncClean(plan(lbs))
			before := e.lbByKey(webKey)

			lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.9")
			p := plan(lbs)
			res := e.syncClean(p)
			assert.Equal(t, tt.first, calls(res.Calls), "first change")
			assert.Equal(t, 1, res.Updated)
			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)), "load balancers (-plan +HNS)")
			assert.Empty(t, cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID)), "remote endpoints (-plan +HNS)")

			lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.10")
			p = plan(lbs)
			res = e.syncClean(p)
			assert.Equal(t, tt.second, calls(res.Calls), "second change")
			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)), "load balancers (-plan +HNS)")
			assert.Equal(t, tt.sameIDLast, strings.EqualFold(before.Id, e.lbByKey(webKey).Id), "same ID after updates")
		})
	}
}

// Deleting a Service deletes its load balancers and the remote endpoints
// only it used, not the one it shares with another Service.
func TestSyncServiceDeletion(t *testing.T) {
	e := newEnv(t, "ws2022")
	lbs := basePlan()
	e.syncClean(plan(lbs))

	p := plan(lbs[:2]) // dns and its NodePort go
	res := e.syncClean(p)

	assert.Equal(t, 2, res.Deleted)
	assert.Equal(t, 1, res.EndpointsDeleted, "10.244.4.4")
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)), "load balancers (-plan +HNS)")
	assert.Empty(t, cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID)), "remote endpoints (-plan +HNS)")

	p = plan(nil) // everything goes
	res = e.syncClean(p)
	assert.Equal(t, 2, res.Deleted)
	assert.Equal(t, 3, res.EndpointsDeleted)
	assert.Empty(t, hnsLines(e.h))
	assert.Empty(t, remoteLines(e.h, e.netID))
	lbsOwned, epsOwned := e.r.Owned()
	assert.Zero(t, lbsOwned+epsOwned)
}

// A remote endpoint three load balancers use is deleted with the last of
// them, in the same sync, after it.
func TestSyncSharedRemoteEndpointGoesWithLastUser(t *testing.T) {
	e := newEnv(t, "latest")
	lbs := []lbpolicy.LoadBalancer{
		svc("a", "10.96.0.1", "10.244.2.7"),
		svc("b", "10.96.0.2", "10.244.2.7", "10.244.1.2"),
		svc("c", "10.96.0.3", "10.244.2.7"),
	}
	e.syncClean(plan(lbs))
	shared := remoteLines(e.h, e.netID)
	require.Len(t, shared, 1)

	for n := 2; n >= 1; n-- {
		res := e.syncClean(plan(lbs[:n]))
		assert.Equal(t, 1, res.Deleted)
		assert.Zero(t, res.EndpointsDeleted, "still used by %d load balancers", n)
		assert.Equal(t, shared, remoteLines(e.h, e.netID))
	}
	res := e.syncClean(plan(nil))
	assert.Equal(t, map[hns.Op]int{
		hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1,
		hns.OpDeleteLoadBalancer: 1, hns.OpDeleteEndpoint: 1,
	}, calls(res.Calls))
	assert.Empty(t, remoteLines(e.h, e.netID))

	// Also when one user changes backends instead of going away.
	e.syncClean(plan(lbs[:2]))
	res = e.syncClean(plan([]lbpolicy.LoadBalancer{lbs[0], svc("b", "10.96.0.2", "10.244.1.2")}))
	assert.Zero(t, res.EndpointsDeleted, "a still uses it")
	res = e.syncClean(plan([]lbpolicy.LoadBalancer{svc("b", "10.96.0.2", "10.244.1.2")}))
	assert.Equal(t, 1, res.EndpointsDeleted, "a went")
}

// Drift: objects deleted out of band are recreated by the next sync;
// references to a recreated endpoint are repaired.
func TestSyncRepairsOutOfBandDeletion(t *testing.T) {
	e := newEnv(t, "ws2022")
	p := plan(basePlan())
	e.syncClean(p)

	require.True(t, e.h.RemoveLoadBalancer(e.lbByKey("IPv4/10.96.0.11/TCP/80").Id))
	res := e.syncClean(p)
	assert.Equal(t, 1, res.Created)
	assert.Equal(t, map[hns.Op]int{
		hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1, hns.OpCreateLoadBalancer: 1,
	}, calls(res.Calls))
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))

	// The remote endpoint of dns (10.244.4.4) goes: dns and its NodePort
	// now point at nothing; both are fixed.
	for _, ep := range e.h.Endpoints() {
		if len(ep.IpConfigurations) > 0 && ep.IpConfigurations[0].IpAddress == "10.244.4.4" {
			require.True(t, e.h.RemoveEndpoint(ep.Id))
		}
	}
	res = e.syncClean(p)
	assert.Equal(t, 1, res.EndpointsCreated)
	assert.Equal(t, 2, res.Updated)
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
	assert.Equal(t, listOnly, calls(e.syncClean(p).Calls))
}

// Another agent's objects are never touched: not its load balancers or
// endpoints on the managed network, not those on its own network, not even
// one holding a frontend the plan wants after start-up.
func TestSyncLeavesForeignObjectsAlone(t *testing.T) {
	e := newEnv(t, "latest")
	otherNet := e.h.AddNetwork("other", "L2Bridge")
	otherEP := e.h.AddLocalEndpoint(otherNet, "vm", "192.168.5.5")
	foreignRemote := e.h.AddEndpoint(hns.HostComputeEndpoint{
		HostComputeNetwork: e.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.7.7"}},
		MacAddress: "02-11-0a-f4-07-07", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
	})
	e.h.AddLoadBalancer(foreignLB("10.97.0.1", foreignRemote, e.locals["10.244.1.2"])) // on our network
	e.h.AddLoadBalancer(foreignLB("192.168.5.100", otherEP))                           // on another
	foreign := snapshot(e.h)

	lbs := basePlan()
	e.syncClean(plan(lbs))
	e.syncClean(plan(lbs[:1]))

	// After start-up, another agent takes a frontend the plan wants.
	late := e.h.AddLoadBalancer(foreignLB("10.96.0.11", otherEP))
	foreign = snapshot(e.h, foreign.ids(), late)
	res := e.sync(plan(lbs[:2]))
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "LoadBalancer IPv4/10.96.0.11/TCP/80 (Service default/api:http)", res.Errors[0].Object)
	var conflict *hnsadapter.ConflictError
	require.ErrorAs(t, res.Errors[0], &conflict, "the Reconciler's own decision")
	assert.Equal(t, "IPv4/10.96.0.11/TCP/80", conflict.Key.String())
	assert.True(t, strings.EqualFold(late, conflict.HolderID), "holder %s, want %s", conflict.HolderID, late)
	assert.False(t, hns.IsAlreadyExists(res.Errors[0]), "not dressed as an HNS error")
	assert.True(t, res.Errors[0].Tried)
	assert.Zero(t, res.Calls[hns.OpCreateLoadBalancer], "no call HNS would refuse")

	e.syncClean(plan(nil))
	assert.Empty(t, cmp.Diff(foreign, snapshot(e.h)), "HNS holds exactly the foreign objects, unchanged")
}

func foreignLB(vip string, eps ...string) hns.HostComputeLoadBalancer {
	return hns.HostComputeLoadBalancer{
		HostComputeEndpoints: eps, FrontendVIPs: []string{vip},
		PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 80, ExternalPort: 80}},
		SchemaVersion: hns.V2SchemaVersion(),
	}
}

// objects is a snapshot of HNS's load balancers and endpoints.
type objects struct {
	LBs []hns.HostComputeLoadBalancer
	EPs []hns.HostComputeEndpoint
}

// snapshot returns every object of h, or, given IDs, only those.
func snapshot(h *fake.HNS, ids ...any) objects {
	keep := map[string]bool{}
	for _, id := range ids {
		switch id := id.(type) {
		case string:
			keep[strings.ToUpper(id)] = true
		case []string:
			for _, i := range id {
				keep[strings.ToUpper(i)] = true
			}
		}
	}
	var o objects
	for _, lb := range h.LoadBalancers() {
		if len(ids) == 0 || keep[strings.ToUpper(lb.Id)] {
			o.LBs = append(o.LBs, lb)
		}
	}
	for _, ep := range h.Endpoints() {
		if len(ids) == 0 || keep[strings.ToUpper(ep.Id)] {
			o.EPs = append(o.EPs, ep)
		}
	}
	return o
}

func (o objects) ids() []string {
	var ids []string
	for _, lb := range o.LBs {
		ids = append(ids, lb.Id)
	}
	for _, ep := range o.EPs {
		ids = append(ids, ep.Id)
	}
	return ids
}

// A restarted reconciler adopts what the plan wants by key: no mutating
// call when nothing changed, and the adopted objects are managed as its
// own afterwards.
func TestSyncRestartAdoptsWithoutCalls(t *testing.T) {
	for _, profile := range []string{"ws2022", "latest"} {
		t.Run(profile, func(t *testing.T) {
			e := newEnv(t, profile)
			lbs := basePlan()
			p := plan(lbs)
			e.syncClean(p)
			ownedLBs, ownedEPs := e.r.Owned()
			dump := e.h.Dump()

			e.restart()
			res := e.syncClean(p)
			assert.Zero(t, e.h.Calls().Mutating())
			assert.Equal(t, map[hns.Op]int{
				hns.OpGetNetwork: 1, hns.OpVersion: 1,
				hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1,
			}, calls(res.Calls))
			assert.Equal(t, 4, res.Adopted)
			l, ep := e.r.Owned()
			assert.Equal(t, [2]int{ownedLBs, ownedEPs}, [2]int{l, ep})
			assert.Equal(t, dump, e.h.Dump())

			// Adopted objects are the reconciler's own now.
			p = plan(lbs[:2])
			res = e.syncClean(p)
			assert.Equal(t, 2, res.Deleted)
			assert.Equal(t, 1, res.EndpointsDeleted)
			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
			assert.Empty(t, cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID)))
		})
	}
}

// A restart after a change: the adopted load balancer whose content
// differs is updated. A remote endpoint the new plan no longer wants was
// not adopted, so it stays (it may be another agent's) unless ClaimNetwork
// is set.
func TestSyncRestartAdoptsAndUpdates(t *testing.T) {
	for _, claim := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "ClaimNetwork"}[claim], func(t *testing.T) {
			e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.ClaimNetwork = claim }))
			lbs := basePlan()
			e.syncClean(plan(lbs))

			e.restart()
			lbs[1] = svc("api", "10.96.0.11", "10.244.2.7", "10.244.1.4")
			p := plan(lbs)
			res := e.syncClean(p)
			assert.Equal(t, 4, res.Adopted)
			assert.Equal(t, 1, res.Updated)
			assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
			leftover := []string(nil)
			if !claim {
				leftover = []string{`10.244.2.9 02-11-0a-f4-02-09 {"ProviderAddress":"10.0.0.2"}`}
			}
			assert.Equal(t, len(leftover) == 0, res.EndpointsDeleted == 1)
			want := append(planRemoteLines(p, e.locals), leftover...)
			slices.Sort(want)
			assert.Empty(t, cmp.Diff(want, remoteLines(e.h, e.netID)))
		})
	}
}

// A list that fails aborts the sync: no call after it, no state change,
// and ownership stays as it was (a failed list never means "empty").
func TestSyncFailedListAborts(t *testing.T) {
	for _, fault := range []fake.Fault{
		{Op: hns.OpListLoadBalancers, VanishDuringList: true, Count: 1},
		{Op: hns.OpListEndpoints, VanishDuringList: true, Count: 1},
		{Op: hns.OpListLoadBalancers, Code: hns.CodeModuleNotFound, Count: 1},
	} {
		t.Run(string(fault.Op), func(t *testing.T) {
			e := newEnv(t, "latest")
			lbs := basePlan()
			e.syncClean(plan(lbs))
			dump := e.h.Dump()
			ownedLBs, ownedEPs := e.r.Owned()

			e.h.InjectFault(fault)
			e.h.ResetCalls()
			res, err := e.r.Sync(context.Background(), plan(nil))
			require.Error(t, err)
			var herr *hns.Error
			assert.True(t, errors.As(err, &herr), "wraps the *Error: %v", err)
			assert.Zero(t, e.h.Calls().Mutating())
			assert.Equal(t, dump, e.h.Dump())
			l, ep := e.r.Owned()
			assert.Equal(t, [2]int{ownedLBs, ownedEPs}, [2]int{l, ep})
			assert.Equal(t, map[hns.Op]int(e.h.Calls()), calls(res.Calls))

			// The next sync proceeds, with everything still owned.
			res = e.syncClean(plan(nil))
			assert.Equal(t, 4, res.Deleted)
			assert.Empty(t, hnsLines(e.h))
		})
	}

	t.Run("network lookup", func(t *testing.T) {
		e := newEnv(t, "latest")
		e.h.InjectFault(fake.Fault{Op: hns.OpGetNetwork, Count: 1})
		_, err := e.r.Sync(context.Background(), plan(basePlan()))
		require.Error(t, err)
		assert.Contains(t, err.Error(), netName)
		assert.Zero(t, e.h.Calls().Mutating())
		e.syncClean(plan(basePlan()))
		assert.Len(t, hnsLines(e.h), 4)
	})

	t.Run("no such network", func(t *testing.T) {
		e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.NetworkName = "nope" }))
		_, err := e.r.Sync(context.Background(), plan(basePlan()))
		assert.True(t, hns.IsNotFound(err), "%v", err)
	})
}

// A failed object is retried with exponential backoff; others proceed.
func TestSyncBackoff(t *testing.T) {
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) {
		o.InitialBackoff, o.MaxBackoff = time.Second, 4*time.Second
	}))
	p := plan(basePlan())
	const apiKey = "IPv4/10.96.0.11/TCP/80"
	e.h.InjectFault(fake.Fault{
		Op: hns.OpCreateLoadBalancer, Code: hns.CodePortAlreadyExists, Count: 3,
		Match: func(key string) bool { return key == apiKey },
	})

	res := e.sync(p)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "LoadBalancer "+apiKey+" (Service default/api:http)", res.Errors[0].Object)
	assert.Equal(t, hns.OpCreateLoadBalancer, res.Errors[0].Op)
	assert.True(t, hns.IsPortAlreadyExists(res.Errors[0]))
	assert.True(t, res.Errors[0].Tried)
	assert.Equal(t, 1, res.Errors[0].Failures)
	assert.Equal(t, e.clock.Now().Add(time.Second), res.Errors[0].RetryAt)
	assert.Equal(t, 3, res.Created, "the others")

	// Every sync reports the outstanding failure: the one it met (tried),
	// or, while the load balancer waits in backoff, the last one.
	steps := []struct {
		advance  time.Duration
		pending  int
		creates  int
		tried    bool
		failures int           // 0: no error outstanding
		retryIn  time.Duration // from the step's time
	}{
		{0, 1, 0, false, 1, time.Second},               // in backoff (1s)
		{time.Second, 0, 1, true, 2, 2 * time.Second},  // retried, fails again: 2s
		{time.Second, 1, 0, false, 2, time.Second},     // 1s later: still waiting
		{time.Second, 0, 1, true, 3, 4 * time.Second},  // retried, fails a third time: 4s
		{3 * time.Second, 1, 0, false, 3, time.Second}, // still waiting
		{time.Second, 0, 1, false, 0, 0},               // succeeds
		{time.Hour, 0, 0, false, 0, 0},                 // converged
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		res := e.sync(p)
		assert.Equal(t, st.pending, res.Pending, "step %d: pending", i)
		assert.Equal(t, st.creates, res.Calls[hns.OpCreateLoadBalancer], "step %d: creates", i)
		if st.failures == 0 {
			assert.Empty(t, res.Errors, "step %d: errors", i)
			continue
		}
		if assert.Len(t, res.Errors, 1, "step %d: errors", i) {
			got := res.Errors[0]
			assert.Equal(t, "LoadBalancer "+apiKey+" (Service default/api:http)", got.Object, "step %d", i)
			assert.True(t, hns.IsPortAlreadyExists(got), "step %d: the last failure: %v", i, got)
			assert.Equal(t, st.tried, got.Tried, "step %d: tried", i)
			assert.Equal(t, st.failures, got.Failures, "step %d: failures", i)
			assert.Equal(t, e.clock.Now().Add(st.retryIn), got.RetryAt, "step %d: retry at", i)
		}
	}
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
}

// A remote endpoint that cannot be created holds back the load balancers
// that need it (not the others): they are not replaced by partial ones.
func TestSyncEndpointFailureHoldsBackItsLoadBalancers(t *testing.T) {
	e := newEnv(t, "ws2022")
	lbs := basePlan()
	e.syncClean(plan(lbs))
	web := e.lbByKey("IPv4/10.96.0.10/TCP/80")

	lbs[0] = svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7", "10.244.3.8", "10.244.5.5")
	lbs[2] = svc("dns", "10.96.0.12", "10.244.1.4", "10.244.4.4")
	e.h.InjectFault(fake.Fault{Op: hns.OpCreateEndpoint, Code: hns.CodeInvalidParameter, Count: 1})
	res := e.sync(plan(lbs))
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "Endpoint 10.244.5.5", res.Errors[0].Object)
	assert.Equal(t, 1, res.Pending, "web waits")
	assert.Equal(t, 1, res.Updated, "dns")
	assert.Equal(t, web, e.lbByKey("IPv4/10.96.0.10/TCP/80"), "web untouched")

	// Before its backoff ends the endpoint is not tried: its failure is
	// still reported, and web still waits.
	res = e.sync(plan(lbs))
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "Endpoint 10.244.5.5", res.Errors[0].Object)
	assert.False(t, res.Errors[0].Tried)
	assert.True(t, hns.IsInvalidParameter(res.Errors[0]), "%v", res.Errors[0])
	assert.Equal(t, 2, res.Pending, "the endpoint, and web")
	assert.Zero(t, res.MutatingCalls())

	e.clock.Advance(time.Minute)
	p := plan(lbs)
	e.syncClean(p)
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
}

// At most Options.Concurrency calls are in flight.
func TestSyncBoundsConcurrency(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var counter *inFlight
			e := newEnv(t, "latest",
				withOptions(func(o *hnsadapter.Options) { o.Concurrency = n }),
				withBackend(func(b hns.Client) hns.Client {
					counter = &inFlight{Client: b}
					return counter
				}))
			e.h.SetLatency("", time.Millisecond)
			var lbs []lbpolicy.LoadBalancer
			for i := range 30 {
				lbs = append(lbs, svc("s", "10.96.1."+strconv.Itoa(i+1), "10.244.2."+strconv.Itoa(i+1)))
			}
			e.syncClean(plan(lbs))
			e.syncClean(plan(nil))
			assert.LessOrEqual(t, counter.Max(), n, "never more than Concurrency")
			assert.Greater(t, counter.Max(), n/2, "and calls do overlap")
			assert.Empty(t, hnsLines(e.h))
		})
	}
}

// ClaimNetwork owns, at start-up, every load balancer whose endpoints are
// all on the managed network, and every remote endpoint there: stale ones
// are deleted. A load balancer on another network stays.
func TestSyncClaimNetwork(t *testing.T) {
	for _, claim := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[claim], func(t *testing.T) {
			e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.ClaimNetwork = claim }))
			otherNet := e.h.AddNetwork("other", "L2Bridge")
			otherEP := e.h.AddLocalEndpoint(otherNet, "vm", "192.168.5.5")
			staleRemote := e.h.AddEndpoint(hns.HostComputeEndpoint{
				HostComputeNetwork: e.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.7.7"}},
				MacAddress: "02-11-0a-f4-07-07", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
			})
			lb := func(vip string, eps ...string) hns.HostComputeLoadBalancer {
				return hns.HostComputeLoadBalancer{
					HostComputeEndpoints: eps, FrontendVIPs: []string{vip},
					PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 80, ExternalPort: 80}},
					SchemaVersion: hns.V2SchemaVersion(),
				}
			}
			stale := e.h.AddLoadBalancer(lb("10.96.9.9", staleRemote, e.locals["10.244.1.2"]))
			other := e.h.AddLoadBalancer(lb("192.168.5.100", otherEP))
			mixed := e.h.AddLoadBalancer(lb("10.96.9.10", otherEP, e.locals["10.244.1.2"]))
			// Its endpoint deleted out of band: on no network.
			dangling := e.h.AddLoadBalancer(lb("10.96.9.11", "0A2E5E9C-0000-4000-8000-000000000001"))

			p := plan(basePlan())
			res := e.syncClean(p)

			ids := map[string]bool{}
			for _, lb := range e.h.LoadBalancers() {
				ids[strings.ToUpper(lb.Id)] = true
			}
			assert.Equal(t, !claim, ids[strings.ToUpper(stale)], "stale load balancer on the network kept")
			assert.True(t, ids[strings.ToUpper(other)], "load balancer on another network kept")
			assert.True(t, ids[strings.ToUpper(mixed)], "load balancer partly on another network kept")
			assert.Equal(t, !claim, ids[strings.ToUpper(dangling)], "load balancer with a dangling reference kept")
			want := planRemoteLines(p, e.locals)
			if !claim {
				assert.Empty(t, cmp.Diff(want, remoteLines(e.h, e.netID, staleRemote)))
				assert.Len(t, remoteLines(e.h, e.netID), len(want)+1)
			} else {
				assert.Empty(t, cmp.Diff(want, remoteLines(e.h, e.netID)), "stale remote endpoint deleted")
				assert.Equal(t, 2, res.Deleted)
				assert.Equal(t, 1, res.EndpointsDeleted)
				assert.Equal(t, 2, res.Calls[hns.OpListEndpoints], "the network's, and all for the claim")
			}
		})
	}
}

// A backend with no HNS endpoint is left out with a diagnostic; a load
// balancer left with none is not sent, and an existing one is kept.
func TestSyncLocalEndpointMissing(t *testing.T) {
	e := newEnv(t, "latest")
	lbs := []lbpolicy.LoadBalancer{
		svc("web", "10.96.0.10", "10.244.1.2", "10.244.1.99"),
		svc("gone", "10.96.0.11", "10.244.1.98"),
		svc("hc", "10.96.0.12", "<"+rootName+">", "<nope>"),
	}
	p := plan(lbs)
	res := e.syncClean(p)

	var reasons []string
	for _, d := range res.Diagnostics {
		reasons = append(reasons, d.Object+" "+string(d.Reason))
	}
	assert.Equal(t, []string{
		"Service default/gone:http LocalEndpointMissing",
		"Service default/gone:http NoHNSEndpoints",
		"Service default/hc:http LocalEndpointMissing",
		"Service default/web:http LocalEndpointMissing",
	}, reasons)
	got := hnsLines(e.h)
	require.Len(t, got, 2, "web and hc, not gone")
	assert.Empty(t, cmp.Diff(planLines(plan(lbs[:1]), "10.244.1.99"), got[:1]))
	assert.Contains(t, got[1], "-> <cbr0>")

	// web's last endpoint goes: web stays as it is.
	lbs[0] = svc("web", "10.96.0.10", "10.244.1.99")
	before := hnsLines(e.h)
	res = e.syncClean(plan(lbs))
	assert.Zero(t, res.MutatingCalls())
	assert.Equal(t, before, hnsLines(e.h))
}

// A local endpoint beats the plan's remote one for the same IP
// (kubernetes#138000): the pod is on this node now.
func TestSyncLocalBeatsRemote(t *testing.T) {
	e := newEnv(t, "latest")
	lbs := []lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7")}
	p := plan(lbs)

	t.Run("local already there", func(t *testing.T) {
		local := e.h.AddLocalEndpoint(e.netID, "moved", "10.244.9.9")
		lbs := []lbpolicy.LoadBalancer{svc("x", "10.96.0.20", "10.244.9.9")}
		res := e.syncClean(plan(lbs))
		assert.Zero(t, res.EndpointsCreated, "the plan's remote 10.244.9.9 is not created")
		assert.Equal(t, []string{local}, e.lbByKey("IPv4/10.96.0.20/TCP/80").HostComputeEndpoints)
	})

	t.Run("local appears", func(t *testing.T) {
		e.syncClean(p)
		require.Len(t, remoteLines(e.h, e.netID), 1)
		local := e.h.AddLocalEndpoint(e.netID, "moved", "10.244.2.7")

		res := e.syncClean(p)
		assert.Equal(t, 1, res.Updated)
		assert.Equal(t, 1, res.EndpointsDeleted, "the remote one, once unused")
		assert.Contains(t, e.lbByKey("IPv4/10.96.0.10/TCP/80").HostComputeEndpoints, local)
		assert.Empty(t, remoteLines(e.h, e.netID))
		assert.Equal(t, listOnly, calls(e.syncClean(p).Calls))
	})
}

// An owned remote endpoint whose content the plan changes (the pod IP is
// now behind another node) is replaced: HNS holds one endpoint per IP.
func TestSyncReplacesChangedRemoteEndpoint(t *testing.T) {
	e := newEnv(t, "latest")
	lbs := []lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.2.7")}
	e.syncClean(plan(lbs))

	moved := remoteEndpoint(ip("10.244.2.7"))
	moved.ProviderAddress = ip("10.0.0.99")
	p := plan(lbs, moved)
	res := e.syncClean(p)
	assert.Equal(t, 1, res.EndpointsDeleted)
	assert.Equal(t, 1, res.EndpointsCreated)
	assert.Equal(t, 1, res.Updated)
	assert.Empty(t, cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID)))
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))

	// Another agent's endpoint with the IP is a conflict, without a call.
	foreign := remoteEndpoint(ip("10.244.3.3"))
	holder := e.h.AddEndpoint(hns.HostComputeEndpoint{
		HostComputeNetwork: e.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.3.3"}},
		MacAddress: "02-11-00-00-00-01", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
	})
	res = e.sync(plan([]lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.3.3")}, foreign))
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "Endpoint 10.244.3.3", res.Errors[0].Object)
	var conflict *hnsadapter.ConflictError
	require.ErrorAs(t, res.Errors[0], &conflict, "the Reconciler's own decision")
	assert.Equal(t, ip("10.244.3.3"), conflict.IP)
	assert.Equal(t, netName, conflict.Network)
	assert.True(t, strings.EqualFold(holder, conflict.HolderID), "holder %s, want %s", conflict.HolderID, holder)
	assert.False(t, hns.IsAlreadyExists(res.Errors[0]), "not dressed as an HNS error")
	assert.Zero(t, res.Calls[hns.OpCreateEndpoint])
}

func TestNewReconcilerValidatesOptions(t *testing.T) {
	h := fake.New(hns.Profiles()[0])
	tests := []struct {
		opts  hnsadapter.Options
		field string
	}{
		{hnsadapter.Options{}, "NetworkName"},
		{hnsadapter.Options{NetworkName: "n", Concurrency: -1}, "Concurrency"},
		{hnsadapter.Options{NetworkName: "n", InitialBackoff: -1}, "InitialBackoff"},
		{hnsadapter.Options{NetworkName: "n", MaxBackoff: -1}, "MaxBackoff"},
		{hnsadapter.Options{NetworkName: "n", InitialBackoff: time.Hour, MaxBackoff: time.Minute}, "MaxBackoff"},
	}
	for _, tt := range tests {
		_, err := hnsadapter.NewReconciler(h, tt.opts)
		var oe *hnsadapter.OptionError
		if assert.True(t, errors.As(err, &oe), "%+v: %v", tt.opts, err) {
			assert.Equal(t, tt.field, oe.Field)
		}
	}
	_, err := hnsadapter.NewReconciler(nil, hnsadapter.Options{NetworkName: "n"})
	assert.Error(t, err)
	r, err := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: "n"})
	require.NoError(t, err)
	_, err = r.Sync(context.Background(), nil)
	assert.Error(t, err)
}

// The key of an HNS load balancer made from a plan entry is the entry's.
func TestLoadBalancerKeyMatchesPlan(t *testing.T) {
	e := newEnv(t, "latest")
	v6 := svc("v6", "fd00::10", "fd00:244:1::2")
	v6.IPFamily, v6.Flags, v6.SourceVIP = lbpolicy.IPv6, lbpolicy.FlagIPv6, ip("fd00:244:1::fe")
	udp := svc("udp", "10.96.0.10", "10.244.1.2")
	udp.Protocol = lbpolicy.ProtocolUDP
	lbs := []lbpolicy.LoadBalancer{svc("a", "10.96.0.10", "10.244.1.2"), udp, nodePort("a", 30080, "10.244.1.2"), v6}
	e.h.AddLocalEndpoint(e.netID, "v6pod", "fd00:244:1::2")
	res := e.syncClean(plan(lbs))
	assert.Equal(t, 4, res.Created)
	var got []string
	for _, lb := range e.h.LoadBalancers() {
		k, ok := hnsadapter.LoadBalancerKey(&lb)
		require.True(t, ok)
		got = append(got, k.String())
	}
	var want []string
	for _, lb := range lbs {
		want = append(want, lb.Key().String())
	}
	assert.ElementsMatch(t, want, got)
	assert.Equal(t, listOnly, calls(e.syncClean(plan(lbs)).Calls))
}

// A sync whose context ends stops making calls and says so.
func TestSyncStopsWhenContextEnds(t *testing.T) {
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.Concurrency = 1 }))
	e.syncClean(plan(nil)) // network and version looked up
	ctx, cancel := context.WithCancel(context.Background())
	var lbs []lbpolicy.LoadBalancer
	for i := range 20 {
		lbs = append(lbs, svc("s", "10.96.1."+strconv.Itoa(i+1), "10.244.1.2"))
	}
	e.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Count: 1, Match: func(string) bool { cancel(); return false }})
	res, err := e.r.Sync(ctx, plan(lbs))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, res.Created, 20)
	p := plan(lbs)
	e.syncClean(p)
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h)))
}

// The plan's own local endpoint (the Overlay source-VIP endpoint) is
// created when missing, kept while the plan has it, and deleted after.
func TestSyncPlanLocalEndpoint(t *testing.T) {
	e := newEnv(t, "latest")
	sourceVIP := lbpolicy.Endpoint{IP: ip("10.244.1.254"), MACAddress: "00-15-5d-00-00-01"}
	lbs := basePlan()
	p := plan(lbs, sourceVIP)

	res := e.syncClean(p)
	assert.Equal(t, 5, res.EndpointsCreated, "4 remote and the source VIP's")
	var found []hns.HostComputeEndpoint
	for _, ep := range e.h.Endpoints() {
		if len(ep.IpConfigurations) > 0 && ep.IpConfigurations[0].IpAddress == "10.244.1.254" {
			found = append(found, ep)
		}
	}
	require.Len(t, found, 1)
	assert.Zero(t, found[0].Flags, "local")
	assert.Equal(t, listOnly, calls(e.syncClean(p).Calls))

	res = e.syncClean(plan(lbs))
	assert.Equal(t, map[hns.Op]int{
		hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1, hns.OpDeleteEndpoint: 1,
	}, calls(res.Calls))
}
