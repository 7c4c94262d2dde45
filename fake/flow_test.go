package fake_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// End-to-end flow tests: Services and EndpointSlices are planned for a
// node with lbpolicy.Compute, applied to a fake HNS with the Reconciler,
// and the tests ask Trace where connections go. They assert behaviour
// (which pods answer, DSR, the source address the pods see), not the
// shape of the HNS objects.
//
// The cluster: this node win-1 (10.0.0.4, pods 10.244.1.0/24), win-2
// (10.0.0.5, pods 10.244.2.0/24) and linux-3 (10.0.0.6, pods
// 10.244.3.0/24); an API server at 10.0.0.10, outside every pod subnet.

const (
	thisNode  = "win-1"
	thisIP    = "10.0.0.4"
	sourceVIP = "10.244.1.2" // Overlay: in this node's pod subnet
	win2IP    = "10.0.0.5"   // a hostNetwork pod on win-2 has this IP
	apiServer = "10.0.0.10"
)

// flowNodeOf returns this node on an Overlay network (flannel VXLAN, with
// or without DSR for ClusterIPs) or an L2Bridge one.
func flowNodeOf(networkType lbpolicy.NetworkType, dsr bool) lbpolicy.Node {
	n := lbpolicy.Node{
		Name:                  thisNode,
		NodeIPs:               []string{thisIP},
		NetworkType:           networkType,
		NetworkName:           "cbr0",
		EnableDSR:             dsr,
		ForwardHealthCheckVIP: true,
	}
	if networkType == lbpolicy.Overlay {
		n.NetworkName = "flannel.4096"
		n.SourceVIPs = []string{sourceVIP}
		n.HostMAC = "00-15-5d-a1-b2-c3"
		n.RemoteSubnets = []lbpolicy.RemoteSubnet{
			{DestinationPrefix: "10.244.2.0/24", ProviderAddress: win2IP},
			{DestinationPrefix: "10.244.3.0/24", ProviderAddress: "10.0.0.6"},
		}
	}
	return n
}

// Builders of the Kubernetes objects, reading like their YAML. Every
// Service has one TCP port "http" 80 → targetPort 8080.

type svcOpt func(*corev1.Service)

func k8sService(name, clusterIP string, opts ...svcOpt) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  clusterIP,
			ClusterIPs: []string{clusterIP},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080),
			}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// withNodePort makes the Service type NodePort with node port p.
func withNodePort(p int32) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = p
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
}

// withLoadBalancer makes the Service type LoadBalancer with node port p and
// the given ingress IPs.
func withLoadBalancer(p int32, ingressIPs ...string) svcOpt {
	return func(s *corev1.Service) {
		withNodePort(p)(s)
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		for _, ip := range ingressIPs {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
	}
}

// withETPLocal sets externalTrafficPolicy: Local, and the
// healthCheckNodePort the API server then allocates.
func withETPLocal(healthCheckNodePort int32) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = healthCheckNodePort
	}
}

func withITPLocal(s *corev1.Service) {
	p := corev1.ServiceInternalTrafficPolicyLocal
	s.Spec.InternalTrafficPolicy = &p
}

// podEndpoint is one endpoint of an EndpointSlice.
type podEndpoint struct {
	ip, node                    string // node "": none (an address outside the cluster)
	ready, serving, terminating bool
}

// A pod that is ready; not ready (starting); terminating but still
// serving (draining); terminating and no longer serving.
func readyPod(ip, node string) podEndpoint    { return podEndpoint{ip, node, true, true, false} }
func unreadyPod(ip, node string) podEndpoint  { return podEndpoint{ip, node, false, false, false} }
func drainingPod(ip, node string) podEndpoint { return podEndpoint{ip, node, false, true, true} }
func stoppedPod(ip, node string) podEndpoint  { return podEndpoint{ip, node, false, false, true} }

// k8sSlice returns the EndpointSlice of Service svc: port "http" 8080.
func k8sSlice(svc string, eps ...podEndpoint) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: svc + "-abcde",
			Labels: map[string]string{discovery.LabelServiceName: svc},
		},
		AddressType: discovery.AddressTypeIPv4,
		Ports: []discovery.EndpointPort{{
			Name: ptrTo("http"), Port: ptrTo(int32(8080)), Protocol: ptrTo(corev1.ProtocolTCP),
		}},
	}
	for _, e := range eps {
		ep := discovery.Endpoint{
			Addresses: []string{e.ip},
			Conditions: discovery.EndpointConditions{
				Ready: ptrTo(e.ready), Serving: ptrTo(e.serving), Terminating: ptrTo(e.terminating),
			},
		}
		if e.node != "" {
			ep.NodeName = ptrTo(e.node)
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

// flowNode is node n's HNS (a fake with profile p) and the Reconciler
// that programs it.
type flowNode struct {
	n     lbpolicy.Node
	h     *fake.HNS
	netID string
	r     *hnsadapter.Reconciler
}

// newFlowNode returns node n on a fake HNS of profile name, with the root
// endpoint "cbr0", for n.HNSVersion set to the profile's version.
func newFlowNode(t *testing.T, n lbpolicy.Node, name string) *flowNode {
	t.Helper()
	p := profile(t, name)
	n.HNSVersion = p.Version.String()
	h := fake.New(p)
	netID := h.AddNetwork(n.NetworkName, string(n.NetworkType))
	h.AddLocalEndpoint(netID, "cbr0", "")
	r, err := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: n.NetworkName})
	if err != nil {
		t.Fatal(err)
	}
	return &flowNode{n: n, h: h, netID: netID, r: r}
}

// sync plans services and slices for the node, gives the fake the
// endpoints the CNI would have made by then (one per pod on this node,
// whatever its state), and applies the plan. It fails the test on an error
// diagnostic or a failed object.
func (f *flowNode) sync(t *testing.T, services []*corev1.Service, eps []*discovery.EndpointSlice) {
	t.Helper()
	plan, err := lbpolicy.Compute(f.n, services, eps)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range plan.Diagnostics {
		if d.Severity == lbpolicy.SeverityError {
			t.Fatalf("plan diagnostic: %s", d)
		}
		t.Logf("plan diagnostic: %s", d)
	}
	for _, s := range eps {
		for _, e := range s.Endpoints {
			if e.NodeName != nil && *e.NodeName == f.n.Name && !f.hasEndpoint(e.Addresses[0]) {
				f.h.AddLocalEndpoint(f.netID, "pod-"+e.Addresses[0], e.Addresses[0])
			}
		}
	}
	res, err := f.r.Sync(t.Context(), &plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Errorf("sync: %v", e)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func (f *flowNode) hasEndpoint(ip string) bool {
	return slices.ContainsFunc(f.h.Endpoints(), func(ep hns.HostComputeEndpoint) bool {
		return len(ep.IpConfigurations) > 0 && ep.IpConfigurations[0].IpAddress == ip
	})
}

// applied is node n on the "latest" profile, synced once.
func applied(t *testing.T, n lbpolicy.Node, services []*corev1.Service, eps []*discovery.EndpointSlice) *fake.HNS {
	t.Helper()
	f := newFlowNode(t, n, "latest")
	f.sync(t, services, eps)
	return f.h
}

// traced is what a flow test asserts about a TraceResult: everything but
// the load balancer's ID. Unreachable says no load balancer answers.
type traced struct {
	Unreachable  bool
	Backends     []string
	Local        []string
	InternalPort uint16
	DSR          bool
	SNATSource   string
}

func traceFlow(t *testing.T, h *fake.HNS, origin fake.Origin, dst string, port uint16) traced {
	t.Helper()
	r, err := h.Trace(fake.Flow{Origin: origin, Protocol: 6, Destination: dst, Port: port, NodeIPs: []string{thisIP}})
	if errors.Is(err, fake.ErrNoRoute) {
		return traced{Unreachable: true}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Missing) > 0 {
		t.Errorf("load balancer %s names endpoints that do not exist: %v", r.LoadBalancerID, r.Missing)
	}
	return traced{Backends: r.Backends, Local: r.Local, InternalPort: r.InternalPort, DSR: r.DSR, SNATSource: r.SNATSource}
}

// reaches is the trace of a flow answered by backends (those on this node
// listed again in local), on port 8080.
func reaches(backends, local []string, dsr bool, snat string) traced {
	return traced{Backends: backends, Local: local, InternalPort: 8080, DSR: dsr, SNATSource: snat}
}

var unreachable = traced{Unreachable: true}

// Pods of the traffic-policy cluster.
const (
	local1, local2, local3, local4 = "10.244.1.11", "10.244.1.12", "10.244.1.13", "10.244.1.14"
	win2a, win2b, win2c            = "10.244.2.21", "10.244.2.22", "10.244.2.23"
	linux3a, linux3b               = "10.244.3.31", "10.244.3.32"
)

func ips(s ...string) []string { return s }

// TestFlowTrafficPolicies: which pods a connection reaches under each
// traffic policy, on an Overlay node with DSR.
func TestFlowTrafficPolicies(t *testing.T) {
	services := []*corev1.Service{
		k8sService("web", "10.96.0.10"),
		k8sService("shop", "10.96.0.20", withLoadBalancer(30080, "192.0.2.10"), withETPLocal(32080)),
		k8sService("shop-cluster", "10.96.0.21", withLoadBalancer(30081, "192.0.2.11")),
		k8sService("elsewhere", "10.96.0.22", withLoadBalancer(30082, "192.0.2.12"), withETPLocal(32082)),
		k8sService("draining", "10.96.0.30"),
		k8sService("draining-lb", "10.96.0.31", withLoadBalancer(30083, "192.0.2.13"), withETPLocal(32083)),
		k8sService("node-local", "10.96.0.40", withITPLocal),
		k8sService("node-local-elsewhere", "10.96.0.41", withITPLocal),
	}
	epSlices := []*discovery.EndpointSlice{
		// Ready pods here and on two other nodes, and one starting here.
		k8sSlice("web", readyPod(local1, thisNode), unreadyPod(local2, thisNode),
			readyPod(win2a, "win-2"), readyPod(linux3a, "linux-3")),
		k8sSlice("shop", readyPod(local1, thisNode), unreadyPod(local2, thisNode),
			readyPod(win2a, "win-2"), readyPod(linux3a, "linux-3")),
		// A draining pod is not used while ready ones exist.
		k8sSlice("shop-cluster", readyPod(local1, thisNode), unreadyPod(local2, thisNode),
			readyPod(win2a, "win-2"), drainingPod(linux3a, "linux-3")),
		// No pod on this node.
		k8sSlice("elsewhere", readyPod(win2a, "win-2"), readyPod(linux3a, "linux-3")),
		// Every pod terminating (a rolling update's last step): the
		// still-serving ones take the traffic (KEP-1669).
		k8sSlice("draining", drainingPod(local3, thisNode), drainingPod(win2b, "win-2"),
			stoppedPod(linux3b, "linux-3"), unreadyPod(local4, thisNode)),
		// Ready pods elsewhere, and only a draining one here: the local
		// set falls back to it on its own (KEP-1669 per traffic policy).
		k8sSlice("draining-lb", drainingPod(local3, thisNode), readyPod(win2c, "win-2")),
		k8sSlice("node-local", readyPod(local1, thisNode), readyPod(win2a, "win-2")),
		k8sSlice("node-local-elsewhere", readyPod(win2a, "win-2")),
	}
	h := applied(t, flowNodeOf(lbpolicy.Overlay, true), services, epSlices)

	allReady := ips(local1, win2a, linux3a)
	tests := []struct {
		name   string
		origin fake.Origin
		dst    string
		port   uint16
		want   traced
	}{
		// ClusterIP: every ready pod, wherever it runs; DSR (enableDSR).
		{"ClusterIP from a pod", fake.FromPod, "10.96.0.10", 80, reaches(allReady, ips(local1), true, "")},
		{"ClusterIP from the node", fake.FromNode, "10.96.0.10", 80, reaches(allReady, ips(local1), true, "")},
		{"ClusterIP, wrong port", fake.FromPod, "10.96.0.10", 8080, unreachable},

		// externalTrafficPolicy: Local: external traffic reaches only this
		// node's pods, with DSR, so they see the client's address; the
		// ClusterIP still reaches every ready pod.
		{"ETP=Local ingress IP from outside", fake.FromOutside, "192.0.2.10", 80, reaches(ips(local1), ips(local1), true, "")},
		{"ETP=Local ingress IP from a pod: this node's pods too", fake.FromPod, "192.0.2.10", 80, reaches(ips(local1), ips(local1), true, "")},
		{"ETP=Local NodePort from outside", fake.FromOutside, thisIP, 30080, reaches(ips(local1), ips(local1), true, "")},
		{"ETP=Local NodePort from the node", fake.FromNode, thisIP, 30080, reaches(ips(local1), ips(local1), true, "")},
		{"ETP=Local NodePort on another node's IP", fake.FromOutside, win2IP, 30080, unreachable},
		{"ETP=Local ClusterIP from a pod", fake.FromPod, "10.96.0.20", 80, reaches(allReady, ips(local1), true, "")},
		{"ETP=Local health check from outside", fake.FromOutside, "192.0.2.10", 32080, traced{
			Backends: ips("<cbr0>"), Local: ips("<cbr0>"), InternalPort: 32080, SNATSource: sourceVIP}},

		// externalTrafficPolicy: Cluster: every ready pod, no DSR, SNAT to
		// the source VIP.
		{"ETP=Cluster ingress IP from outside", fake.FromOutside, "192.0.2.11", 80, reaches(ips(local1, win2a), ips(local1), false, sourceVIP)},
		{"ETP=Cluster NodePort from outside", fake.FromOutside, thisIP, 30081, reaches(ips(local1, win2a), ips(local1), false, sourceVIP)},
		{"ETP=Cluster ClusterIP from a pod", fake.FromPod, "10.96.0.21", 80, reaches(ips(local1, win2a), ips(local1), true, "")},
		{"ETP=Cluster health check on the healthz port", fake.FromOutside, "192.0.2.11", 10256, traced{
			Backends: ips("<cbr0>"), Local: ips("<cbr0>"), InternalPort: 10256, SNATSource: sourceVIP}},

		// ETP=Local without a pod here: HNS does not take the traffic.
		{"ETP=Local, no local pod: ingress IP", fake.FromOutside, "192.0.2.12", 80, unreachable},
		{"ETP=Local, no local pod: NodePort", fake.FromOutside, thisIP, 30082, unreachable},
		{"ETP=Local, no local pod: ClusterIP", fake.FromPod, "10.96.0.22", 80, reaches(ips(win2a, linux3a), nil, true, "")},

		// Terminating only: the serving ones, here and elsewhere.
		{"all terminating: ClusterIP", fake.FromPod, "10.96.0.30", 80, reaches(ips(local3, win2b), ips(local3), true, "")},
		{"ETP=Local, local pod draining: ingress IP", fake.FromOutside, "192.0.2.13", 80, reaches(ips(local3), ips(local3), true, "")},
		{"ETP=Local, local pod draining: ClusterIP", fake.FromPod, "10.96.0.31", 80, reaches(ips(win2c), nil, true, "")},

		// internalTrafficPolicy: Local: this node's pods only, or nothing.
		{"ITP=Local from a pod", fake.FromPod, "10.96.0.40", 80, reaches(ips(local1), ips(local1), true, "")},
		{"ITP=Local from the node", fake.FromNode, "10.96.0.40", 80, reaches(ips(local1), ips(local1), true, "")},
		{"ITP=Local, no local pod", fake.FromPod, "10.96.0.41", 80, unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := traceFlow(t, h, tt.origin, tt.dst, tt.port)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s %s:%d (-want +got):\n%s", tt.origin, tt.dst, tt.port, diff)
			}
		})
	}
}

// TestFlowSourceAddress: the source address pods see (docs/semantics.md §5,
// KEP-5100). With DSR it is the client's own. Otherwise, on Overlay, the
// source VIP — unless a backend of that load balancer is another node's IP
// (a hostNetwork pod) or lies outside every remote subnet, where the
// source VIP is not routable: then the node IP. On L2Bridge it is the node
// IP. ClusterIP load balancers are DSR only with enableDSR;
// externalTrafficPolicy: Local makes NodePort and ingress DSR whatever
// enableDSR says.
func TestFlowSourceAddress(t *testing.T) {
	services := []*corev1.Service{
		k8sService("pods", "10.96.1.10", withLoadBalancer(31010, "192.0.2.110")),
		k8sService("hostnet", "10.96.1.11", withLoadBalancer(31011, "192.0.2.111")),
		k8sService("external", "10.96.1.12", withLoadBalancer(31012, "192.0.2.112")),
		k8sService("local", "10.96.1.13", withLoadBalancer(31013, "192.0.2.113"), withETPLocal(32013)),
	}
	epSlices := []*discovery.EndpointSlice{
		// A pod here and one in a remote pod subnet.
		k8sSlice("pods", readyPod(local1, thisNode), readyPod(win2a, "win-2")),
		// A pod here and a hostNetwork pod on win-2: its IP is the node's.
		k8sSlice("hostnet", readyPod(local1, thisNode), readyPod(win2IP, "win-2")),
		// A pod here and an address outside the cluster's pod subnets.
		k8sSlice("external", readyPod(local1, thisNode), readyPod(apiServer, "")),
		// As hostnet, with externalTrafficPolicy: Local.
		k8sSlice("local", readyPod(local1, thisNode), readyPod(win2IP, "win-2")),
	}
	const dsr = "DSR"
	type row struct {
		service                      string
		clusterIP, nodePort, ingress string // the source pods see, or "DSR"
	}
	tests := []struct {
		name string
		node lbpolicy.Node
		rows []row
	}{{
		name: "Overlay with DSR",
		node: flowNodeOf(lbpolicy.Overlay, true),
		rows: []row{
			{"pods", dsr, sourceVIP, sourceVIP},
			{"hostnet", dsr, thisIP, thisIP},
			{"external", dsr, thisIP, thisIP},
			{"local", dsr, dsr, dsr},
		},
	}, {
		name: "Overlay without DSR",
		node: flowNodeOf(lbpolicy.Overlay, false),
		rows: []row{
			{"pods", sourceVIP, sourceVIP, sourceVIP},
			{"hostnet", thisIP, thisIP, thisIP},
			{"external", thisIP, thisIP, thisIP},
			{"local", thisIP, dsr, dsr},
		},
	}, {
		name: "L2Bridge",
		node: flowNodeOf(lbpolicy.L2Bridge, false),
		rows: []row{
			{"pods", thisIP, thisIP, thisIP},
			{"hostnet", thisIP, thisIP, thisIP},
			{"external", thisIP, thisIP, thisIP},
			{"local", thisIP, dsr, dsr},
		},
	}, {
		name: "L2Bridge with DSR",
		node: flowNodeOf(lbpolicy.L2Bridge, true),
		rows: []row{
			{"pods", dsr, thisIP, thisIP},
			{"hostnet", dsr, thisIP, thisIP},
			{"external", dsr, thisIP, thisIP},
			{"local", dsr, dsr, dsr},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := applied(t, tt.node, services, epSlices)
			want, got := map[string]string{}, map[string]string{}
			for _, r := range tt.rows {
				s := services[slices.IndexFunc(services, func(s *corev1.Service) bool { return s.Name == r.service })]
				for _, c := range []struct {
					kind, dst string
					port      uint16
					want      string
				}{
					{"ClusterIP", s.Spec.ClusterIP, 80, r.clusterIP},
					{"NodePort", thisIP, uint16(s.Spec.Ports[0].NodePort), r.nodePort},
					{"ingress", s.Status.LoadBalancer.Ingress[0].IP, 80, r.ingress},
				} {
					for _, origin := range []fake.Origin{fake.FromPod, fake.FromNode, fake.FromOutside} {
						flow := fmt.Sprintf("%s %s %s:%d %s", r.service, c.kind, c.dst, c.port, origin)
						want[flow] = c.want
						switch tr := traceFlow(t, h, origin, c.dst, c.port); {
						case tr.Unreachable:
							got[flow] = "unreachable"
						case tr.DSR && tr.SNATSource != "":
							got[flow] = "DSR with SNAT to " + tr.SNATSource
						case tr.DSR:
							got[flow] = dsr
						default:
							got[flow] = tr.SNATSource
						}
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("source address the pods see, by flow (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFlowAfterChanges: as pods come and go, each sync leaves the flows
// reaching exactly the pods of the moment, and no remote endpoint of a
// pod that is gone — on every HNS profile: in-place updates (latest), none
// (ws2019, ws2022: delete and create), and 15.4's update that reports
// success but keeps the old backends (ws2025).
func TestFlowAfterChanges(t *testing.T) {
	const local5 = "10.244.1.15"
	services := []*corev1.Service{
		k8sService("web", "10.96.0.10"),
		k8sService("shop", "10.96.0.20", withLoadBalancer(30080, "192.0.2.10"), withETPLocal(32080)),
	}
	steps := []struct {
		name string
		pods []podEndpoint // of both Services
		// The backends of web's ClusterIP from a pod and of shop's ingress
		// IP from outside (nil: no load balancer answers), and the remote
		// pod endpoints HNS holds.
		web, shop, remote []string
	}{{
		name: "one pod here, one on win-2",
		pods: []podEndpoint{readyPod(local1, thisNode), readyPod(win2a, "win-2")},
		web:  ips(local1, win2a), shop: ips(local1), remote: ips(win2a),
	}, {
		name: "rolling update: replaced here and moved from win-2 to linux-3",
		pods: []podEndpoint{drainingPod(local1, thisNode), readyPod(local2, thisNode), readyPod(linux3a, "linux-3")},
		web:  ips(local2, linux3a), shop: ips(local2), remote: ips(linux3a),
	}, {
		name: "every pod terminating",
		pods: []podEndpoint{drainingPod(local2, thisNode), drainingPod(linux3a, "linux-3"), stoppedPod(win2b, "win-2")},
		web:  ips(local2, linux3a), shop: ips(local2), remote: ips(linux3a),
	}, {
		name: "no pod here any more",
		pods: []podEndpoint{readyPod(linux3b, "linux-3")},
		web:  ips(linux3b), shop: nil, remote: ips(linux3b),
	}, {
		name: "a pod here again",
		pods: []podEndpoint{readyPod(local5, thisNode), readyPod(linux3b, "linux-3")},
		web:  ips(local5, linux3b), shop: ips(local5), remote: ips(linux3b),
	}}
	backends := func(tr traced) []string {
		if tr.Unreachable {
			return nil
		}
		return tr.Backends
	}
	for _, p := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		t.Run(p, func(t *testing.T) {
			f := newFlowNode(t, flowNodeOf(lbpolicy.Overlay, true), p)
			for _, step := range steps {
				f.sync(t, services, []*discovery.EndpointSlice{k8sSlice("web", step.pods...), k8sSlice("shop", step.pods...)})
				type state struct{ Web, Shop, Remote []string }
				want := state{step.web, step.shop, step.remote}
				got := state{
					Web:  backends(traceFlow(t, f.h, fake.FromPod, "10.96.0.10", 80)),
					Shop: backends(traceFlow(t, f.h, fake.FromOutside, "192.0.2.10", 80)),
				}
				for _, ep := range f.h.Endpoints() {
					if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 && strings.HasPrefix(ep.IpConfigurations[0].IpAddress, "10.244.") {
						got.Remote = append(got.Remote, ep.IpConfigurations[0].IpAddress)
					}
				}
				slices.Sort(got.Remote)
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("after %q (-want +got):\n%s", step.name, diff)
				}
			}
		})
	}
}

// TestFlowDualStack: on a dual-stack L2Bridge node each family has its own
// load balancers, reaching that family's pods, with SNAT to the node IP of
// the flow's family.
func TestFlowDualStack(t *testing.T) {
	n := flowNodeOf(lbpolicy.L2Bridge, false)
	n.NodeIPs = []string{thisIP, "fd00::4"}
	web := k8sService("web", "10.96.0.10", withLoadBalancer(30080, "192.0.2.10", "2001:db8::10"))
	web.Spec.ClusterIPs = []string{"10.96.0.10", "fd00:96::10"}
	web.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	v6 := k8sSlice("web", readyPod("fd00:244:1::11", thisNode), readyPod("fd00:244:2::21", "win-2"))
	v6.Name, v6.AddressType = "web-v6", discovery.AddressTypeIPv6
	f := newFlowNode(t, n, "latest")
	f.sync(t, []*corev1.Service{web}, []*discovery.EndpointSlice{k8sSlice("web", readyPod(local1, thisNode), readyPod(win2a, "win-2")), v6})

	v4All, v6All := reaches(ips(local1, win2a), ips(local1), false, thisIP), reaches(ips("fd00:244:1::11", "fd00:244:2::21"), ips("fd00:244:1::11"), false, "fd00::4")
	tests := []struct {
		origin fake.Origin
		dst    string
		port   uint16
		want   traced
	}{
		{fake.FromPod, "10.96.0.10", 80, v4All},
		{fake.FromPod, "fd00:96::10", 80, v6All},
		{fake.FromOutside, thisIP, 30080, v4All},
		{fake.FromOutside, "fd00::4", 30080, v6All},
		{fake.FromOutside, "192.0.2.10", 80, v4All},
		{fake.FromOutside, "2001:db8::10", 80, v6All},
	}
	for _, tt := range tests {
		r, err := f.h.Trace(fake.Flow{Origin: tt.origin, Protocol: 6, Destination: tt.dst, Port: tt.port, NodeIPs: n.NodeIPs})
		if err != nil {
			t.Errorf("%s %s:%d: %v", tt.origin, tt.dst, tt.port, err)
			continue
		}
		got := traced{Backends: r.Backends, Local: r.Local, InternalPort: r.InternalPort, DSR: r.DSR, SNATSource: r.SNATSource}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s %s:%d (-want +got):\n%s", tt.origin, tt.dst, tt.port, diff)
		}
	}
}
