package lbpolicy

import (
	"net/netip"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/hnslb/hnslb/sourcevip"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// How Compute uses several cores. Services are planned independently of
// one another, so the sorted Services are cut into batches that workers
// take in turn, each batch planned into its own computer; the batches'
// outputs are then concatenated in batch order, which is exactly the
// order one goroutine would have produced. Nothing is decided by which
// worker ran what, so the plan is byte-identical for any number of
// workers.

const (
	// parallelMinServices is the smallest cluster planned on several
	// goroutines: below it, starting them costs more than it saves.
	parallelMinServices = 1024
	// serviceBatch is how many Services a worker takes at a time: small
	// enough that a worker slowed by other load hands most of the work to
	// the others, large enough that taking one costs nothing.
	serviceBatch = 128
	// parallelMinEndpoints is the fewest remote endpoints made on two
	// goroutines.
	parallelMinEndpoints = 8192
	// parallelMinRemoteLists is the fewest load balancers whose remote
	// backends are collected on two goroutines.
	parallelMinRemoteLists = 2048
)

// computeWorkers returns how many goroutines plan n Services: one for
// small clusters, else one per usable core.
func computeWorkers(n int) int {
	if n < parallelMinServices {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), n/serviceBatch))
}

// groupSlices returns endpoints.ByService's grouping of slices, computed
// meanwhile on another goroutine when workers > 1 (it and sorting the
// Services are independent), with a function that waits for it.
func groupSlices(workers int, group func() map[types.NamespacedName][]*discovery.EndpointSlice) func() map[types.NamespacedName][]*discovery.EndpointSlice {
	if workers <= 1 {
		m := group()
		return func() map[types.NamespacedName][]*discovery.EndpointSlice { return m }
	}
	var m map[types.NamespacedName][]*discovery.EndpointSlice
	wait := goAndWait(func() { m = group() })
	return func() map[types.NamespacedName][]*discovery.EndpointSlice {
		wait()
		return m
	}
}

// goAndWait runs f on a new goroutine and returns a function that waits
// for it to end and re-panics, on the caller's goroutine, with f's panic,
// so that a bug never crashes the process from a goroutine the caller
// cannot recover on.
func goAndWait(f func()) (wait func()) {
	t := start(f)
	return func() { waitAll(t) }
}

// task is a function running on a goroutine of its own.
type task struct {
	done  chan struct{}
	panic any
}

func start(f func()) *task {
	t := &task{done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer func() { t.panic = recover() }()
		f()
	}()
	return t
}

// waitAll waits for every task to end, then re-panics with the first
// one's panic, if any.
func waitAll(tasks ...*task) {
	for _, t := range tasks {
		<-t.done
	}
	for _, t := range tasks {
		if t.panic != nil {
			panic(t.panic)
		}
	}
}

// services plans svcs (sorted by compareServices) with their slices, on
// this goroutine and workers-1 more. This one works too, rather than
// waiting: on a busy machine the kernel deschedules threads, and every
// wait may last a time slice.
func (c *computer) services(svcs []*corev1.Service, bySvc map[types.NamespacedName][]*discovery.EndpointSlice, workers int) {
	if workers <= 1 || len(svcs) <= serviceBatch {
		c.serviceRange(svcs, 0, len(svcs), bySvc)
		return
	}
	batches := make([]*computer, (len(svcs)+serviceBatch-1)/serviceBatch)
	var next atomic.Int64
	work := func() {
		// Each worker keeps its arenas from batch to batch.
		var backendArena arena[Backend]
		var addrArena arena[netip.Addr]
		backendArena.chunk, addrArena.chunk = c.backendArena.chunk, c.addrArena.chunk
		for {
			b := int(next.Add(1)) - 1
			if b >= len(batches) {
				return
			}
			lo, hi := b*serviceBatch, min((b+1)*serviceBatch, len(svcs))
			bc := &computer{node: c.node, backendArena: backendArena, addrArena: addrArena}
			bc.lbs = make([]LoadBalancer, 0, 2*(hi-lo))
			bc.remotes = make([][]netip.Addr, 0, 2*(hi-lo))
			bc.owners = make([]ownerSpan, 0, hi-lo)
			bc.serviceRange(svcs, lo, hi, bySvc)
			backendArena, addrArena = bc.backendArena, bc.addrArena
			batches[b] = bc
		}
	}
	tasks := make([]*task, workers-1)
	for w := range tasks {
		tasks[w] = start(work)
	}
	var p any
	func() {
		defer func() { p = recover() }()
		work()
	}()
	waitAll(tasks...)
	if p != nil {
		panic(p)
	}
	c.concat(batches)
}

// serviceRange plans svcs[lo:hi]; svcs[lo-1], if any, is looked at for
// copies of one Service.
func (c *computer) serviceRange(svcs []*corev1.Service, lo, hi int, bySvc map[types.NamespacedName][]*discovery.EndpointSlice) {
	for i := lo; i < hi; i++ {
		s := svcs[i]
		if i > 0 && s.Namespace == svcs[i-1].Namespace && s.Name == svcs[i-1].Name {
			c.diag(SeverityError, "Service "+s.Namespace+"/"+s.Name, ReasonInvalidService,
				"the Service is given more than once; only one copy (the lowest UID and resourceVersion) is planned")
			continue
		}
		c.startService(s)
		c.service(s, bySvc[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}])
	}
}

// concat appends the batches' outputs to c's, in batch order. The
// candidate load balancers stay where they are, in c.cands's order.
func (c *computer) concat(batches []*computer) {
	var lbs, eps, diags, owners int
	for _, b := range batches {
		lbs, eps, diags, owners = lbs+len(b.lbs), eps+len(b.endpoints), diags+len(b.diags), owners+len(b.owners)
	}
	c.cands = make([]*LoadBalancer, 0, lbs)
	c.remotes = growTo(c.remotes, lbs)
	c.endpoints = growTo(c.endpoints, eps)
	c.diags = growTo(c.diags, diags)
	c.owners = growTo(c.owners, owners)
	for _, b := range batches {
		for _, o := range b.owners {
			c.owners = append(c.owners, ownerSpan{svc: o.svc, start: len(c.cands) + o.start})
		}
		for i := range b.lbs {
			c.cands = append(c.cands, &b.lbs[i])
		}
		c.remotes = append(c.remotes, b.remotes...)
		c.endpoints = append(c.endpoints, b.endpoints...)
		c.diags = append(c.diags, b.diags...)
	}
}

// growTo returns s with room for n more elements, in one allocation.
func growTo[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]T, len(s), len(s)+n)
	copy(out, s)
	return out
}

// concurrently runs f on another goroutine when c may use several, else
// at once, and returns a function that waits for it.
func (c *computer) concurrently(f func()) (wait func()) {
	if c.workers <= 1 {
		f()
		return func() {}
	}
	return goAndWait(f)
}

// appendRemoteEndpoints is network.AppendRemoteEndpoints(out, ips), which
// makes one endpoint per IP, making the first half on another goroutine
// when there are many: each half writes its own part of out's array.
func (c *computer) appendRemoteEndpoints(network *sourcevip.Network, out []Endpoint, ips []netip.Addr) []Endpoint {
	if c.workers <= 1 || len(ips) < parallelMinEndpoints {
		return network.AppendRemoteEndpoints(out, ips)
	}
	n, half := len(out), len(ips)/2
	out = growTo(out, len(ips))
	wait := goAndWait(func() { network.AppendRemoteEndpoints(out[n:n:n+half], ips[:half]) })
	network.AppendRemoteEndpoints(out[n+half:n+half:n+len(ips)], ips[half:])
	wait()
	return out[:n+len(ips)]
}

// sortServices sorts svcs by compareServices, halves on two goroutines
// and merged when workers > 1. compareServices is a total order on what
// is planned (Services it finds equal are equal as JSON), so either way
// gives the same plan.
func sortServices(svcs []*corev1.Service, workers int) []*corev1.Service {
	if workers <= 1 || len(svcs) < parallelMinServices {
		slices.SortFunc(svcs, compareServices)
		return svcs
	}
	a, b := svcs[:len(svcs)/2], svcs[len(svcs)/2:]
	wait := goAndWait(func() { slices.SortFunc(a, compareServices) })
	slices.SortFunc(b, compareServices)
	wait()
	out := make([]*corev1.Service, 0, len(svcs))
	for len(a) > 0 && len(b) > 0 {
		if compareServices(b[0], a[0]) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}
