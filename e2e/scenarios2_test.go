package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Addresses the external scenarios use (documentation ranges, RFC 5737).
const (
	ingressIP  = "203.0.113.10"
	externalIP = "198.51.100.5"
)

// TestControlPlaneExternal runs, on a cluster of its own, the Services
// reached from outside or kept on the node: a LoadBalancer Service with its
// ingress IP written to status under externalTrafficPolicy Cluster then
// Local, externalIPs, internalTrafficPolicy Local, and a remote pod replaced
// by one on another node. Each step is checked as TestControlPlane's are
// (HNS equals Compute over the API server's objects) and against a
// hand-written expectation of the Service's load balancers.
func TestControlPlaneExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	cp := startControlPlane(t)
	for _, n := range nodes {
		cp.createNode(t, n.name, n.zone, n.ip)
	}
	cp.createNamespace(t, ns)
	hnsNodes := []*hnsNode{startHNSNode(t, cp, "latest"), startHNSNode(t, cp, "ws2022")}
	bin := buildProxy(t)
	s := &stepper{t: t, nodes: hnsNodes, cp: cp, proxies: []*proxyNode{
		startProxyNode(t, bin, cp, "latest", "127.0.0.2"), startProxyNode(t, bin, cp, "ws2022", "127.0.0.3")}}
	defer func() { t.Logf("HNS calls per step:\n%s", strings.Join(s.calls, "\n")) }()

	loadBalancerSteps(t, cp, s)
	externalIPStep(t, cp, s)
	internalLocalStep(t, cp, s)
	podMovedStep(t, cp, s)
}

// stepper syncs every hnsNode after a change and records the HNS calls;
// with proxies, it also waits until each proxy's HNS is the plan.
type stepper struct {
	t       *testing.T
	nodes   []*hnsNode
	calls   []string
	cp      *controlPlane
	proxies []*proxyNode
}

// step syncs each node (sync checks HNS against Compute) and returns the
// plan of the first.
func (s *stepper) step(name string, converged func(apiState) error) lbpolicy.Plan {
	s.t.Helper()
	var plan lbpolicy.Plan
	for i, n := range s.nodes {
		p, r := n.sync(s.t, name, converged)
		if i == 0 {
			plan = p
		}
		s.calls = append(s.calls, fmt.Sprintf("%-32s %-6s full=%-5v mutating=%-3d %v", name, n.hns.Profile().Name,
			r.Result.Full, r.Calls.Mutating(), r.Calls))
	}
	for _, px := range s.proxies {
		px.converge(s.t, name, s.cp, converged)
	}
	return plan
}

// addLocalPod makes the local pod's HNS endpoint on every node's HNS.
func (s *stepper) addLocalPod(name, ip string) {
	for _, n := range s.nodes {
		n.addLocalPod(name, ip)
	}
}

// wantService checks the load balancers of svc, by kind and VIP, in the
// plan and in each node's HNS.
func (s *stepper) wantService(svc string, plan lbpolicy.Plan, want map[string]lbView) {
	s.t.Helper()
	if d := cmp.Diff(want, kindViews(plan, ns+"/"+svc)); d != "" {
		s.t.Errorf("load balancers of %s (-want +plan):\n%s", svc, d)
	}
	// HNS holds the plan (sync checked it): its view of svc's keys must match.
	keys := planViewOf(plan, ns+"/"+svc).LoadBalancers
	for _, n := range s.nodes {
		got := n.hnsView(s.t).LoadBalancers
		for k, lb := range keys {
			if d := cmp.Diff(lb, got[k]); d != "" {
				s.t.Errorf("%s: HNS load balancer %s of %s (-plan +hns):\n%s", n.hns.Profile().Name, k, svc, d)
			}
		}
	}
}

// kindViews is the plan's load balancers of one Service keyed by "kind VIP"
// (no VIP for NodePort), which a test can write without the allocated ports.
func kindViews(p lbpolicy.Plan, svc string) map[string]lbView {
	out := map[string]lbView{}
	for _, lb := range p.LoadBalancers {
		if lb.Service != svc {
			continue
		}
		v := planView(lbpolicy.Plan{LoadBalancers: []lbpolicy.LoadBalancer{lb}}).LoadBalancers[lb.Key().String()]
		out[string(lb.Kind)+" "+strings.Join(v.VIPs, ",")] = v
	}
	return out
}

// serviceIs is converged when svc is listed and check accepts it.
func serviceIs(name string, check func(*corev1.Service) error) func(apiState) error {
	return func(s apiState) error {
		for _, svc := range s.Services {
			if svc.Namespace == ns && svc.Name == name {
				return check(svc)
			}
		}
		return fmt.Errorf("service %s not listed", name)
	}
}

func all(conds ...func(apiState) error) func(apiState) error {
	return func(s apiState) error {
		for _, c := range conds {
			if err := c(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// loadBalancerSteps: a LoadBalancer Service whose ingress IP a cloud
// controller would write to its status, under externalTrafficPolicy Cluster
// and then Local.
func loadBalancerSteps(t *testing.T, cp *controlPlane, s *stepper) {
	t.Helper()
	ctx := context.Background()
	lb := cp.createService(t, ns, "lb", func(svc *corev1.Service) {
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	})
	s.addLocalPod("lb-0", "10.244.0.40")
	cp.createPod(t, ns, "lb-0", "lb", winNode, "10.244.0.40", true)
	cp.createPod(t, ns, "lb-1", "lb", "linux-1", "10.244.1.40", true)
	cp.createPod(t, ns, "lb-2", "lb", "linux-2", "10.244.2.40", true)
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ingressIP}}
	lb, err := cp.Client.CoreV1().Services(ns).UpdateStatus(ctx, lb, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("write lb's ingress IP: %v", err)
	}
	lbEndpoints := endpointsAre("lb", map[string]string{"10.244.0.40": ready, "10.244.1.40": ready, "10.244.2.40": ready})
	withIngress := serviceIs("lb", func(svc *corev1.Service) error {
		if len(svc.Status.LoadBalancer.Ingress) != 1 {
			return fmt.Errorf("lb has ingress %v", svc.Status.LoadBalancer.Ingress)
		}
		return nil
	})
	plan := s.step("loadbalancer, ETP Cluster", all(lbEndpoints, withIngress))
	allThree := []string{"10.244.0.40", "10.244.1.40", "10.244.2.40"}
	s.wantService("lb", plan, map[string]lbView{
		"ClusterIP " + lb.Spec.ClusterIP: {VIPs: []string{lb.Spec.ClusterIP}, InternalPort: 8080, Backends: allThree},
		"NodePort ": {InternalPort: 8080, Backends: allThree,
			PortMappingFlags: lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP},
		"Ingress " + ingressIP: {VIPs: []string{ingressIP}, InternalPort: 8080, Backends: allThree,
			PortMappingFlags: lbpolicy.PortMappingVipExternalIP},
	})

	// ETP Local: the external kinds take this node's pod only, with DSR;
	// the API server allocates a healthCheckNodePort.
	lb.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	if lb, err = cp.Client.CoreV1().Services(ns).Update(ctx, lb, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set lb's ETP Local: %v", err)
	}
	plan = s.step("loadbalancer, ETP Local", all(lbEndpoints, withIngress, serviceIs("lb", func(svc *corev1.Service) error {
		if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal || svc.Spec.HealthCheckNodePort == 0 {
			return fmt.Errorf("lb: ETP %s, healthCheckNodePort %d", svc.Spec.ExternalTrafficPolicy, svc.Spec.HealthCheckNodePort)
		}
		return nil
	})))
	t.Logf("lb: healthCheckNodePort %d (no HealthCheck load balancer: forwardHealthCheckVIP is off)", lb.Spec.HealthCheckNodePort)
	s.wantService("lb", plan, map[string]lbView{
		"ClusterIP " + lb.Spec.ClusterIP: {VIPs: []string{lb.Spec.ClusterIP}, InternalPort: 8080, Backends: allThree},
		"NodePort ": {InternalPort: 8080, Backends: []string{"10.244.0.40"}, Flags: lbpolicy.FlagDSR,
			PortMappingFlags: lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP},
		"Ingress " + ingressIP: {VIPs: []string{ingressIP}, InternalPort: 8080, Backends: []string{"10.244.0.40"},
			Flags: lbpolicy.FlagDSR, PortMappingFlags: lbpolicy.PortMappingVipExternalIP},
	})
}

// externalIPStep: a ClusterIP Service with an external IP (the
// DenyServiceExternalIPs admission plugin is off by default).
func externalIPStep(t *testing.T, cp *controlPlane, s *stepper) {
	t.Helper()
	ext := cp.createService(t, ns, "ext", func(svc *corev1.Service) {
		svc.Spec.ExternalIPs = []string{externalIP}
	})
	cp.createPod(t, ns, "ext-0", "ext", "linux-1", "10.244.1.41", true)
	cp.createPod(t, ns, "ext-1", "ext", "linux-2", "10.244.2.41", true)
	plan := s.step("externalIPs", endpointsAre("ext", map[string]string{"10.244.1.41": ready, "10.244.2.41": ready}))
	both := []string{"10.244.1.41", "10.244.2.41"}
	s.wantService("ext", plan, map[string]lbView{
		"ClusterIP " + ext.Spec.ClusterIP: {VIPs: []string{ext.Spec.ClusterIP}, InternalPort: 8080, Backends: both},
		"ExternalIP " + externalIP: {VIPs: []string{externalIP}, InternalPort: 8080, Backends: both,
			PortMappingFlags: lbpolicy.PortMappingVipExternalIP},
	})
}

// internalLocalStep: internalTrafficPolicy Local keeps ClusterIP traffic on
// this node's pods.
func internalLocalStep(t *testing.T, cp *controlPlane, s *stepper) {
	t.Helper()
	itp := cp.createService(t, ns, "itp", func(svc *corev1.Service) {
		svc.Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
	})
	s.addLocalPod("itp-0", "10.244.0.42")
	cp.createPod(t, ns, "itp-0", "itp", winNode, "10.244.0.42", true)
	cp.createPod(t, ns, "itp-1", "itp", "linux-1", "10.244.1.42", true)
	plan := s.step("ITP Local", endpointsAre("itp", map[string]string{"10.244.0.42": ready, "10.244.1.42": ready}))
	s.wantService("itp", plan, map[string]lbView{
		"ClusterIP " + itp.Spec.ClusterIP: {VIPs: []string{itp.Spec.ClusterIP}, InternalPort: 8080,
			Backends: []string{"10.244.0.42"}},
	})
	// The controller still publishes the remote pod; only hnslb leaves it out,
	// so no remote HNS endpoint is needed for it.
	for _, n := range s.nodes {
		if eps := n.hnsView(t).Endpoints; contains(eps, "10.244.1.42") {
			t.Errorf("%s: remote endpoint made for an ITP Local Service's remote pod: %v", n.hns.Profile().Name, eps)
		}
	}
}

// podMovedStep: a remote pod deleted and replaced (same labels) by one on
// another node, as a Deployment does after a node drain: the remote HNS
// endpoint follows.
func podMovedStep(t *testing.T, cp *controlPlane, s *stepper) {
	t.Helper()
	mv := cp.createService(t, ns, "mv", nil)
	cp.createPod(t, ns, "mv-0", "mv", "linux-1", "10.244.1.43", true)
	plan := s.step("pod on linux-1", endpointsAre("mv", map[string]string{"10.244.1.43": ready}))
	clusterIP := "ClusterIP " + mv.Spec.ClusterIP
	s.wantService("mv", plan, map[string]lbView{
		clusterIP: {VIPs: []string{mv.Spec.ClusterIP}, InternalPort: 8080, Backends: []string{"10.244.1.43"}},
	})
	cp.deletePod(t, ns, "mv-0", 0)
	cp.createPod(t, ns, "mv-1", "mv", "linux-2", "10.244.2.43", true)
	plan = s.step("pod replaced on linux-2", endpointsAre("mv", map[string]string{"10.244.2.43": ready}))
	s.wantService("mv", plan, map[string]lbView{
		clusterIP: {VIPs: []string{mv.Spec.ClusterIP}, InternalPort: 8080, Backends: []string{"10.244.2.43"}},
	})
	for _, n := range s.nodes {
		eps := n.hnsView(t).Endpoints
		if contains(eps, "10.244.1.43") || !contains(eps, "10.244.2.43") {
			t.Errorf("%s: remote endpoints %v, want 10.244.2.43 and not 10.244.1.43", n.hns.Profile().Name, eps)
		}
	}
}

func contains(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}

// TestControlPlaneAPIServerRestart restarts kube-apiserver on the same etcd
// while hnslb and the EndpointSlice controller keep running: their watches
// are cut and must resume on the new server. The clients reach the API
// server through a loopback TCP forwarder (the new server listens on a new
// port) with a static token and a serving certificate both servers share,
// as a cluster's clients keep theirs across an API server restart.
func TestControlPlaneAPIServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	cp, apiserver := startRestartableControlPlane(t)
	for _, n := range nodes {
		cp.createNode(t, n.name, n.zone, n.ip)
	}
	cp.createNamespace(t, ns)
	hnsNodes := []*hnsNode{startHNSNode(t, cp, "latest"), startHNSNode(t, cp, "ws2022")}
	s := &stepper{t: t, nodes: hnsNodes}
	defer func() { t.Logf("HNS calls per step:\n%s", strings.Join(s.calls, "\n")) }()

	rs := cp.createService(t, ns, "rs", nil)
	s.addLocalPod("rs-0", "10.244.0.44")
	cp.createPod(t, ns, "rs-0", "rs", winNode, "10.244.0.44", true)
	cp.createPod(t, ns, "rs-1", "rs", "linux-1", "10.244.1.44", true)
	before := endpointsAre("rs", map[string]string{"10.244.0.44": ready, "10.244.1.44": ready})
	s.step("before the restart", before)
	mark := len(s.calls)

	apiserver.restart(t)
	s.step("apiserver restarted", before)
	for _, c := range s.calls[mark:] {
		if !strings.Contains(c, "mutating=0 ") {
			t.Errorf("mutating HNS calls after a restart that changed nothing: %s", c)
		}
	}

	// Changes made on the new server reach hnslb only through resumed
	// watches (settle waits until the informers delivered exactly what the
	// API server lists).
	cp.setPodStatus(t, ns, "rs-1", "10.244.1.44", false)
	cp.createPod(t, ns, "rs-2", "rs", "linux-2", "10.244.2.44", true)
	plan := s.step("changed after the restart", endpointsAre("rs", map[string]string{
		"10.244.0.44": ready, "10.244.1.44": notReady, "10.244.2.44": ready}))
	s.wantService("rs", plan, map[string]lbView{
		"ClusterIP " + rs.Spec.ClusterIP: {VIPs: []string{rs.Spec.ClusterIP}, InternalPort: 8080,
			Backends: []string{"10.244.0.44", "10.244.2.44"}},
	})
}

// restartableAPIServer is a kube-apiserver that can be stopped and started
// again on the same etcd and storage prefix, behind a forwarder whose
// address the clients keep.
type restartableAPIServer struct {
	etcdURL, prefix string
	flags           []string
	fwd             *forwarder
	stop            func()
}

// startRestartableControlPlane starts etcd, a restartable kube-apiserver and
// the EndpointSlice controller, the clients going through the forwarder.
func startRestartableControlPlane(t *testing.T) (*controlPlane, *restartableAPIServer) {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatalf("serving certificate: %v", err)
	}
	const token = "e2e-admin-token"
	files := map[string][]byte{
		"serving.crt": certPEM, "serving.key": keyPEM,
		"tokens.csv": []byte(token + `,e2e-admin,e2e-admin,"system:masters"` + "\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := &restartableAPIServer{
		etcdURL: startEtcd(t),
		prefix:  "/registry-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		flags: []string{
			"--bind-address=127.0.0.1",
			"--endpoint-reconciler-type=none",
			"--disable-admission-plugins=ServiceAccount",
			"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
			"--tls-cert-file=" + filepath.Join(dir, "serving.crt"),
			"--tls-private-key-file=" + filepath.Join(dir, "serving.key"),
		},
		fwd: startForwarder(t),
	}
	a.start(t)
	t.Cleanup(func() { a.stop() })

	cfg := &rest.Config{Host: "https://" + a.fwd.addr(), BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAData: certPEM}, QPS: 1000, Burst: 10000}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client for kube-apiserver: %v", err)
	}
	startEndpointSliceController(t, client)
	return &controlPlane{Config: cfg, Client: client}, a
}

func (a *restartableAPIServer) start(t *testing.T) {
	t.Helper()
	storage := storagebackend.NewDefaultConfig(a.prefix, nil)
	storage.Transport.ServerList = []string{a.etcdURL}
	opts := kubeapiservertesting.NewDefaultTestServerOptions()
	opts.DisableInvariantChecks = true
	// Clients authenticate with the token; client certificates would also
	// make the test server look for its peer CA next to a serving
	// certificate it did not generate.
	opts.EnableCertAuth = false
	srv, err := kubeapiservertesting.StartTestServer(t, opts, a.flags, storage)
	if err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	u, err := url.Parse(srv.ClientConfig.Host)
	if err != nil {
		srv.TearDownFn()
		t.Fatalf("kube-apiserver address %q: %v", srv.ClientConfig.Host, err)
	}
	a.stop = srv.TearDownFn
	a.fwd.setTarget(u.Host)
}

// restart cuts the clients' connections, as a server process's exit does,
// stops the API server and starts a new one on the same etcd. (Stopping it
// first would wait a minute for the open watches to end.)
func (a *restartableAPIServer) restart(t *testing.T) {
	t.Helper()
	a.fwd.setTarget("") // also refuses connections while no server runs
	a.stop()
	a.start(t)
}

// forwarder relays loopback TCP connections to a target it can switch;
// switching closes the connections relayed so far.
type forwarder struct {
	l      net.Listener
	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
}

func startForwarder(t *testing.T) *forwarder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("forwarder: %v", err)
	}
	f := &forwarder{l: l, conns: map[net.Conn]struct{}{}}
	go f.serve()
	t.Cleanup(func() {
		l.Close()
		f.setTarget("")
	})
	return f
}

func (f *forwarder) addr() string { return f.l.Addr().String() }

func (f *forwarder) setTarget(target string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.target = target
	for c := range f.conns {
		c.Close()
	}
	clear(f.conns)
}

func (f *forwarder) serve() {
	for {
		in, err := f.l.Accept()
		if err != nil {
			return // listener closed
		}
		go f.relay(in)
	}
}

func (f *forwarder) relay(in net.Conn) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	if target == "" {
		in.Close()
		return
	}
	out, err := net.Dial("tcp", target)
	if err != nil {
		in.Close()
		return
	}
	f.mu.Lock()
	if f.target != target { // switched while dialling
		f.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	f.conns[in], f.conns[out] = struct{}{}, struct{}{}
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done // either side ended: end both
	in.Close()
	out.Close()
	f.mu.Lock()
	delete(f.conns, in)
	delete(f.conns, out)
	f.mu.Unlock()
}
