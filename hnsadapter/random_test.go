package hnsadapter_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

var (
	seedFlag = flag.Uint64("seed", 0, "seed of the randomised reconciler test (0: a random one, logged)")
	longFlag = flag.Bool("long", false, "run the randomised reconciler test for many more rounds")
)

// Every code the fake knows, 0 being its E_FAIL.
var faultCodes = []hns.Code{
	0, hns.CodeInvalidParameter, hns.CodeModuleNotFound, hns.CodeAlreadyExists,
	hns.CodeNotFound, hns.CodeNotImplemented, hns.CodePortAlreadyExists,
	hns.CodeInvalidReference,
}

var allOps = []hns.Op{
	hns.OpListLoadBalancers, hns.OpGetLoadBalancer, hns.OpCreateLoadBalancer,
	hns.OpUpdateLoadBalancer, hns.OpDeleteLoadBalancer, hns.OpListEndpoints,
	hns.OpCreateEndpoint, hns.OpDeleteEndpoint, hns.OpGetNetwork, hns.OpVersion,
}

// TestSyncRandomFaults drives the reconciler through random plans while
// HNS fails at random (every error code the fake knows, lists failing as
// objects vanish, latency) and objects vanish out of band; in one variant
// the agent also restarts at random, with ClaimNetwork. Then faults stop:
// within a few syncs HNS must hold exactly the plan, every foreign object
// must be as it was, no remote endpoint may be left over, and the load
// balancers of the services that never changed must never have been
// deleted.
//
// Reproduce a failure with go test -run TestSyncRandomFaults -args
// -seed=N (plans, faults and IDs follow from the seed; with Concurrency > 1
// the order in which calls meet counted faults may still vary); run longer
// with -args -long.
func TestSyncRandomFaults(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -args -seed=%d)", seed, seed)
	rounds := 200
	if *longFlag {
		rounds = 3000
	}
	if testing.Short() {
		rounds = 50
	}
	variants := []struct {
		profile  string
		claims   *lbpolicy.Version
		restarts bool
		mode     syncMode
	}{
		{profile: "ws2019"},
		{profile: "ws2022"},
		{profile: "ws2025"},
		{profile: "latest"},
		{profile: "ws2025", claims: &lbpolicy.Version{Major: 15, Minor: 5}},
		{profile: "ws2022", restarts: true},
		{profile: "latest", restarts: true},
		{profile: "ws2022", mode: syncMode{changes: true}},
		{profile: "latest", mode: syncMode{changes: true}},
		{profile: "ws2025", mode: syncMode{changes: true, noDrift: true}},
		{profile: "latest", mode: syncMode{changes: true, noDrift: true}},
	}
	for i, v := range variants {
		name := v.profile
		if v.claims != nil {
			name += "-claiming-" + v.claims.String()
		}
		if v.restarts {
			name += "-restarts"
		}
		if v.mode.changes {
			name += "-changes"
		}
		if v.mode.noDrift {
			name += "-nodrift"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			runRandomFaults(t, rng, v.profile, v.claims, v.restarts, v.mode, rounds)
		})
	}
}

// churnWorld generates the plans: 24 ClusterIP services (the first six
// never change), some with a NodePort, over this node's five pods and 36
// pods on three other nodes.
type churnWorld struct {
	rng      *rand.Rand
	pool     []string
	services []lbpolicy.LoadBalancer // current spec of each service, Backends nil = absent
	nodePort []bool
}

const (
	randomServices = 24
	stableServices = 6
	missingIP      = "10.244.1.200" // a local pod whose endpoint the CNI never made
)

func newChurnWorld(rng *rand.Rand) *churnWorld {
	w := &churnWorld{rng: rng, pool: slices.Clone(localIPs)}
	for n := 2; n <= 4; n++ {
		for h := 2; h <= 13; h++ {
			w.pool = append(w.pool, fmt.Sprintf("10.244.%d.%d", n, h))
		}
	}
	w.services = make([]lbpolicy.LoadBalancer, randomServices)
	w.nodePort = make([]bool, randomServices)
	for i := range w.services {
		w.reroll(i)
	}
	return w
}

// reroll gives service i new random content (a stable service: present,
// without the missing IP).
func (w *churnWorld) reroll(i int) {
	stable := i < stableServices
	if !stable && w.rng.IntN(4) == 0 {
		w.services[i] = lbpolicy.LoadBalancer{}
		return
	}
	var backends []string
	for _, j := range w.rng.Perm(len(w.pool))[:1+w.rng.IntN(4)] {
		backends = append(backends, w.pool[j])
	}
	if !stable && w.rng.IntN(10) == 0 {
		backends = append(backends, missingIP)
	}
	slices.SortFunc(backends, func(a, b string) int { return ip(a).Compare(ip(b)) })
	lb := svc(fmt.Sprintf("s%d", i), fmt.Sprintf("10.96.0.%d", i+1), backends...)
	lb.InternalPort = uint16(8080 + w.rng.IntN(2))
	if w.rng.IntN(2) == 0 {
		lb.Flags = lbpolicy.FlagDSR
	}
	w.services[i] = lb
	w.nodePort[i] = w.rng.IntN(2) == 0
}

// step changes a random third of the changeable services and returns the
// plan.
func (w *churnWorld) step() *lbpolicy.Plan {
	for i := stableServices; i < randomServices; i++ {
		if w.rng.IntN(3) == 0 {
			w.reroll(i)
		}
	}
	return w.plan()
}

func (w *churnWorld) plan() *lbpolicy.Plan {
	var lbs []lbpolicy.LoadBalancer
	for i, lb := range w.services {
		if lb.Backends == nil {
			continue
		}
		lbs = append(lbs, lb)
		if w.nodePort[i] {
			np := lb
			np.Kind, np.FrontendVIPs, np.ExternalPort = lbpolicy.KindNodePort, nil, uint16(30000+i)
			np.PortMappingFlags = lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP
			lbs = append(lbs, np)
		}
	}
	return plan(lbs)
}

// stableKeys returns the keys of the services that never change, and the
// IPs of their remote backends.
func (w *churnWorld) stableKeys() (map[lbpolicy.Key]bool, map[string]bool) {
	keys, ips := map[lbpolicy.Key]bool{}, map[string]bool{}
	for i := range stableServices {
		lb := w.services[i]
		keys[lb.Key()] = true
		for _, b := range lb.Backends {
			ips[b.String()] = true
		}
	}
	return keys, ips
}

// syncMode says how runRandomFaults syncs. changes: with SyncChanges and
// the Diff from the previous round's plan, and a full sync every 10 s of
// the test clock (rounds advance it 1.5 s on average). noDrift: nothing
// is deleted out of band and full syncs never fall due, so only the
// Reconciler's own bookkeeping brings it to convergence.
type syncMode struct {
	changes, noDrift bool
}

func runRandomFaults(t *testing.T, rng *rand.Rand, profile string, claims *lbpolicy.Version, restarts bool, mode syncMode, rounds int) {
	recorder := &deleteRecorder{deleted: map[lbpolicy.Key]int{}}
	e := newEnv(t, profile,
		withOptions(func(o *hnsadapter.Options) {
			o.Concurrency = 1 + rng.IntN(4)
			o.InitialBackoff, o.MaxBackoff = time.Second, 8*time.Second
			o.ClaimNetwork = restarts
			o.FullSyncPeriod = 10 * time.Second
			if mode.noDrift {
				o.FullSyncPeriod = 1000 * time.Hour
			}
			o.Logger = testLogger(t).V(1) // per-call lines would drown the log
		}),
		withBackend(func(b hns.Client) hns.Client {
			if claims != nil {
				b = reportingVersion{Client: b, v: *claims}
			}
			recorder.Client = b
			return recorder
		}))
	recorder.h = e.h
	e.h.SeedIDs(rng.Uint64())

	// Foreign objects. With ClaimNetwork, only off the managed network:
	// that option claims everything on it.
	otherNet := e.h.AddNetwork("other", "L2Bridge")
	otherEP := e.h.AddLocalEndpoint(otherNet, "vm", "192.168.5.5")
	e.h.AddLoadBalancer(foreignLB("192.168.5.100", otherEP))
	e.h.AddLoadBalancer(foreignLB("10.97.0.2", otherEP, e.locals["10.244.1.2"]))
	if !restarts {
		remote := e.h.AddEndpoint(hns.HostComputeEndpoint{
			HostComputeNetwork: e.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.9.9"}},
			MacAddress: "02-11-0a-f4-09-09", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
		})
		e.h.AddEndpoint(hns.HostComputeEndpoint{ // unused
			HostComputeNetwork: e.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.9.10"}},
			MacAddress: "02-11-0a-f4-09-0a", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
		})
		e.h.AddLoadBalancer(foreignLB("10.97.0.1", remote, e.locals["10.244.1.3"]))
	}
	foreign := snapshot(e.h)
	foreignIDs := foreign.ids()
	isForeign := func(id string) bool {
		return slices.ContainsFunc(foreignIDs, func(f string) bool { return strings.EqualFold(f, id) })
	}

	w := newChurnWorld(rng)
	stable, stableIPs := w.stableKeys()
	ctx := context.Background()
	p := &lbpolicy.Plan{}
	var aborted, objectErrors, full int
	sync := func(prev, p *lbpolicy.Plan) (hnsadapter.Result, error) {
		if !mode.changes {
			return e.r.Sync(ctx, p)
		}
		ch := lbpolicy.Diff(prev, p)
		res, err := e.r.SyncChanges(ctx, p, &ch)
		if res.Full {
			full++
		}
		return res, err
	}
	for round := range rounds {
		prev := p
		p = w.step()

		// Faults for this round and maybe later ones.
		if rng.IntN(3) == 0 {
			for range 1 + rng.IntN(3) {
				op := allOps[rng.IntN(len(allOps))]
				e.h.InjectFault(fake.Fault{
					Op: op, Code: faultCodes[rng.IntN(len(faultCodes))], Count: 1 + rng.IntN(2),
					VanishDuringList: rng.IntN(2) == 0,
				})
			}
		}
		if rng.IntN(10) == 0 {
			e.h.SetLatency(allOps[rng.IntN(len(allOps))], time.Duration(rng.IntN(200))*time.Microsecond)
		}
		// Drift: a load balancer, or a remote endpoint no stable service
		// uses, deleted out of band.
		if !mode.noDrift && rng.IntN(20) == 0 {
			if lbs := e.h.LoadBalancers(); len(lbs) > 0 {
				if lb := lbs[rng.IntN(len(lbs))]; !isForeign(lb.Id) {
					e.h.RemoveLoadBalancer(lb.Id)
				}
			}
		}
		if !mode.noDrift && rng.IntN(20) == 0 {
			eps := e.h.Endpoints()
			ep := eps[rng.IntN(len(eps))]
			if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 && !isForeign(ep.Id) && !stableIPs[ep.IpConfigurations[0].IpAddress] {
				e.h.RemoveEndpoint(ep.Id)
			}
		}
		if restarts && rng.IntN(20) == 0 {
			e.restart()
		}
		e.clock.Advance(time.Duration(rng.IntN(3000)) * time.Millisecond)

		res, err := sync(prev, p)
		if err != nil {
			aborted++
		}
		objectErrors += len(res.Errors)
		if diff := cmp.Diff(foreign, snapshot(e.h, foreignIDs)); diff != "" {
			t.Fatalf("round %d: foreign objects changed (-before +after):\n%s", round, diff)
		}
	}
	t.Logf("%d rounds: %d syncs aborted, %d per-object errors, %d full syncs", rounds, aborted, objectErrors, full)

	// Faults off: convergence within a few syncs.
	e.h.ClearFaults()
	for _, op := range allOps {
		e.h.SetLatency(op, 0)
	}
	if !mode.noDrift {
		e.clock.Advance(time.Hour) // past every backoff, and a full sync due
	}
	var res hnsadapter.Result
	for range 3 {
		if mode.noDrift {
			e.clock.Advance(time.Hour) // past every backoff
		}
		var err error
		res, err = sync(p, p)
		if err != nil {
			t.Fatalf("Sync without faults: %v", err)
		}
		if res.MutatingCalls() == 0 {
			break
		}
	}
	if res.MutatingCalls() != 0 || len(res.Errors) != 0 || res.Pending != 0 {
		t.Fatalf("not converged after 3 syncs without faults: %d mutating calls, errors %v, %d pending\n%s",
			res.MutatingCalls(), res.Errors, res.Pending, e.h.DumpStable())
	}
	var foreignLBs, foreignEPs []string
	for _, lb := range foreign.LBs {
		foreignLBs = append(foreignLBs, lb.Id)
	}
	for _, ep := range foreign.EPs {
		foreignEPs = append(foreignEPs, ep.Id)
	}
	if diff := cmp.Diff(planLines(p, missingIP), hnsLines(e.h, foreignLBs...)); diff != "" {
		t.Errorf("load balancers (-plan +HNS):\n%s", diff)
	}
	if diff := cmp.Diff(planRemoteLines(p, e.locals), remoteLines(e.h, e.netID, foreignEPs...)); diff != "" {
		t.Errorf("remote endpoints (-plan +HNS):\n%s", diff)
	}
	if diff := cmp.Diff(foreign, snapshot(e.h, foreignIDs)); diff != "" {
		t.Errorf("foreign objects changed (-before +after):\n%s", diff)
	}
	for key, n := range recorder.deleted {
		if stable[key] {
			t.Errorf("load balancer %s of a service that never changed was deleted %d times", key, n)
		}
	}
	ownedLBs, ownedEPs := e.r.Owned()
	if ownedLBs != len(p.LoadBalancers) || ownedEPs != len(planRemoteLines(p, e.locals)) {
		t.Errorf("owns %d load balancers and %d endpoints; want %d and %d",
			ownedLBs, ownedEPs, len(p.LoadBalancers), len(planRemoteLines(p, e.locals)))
	}
}
