package hnsadapter_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
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
// objects vanish, latency; mutating calls also failing after they took
// effect, and creates and updates answered without the object's ID),
// objects vanish out of band, pods move to other nodes (their remote
// endpoints are replaced), and another agent makes load balancers that
// reference the Reconciler's endpoints; in some variants the agent also
// restarts at random, with ClaimNetwork or with an ownership record.
// Foreign objects must never be modified, deleted or left with a dangling
// reference. Then faults stop: within a few syncs HNS must hold exactly
// the plan, no load balancer may reference a missing endpoint, no remote
// endpoint may be left over, and the load balancers of the services that
// never changed must never have been deleted. Last the plan drops
// everything: the Reconciler's objects must all go, but the endpoints
// another agent's load balancers reference.
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
		{profile: "latest", restarts: true, mode: syncMode{record: true}},
		{profile: "ws2022", restarts: true, mode: syncMode{changes: true, record: true}},
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
		if v.mode.record {
			name += "-record"
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
// pods on three other nodes. Pods of the changing services move to another
// node now and then (their IP's remote endpoint gets another provider
// address), unless pinned.
type churnWorld struct {
	rng      *rand.Rand
	pool     []string
	services []lbpolicy.LoadBalancer // current spec of each service, Backends nil = absent
	nodePort []bool
	// moved holds the pods now behind node 10.0.0.(N+10) instead of
	// 10.0.0.N; pinned those that must not move (another agent's load
	// balancer references their endpoint); stable the IPs of the stable
	// services.
	moved, pinned, stable map[string]bool
}

const (
	randomServices = 24
	stableServices = 6
	missingIP      = "10.244.1.200" // a local pod whose endpoint the CNI never made
)

func newChurnWorld(rng *rand.Rand) *churnWorld {
	w := &churnWorld{rng: rng, pool: slices.Clone(localIPs), moved: map[string]bool{}, pinned: map[string]bool{}}
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
	_, w.stable = w.stableKeys()
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

// step changes a random third of the changeable services, maybe moves a
// pod, and returns the plan.
func (w *churnWorld) step() *lbpolicy.Plan {
	for i := stableServices; i < randomServices; i++ {
		if w.rng.IntN(3) == 0 {
			w.reroll(i)
		}
	}
	if w.rng.IntN(5) == 0 {
		pod := w.pool[len(localIPs)+w.rng.IntN(len(w.pool)-len(localIPs))]
		if !w.pinned[pod] && !w.stable[pod] {
			w.moved[pod] = !w.moved[pod]
		}
	}
	return w.plan()
}

// endpoint returns the plan's remote endpoint for pod IP a.
func (w *churnWorld) endpoint(a netip.Addr) lbpolicy.Endpoint {
	ep := remoteEndpoint(a)
	if w.moved[a.String()] {
		b := ep.ProviderAddress.As4()
		ep.ProviderAddress = netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3] + 10})
	}
	return ep
}

func (w *churnWorld) plan() *lbpolicy.Plan {
	var lbs []lbpolicy.LoadBalancer
	var moved []lbpolicy.Endpoint
	for _, lb := range w.services {
		for _, b := range lb.Backends {
			if w.moved[b.String()] && !slices.ContainsFunc(moved, func(ep lbpolicy.Endpoint) bool { return ep.IP == b.IP }) {
				moved = append(moved, w.endpoint(b.IP))
			}
		}
	}
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
	return plan(lbs, moved...)
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
// Reconciler's own bookkeeping brings it to convergence. record: restarts
// keep ownership in an ownership record (Options.OwnershipFile), without
// ClaimNetwork.
type syncMode struct {
	changes, noDrift, record bool
}

// faultRun is one variant of TestSyncRandomFaults.
type faultRun struct {
	t        *testing.T
	rng      *rand.Rand
	e        *env
	mode     syncMode
	restarts bool
	recorder *deleteRecorder
	w        *churnWorld

	// foreign is what the other agent holds, as it made it; foreignIDs
	// its IDs. pinned holds the IDs of the Reconciler's endpoints its load
	// balancers reference.
	foreign    objects
	foreignIDs []string
	pinned     []string
	full       int // full syncs, in the changes mode
}

func runRandomFaults(t *testing.T, rng *rand.Rand, profile string, claims *lbpolicy.Version, restarts bool, mode syncMode, rounds int) {
	fr := &faultRun{t: t, rng: rng, mode: mode, restarts: restarts, recorder: &deleteRecorder{deleted: map[lbpolicy.Key]int{}}}
	record := ""
	if mode.record {
		dir, err := os.MkdirTemp("", "hnslb-random-") // not t.TempDir: see ownershipFile
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		record = filepath.Join(dir, "owned.json")
	}
	fr.e = newEnv(t, profile, withWorkers(rng.IntN(4)),
		withOptions(func(o *hnsadapter.Options) {
			o.Concurrency = 1 + rng.IntN(4)
			o.InitialBackoff, o.MaxBackoff = time.Second, 8*time.Second
			o.ClaimNetwork = restarts && !mode.record
			o.OwnershipFile = record
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
			fr.recorder.Client = b
			return fr.recorder
		}))
	fr.recorder.h = fr.e.h
	fr.e.h.SeedIDs(rng.Uint64())
	fr.addForeign()
	fr.w = newChurnWorld(rng)

	p := &lbpolicy.Plan{}
	var aborted, objectErrors int
	for round := range rounds {
		prev := p
		p = fr.w.step()
		fr.injectFaults()
		fr.drift()
		if fr.restarts && rng.IntN(20) == 0 {
			fr.e.restart()
		}
		fr.e.clock.Advance(time.Duration(rng.IntN(3000)) * time.Millisecond)

		res, err := fr.sync(prev, p, fr.pin(round))
		if err != nil {
			aborted++
		}
		objectErrors += len(res.Errors)
		fr.checkForeign("round %d", round)
	}
	t.Logf("%d rounds: %d syncs aborted, %d per-object errors, %d full syncs, %d foreign load balancers on the Reconciler's endpoints",
		rounds, aborted, objectErrors, fr.full, len(fr.pinned))

	fr.converge(p)
	fr.checkConverged(p)
	fr.converge(&lbpolicy.Plan{}, p)
	fr.checkAllGone()
}

// addForeign adds the other agent's objects. With ClaimNetwork, only off
// the managed network: that option claims everything on it.
func (fr *faultRun) addForeign() {
	e := fr.e
	otherNet := e.h.AddNetwork("other", "L2Bridge")
	otherEP := e.h.AddLocalEndpoint(otherNet, "vm", "192.168.5.5")
	e.h.AddLoadBalancer(foreignLB("192.168.5.100", otherEP))
	e.h.AddLoadBalancer(foreignLB("10.97.0.2", otherEP, e.locals["10.244.1.2"]))
	if !fr.claims() {
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
	fr.foreign = snapshot(e.h)
	fr.foreignIDs = fr.foreign.ids()
}

func (fr *faultRun) claims() bool { return fr.restarts && !fr.mode.record }

func (fr *faultRun) isForeign(id string) bool {
	return slices.ContainsFunc(fr.foreignIDs, func(f string) bool { return strings.EqualFold(f, id) }) ||
		slices.ContainsFunc(fr.pinned, func(f string) bool { return strings.EqualFold(f, id) })
}

// injectFaults injects this round's faults, for this round and maybe
// later ones, and latency. A mutating call may also fail after it took
// effect, and a create or update answer without the object's ID. A create
// that took effect is never answered "already exists": the Reconciler
// believes that answer (see unsure.go).
func (fr *faultRun) injectFaults() {
	rng, h := fr.rng, fr.e.h
	if rng.IntN(3) == 0 {
		for range 1 + rng.IntN(3) {
			f := fake.Fault{
				Op: allOps[rng.IntN(len(allOps))], Code: faultCodes[rng.IntN(len(faultCodes))], Count: 1 + rng.IntN(2),
				VanishDuringList: rng.IntN(2) == 0,
			}
			switch {
			case !f.Op.Mutating():
			case rng.IntN(2) == 0:
				f.Mode = fake.FailAfter
				if f.Code == hns.CodeAlreadyExists && (f.Op == hns.OpCreateLoadBalancer || f.Op == hns.OpCreateEndpoint) {
					f.Code = 0
				}
			case rng.IntN(2) == 0 && f.Op != hns.OpDeleteLoadBalancer && f.Op != hns.OpDeleteEndpoint:
				f.Mode = fake.AnswerWithoutID
			}
			h.InjectFault(f)
		}
	}
	if rng.IntN(10) == 0 {
		h.SetLatency(allOps[rng.IntN(len(allOps))], time.Duration(rng.IntN(200))*time.Microsecond)
	}
}

// drift deletes, out of band, a load balancer, or a remote endpoint no
// stable service uses, now and then; never the other agent's, nor an
// endpoint its load balancers reference.
func (fr *faultRun) drift() {
	rng, h := fr.rng, fr.e.h
	if !fr.mode.noDrift && rng.IntN(20) == 0 {
		if lbs := h.LoadBalancers(); len(lbs) > 0 {
			if lb := lbs[rng.IntN(len(lbs))]; !fr.isForeign(lb.Id) {
				h.RemoveLoadBalancer(lb.Id)
			}
		}
	}
	if !fr.mode.noDrift && rng.IntN(20) == 0 {
		eps := h.Endpoints()
		ep := eps[rng.IntN(len(eps))]
		if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 && !fr.isForeign(ep.Id) && !fr.w.stable[ep.IpConfigurations[0].IpAddress] {
			h.RemoveEndpoint(ep.Id)
		}
	}
}

// pin makes, now and then (not with ClaimNetwork, which would claim it),
// another agent's load balancer that references one of the Reconciler's
// remote endpoints, one the plan wants as it is, and reports whether it
// did. The round's sync is then a full one: a sync of changes cannot see
// a load balancer made since the last list (the risk
// TestSyncChangesDanglingReferenceWindow measures).
func (fr *faultRun) pin(round int) bool {
	e := fr.e
	if fr.claims() || len(fr.pinned) >= 5 || fr.rng.IntN(30) != 0 {
		return false
	}
	var candidates []hns.HostComputeEndpoint
	for _, ep := range e.h.Endpoints() {
		if ep.Flags&hns.EndpointFlagsRemoteEndpoint == 0 || fr.isForeign(ep.Id) || !strings.EqualFold(ep.HostComputeNetwork, e.netID) {
			continue
		}
		a := ip(ep.IpConfigurations[0].IpAddress)
		want := fr.w.endpoint(a)
		if strings.EqualFold(ep.MacAddress, want.MACAddress) &&
			len(ep.Policies) == 1 && string(ep.Policies[0].Settings) == fmt.Sprintf(`{"ProviderAddress":%q}`, want.ProviderAddress) {
			candidates = append(candidates, ep)
		}
	}
	if len(candidates) == 0 {
		return false
	}
	ep := candidates[fr.rng.IntN(len(candidates))]
	lb := e.h.AddLoadBalancer(foreignLB(fmt.Sprintf("10.97.1.%d", round%250+1), ep.Id))
	fr.pinned = append(fr.pinned, ep.Id)
	fr.w.pinned[ep.IpConfigurations[0].IpAddress] = true
	fr.foreignIDs = append(fr.foreignIDs, lb)
	fr.foreign = snapshot(e.h, fr.foreignIDs)
	return true
}

// sync syncs p, prev being the plan of the last round: Sync, or in the
// changes mode SyncChanges with their Diff (Sync when full).
func (fr *faultRun) sync(prev, p *lbpolicy.Plan, full bool) (hnsadapter.Result, error) {
	ctx := context.Background()
	if !fr.mode.changes || full {
		return fr.e.r.Sync(ctx, p)
	}
	ch := lbpolicy.Diff(prev, p)
	res, err := fr.e.r.SyncChanges(ctx, p, &ch)
	if res.Full {
		fr.full++
	}
	return res, err
}

// checkForeign fails the test if the other agent's objects changed, or
// one of its load balancers references an endpoint HNS no longer holds.
func (fr *faultRun) checkForeign(format string, args ...any) {
	fr.t.Helper()
	if diff := cmp.Diff(fr.foreign, snapshot(fr.e.h, fr.foreignIDs)); diff != "" {
		fr.t.Fatalf(format+": foreign objects changed (-before +after):\n%s", append(args, diff)...)
	}
	for _, d := range dangling(fr.e.h) {
		if strings.HasPrefix(d, "IPv4/10.97.") || strings.HasPrefix(d, "IPv4/192.168.") {
			fr.t.Fatalf(format+": a foreign load balancer is left dangling: %s", append(args, d)...)
		}
	}
}

// converge turns faults off and syncs p (from prev, else p) until a sync
// makes no mutating call, three times at most; the last sync must report
// nothing outstanding.
func (fr *faultRun) converge(p *lbpolicy.Plan, prev ...*lbpolicy.Plan) {
	t, e := fr.t, fr.e
	from := p
	if len(prev) > 0 {
		from = prev[0]
	}
	e.h.ClearFaults()
	for _, op := range allOps {
		e.h.SetLatency(op, 0)
	}
	if !fr.mode.noDrift {
		e.clock.Advance(time.Hour) // past every backoff, and a full sync due
	}
	var res hnsadapter.Result
	for range 3 {
		if fr.mode.noDrift {
			e.clock.Advance(time.Hour) // past every backoff
		}
		var err error
		res, err = fr.sync(from, p, false)
		if err != nil {
			t.Fatalf("Sync without faults: %v", err)
		}
		from = p
		if res.MutatingCalls() == 0 {
			break
		}
	}
	if res.MutatingCalls() != 0 || len(res.Errors) != 0 || res.Pending != 0 {
		t.Fatalf("not converged after 3 syncs without faults: %d mutating calls, errors %v, %d pending\n%s",
			res.MutatingCalls(), res.Errors, res.Pending, e.h.DumpStable())
	}
}

// checkConverged checks that HNS holds p, and the other agent's objects
// as they were.
func (fr *faultRun) checkConverged(p *lbpolicy.Plan) {
	t, e := fr.t, fr.e
	var foreignLBs []string
	for _, lb := range fr.foreign.LBs {
		foreignLBs = append(foreignLBs, lb.Id)
	}
	var skipEPs []string // the other agent's, and the Reconciler's its load balancers pin
	for _, ep := range fr.foreign.EPs {
		skipEPs = append(skipEPs, ep.Id)
	}
	skipEPs = append(skipEPs, fr.pinned...)
	if diff := cmp.Diff(planLines(p, missingIP), hnsLines(e.h, foreignLBs...)); diff != "" {
		t.Errorf("load balancers (-plan +HNS):\n%s", diff)
	}
	wantRemote := slices.DeleteFunc(planRemoteLines(p, e.locals), func(line string) bool {
		return fr.w.pinned[strings.Fields(line)[0]]
	})
	if diff := cmp.Diff(wantRemote, remoteLines(e.h, e.netID, skipEPs...)); diff != "" {
		t.Errorf("remote endpoints (-plan +HNS):\n%s\n%s", diff, e.h.Dump())
	}
	if d := dangling(e.h); len(d) > 0 {
		t.Errorf("load balancers reference missing endpoints: %v", d)
	}
	fr.checkForeign("converged")
	stable, _ := fr.w.stableKeys()
	for key, n := range fr.recorder.deleted {
		if stable[key] {
			t.Errorf("load balancer %s of a service that never changed was deleted %d times", key, n)
		}
	}
	ownedLBs, ownedEPs := e.r.Owned()
	if ownedLBs != len(p.LoadBalancers) || ownedEPs != len(wantRemote)+len(fr.pinned) {
		t.Errorf("owns %d load balancers and %d endpoints; want %d and %d",
			ownedLBs, ownedEPs, len(p.LoadBalancers), len(wantRemote)+len(fr.pinned))
	}
}

// checkAllGone checks, after the plan dropped everything, that HNS holds
// only the other agent's objects and the Reconciler's endpoints its load
// balancers reference, and that the Reconciler owns only those.
func (fr *faultRun) checkAllGone() {
	t, e := fr.t, fr.e
	keep := append(slices.Clone(fr.foreignIDs), fr.pinned...)
	if left := snapshot(e.h, keep); len(left.LBs) != len(e.h.LoadBalancers()) {
		t.Errorf("load balancers left after the plan dropped everything:\n%s", e.h.DumpStable())
	}
	if left := remoteLines(e.h, e.netID, keep...); len(left) > 0 {
		t.Errorf("remote endpoints left after the plan dropped everything: %v", left)
	}
	fr.checkForeign("all dropped")
	if lbs, eps := e.r.Owned(); lbs != 0 || eps != len(fr.pinned) {
		t.Errorf("owns %d load balancers and %d endpoints after the plan dropped everything; want 0 and %d", lbs, eps, len(fr.pinned))
	}
}
