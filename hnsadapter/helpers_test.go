package hnsadapter_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The test cluster: this node holds the pods of 10.244.1.0/24 on Overlay
// network "flannel.4096"; every other 10.244.N.0/24 lies behind node
// 10.0.0.N. The host's root endpoint is "cbr0".
const (
	netName  = "flannel.4096"
	rootName = "cbr0"
)

var localIPs = []string{"10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"}

// env is one node: a fake HNS seeded with the network and the CNI's local
// endpoints, a clock, and a Reconciler.
type env struct {
	t      testing.TB
	h      *fake.HNS
	be     hns.Client // what the Reconciler talks to (h unless wrapped)
	netID  string
	locals map[string]string // local endpoint IP (or "<name>") -> ID
	clock  *clock
	opts   hnsadapter.Options
	r      *hnsadapter.Reconciler
	// workers, when positive, is how many goroutines the parts of the
	// Reconciler's syncs that only read run on (ForceWorkers).
	workers int
}

type envOption func(*env)

func withOptions(f func(*hnsadapter.Options)) envOption {
	return func(e *env) { f(&e.opts) }
}

// withWorkers makes the parts of the Reconciler's syncs that only read
// run on n goroutines, however little they have to do.
func withWorkers(n int) envOption {
	return func(e *env) { e.workers = n }
}

// withBackend wraps the fake in what wrap returns.
func withBackend(wrap func(hns.Client) hns.Client) envOption {
	return func(e *env) { e.be = wrap(e.be) }
}

func newEnv(t testing.TB, profile string, opts ...envOption) *env {
	t.Helper()
	p, err := hns.ProfileNamed(profile)
	if err != nil {
		t.Fatal(err)
	}
	h := fake.New(p)
	e := &env{t: t, h: h, be: h, locals: map[string]string{}, clock: newClock()}
	e.netID = h.AddNetwork(netName, "Overlay")
	for _, ip := range localIPs {
		e.locals[ip] = h.AddLocalEndpoint(e.netID, "pod-"+ip, ip)
	}
	e.locals["<"+rootName+">"] = h.AddLocalEndpoint(e.netID, rootName, "")
	e.opts = hnsadapter.Options{
		NetworkName: netName,
		Now:         e.clock.Now,
		Logger:      testLogger(t),
		// One call at a time, so that the calls a sync makes do not depend
		// on scheduling: with several workers, two updates may both be read
		// back before either is seen to work. Tests of concurrency set it.
		Concurrency: 1,
	}
	for _, o := range opts {
		o(e)
	}
	e.restart()
	return e
}

func testLogger(t testing.TB) logr.Logger {
	if tt, ok := t.(*testing.T); ok && testing.Verbose() {
		return testr.NewWithOptions(tt, testr.Options{Verbosity: 2})
	}
	return logr.Discard()
}

// restart replaces the Reconciler by a new one, as a restarted agent would.
func (e *env) restart() {
	e.t.Helper()
	r, err := hnsadapter.NewReconciler(e.be, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	hnsadapter.ForceWorkers(r, e.workers)
	e.r = r
}

// sync runs one Sync, which must not fail as a whole, and returns its
// result. The fake's call counters are reset first.
func (e *env) sync(p *lbpolicy.Plan) hnsadapter.Result {
	e.t.Helper()
	e.h.ResetCalls()
	res, err := e.r.Sync(context.Background(), p)
	if err != nil {
		e.t.Fatalf("Sync: %v", err)
	}
	return res
}

// syncClean runs one Sync that must report no per-object error.
func (e *env) syncClean(p *lbpolicy.Plan) hnsadapter.Result {
	e.t.Helper()
	res := e.sync(p)
	for _, err := range res.Errors {
		e.t.Errorf("Sync: %v", err)
	}
	return res
}

// lbByKey returns the HNS load balancer with key k.
func (e *env) lbByKey(k string) hns.HostComputeLoadBalancer {
	e.t.Helper()
	for _, lb := range e.h.LoadBalancers() {
		if key, ok := hnsadapter.LoadBalancerKey(&lb); ok && key.String() == k {
			return lb
		}
	}
	e.t.Fatalf("no load balancer %s in HNS:\n%s", k, e.h.DumpStable())
	return hns.HostComputeLoadBalancer{}
}

// Plans.

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// svc is a ClusterIP load balancer of Service "default/<name>" on vip:80
// (TCP) to port 8080 of the backends ("<cbr0>" names the root endpoint).
func svc(name, vip string, backends ...string) lbpolicy.LoadBalancer {
	lb := lbpolicy.LoadBalancer{
		Service:      "default/" + name,
		Port:         "http",
		Kind:         lbpolicy.KindClusterIP,
		IPFamily:     lbpolicy.IPv4,
		FrontendVIPs: []netip.Addr{ip(vip)},
		Protocol:     lbpolicy.ProtocolTCP,
		InternalPort: 8080,
		ExternalPort: 80,
		SourceVIP:    ip("10.244.1.254"),
	}
	for _, b := range backends {
		var be lbpolicy.Backend
		if err := be.UnmarshalText([]byte(b)); err != nil {
			panic(err)
		}
		lb.Backends = append(lb.Backends, be)
	}
	return lb
}

// nodePort is the NodePort load balancer of a Service on port.
func nodePort(name string, port uint16, backends ...string) lbpolicy.LoadBalancer {
	lb := svc(name, "10.96.0.1", backends...)
	lb.Kind = lbpolicy.KindNodePort
	lb.FrontendVIPs = nil
	lb.ExternalPort = port
	lb.PortMappingFlags = lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP
	return lb
}

// isLocalIP reports whether ip is in this node's pod subnets.
func isLocalIP(a netip.Addr) bool {
	return netip.MustParsePrefix("10.244.1.0/24").Contains(a) || netip.MustParsePrefix("fd00:244:1::/64").Contains(a)
}

// remoteEndpoint is the plan's remote endpoint for a pod IP on another
// node: 10.244.N.x lies behind 10.0.0.N.
func remoteEndpoint(a netip.Addr) lbpolicy.Endpoint {
	b := a.As4()
	return lbpolicy.Endpoint{
		IP:              a,
		Remote:          true,
		MACAddress:      fmt.Sprintf("02-11-%02x-%02x-%02x-%02x", b[0], b[1], b[2], b[3]),
		ProviderAddress: netip.AddrFrom4([4]byte{10, 0, 0, b[2]}),
	}
}

// plan returns the plan of lbs, sorted, with a remote endpoint for every
// backend outside this node's pod subnet, and the extra endpoints.
func plan(lbs []lbpolicy.LoadBalancer, extra ...lbpolicy.Endpoint) *lbpolicy.Plan {
	p := &lbpolicy.Plan{LoadBalancers: slices.Clone(lbs)}
	seen := map[netip.Addr]bool{}
	for _, ep := range extra {
		seen[ep.IP] = true
		p.Endpoints = append(p.Endpoints, ep)
	}
	for _, lb := range lbs {
		for _, b := range lb.Backends {
			if b.IP.IsValid() && !isLocalIP(b.IP) && !seen[b.IP] {
				seen[b.IP] = true
				p.Endpoints = append(p.Endpoints, remoteEndpoint(b.IP))
			}
		}
	}
	slices.SortFunc(p.LoadBalancers, func(a, b lbpolicy.LoadBalancer) int { return a.Key().Compare(b.Key()) })
	slices.SortFunc(p.Endpoints, func(a, b lbpolicy.Endpoint) int { return a.IP.Compare(b.IP) })
	return p
}

// States rendered for comparison.

// lbLine renders a load balancer's content with its backends as IPs (or
// "<name>", or "missing:<id>" for a dangling reference).
func lbLine(key lbpolicy.Key, internal uint16, flags, pmFlags, dist uint32, sourceVIP string, backends []string) string {
	slices.Sort(backends)
	return fmt.Sprintf("%s int=%d flags=%d pm=%d dist=%d src=%s -> %s",
		key, internal, flags, pmFlags, dist, sourceVIP, strings.Join(backends, ","))
}

// hnsLines renders the load balancers HNS holds, except those in skip (by
// ID), sorted.
func hnsLines(h *fake.HNS, skip ...string) []string {
	eps := map[string]hns.HostComputeEndpoint{}
	for _, ep := range h.Endpoints() {
		eps[strings.ToUpper(ep.Id)] = ep
	}
	var out []string
	for _, lb := range h.LoadBalancers() {
		if slices.ContainsFunc(skip, func(id string) bool { return strings.EqualFold(id, lb.Id) }) {
			continue
		}
		key, _ := hnsadapter.LoadBalancerKey(&lb)
		var backends []string
		for _, id := range lb.HostComputeEndpoints {
			ep, ok := eps[strings.ToUpper(id)]
			switch {
			case !ok:
				backends = append(backends, "missing:"+id)
			case len(ep.IpConfigurations) > 0:
				backends = append(backends, ep.IpConfigurations[0].IpAddress)
			default:
				backends = append(backends, "<"+ep.Name+">")
			}
		}
		pm := lb.PortMappings[0]
		out = append(out, lbLine(key, pm.InternalPort, uint32(lb.Flags), uint32(pm.Flags), uint32(pm.DistributionType), lb.SourceVIP, backends))
	}
	slices.Sort(out)
	return out
}

// planLines renders the plan's load balancers as hnsLines does, leaving
// out the backends drop says HNS has no endpoint for.
func planLines(p *lbpolicy.Plan, drop ...string) []string {
	var out []string
	for _, lb := range p.LoadBalancers {
		var backends []string
		for _, b := range lb.Backends {
			if !slices.Contains(drop, b.String()) {
				backends = append(backends, b.String())
			}
		}
		src := ""
		if lb.SourceVIP.IsValid() {
			src = lb.SourceVIP.String()
		}
		out = append(out, lbLine(lb.Key(), lb.InternalPort, uint32(lb.Flags), uint32(lb.PortMappingFlags), uint32(lb.DistributionType), src, backends))
	}
	slices.Sort(out)
	return out
}

// remoteLines renders the remote endpoints HNS holds on the network, except
// those in skip (by ID).
func remoteLines(h *fake.HNS, netID string, skip ...string) []string {
	var out []string
	for _, ep := range h.Endpoints() {
		if !strings.EqualFold(ep.HostComputeNetwork, netID) || ep.Flags&hns.EndpointFlagsRemoteEndpoint == 0 ||
			slices.ContainsFunc(skip, func(id string) bool { return strings.EqualFold(id, ep.Id) }) {
			continue
		}
		pa := ""
		for _, p := range ep.Policies {
			pa = string(p.Settings)
		}
		out = append(out, fmt.Sprintf("%s %s %s", ep.IpConfigurations[0].IpAddress, strings.ToLower(ep.MacAddress), pa))
	}
	slices.Sort(out)
	return out
}

// planRemoteLines renders the plan's remote endpoints as remoteLines does,
// except those whose IP HNS holds as a local endpoint.
func planRemoteLines(p *lbpolicy.Plan, locals map[string]string) []string {
	var out []string
	for _, ep := range p.Endpoints {
		if _, ok := locals[ep.IP.String()]; ok || !ep.Remote {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s {\"ProviderAddress\":%q}", ep.IP, ep.MACAddress, ep.ProviderAddress))
	}
	slices.Sort(out)
	return out
}

// clock is a settable clock for backoff.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// reportingVersion makes a Client report version v, whatever it does: an
// HNS build that claims a capability it does not have.
type reportingVersion struct {
	hns.Client
	v lbpolicy.Version
}

func (r reportingVersion) Version(context.Context) (lbpolicy.Version, error) { return r.v, nil }

// deleteRecorder records the keys of the load balancers deleted through it.
type deleteRecorder struct {
	hns.Client
	h *fake.HNS

	mu      sync.Mutex
	deleted map[lbpolicy.Key]int
}

func (d *deleteRecorder) DeleteLoadBalancer(ctx context.Context, id string) error {
	var key lbpolicy.Key
	var found bool
	for _, lb := range d.h.LoadBalancers() {
		if strings.EqualFold(lb.Id, id) {
			key, found = hnsadapter.LoadBalancerKey(&lb)
		}
	}
	err := d.Client.DeleteLoadBalancer(ctx, id)
	if err == nil && found {
		d.mu.Lock()
		d.deleted[key]++
		d.mu.Unlock()
	}
	return err
}

// inFlight counts the calls in flight through it and remembers the most.
type inFlight struct {
	hns.Client
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) enter() {
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.mu.Unlock()
}

func (f *inFlight) leave() {
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
}

func (f *inFlight) Max() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max
}

func (f *inFlight) ListLoadBalancers(ctx context.Context) ([]hns.HostComputeLoadBalancer, error) {
	f.enter()
	defer f.leave()
	return f.Client.ListLoadBalancers(ctx)
}

func (f *inFlight) GetLoadBalancer(ctx context.Context, id string) (*hns.HostComputeLoadBalancer, error) {
	f.enter()
	defer f.leave()
	return f.Client.GetLoadBalancer(ctx, id)
}

func (f *inFlight) CreateLoadBalancer(ctx context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	f.enter()
	defer f.leave()
	return f.Client.CreateLoadBalancer(ctx, lb)
}

func (f *inFlight) UpdateLoadBalancer(ctx context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	f.enter()
	defer f.leave()
	return f.Client.UpdateLoadBalancer(ctx, id, lb)
}

func (f *inFlight) DeleteLoadBalancer(ctx context.Context, id string) error {
	f.enter()
	defer f.leave()
	return f.Client.DeleteLoadBalancer(ctx, id)
}

func (f *inFlight) ListEndpoints(ctx context.Context, networkID string) ([]hns.HostComputeEndpoint, error) {
	f.enter()
	defer f.leave()
	return f.Client.ListEndpoints(ctx, networkID)
}

func (f *inFlight) CreateEndpoint(ctx context.Context, networkID string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	f.enter()
	defer f.leave()
	return f.Client.CreateEndpoint(ctx, networkID, ep)
}

func (f *inFlight) DeleteEndpoint(ctx context.Context, id string) error {
	f.enter()
	defer f.leave()
	return f.Client.DeleteEndpoint(ctx, id)
}
