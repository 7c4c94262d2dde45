package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/hnslb/hnslb/examples/hnslb-proxy/internal/runner"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/lbpolicy"
)

const (
	testNode    = "win-1"
	testNodeIP  = "10.0.0.11"
	testNetwork = "cbr0"
	waitLimit   = 60 * time.Second // bounds every wait for convergence
)

// cluster is the fake API server and the fake HNS a scenario drives.
type cluster struct {
	t      *testing.T
	client *kubefake.Clientset
	h      *fake.HNS
	cut    *watchCutter
	node   lbpolicy.Node // what the proxy should plan for
}

func newCluster(t *testing.T, objs ...runtime.Object) *cluster {
	t.Helper()
	return newClusterOn(t, "latest", objs...)
}

// newClusterOn is newCluster with a fake HNS of the given profile.
func newClusterOn(t *testing.T, profile string, objs ...runtime.Object) *cluster {
	t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: testNode, Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeHostName, Address: testNode},
			{Type: corev1.NodeInternalIP, Address: testNodeIP},
		}},
	}
	c := &cluster{t: t, client: kubefake.NewClientset(append([]runtime.Object{node}, objs...)...)}
	c.cut = cutWatches(c.client)
	hc, err := newHNS(profile, testNetwork, string(lbpolicy.L2Bridge), "", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	c.h = hc.(*fake.HNS)
	c.node = lbpolicy.Node{Name: testNode, Zone: "zone-a", NodeIPs: []string{testNodeIP}, NetworkType: lbpolicy.L2Bridge,
		NetworkName: testNetwork, HNSVersion: c.h.Profile().Version.String()}
	return c
}

// running is a proxy running in the background.
type running struct {
	p    *proxy
	stop func() // ends it and waits for run to return
}

// newTestProxy builds a proxy on c, with no periodic sync (the scenario
// triggers every sync through the API) and health-check servers on
// loopback ports of the system's choosing.
func (c *cluster) newTestProxy(ctx context.Context) *proxy {
	c.t.Helper()
	cfg := config{nodeName: testNode, networkName: testNetwork, syncPeriod: time.Hour, burstSyncs: 1, fullSyncPeriod: time.Hour}
	p, err := newProxy(ctx, cfg, c.client, c.h, logr.Discard())
	if err != nil {
		c.t.Fatal(err)
	}
	var lc net.ListenConfig
	p.services.listen = func(string) (net.Listener, error) { return lc.Listen(ctx, "tcp", "127.0.0.1:0") }
	return p
}

func (c *cluster) start(p *proxy) *running {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx, nil, nil) }()
	r := &running{p: p, stop: func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				c.t.Errorf("run: %v", err)
			}
		case <-time.After(waitLimit):
			c.t.Fatal("the proxy did not stop")
		}
	}}
	c.t.Cleanup(func() { cancel() })
	return r
}

// summary is what the test compares of one load balancer.
type summary struct {
	Backends     []string
	InternalPort uint16
	Flags        lbpolicy.LoadBalancerFlags
	PortFlags    lbpolicy.PortMappingFlags
	Distribution lbpolicy.DistributionType
}

// plan returns what lbpolicy.Compute plans for the objects the API server
// holds.
func (c *cluster) plan() lbpolicy.Plan {
	c.t.Helper()
	ctx := context.Background()
	svcList, err := c.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	sliceList, err := c.client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	var svcs []*corev1.Service
	for i := range svcList.Items {
		svcs = append(svcs, &svcList.Items[i])
	}
	var sls []*discovery.EndpointSlice
	for i := range sliceList.Items {
		sls = append(sls, &sliceList.Items[i])
	}
	plan, err := lbpolicy.Compute(c.node, svcs, sls)
	if err != nil {
		c.t.Fatal(err)
	}
	return plan
}

// want returns the load balancers of plan(), by key.
func (c *cluster) want() map[lbpolicy.Key]summary {
	c.t.Helper()
	out := map[lbpolicy.Key]summary{}
	for _, lb := range c.plan().LoadBalancers {
		s := summary{InternalPort: lb.InternalPort, Flags: lb.Flags, PortFlags: lb.PortMappingFlags, Distribution: lb.DistributionType}
		for _, b := range lb.Backends {
			s.Backends = append(s.Backends, b.String())
		}
		sort.Strings(s.Backends)
		out[lb.Key()] = s
	}
	return out
}

// got returns the load balancers the fake HNS holds, by key.
func (c *cluster) got() map[lbpolicy.Key]summary {
	c.t.Helper()
	names := map[string]string{} // endpoint ID → IP, or "<name>"
	for _, ep := range c.h.Endpoints() {
		names[ep.Id] = "<" + ep.Name + ">"
		if len(ep.IpConfigurations) > 0 {
			names[ep.Id] = ep.IpConfigurations[0].IpAddress
		}
	}
	out := map[lbpolicy.Key]summary{}
	for key, lbs := range c.h.LoadBalancersByKey() {
		if len(lbs) != 1 {
			c.t.Fatalf("HNS holds %d load balancers on %v", len(lbs), key)
		}
		lb := lbs[0]
		s := summary{Flags: lb.Flags}
		if len(lb.PortMappings) == 1 {
			pm := lb.PortMappings[0]
			s.InternalPort, s.PortFlags, s.Distribution = pm.InternalPort, pm.Flags, pm.DistributionType
		}
		for _, id := range lb.HostComputeEndpoints {
			s.Backends = append(s.Backends, names[id])
		}
		sort.Strings(s.Backends)
		out[key] = s
	}
	return out
}

// converge waits until HNS holds what Compute plans for the API server's
// objects, and fails with the difference if it does not within waitLimit.
func (c *cluster) converge(step string) {
	c.t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		want, got := c.want(), c.got()
		diff := cmp.Diff(want, got)
		if diff == "" && len(want) > 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: HNS's load balancers differ from the plan (-want +got):\n%s", step, diff)
		}
		<-tick.C
	}
}

// waitFor waits, bounded, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// healthCheckAnswer asks name's health-check server.
func healthCheckAnswer(t *testing.T, p *proxy, name types.NamespacedName) (int, serviceHealthBody) {
	t.Helper()
	addr := p.services.Addr(name)
	if addr == nil {
		t.Fatalf("no health-check server for %v", name)
	}
	resp, err := http.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body serviceHealthBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestScenario(t *testing.T) {
	c := newCluster(t, allKinds()...)
	ctx := context.Background()
	p := c.newTestProxy(ctx)
	r := c.start(p)

	// 1. Every kind of Service, as listed at start.
	c.converge("start")
	local := types.NamespacedName{Namespace: "default", Name: "local"}
	waitFor(t, "the health-check server", func() bool { return p.services.Addr(local) != nil })
	code, body := healthCheckAnswer(t, p, local)
	if code != http.StatusOK || body.LocalEndpoints != 1 || body.Service.Name != "local" {
		t.Errorf("health check of %v: %d %+v, want 200 with 1 local endpoint", local, code, body)
	}

	// 2. The local pods terminate: ETP Local serves from the terminating
	// one, the health check fails (kube-proxy counts ready endpoints only).
	for _, name := range []string{"web-1", "local-1"} {
		sl, err := c.client.DiscoveryV1().EndpointSlices("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range sl.Endpoints {
			if ep := &sl.Endpoints[i]; *ep.NodeName == testNode {
				ep.Conditions = discovery.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}
			}
		}
		if _, err := c.client.DiscoveryV1().EndpointSlices("default").Update(ctx, sl, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.converge("terminating endpoints")
	waitFor(t, "the health check to fail", func() bool {
		code, body := healthCheckAnswer(t, p, local)
		return code == http.StatusServiceUnavailable && body.LocalEndpoints == 0
	})

	// 3. A Service and its slice added, one deleted, through the watch.
	createAll(t, c.client, service("added", "10.96.0.50", corev1.ServiceTypeClusterIP, 0), slice("added-1", "added", "10.244.1.9", testNode))
	if err := c.client.CoreV1().Services("default").Delete(ctx, "ext", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.converge("watched add and delete")

	// 4. A Service and its slice deleted while the watches were down: the
	// informers' relist delivers tombstones.
	c.cut.deleteUnseen(func() {
		// The object tracker itself: the clientset's reactors are blocked.
		tr := c.client.Tracker()
		for _, err := range []error{
			tr.Delete(corev1.SchemeGroupVersion.WithResource("services"), "default", "np"),
			tr.Delete(discovery.SchemeGroupVersion.WithResource("endpointslices"), "default", "np-1"),
		} {
			if err != nil {
				t.Error(err)
			}
		}
	}, "services", "endpointslices")
	waitFor(t, "both informers to relist", func() bool {
		_, errSvc := p.svcs.Services("default").Get("np")
		_, errSlice := p.slices.EndpointSlices("default").Get("np-1")
		return apierrors.IsNotFound(errSvc) && apierrors.IsNotFound(errSlice)
	})
	c.converge("tombstone deletes")
	// Had the Tracker missed the slice's tombstone, the Service back
	// without a slice would get its load balancers back. (The marker,
	// created after it, shows when the proxy has seen it.)
	createAll(t, c.client, service("np", "10.96.0.11", corev1.ServiceTypeNodePort, 30080),
		service("marker", "10.96.0.70", corev1.ServiceTypeClusterIP, 0), slice("marker-1", "marker", "10.244.2.70", "win-2"))
	c.converge("the Service back without its slice")

	// /healthz after syncs with nothing pending: healthy.
	if code := healthzCode(p); code != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", code)
	}

	// 5. A restart with HNS as it was: the new proxy adopts everything and
	// makes no mutating call.
	r.stop()
	lbs := len(c.h.LoadBalancers())
	c.h.ResetCalls()
	p2 := c.newTestProxy(ctx)
	r2 := c.start(p2)
	waitFor(t, "the first sync after the restart", func() bool { return !p2.rec.LastSuccess().IsZero() })
	c.converge("restart")
	if n := c.h.Calls().Mutating(); n != 0 {
		t.Errorf("restart: %d mutating HNS calls, want 0: %v", n, c.h.CallLog())
	}
	if owned, _ := p2.rec.Owned(); owned != lbs {
		t.Errorf("restart: the proxy owns %d load balancers, want all %d", owned, lbs)
	}
	r2.stop()

	// 6. A sync attempted before the informers synced changes nothing and
	// loses no adoption: once synced, the proxy owns everything and applies
	// the next change.
	p3 := c.newTestProxy(ctx)
	c.h.ResetCalls()
	p3.sync(ctx, runner.Triggered)
	if calls := c.h.Calls(); len(calls) != 0 {
		t.Errorf("sync before the informers synced made HNS calls: %v", calls)
	}
	c.start(p3)
	waitFor(t, "the first sync", func() bool { return !p3.rec.LastSuccess().IsZero() })
	if owned, _ := p3.rec.Owned(); owned != lbs {
		t.Errorf("after an early sync: the proxy owns %d load balancers, want all %d", owned, lbs)
	}
	createAll(t, c.client, slice("web-2", "web", "10.244.3.3", "win-3"))
	c.converge("a change after an early sync")
	if n := c.h.Calls().Mutating(); n == 0 {
		t.Error("the change after the early sync made no HNS call")
	}

	// 7. The Node object changes (its zone): the proxy rebuilds its
	// lbpolicy.Node, and zone hints now pick the other backend.
	zonal := slice("zonal-1", "zonal", "10.244.2.20", "win-2", "10.244.2.21", "win-2")
	zonal.Endpoints[0].Hints = &discovery.EndpointHints{ForZones: []discovery.ForZone{{Name: "zone-a"}}}
	zonal.Endpoints[1].Hints = &discovery.EndpointHints{ForZones: []discovery.ForZone{{Name: "zone-b"}}}
	createAll(t, c.client, service("zonal", "10.96.0.60", corev1.ServiceTypeClusterIP, 0), zonal)
	c.converge("zone hints in zone-a")
	before := c.want()
	node, err := c.client.CoreV1().Nodes().Get(ctx, testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Labels[corev1.LabelTopologyZone] = "zone-b"
	node.ResourceVersion = "2"
	if _, err := c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.node.Zone = "zone-b"
	if cmp.Equal(before, c.want()) {
		t.Fatal("the zone change changes no load balancer: the step tests nothing")
	}
	c.converge("zone hints in zone-b")
}

// TestOldHNS runs the proxy on WS2019's HNS with a Service asking for
// session affinity, which that HNS cannot do: the node takes its HNS
// version from HNS, so the plan leaves affinity out (with a diagnostic)
// instead of sending load balancers HNS refuses with 0x57.
func TestOldHNS(t *testing.T) {
	objs := allKinds()
	for _, o := range objs {
		if svc, ok := o.(*corev1.Service); ok && svc.Name == "web" {
			svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}
	}
	c := newClusterOn(t, "ws2019", objs...)
	p := c.newTestProxy(context.Background())
	defer c.start(p).stop()
	c.converge("ws2019")
	for _, call := range c.h.CallLog() {
		if call.Err != nil {
			t.Errorf("HNS call failed: %v", call)
		}
	}
}

func healthzCode(p *proxy) int {
	rec := httptest.NewRecorder()
	p.health.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	return rec.Code
}

// allKinds returns a Service of every kind, each with an EndpointSlice:
// ClusterIP, NodePort, LoadBalancer with an ingress IP, externalIPs, and
// externalTrafficPolicy Local with a healthCheckNodePort.
func allKinds() []runtime.Object {
	web := service("web", "10.96.0.10", corev1.ServiceTypeClusterIP, 0)
	np := service("np", "10.96.0.11", corev1.ServiceTypeNodePort, 30080)
	lb := service("lb", "10.96.0.12", corev1.ServiceTypeLoadBalancer, 30081)
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}}
	ext := service("ext", "10.96.0.13", corev1.ServiceTypeClusterIP, 0)
	ext.Spec.ExternalIPs = []string{"198.51.100.5"}
	local := service("local", "10.96.0.14", corev1.ServiceTypeLoadBalancer, 30082)
	local.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	local.Spec.HealthCheckNodePort = 32000
	local.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.11"}}
	return []runtime.Object{
		web, slice("web-1", "web", "10.244.1.5", testNode, "10.244.2.7", "win-2"),
		np, slice("np-1", "np", "10.244.2.8", "win-2"),
		lb, slice("lb-1", "lb", "10.244.1.6", testNode),
		ext, slice("ext-1", "ext", "10.244.2.9", "win-2"),
		local, slice("local-1", "local", "10.244.1.7", testNode, "10.244.2.10", "win-2"),
	}
}

func service(name, clusterIP string, typ corev1.ServiceType, nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{
			Type: typ, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80,
				TargetPort: intstr.FromInt32(8080), NodePort: nodePort}},
		},
	}
}

// slice returns an EndpointSlice of Service svc with ready endpoints at
// the given address, node pairs.
func slice(name, svc string, addrNode ...string) *discovery.EndpointSlice {
	sl := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discovery.LabelServiceName: svc}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(8080))}},
	}
	for i := 0; i+1 < len(addrNode); i += 2 {
		sl.Endpoints = append(sl.Endpoints, discovery.Endpoint{
			Addresses:  []string{addrNode[i]},
			Conditions: discovery.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
			NodeName:   ptr(addrNode[i+1]),
		})
	}
	return sl
}

func createAll(t *testing.T, client *kubefake.Clientset, objs ...runtime.Object) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			_, err = client.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *discovery.EndpointSlice:
			_, err = client.DiscoveryV1().EndpointSlices(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("cannot create %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// watchCutter lets a test delete objects while the informers' watches are
// down, so that they learn of it only by relisting: as tombstones
// (cache.DeletedFinalStateUnknown), as after a lost watch in a cluster.
type watchCutter struct {
	mu      sync.Mutex
	watches map[string][]watch.Interface // by resource
	expire  map[string]bool              // the next watch says "410 Gone"
}

func cutWatches(client *kubefake.Clientset) *watchCutter {
	c := &watchCutter{watches: map[string][]watch.Interface{}, expire: map[string]bool{}}
	// Lists wait while a cut is in progress, so none sees the state
	// half-way.
	client.PrependReactor("list", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return false, nil, nil
	})
	client.PrependWatchReactor("*", func(a clienttesting.Action) (bool, watch.Interface, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		res := a.GetResource().Resource
		if c.expire[res] {
			// The informer's reflector relists after an expired watch.
			delete(c.expire, res)
			w := watch.NewFakeWithChanSize(1, false)
			w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired})
			return true, w, nil
		}
		var opts []metav1.ListOptions
		if wa, ok := a.(clienttesting.WatchActionImpl); ok {
			opts = append(opts, wa.ListOptions)
		}
		w, err := client.Tracker().Watch(a.GetResource(), a.GetNamespace(), opts...)
		if err != nil {
			return true, nil, err
		}
		c.watches[res] = append(c.watches[res], w)
		return true, w, nil
	})
	return c
}

// deleteUnseen stops the watches of resources, runs del, and makes the next
// watch of each expire, so that the informers relist. del runs while the
// clientset's lists and watches wait (holding the clientset's lock): it
// must use the object tracker, not the clientset.
func (c *watchCutter) deleteUnseen(del func(), resources ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, res := range resources {
		for _, w := range c.watches[res] {
			w.Stop()
		}
		c.watches[res] = nil
		c.expire[res] = true
	}
	del()
}
