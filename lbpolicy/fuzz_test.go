package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// choices turns fuzz bytes into decisions; when the bytes run out every
// decision is 0, so short inputs give small, valid clusters.
type choices struct{ data []byte }

func (c *choices) n(max int) int {
	if len(c.data) == 0 || max <= 1 {
		return 0
	}
	v := int(c.data[0]) % max
	c.data = c.data[1:]
	return v
}

func pick[T any](c *choices, xs ...T) T { return xs[c.n(len(xs))] }

// Small pools so that addresses, ports and names collide often.
var (
	fuzzIPs = []string{"10.96.0.10", "10.96.0.11", "fd00:96::10", "10.244.1.5", "10.244.2.7", "10.244.9.9",
		"10.0.0.5", "192.0.2.50", "198.51.100.7", "2001:db8::7", "fd00:244:1::5", "::ffff:10.244.2.7",
		"010.244.001.005", "", "None", "not-an-ip", "10.244.1.300", "fe80::1%eth0"}
	fuzzPorts = []int32{80, 443, 53, 0, -1, 65535, 70000, 8080}
	fuzzNames = []string{"http", "", "dns", "metrics"}
	fuzzProto = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP, "", "ICMP"}
	fuzzNodes = []lbpolicy.Node{
		with(overlay(), func(n *lbpolicy.Node) { n.EnableDSR = true; n.ForwardHealthCheckVIP = true }),
		with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true }),
		with(l2bridge(), func(n *lbpolicy.Node) { n.HNSVersion = "10.3"; n.EnableDSR = true }),
	}
)

func fuzzCluster(data []byte) (lbpolicy.Node, []*corev1.Service, []*discovery.EndpointSlice) {
	c := &choices{data: data}
	node := fuzzNodes[c.n(len(fuzzNodes))]
	var svcs []*corev1.Service
	var sls []*discovery.EndpointSlice
	for i := 0; i < 1+c.n(5); i++ {
		name := pick(c, "a", "b", "c", "d")
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: pick(c, "default", "kube-system"), Name: name}}
		s.Spec.Type = pick(c, corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName, "")
		for j := 0; j < c.n(3)+1; j++ {
			s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, pick(c, fuzzIPs...))
		}
		s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
		for j := 0; j < c.n(3)+1; j++ {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{
				Name: pick(c, fuzzNames...), Protocol: pick(c, fuzzProto...), Port: pick(c, fuzzPorts...),
				NodePort: pick(c, int32(0), 30080, 30053, -5, 99999),
			})
		}
		for j := 0; j < c.n(3); j++ {
			s.Spec.ExternalIPs = append(s.Spec.ExternalIPs, pick(c, fuzzIPs...))
		}
		for j := 0; j < c.n(3); j++ {
			ing := corev1.LoadBalancerIngress{IP: pick(c, fuzzIPs...), Hostname: pick(c, "", "lb.example.com")}
			if c.n(3) == 0 {
				ing.IPMode = ptr(pick(c, corev1.LoadBalancerIPModeVIP, corev1.LoadBalancerIPModeProxy))
			}
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, ing)
		}
		if c.n(2) == 0 {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = pick(c, int32(0), 32000, -1, 70000)
		}
		if c.n(3) == 0 {
			itp := corev1.ServiceInternalTrafficPolicyLocal
			s.Spec.InternalTrafficPolicy = &itp
		}
		if c.n(4) == 0 {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}
		if c.n(4) == 0 {
			s.Annotations = map[string]string{"preserve-destination": "true"}
		}
		if c.n(8) == 0 {
			s.Labels = map[string]string{lbpolicy.LabelServiceProxyName: "other"}
		}
		s.CreationTimestamp = pick(c, genCreated...)
		svcs = append(svcs, s)
	}
	for i := 0; i < c.n(6)+1; i++ {
		// Mostly slices of the generated Services, with their ports, so
		// that load balancers of every kind come out.
		owner := svcs[c.n(len(svcs))]
		sl := &discovery.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: owner.Namespace, Name: fmt.Sprintf("s%d", c.n(4)),
				Labels: map[string]string{discovery.LabelServiceName: owner.Name},
			},
			AddressType: pick(c, discovery.AddressTypeIPv4, discovery.AddressTypeIPv6, discovery.AddressTypeIPv4, discovery.AddressTypeFQDN),
		}
		if c.n(6) == 0 {
			sl.Namespace = pick(c, "default", "kube-system")
			sl.Labels[discovery.LabelServiceName] = pick(c, "a", "b", "c", "d", "")
		}
		for _, sp := range owner.Spec.Ports {
			p := discovery.EndpointPort{Name: ptr(sp.Name), Protocol: ptr(sp.Protocol), Port: ptr(pick(c, int32(8080), 9090, 0, 53))}
			if c.n(4) == 0 {
				p.Name = pick(c, nil, ptr(pick(c, fuzzNames...)))
			}
			if c.n(4) == 0 {
				p.Protocol = pick(c, nil, ptr(pick(c, fuzzProto...)))
			}
			sl.Ports = append(sl.Ports, p)
		}
		for j := 0; j < c.n(8); j++ {
			e := discovery.Endpoint{Addresses: []string{pick(c, "10.244.1.5", "10.244.2.7", "10.0.0.5", "fd00:244:1::5", "fd00:244:2::7")}}
			if c.n(4) == 0 {
				e.Addresses[0] = pick(c, fuzzIPs...)
			}
			if c.n(5) == 0 {
				e.Addresses = nil
			}
			e.NodeName = pick(c, nil, ptr(thisNode), ptr("win-2"), ptr(""))
			e.Conditions.Ready = pick(c, nil, ptr(true), ptr(false))
			e.Conditions.Serving = pick(c, nil, ptr(true), ptr(false))
			e.Conditions.Terminating = pick(c, nil, ptr(true), ptr(false))
			if c.n(3) == 0 {
				e.Hints = &discovery.EndpointHints{ForZones: []discovery.ForZone{{Name: pick(c, "zone-a", "zone-b")}}}
				if c.n(2) == 0 {
					e.Hints.ForNodes = []discovery.ForNode{{Name: pick(c, thisNode, "win-2")}}
				}
			}
			sl.Endpoints = append(sl.Endpoints, e)
		}
		sls = append(sls, sl)
	}
	return node, svcs, sls
}

// checkPlan asserts the invariants every plan keeps, whatever the input.
func checkPlan(t *testing.T, p lbpolicy.Plan) {
	t.Helper()
	seen := map[lbpolicy.Key]bool{}
	remote := map[string]bool{}
	for _, e := range p.Endpoints {
		if e.Remote {
			remote[e.IP.String()] = true
		}
	}
	for i, lb := range p.LoadBalancers {
		k := lb.Key()
		if seen[k] {
			t.Errorf("duplicate key %s", k)
		}
		seen[k] = true
		if i > 0 && p.LoadBalancers[i-1].Key().Compare(k) >= 0 {
			t.Errorf("not sorted at %d: %s then %s", i, p.LoadBalancers[i-1].Key(), k)
		}
		if len(lb.Backends) == 0 {
			t.Errorf("%s has no backends", k)
		}
		if lb.InternalPort == 0 || lb.ExternalPort == 0 {
			t.Errorf("%s has port 0: %+v", k, lb)
		}
		if lb.Protocol != tcp && lb.Protocol != udp {
			t.Errorf("%s protocol %d", k, lb.Protocol)
		}
		if (lb.Kind == lbpolicy.KindNodePort) != (len(lb.FrontendVIPs) == 0) || len(lb.FrontendVIPs) > 1 {
			t.Errorf("%s %s frontends %v", k, lb.Kind, lb.FrontendVIPs)
		}
		if (lb.IPFamily == lbpolicy.IPv6) != (lb.Flags&ipv6 != 0) {
			t.Errorf("%s IPv6 flag %v", k, lb.Flags)
		}
		for _, v := range lb.FrontendVIPs {
			if v.Is6() != (lb.IPFamily == lbpolicy.IPv6) {
				t.Errorf("%s frontend %s of the wrong family", k, v)
			}
		}
		if !slices.IsSortedFunc(lb.Backends, func(a, b lbpolicy.Backend) int { return a.IP.Compare(b.IP) }) {
			t.Errorf("%s backends not sorted: %v", k, lb.Backends)
		}
		for j, b := range lb.Backends {
			if j > 0 && b == lb.Backends[j-1] {
				t.Errorf("%s duplicate backend %s", k, b)
			}
			if lb.Kind != lbpolicy.KindHealthCheck && b.IP.Is6() != (lb.IPFamily == lbpolicy.IPv6) {
				t.Errorf("%s backend %s of the wrong family", k, b)
			}
		}
	}
	if !slices.IsSortedFunc(p.Endpoints, func(a, b lbpolicy.Endpoint) int { return a.IP.Compare(b.IP) }) {
		t.Errorf("endpoints not sorted")
	}
	for i := 1; i < len(p.Endpoints); i++ {
		if p.Endpoints[i].IP == p.Endpoints[i-1].IP {
			t.Errorf("two endpoints for %s", p.Endpoints[i].IP)
		}
	}
}

func FuzzCompute(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{1, 3, 2, 1, 0, 2, 1, 1, 0, 0, 2, 2, 2, 1, 5, 3, 0, 1, 2, 3, 4, 1, 1, 1, 0, 0})
	f.Add(bytes.Repeat([]byte{2, 7, 1}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		node, svcs, sls := fuzzCluster(data)
		before := deepCopies(svcs, sls)
		p, err := lbpolicy.Compute(node, svcs, sls)
		if err != nil {
			t.Fatalf("valid node rejected: %v", err)
		}
		checkPlan(t, p)
		if diff := cmp.Diff(before, deepCopies(svcs, sls)); diff != "" {
			t.Fatalf("Compute modified its input:\n%s", diff)
		}
		// Same plan, byte for byte, whatever the input order.
		slices.Reverse(svcs)
		slices.Reverse(sls)
		p2, _ := lbpolicy.Compute(node, svcs, sls)
		j1, _ := json.Marshal(p)
		j2, _ := json.Marshal(p2)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("plan depends on input order:\n%s\n%s", j1, j2)
		}
	})
}

type inputs struct {
	Services []*corev1.Service
	Slices   []*discovery.EndpointSlice
}

func deepCopies(svcs []*corev1.Service, sls []*discovery.EndpointSlice) inputs {
	var in inputs
	for _, s := range svcs {
		in.Services = append(in.Services, s.DeepCopy())
	}
	for _, s := range sls {
		in.Slices = append(in.Slices, s.DeepCopy())
	}
	return in
}

// TestDeterministic plans a generated cluster in several input orders and
// checks the JSON is identical and the inputs untouched.
func TestDeterministic(t *testing.T) {
	shape := clusterShape{Services: 300, Endpoints: 3000, Nodes: 20, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 7)
	for _, node := range []lbpolicy.Node{genNode(shape), dualStack(l2bridge())} {
		before := deepCopies(svcs, sls)
		p, err := lbpolicy.Compute(node, svcs, sls)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p)
		want, _ := json.Marshal(p)
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 5; i++ {
			s2, l2 := slices.Clone(svcs), slices.Clone(sls)
			r.Shuffle(len(s2), func(a, b int) { s2[a], s2[b] = s2[b], s2[a] })
			r.Shuffle(len(l2), func(a, b int) { l2[a], l2[b] = l2[b], l2[a] })
			p2, _ := lbpolicy.Compute(node, s2, l2)
			got, _ := json.Marshal(p2)
			if !bytes.Equal(want, got) {
				t.Fatalf("shuffle %d changed the plan", i)
			}
		}
		if diff := cmp.Diff(before, deepCopies(svcs, sls)); diff != "" {
			t.Fatalf("Compute modified its input:\n%s", diff)
		}
		if len(p.LoadBalancers) < 300 {
			t.Errorf("only %d load balancers for 300 services", len(p.LoadBalancers))
		}
	}
}

func TestFuzzSeedsCoverDiagnostics(t *testing.T) {
	// The fuzz generator must reach the interesting paths, or fuzzing
	// proves little: run it on random bytes and count reasons.
	r := rand.New(rand.NewPCG(3, 4))
	got := map[lbpolicy.Reason]bool{}
	kinds := map[lbpolicy.Kind]bool{}
	for i := 0; i < 3000; i++ {
		data := make([]byte, 200)
		for j := range data {
			data[j] = byte(r.UintN(256))
		}
		node, svcs, sls := fuzzCluster(data)
		p, err := lbpolicy.Compute(node, svcs, sls)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p)
		for _, d := range p.Diagnostics {
			got[d.Reason] = true
		}
		for _, lb := range p.LoadBalancers {
			kinds[lb.Kind] = true
		}
	}
	for _, want := range []lbpolicy.Reason{lbpolicy.ReasonInvalidService, lbpolicy.ReasonUnsupportedProtocol,
		lbpolicy.ReasonFrontendConflict, lbpolicy.ReasonInvalidEndpointSlice, lbpolicy.ReasonNoEndpoints,
		lbpolicy.ReasonIngressIPModeProxy, lbpolicy.ReasonIngressHostnameOnly} {
		if !got[want] {
			t.Errorf("generator never produced %s", want)
		}
	}
	for _, want := range []lbpolicy.Kind{lbpolicy.KindClusterIP, lbpolicy.KindNodePort, lbpolicy.KindExternalIP, lbpolicy.KindIngress, lbpolicy.KindHealthCheck} {
		if !kinds[want] {
			t.Errorf("generator never produced a %s load balancer", want)
		}
	}
}
