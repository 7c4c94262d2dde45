package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hnslb/hnslb/lbpolicy"
)

const ns = "e2e"

// The cluster: the Windows node hnslb serves and two Linux nodes whose pods
// are remote backends.
var nodes = []struct{ name, zone, ip string }{
	{winNode, winZone, winNodeIP},
	{"linux-1", "zone-a", "10.1.0.5"},
	{"linux-2", "zone-b", "10.1.0.6"},
}

// TestControlPlane runs hnslb against a real kube-apiserver and the real
// EndpointSlice controller, step by step, in the test process and through
// the reference proxy's process. Each step changes the cluster as a
// user or a kubelet would, waits until the controller has published the
// EndpointSlices the step implies and hnslb's informers have delivered
// exactly what the API server holds, syncs, and checks that fake.HNS holds
// what lbpolicy.Compute plans over the API server's Services and
// EndpointSlices. The steps share one cluster and run in order.
func TestControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	cp := startControlPlane(t)
	for _, n := range nodes {
		cp.createNode(t, n.name, n.zone, n.ip)
	}
	cp.createNamespace(t, ns)
	// hnslb for win-1 twice, on two HNS versions: the newest, which updates
	// load balancers in place, and WS2022's, which cannot (delete and create).
	hnsNodes := []*hnsNode{startHNSNode(t, cp, "latest"), startHNSNode(t, cp, "ws2022")}
	// And the reference proxy, as its own process, on the same two: each
	// step also waits until what it programmed is the plan.
	bin := buildProxy(t)
	proxies := []*proxyNode{startProxyNode(t, bin, cp, "latest", "127.0.0.2"), startProxyNode(t, bin, cp, "ws2022", "127.0.0.3")}

	var calls []string
	var last []stepResult
	step := func(name string, converged func(apiState) error) lbpolicy.Plan {
		t.Helper()
		var plan lbpolicy.Plan
		last = last[:0]
		for i, n := range hnsNodes {
			p, r := n.sync(t, name, converged)
			if i == 0 {
				plan = p
			}
			last = append(last, r)
			calls = append(calls, fmt.Sprintf("%-32s %-6s full=%-5v mutating=%-3d %v", name, n.hns.Profile().Name,
				r.Result.Full, r.Calls.Mutating(), r.Calls))
		}
		for _, px := range proxies {
			px.converge(t, name, cp, converged)
		}
		return plan
	}
	defer func() { t.Logf("HNS calls per step:\n%s", strings.Join(calls, "\n")) }()
	noMutation := func() {
		t.Helper()
		for _, r := range last {
			if m := r.Calls.Mutating(); m != 0 {
				t.Errorf("%d mutating HNS calls for a step that changed nothing hnslb plans: %v", m, r.Calls)
			}
		}
	}

	// 1. A ClusterIP Service with three ready pods: two remote, one local
	// (its HNS endpoint made by the CNI).
	web := cp.createService(t, ns, "web", nil)
	for _, n := range hnsNodes {
		n.addLocalPod("web-002", "10.244.0.10")
	}
	cp.createPod(t, ns, "web-000", "web", "linux-1", "10.244.1.10", true)
	cp.createPod(t, ns, "web-001", "web", "linux-2", "10.244.2.10", true)
	cp.createPod(t, ns, "web-002", "web", winNode, "10.244.0.10", true)
	step("clusterip, 3 ready pods", endpointsAre("web", map[string]string{
		"10.244.1.10": ready, "10.244.2.10": ready, "10.244.0.10": ready}))
	key := lbpolicy.Key{Family: lbpolicy.IPv4, VIP: netip.MustParseAddr(web.Spec.ClusterIP), Protocol: lbpolicy.ProtocolTCP, Port: 80}
	want := view{
		LoadBalancers: map[string]lbView{key.String(): {VIPs: []string{web.Spec.ClusterIP}, InternalPort: 8080,
			Backends: []string{"10.244.0.10", "10.244.1.10", "10.244.2.10"}}},
		Endpoints: []string{"10.244.1.10", "10.244.2.10"}, // remote; the local one is the CNI's
	}
	for _, n := range hnsNodes {
		if d := cmp.Diff(want, n.hnsView(t)); d != "" {
			t.Errorf("%s: HNS after the first step differs from the hand-written expectation (-want +hns):\n%s",
				n.hns.Profile().Name, d)
		}
	}
	step("nothing changed", endpointsAre("web", map[string]string{
		"10.244.1.10": ready, "10.244.2.10": ready, "10.244.0.10": ready}))
	noMutation()

	// 2. A pod turns unready: the controller keeps it, not ready.
	cp.setPodStatus(t, ns, "web-001", "10.244.2.10", false)
	plan := step("pod unready", endpointsAre("web", map[string]string{
		"10.244.1.10": ready, "10.244.2.10": notReady, "10.244.0.10": ready}))
	wantBackends(t, plan, "web", key, "10.244.0.10", "10.244.1.10")

	// 3. A pod deleted with a grace period: with no kubelet to finish it,
	// it stays terminating and, being ready, serving.
	cp.deletePod(t, ns, "web-000", 300)
	plan = step("pod terminating (grace 300s)", endpointsAre("web", map[string]string{
		"10.244.1.10": servingTerminating, "10.244.2.10": notReady, "10.244.0.10": ready}))
	wantBackends(t, plan, "web", key, "10.244.0.10")

	// 3b. No ready endpoint left: traffic falls back to the serving,
	// terminating one (KEP-1669).
	cp.setPodStatus(t, ns, "web-002", "10.244.0.10", false)
	plan = step("only a terminating pod serves", endpointsAre("web", map[string]string{
		"10.244.1.10": servingTerminating, "10.244.2.10": notReady, "10.244.0.10": notReady}))
	wantBackends(t, plan, "web", key, "10.244.1.10")

	// 3c. The terminating pod is removed: no backend, no load balancer.
	cp.deletePod(t, ns, "web-000", 0)
	plan = step("terminating pod removed", endpointsAre("web", map[string]string{
		"10.244.2.10": notReady, "10.244.0.10": notReady}))
	wantBackends(t, plan, "web", key)

	// 3d. NodePort with externalTrafficPolicy Local, a named target port and
	// session affinity. The pods name the port differently, so the
	// controller publishes one slice per port.
	api := cp.createService(t, ns, "api", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		s.Spec.Ports[0].TargetPort = intstr.FromString("http")
	})
	for _, n := range hnsNodes {
		n.addLocalPod("api-0", "10.244.0.20")
	}
	cp.createPod(t, ns, "api-0", "api", winNode, "10.244.0.20", true, corev1.ContainerPort{Name: "http", ContainerPort: 9090})
	cp.createPod(t, ns, "api-1", "api", "linux-1", "10.244.1.20", true, corev1.ContainerPort{Name: "http", ContainerPort: 9090})
	cp.createPod(t, ns, "api-2", "api", "linux-2", "10.244.2.20", true, corev1.ContainerPort{Name: "http", ContainerPort: 9091})
	plan = step("nodeport, ETP Local, named port", func(s apiState) error {
		if n := len(slicesOf(s, "api")); n != 2 {
			return fmt.Errorf("api has %d slices, want one per target port (2)", n)
		}
		return endpointsAre("api", map[string]string{"10.244.0.20": ready, "10.244.1.20": ready, "10.244.2.20": ready})(s)
	})
	// HNS takes one internal port per load balancer: the pods on the other
	// port are left out, with a warning.
	apiWant := map[lbpolicy.Kind]lbView{
		lbpolicy.KindClusterIP: {VIPs: []string{api.Spec.ClusterIP}, InternalPort: 9090,
			Distribution: lbpolicy.DistributionSourceIP, Backends: []string{"10.244.0.20", "10.244.1.20"}},
		// ETP Local: only this node's pod, and DSR (docs/semantics.md §4.2).
		lbpolicy.KindNodePort: {InternalPort: 9090, Distribution: lbpolicy.DistributionSourceIP, Flags: lbpolicy.FlagDSR,
			PortMappingFlags: lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP,
			Backends:         []string{"10.244.0.20"}},
	}
	apiGot := map[lbpolicy.Kind]lbView{}
	for _, lb := range plan.LoadBalancers {
		if lb.Service == ns+"/api" {
			apiGot[lb.Kind] = planView(lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{lb}}).LoadBalancers[lb.Key().String()]
		}
	}
	if d := cmp.Diff(apiWant, apiGot); d != "" {
		t.Errorf("api's load balancers (-want +plan):\n%s", d)
	}
	if !hasDiagnostic(plan, "Service "+ns+"/api:http", lbpolicy.ReasonMixedInternalPorts) {
		t.Errorf("no %s diagnostic for api: %v", lbpolicy.ReasonMixedInternalPorts, plan.Diagnostics)
	}

	// 3e. trafficDistribution PreferClose: the controller gives every
	// endpoint a hint for its own zone, and win-1 (zone-a) uses the zone-a
	// endpoints only.
	near := cp.createService(t, ns, "near", func(s *corev1.Service) {
		s.Spec.TrafficDistribution = ptr(corev1.ServiceTrafficDistributionPreferClose)
	})
	for _, n := range hnsNodes {
		n.addLocalPod("near-0", "10.244.0.30")
	}
	cp.createPod(t, ns, "near-0", "near", winNode, "10.244.0.30", true)
	cp.createPod(t, ns, "near-1", "near", "linux-1", "10.244.1.30", true)
	cp.createPod(t, ns, "near-2", "near", "linux-2", "10.244.2.30", true)
	plan = step("PreferClose, zone hints", func(s apiState) error {
		if err := endpointsAre("near", map[string]string{"10.244.0.30": ready, "10.244.1.30": ready, "10.244.2.30": ready})(s); err != nil {
			return err
		}
		for _, sl := range slicesOf(s, "near") {
			for _, e := range sl.Endpoints {
				if e.Hints == nil || len(e.Hints.ForZones) == 0 {
					return fmt.Errorf("endpoint %v has no zone hint yet", e.Addresses)
				}
			}
		}
		return nil
	})
	nearKey := lbpolicy.Key{Family: lbpolicy.IPv4, VIP: netip.MustParseAddr(near.Spec.ClusterIP), Protocol: lbpolicy.ProtocolTCP, Port: 80}
	wantBackends(t, plan, "near", nearKey, "10.244.0.30", "10.244.1.30")

	// 4. More than 100 endpoints: the controller splits them over slices.
	const bigPods = 150
	cp.createService(t, ns, "big", nil)
	wantBig := map[string]string{}
	for i := 0; i < bigPods; i++ {
		ip := fmt.Sprintf("10.245.%d.%d", i/200, 10+i%200)
		cp.createPod(t, ns, podName("big", i), "big", nodes[1+i%2].name, ip, true)
		wantBig[ip] = ready
	}
	plan = step(fmt.Sprintf("%d endpoints", bigPods), func(s apiState) error {
		if n := len(slicesOf(s, "big")); n < 2 {
			return fmt.Errorf("big has %d slices, want the endpoints split over at least 2", n)
		}
		return endpointsAre("big", wantBig)(s)
	})
	state, err := listAPI(context.Background(), cp.Client)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, sl := range slicesOf(state, "big") {
		sizes = append(sizes, len(sl.Endpoints))
	}
	t.Logf("the controller put big's %d endpoints in slices of %v", bigPods, sizes)
	for k, b := range backendsOf(plan, ns+"/big") {
		if len(b) != bigPods {
			t.Errorf("load balancer %s has %d backends, want %d", k, len(b), bigPods)
		}
	}

	// 4b. hnslb restarts (new Tracker and Reconciler, HNS as it was): it
	// adopts what HNS holds by key and changes nothing.
	for i, n := range hnsNodes {
		hnsNodes[i] = n.restart(t, cp)
	}
	step("proxy restarted, HNS kept", endpointsAre("big", wantBig))
	noMutation()

	// 5. The Service deleted. No garbage collector runs here, so its slices
	// stay until the test deletes them as the collector would.
	cp.deleteService(t, ns, "big")
	plan = step("service deleted", func(s apiState) error {
		for _, svc := range s.Services {
			if svc.Namespace == ns && svc.Name == "big" {
				return fmt.Errorf("service big still listed")
			}
		}
		return nil
	})
	if b := backendsOf(plan, ns+"/big"); len(b) != 0 {
		t.Errorf("deleted Service still has load balancers: %v", b)
	}
	err = cp.Client.DiscoveryV1().EndpointSlices(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: discovery.LabelServiceName + "=big"})
	if err != nil {
		t.Fatalf("delete big's slices: %v", err)
	}
	step("its slices collected", func(s apiState) error {
		if n := len(slicesOf(s, "big")); n != 0 {
			return fmt.Errorf("big still has %d slices", n)
		}
		return nil
	})
	noMutation()
}

// Endpoint states as the controller writes them.
const (
	ready              = "ready"
	notReady           = "not ready"
	servingTerminating = "serving, terminating"
)

func endpointState(e discovery.Endpoint) string {
	c := e.Conditions
	is := func(b *bool) bool { return b != nil && *b }
	switch {
	case is(c.Ready) && !is(c.Terminating):
		return ready
	case is(c.Terminating) && is(c.Serving):
		return servingTerminating
	case is(c.Terminating):
		return "terminating"
	default:
		return notReady
	}
}

func slicesOf(s apiState, svc string) []*discovery.EndpointSlice {
	var out []*discovery.EndpointSlice
	for _, sl := range s.Slices {
		if sl.Namespace == ns && sl.Labels[discovery.LabelServiceName] == svc {
			out = append(out, sl)
		}
	}
	return out
}

// endpointsAre is converged when svc's slices hold exactly the endpoints
// given, by address, in the states given.
func endpointsAre(svc string, want map[string]string) func(apiState) error {
	return func(s apiState) error {
		got := map[string]string{}
		for _, sl := range slicesOf(s, svc) {
			for _, e := range sl.Endpoints {
				for _, a := range e.Addresses {
					got[a] = endpointState(e)
				}
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("endpoints of %s (-want +got):\n%s", svc, d)
		}
		return nil
	}
}

// wantBackends checks the plan's backends of one load balancer of svc; none
// means the load balancer must not exist.
func wantBackends(t *testing.T, plan lbpolicy.Plan, svc string, key lbpolicy.Key, ips ...string) {
	t.Helper()
	got := backendsOf(plan, ns+"/"+svc)[key.String()]
	sort.Strings(ips)
	if d := cmp.Diff(ips, got); d != "" {
		t.Errorf("backends of %s (-want +plan):\n%s", key, d)
	}
}

func hasDiagnostic(p lbpolicy.Plan, object string, reason lbpolicy.Reason) bool {
	for _, d := range p.Diagnostics {
		if d.Object == object && d.Reason == reason {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
