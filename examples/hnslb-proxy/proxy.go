package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/hnslb/hnslb/examples/hnslb-proxy/internal/runner"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// readHeaderTimeout bounds a slow client's headers on every server.
const readHeaderTimeout = 10 * time.Second

// config is what the command line sets.
type config struct {
	kubeconfig      string
	nodeName        string
	networkName     string
	node            hnsadapter.NodeOptions
	fakeProfile     string // "" = the real HNS
	fakeNetworkType string
	fakeState       string // file the fake HNS is loaded from and saved to; "" = none
	healthzAddr     string
	metricsAddr     string
	healthCheckIP   string // where the per-Service servers listen; "" = every address
	minSyncPeriod   time.Duration
	syncPeriod      time.Duration
	burstSyncs      int
	fullSyncPeriod  time.Duration
	claimNetwork    bool
	ownershipFile   string
}

// proxy is one node's service proxy: informers feed a Tracker, a runner
// syncs its Snapshots to HNS, and HTTP servers report health and metrics.
type proxy struct {
	cfg      config
	log      logr.Logger
	now      func() time.Time
	hns      hns.Client
	fake     *fakeCNI // nil against the real HNS
	tracker  *lbpolicy.Tracker
	rec      *hnsadapter.Reconciler
	svcs     corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	runner   *runner.Runner
	health   *proxyHealth
	services *serviceHealth
	metrics  *metrics
	synced   []cache.InformerSynced
	starters []informers.SharedInformerFactory

	nodeObj  atomic.Pointer[corev1.Node] // newest from the informer
	nodeSeen *corev1.Node                // the one node was built from, at nodeAt
	nodeAt   time.Time
	node     lbpolicy.Node
}

// newProxy builds the proxy for cfg.nodeName: the node from the cluster
// and HNS, the Tracker and Reconciler, the informers with their handlers
// (not started), and the runner.
func newProxy(ctx context.Context, cfg config, client kubernetes.Interface, hc hns.Client, log logr.Logger) (*proxy, error) {
	p := &proxy{cfg: cfg, log: log, now: time.Now, hns: hc, metrics: newMetrics()}
	if f, ok := hc.(*fake.HNS); ok {
		p.fake = newFakeCNI(f, cfg.networkName)
	}
	obj, err := client.CoreV1().Nodes().Get(ctx, cfg.nodeName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.nodeName, err)
	}
	if p.node, err = hnsadapter.NodeFor(ctx, hc, cfg.networkName, obj, cfg.node); err != nil {
		return nil, err
	}
	p.nodeSeen, p.nodeAt = obj, p.now()
	p.nodeObj.Store(obj)
	if p.tracker, err = lbpolicy.NewTracker(p.node); err != nil {
		return nil, err
	}
	opts := hnsadapter.Options{NetworkName: cfg.networkName, ClaimNetwork: cfg.claimNetwork,
		OwnershipFile: cfg.ownershipFile, FullSyncPeriod: cfg.fullSyncPeriod, Logger: log.WithName("reconciler"),
		Metrics: p.metrics}
	if p.rec, err = hnsadapter.NewReconciler(hc, opts); err != nil {
		return nil, err
	}
	p.health = newProxyHealth(func() time.Time { return p.now() }, 2*cfg.syncPeriod,
		p.rec.LastSuccess)
	p.health.SetNode(obj)
	p.services = newServiceHealth(cfg.healthCheckIP, p.health.Healthy, log.WithName("healthcheck"))
	p.runner = runner.New(p.sync, runner.Config{MinInterval: cfg.minSyncPeriod, MaxInterval: cfg.syncPeriod, Burst: cfg.burstSyncs})
	return p, p.watch(client)
}

// watch sets up the informers: Services and EndpointSlices into the
// Tracker, this node's Node object for the next sync.
func (p *proxy) watch(client kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactory(client, 0)
	svcs, slices := factory.Core().V1().Services(), factory.Discovery().V1().EndpointSlices()
	p.svcs, p.slices = svcs.Lister(), slices.Lister()
	report := func(err error) { p.log.Error(err, "Informer event not tracked") }
	svcReg, err := svcs.Informer().AddEventHandler(queuing{p.tracker.ServiceEventHandler(report), p.queued})
	if err != nil {
		return err
	}
	sliceReg, err := slices.Informer().AddEventHandler(queuing{p.tracker.EndpointSliceEventHandler(report), p.queued})
	if err != nil {
		return err
	}
	p.tracker.RequireSynced(svcReg.HasSynced, sliceReg.HasSynced)

	nodes := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(
		func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + p.cfg.nodeName }))
	nodeReg, err := nodes.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.nodeChanged(obj, false) },
		UpdateFunc: func(_, obj any) { p.nodeChanged(obj, false) },
		DeleteFunc: func(obj any) { p.nodeChanged(obj, true) },
	})
	if err != nil {
		return err
	}
	p.synced = []cache.InformerSynced{svcReg.HasSynced, sliceReg.HasSynced, nodeReg.HasSynced}
	p.starters = []informers.SharedInformerFactory{factory, nodes}
	return nil
}

// queuing passes an informer's events to the Tracker's handler, then
// queues a sync.
type queuing struct {
	h      lbpolicy.EventHandler
	queued func()
}

func (q queuing) OnAdd(obj any, initial bool) { q.h.OnAdd(obj, initial); q.queued() }
func (q queuing) OnUpdate(old, obj any)       { q.h.OnUpdate(old, obj); q.queued() }
func (q queuing) OnDelete(obj any)            { q.h.OnDelete(obj); q.queued() }

func (p *proxy) queued() {
	p.health.Queued()
	p.runner.Trigger()
}

func (p *proxy) nodeChanged(obj any, deleted bool) {
	name := ""
	switch o := obj.(type) {
	case *corev1.Node:
		name = o.Name
	case cache.DeletedFinalStateUnknown:
		name = o.Key
	}
	if name != p.cfg.nodeName {
		return
	}
	if deleted {
		p.health.SetNode(nil)
		return
	}
	n := obj.(*corev1.Node)
	p.health.SetNode(n)
	p.nodeObj.Store(n)
	p.queued()
}

// run serves health and metrics, starts the informers, waits for them to
// sync and runs the sync loop until ctx ends.
func (p *proxy) run(ctx context.Context, healthz, metrics net.Listener) error {
	stop := p.serve(healthz, p.health.Handler(), metrics, p.debugHandler())
	defer stop()
	defer p.services.Close()
	for _, f := range p.starters {
		f.Start(ctx.Done())
		defer f.Shutdown() // after ctx ended: waits for the informers' goroutines
	}
	p.log.Info("Waiting for the informers to sync")
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return ctx.Err()
	}
	p.log.Info("Informers synced; syncing HNS", "node", p.node.Name, "hnsVersion", p.node.HNSVersion)
	p.runner.Trigger()
	p.runner.Loop(ctx)
	p.log.Info("Shutting down")
	return nil
}

// sync is one run of the loop: the node, the Tracker's Snapshot to HNS,
// then the health-check servers.
func (p *proxy) sync(ctx context.Context, why runner.Reason) {
	start := p.now()
	p.refreshNode(ctx)
	if p.fake != nil {
		p.fake.addPods(p.slices, p.node)
	}
	snap := p.tracker.Snapshot()
	res, err := p.rec.SyncSnapshot(ctx, &snap)
	switch {
	case errors.Is(err, hnsadapter.ErrNotReady):
		p.metrics.NotReady()
		p.log.V(1).Info("Sync skipped", "reason", err)
		return
	case err != nil:
		p.log.Error(err, "Sync failed", "trigger", why)
	default:
		p.health.Synced(start)
		p.log.V(1).Info("Synced", "trigger", why, "full", res.Full, "calls", res.MutatingCalls(),
			"created", res.Created, "updated", res.Updated, "deleted", res.Deleted, "adopted", res.Adopted,
			"errors", len(res.Errors), "pending", res.Pending, "took", p.now().Sub(start))
		for _, e := range res.Errors {
			if e.Tried {
				p.log.Error(e, "HNS object not synced", "retryAt", e.RetryAt)
			}
		}
	}
	p.services.Update(p.tracker.HealthChecks())
}

// refreshNode rebuilds the lbpolicy.Node when the Node object changed, and
// once per sync period for what only HNS says (the remote subnets), and
// gives it to the Tracker if it differs.
func (p *proxy) refreshNode(ctx context.Context) {
	obj := p.nodeObj.Load()
	if obj.ResourceVersion == p.nodeSeen.ResourceVersion && p.now().Sub(p.nodeAt) < p.cfg.syncPeriod {
		return
	}
	n, err := hnsadapter.NodeFor(ctx, p.hns, p.cfg.networkName, obj, p.cfg.node)
	if err != nil {
		p.log.Error(err, "Node not updated")
		return
	}
	p.nodeSeen, p.nodeAt = obj, p.now()
	if reflect.DeepEqual(n, p.node) {
		return
	}
	if err := p.tracker.SetNode(n); err != nil {
		p.log.Error(err, "Node not updated")
		return
	}
	p.log.Info("Node changed", "node", n)
	p.node = n
}

// serve serves h on ln and m on mln (either may be nil) until the
// returned function shuts them down.
func (p *proxy) serve(ln net.Listener, h http.Handler, mln net.Listener, m http.Handler) func() {
	var srvs []*http.Server
	for _, s := range []struct {
		ln net.Listener
		h  http.Handler
	}{{ln, h}, {mln, m}} {
		if s.ln == nil {
			continue
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: readHeaderTimeout}
		srvs = append(srvs, srv)
		go func() {
			if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				p.log.Error(err, "HTTP server failed", "address", s.ln.Addr())
			}
		}()
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range srvs {
			_ = srv.Shutdown(ctx)
		}
	}
}

// debugHandler serves /metrics and, against the fake HNS, /debug/hns: its
// state as JSON (fake.Load reads it back), or ?format=text as hnsdiag
// prints it; and /debug/hns/faults, to make it fail (serveFaults).
func (p *proxy) debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.metrics.Handler())
	if p.fake != nil {
		mux.HandleFunc("/debug/hns", p.fake.serveDump)
		mux.HandleFunc("/debug/hns/faults", p.fake.serveFaults)
	}
	return mux
}
