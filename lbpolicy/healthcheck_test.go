package lbpolicy_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/lbpolicy"
)

// lbLocal is a LoadBalancer Service with externalTrafficPolicy Local and
// healthCheckNodePort 32000.
func lbLocal(name string, opts ...svcOpt) *corev1.Service {
	return service(name, append([]svcOpt{svcType(corev1.ServiceTypeLoadBalancer), etpLocal, healthCheckNodePort(32000),
		ports(tcpPort("http", 80, 30080))}, opts...)...)
}

func hc(name string, port int32, local int) lbpolicy.HealthCheck {
	return lbpolicy.HealthCheck{Service: types.NamespacedName{Namespace: ns, Name: name}, NodePort: port, LocalEndpoints: local}
}

func TestHealthChecks(t *testing.T) {
	here, there := thisNode, "win-2"
	tests := []struct {
		name   string
		node   lbpolicy.Node
		svcs   []*corev1.Service
		slices []*discovery.EndpointSlice
		want   []lbpolicy.HealthCheck
	}{{
		name: "ready local endpoints count; remote, not ready and terminating ones do not",
		svcs: []*corev1.Service{lbLocal("web")},
		slices: []*discovery.EndpointSlice{v4slice("web", 8080,
			ep{ip: "10.244.1.5", node: here}, ep{ip: "10.244.1.6", node: here},
			ep{ip: "10.244.1.7", node: here, notReady: true}, ep{ip: "10.244.1.8", node: here, terminating: true},
			ep{ip: "10.244.2.5", node: there}, ep{ip: "10.244.1.9"})},
		want: []lbpolicy.HealthCheck{hc("web", 32000, 2)},
	}, {
		name: "an address counts once over ports and slices; lenient addresses are normalised",
		svcs: []*corev1.Service{lbLocal("web", ports(tcpPort("http", 80, 30080), tcpPort("https", 443, 30443)))},
		slices: []*discovery.EndpointSlice{
			epSlice("web", "web-a", discovery.AddressTypeIPv4, map[string]int32{"http": 8080, "https": 8443},
				ep{ip: "10.244.1.5", node: here}, ep{ip: "10.244.1.6", node: here}),
			epSlice("web", "web-b", discovery.AddressTypeIPv4, map[string]int32{"http": 8080},
				ep{ip: "10.244.1.05", node: here}, ep{ip: "10.244.1.7", node: here}),
		},
		want: []lbpolicy.HealthCheck{hc("web", 32000, 3)},
	}, {
		name: "a duplicate: the non-terminating copy decides",
		svcs: []*corev1.Service{lbLocal("web")},
		slices: []*discovery.EndpointSlice{
			epSlice("web", "web-a", discovery.AddressTypeIPv4, map[string]int32{"http": 8080}, ep{ip: "10.244.1.5", node: here, terminating: true}),
			epSlice("web", "web-b", discovery.AddressTypeIPv4, map[string]int32{"http": 8080}, ep{ip: "10.244.1.5", node: here}),
		},
		want: []lbpolicy.HealthCheck{hc("web", 32000, 1)},
	}, {
		name:   "no endpoints: 0, still served (kube-proxy answers 503)",
		svcs:   []*corev1.Service{lbLocal("web")},
		want:   []lbpolicy.HealthCheck{hc("web", 32000, 0)},
		slices: []*discovery.EndpointSlice{v4slice("other", 8080, ep{ip: "10.244.1.5", node: here})},
	}, {
		name: "IPv6 slices on a single-stack IPv4 node do not count",
		svcs: []*corev1.Service{lbLocal("web", clusterIPs("10.96.0.10", "fd00::10"))},
		slices: []*discovery.EndpointSlice{v4slice("web", 8080, ep{ip: "10.244.1.5", node: here}),
			v6slice("web", 8080, ep{ip: "fd00:244:1::5", node: here})},
		want: []lbpolicy.HealthCheck{hc("web", 32000, 1)},
	}, {
		name: "a dual-stack node counts both families",
		node: dualStack(l2bridge()),
		svcs: []*corev1.Service{lbLocal("web", clusterIPs("10.96.0.10", "fd00::10"))},
		slices: []*discovery.EndpointSlice{v4slice("web", 8080, ep{ip: "10.244.1.5", node: here}),
			v6slice("web", 8080, ep{ip: "fd00:244:1::5", node: here})},
		want: []lbpolicy.HealthCheck{hc("web", 32000, 2)},
	}, {
		name: "only LoadBalancer Services with externalTrafficPolicy Local, a health port, planned by hnslb; sorted",
		svcs: []*corev1.Service{
			lbLocal("z-web"),
			lbLocal("a-web", healthCheckNodePort(32001)),
			lbLocal("cluster-policy", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster }),
			lbLocal("nodeport", svcType(corev1.ServiceTypeNodePort)),
			lbLocal("no-port", healthCheckNodePort(0)),
			lbLocal("bad-port", healthCheckNodePort(70000)),
			lbLocal("other-proxy", label(lbpolicy.LabelServiceProxyName, "other")),
			lbLocal("headless", clusterIPs(corev1.ClusterIPNone)),
			nil,
		},
		want: []lbpolicy.HealthCheck{hc("a-web", 32001, 0), hc("z-web", 32000, 0)},
	}, {
		name: "a Service given twice counts once",
		svcs: []*corev1.Service{lbLocal("web"), lbLocal("web")},
		want: []lbpolicy.HealthCheck{hc("web", 32000, 0)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := tt.node
			if node.Name == "" {
				node = l2bridge()
			}
			got, err := lbpolicy.HealthChecks(node, tt.svcs, tt.slices)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("HealthChecks (-want +got):\n%s", d)
			}
			tr, err := lbpolicy.NewTracker(node)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.svcs {
				tr.OnServiceAdd(s)
			}
			for _, s := range tt.slices {
				tr.OnEndpointSliceAdd(s)
			}
			if d := cmp.Diff(tt.want, tr.HealthChecks()); d != "" {
				t.Errorf("Tracker.HealthChecks (-want +got):\n%s", d)
			}
		})
	}
}

func TestHealthChecksInvalidNode(t *testing.T) {
	_, err := lbpolicy.HealthChecks(lbpolicy.Node{Name: "win-1"}, []*corev1.Service{lbLocal("web")}, nil)
	if !errors.Is(err, lbpolicy.ErrInvalidNode) {
		t.Fatalf("err = %v, want ErrInvalidNode", err)
	}
}

// healthCheckCoverage counts what the property tests met, so that they
// cannot pass vacuously.
type healthCheckCoverage struct{ checks, withLocal, withoutLocal int }

// checkHealthChecks compares the Tracker's HealthChecks with the pure
// function on the harness's model.
func (h *trackerHarness) checkHealthChecks(cov *healthCheckCoverage) {
	h.t.Helper()
	svcs := make([]*corev1.Service, 0, len(h.services))
	for _, s := range h.services {
		svcs = append(svcs, s)
	}
	sls := make([]*discovery.EndpointSlice, 0, len(h.slices))
	for _, s := range h.slices {
		sls = append(sls, s)
	}
	want, err := lbpolicy.HealthChecks(h.node, svcs, sls)
	if err != nil {
		h.t.Fatal(err)
	}
	got := h.tr.HealthChecks()
	if d := cmp.Diff(want, got); d != "" {
		h.t.Fatalf("Tracker.HealthChecks differs from HealthChecks after\n  %v\n(-want +got):\n%s", h.log, d)
	}
	for _, c := range got {
		cov.checks++
		if c.LocalEndpoints > 0 {
			cov.withLocal++
		} else {
			cov.withoutLocal++
		}
	}
}

func (c healthCheckCoverage) require(t *testing.T) {
	t.Helper()
	t.Logf("health checks compared: %+v", c)
	if c.withLocal == 0 || c.withoutLocal == 0 {
		t.Errorf("the events never gave health checks both with and without local endpoints: %+v", c)
	}
}

// Random event sequences (Services, slices, deletes, node changes) on
// every tracker node: after each event, Tracker.HealthChecks equals
// HealthChecks over the same objects.
func TestTrackerHealthChecksMatch(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 5
	}
	var cov healthCheckCoverage
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		data := make([]byte, 3000)
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		c := &choices{data: data}
		h := newHarness(t, trackerNodes[c.n(len(trackerNodes))])
		for !c.empty() {
			h.apply(h.nextEvent(c))
			h.checkHealthChecks(&cov)
		}
	}
	cov.require(t)
}

// A generated cluster loaded in random order, then edited as a live
// cluster is, on an Overlay and a dual-stack L2Bridge node.
func TestTrackerHealthChecksGeneratedCluster(t *testing.T) {
	shape := clusterShape{Services: 150, Endpoints: 1500, Nodes: 10, ETPLocal: 0.5, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 11)
	var cov healthCheckCoverage
	for _, node := range []lbpolicy.Node{genNode(shape), dualStack(l2bridge())} {
		h := newHarness(t, node)
		r := rand.New(rand.NewPCG(3, 3))
		var load []trackerEvent
		for _, s := range svcs {
			load = append(load, trackerEvent{op: opServiceAdd, obj: s})
		}
		for _, s := range sls {
			load = append(load, trackerEvent{op: opSliceAdd, obj: s})
		}
		r.Shuffle(len(load), func(i, j int) { load[i], load[j] = load[j], load[i] })
		for i, e := range load {
			h.apply(e)
			if i%50 == 0 {
				h.checkHealthChecks(&cov)
			}
		}
		h.checkHealthChecks(&cov)
		for range 100 {
			h.apply(liveEvent(r, h, shape))
			h.checkHealthChecks(&cov)
		}
	}
	cov.require(t)
}
