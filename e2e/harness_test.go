package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	"k8s.io/kubernetes/pkg/controller/endpointslice"
)

// The controller's defaults in kube-controller-manager: 100 endpoints per
// slice, and a batch period that only delays; 0 syncs every change at once.
const (
	maxEndpointsPerSlice = 100
	sliceBatchPeriod     = 0
)

// controlPlane is what a cluster without kubelets runs: etcd, a
// kube-apiserver and the EndpointSlice controller, all in this process and
// listening on loopback only.
type controlPlane struct {
	// Config reaches the API server as a privileged loopback client.
	Config *rest.Config
	Client kubernetes.Interface
}

// startControlPlane starts etcd, kube-apiserver and the EndpointSlice
// controller; t.Cleanup stops them in the reverse order.
func startControlPlane(t *testing.T) *controlPlane {
	t.Helper()
	etcdURL := startEtcd(t)

	storage := storagebackend.NewDefaultConfig("/registry-"+strconv.FormatInt(time.Now().UnixNano(), 36), nil)
	storage.Transport.ServerList = []string{etcdURL}
	opts := kubeapiservertesting.NewDefaultTestServerOptions()
	// The invariant checks scrape metrics at teardown; this harness does not
	// test the API server.
	opts.DisableInvariantChecks = true
	flags := []string{
		"--bind-address=127.0.0.1",
		// The API server's own Endpoints reconciler would publish 127.0.0.1.
		"--endpoint-reconciler-type=none",
		// No ServiceAccount controller runs, so Pods could not get one.
		"--disable-admission-plugins=ServiceAccount",
	}
	srv, err := kubeapiservertesting.StartTestServer(t, opts, flags, storage)
	if err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	t.Cleanup(srv.TearDownFn)

	cfg := rest.CopyConfig(srv.ClientConfig)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client for kube-apiserver: %v", err)
	}
	startEndpointSliceController(t, client)
	return &controlPlane{Config: cfg, Client: client}
}

// startEtcd starts an embedded single-member etcd on two free loopback ports
// with its data under t.TempDir, and returns its client URL. A port taken
// between being picked and being bound fails the start; it is tried again.
func startEtcd(t *testing.T) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("etcd ports: %v", err)
		}
		client := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
		peer := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
		cfg := embed.NewConfig()
		cfg.Name = "e2e"
		cfg.Dir = t.TempDir()
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.LogLevel = "error"
		// A test cluster is thrown away: fsync only slows it down.
		cfg.UnsafeNoFsync = true
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			continue
		}
		select {
		case <-e.Server.ReadyNotify():
		case <-time.After(time.Minute):
			e.Close()
			t.Fatalf("etcd at %s not ready after a minute", client.String())
		}
		t.Cleanup(e.Close)
		return client.String()
	}
	t.Fatalf("start etcd: %v", lastErr)
	return ""
}

// freePorts returns n loopback TCP ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen on a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startEndpointSliceController runs the real EndpointSlice controller, as
// kube-controller-manager does, on shared informers of its own client.
func startEndpointSliceController(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	c := endpointslice.NewController(ctx,
		factory.Core().V1().Pods(),
		factory.Core().V1().Services(),
		factory.Core().V1().Nodes(),
		factory.Discovery().V1().EndpointSlices(),
		maxEndpointsPerSlice, client, sliceBatchPeriod)
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, 2)
	}()
	// Stop the workers and the informers before the API server goes away.
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
	})
}

// waitFor polls cond every 50ms until it returns true or the deadline
// passes; cond's last error or a timeout then fails the test.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %s (last error: %v)", what, timeout, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
