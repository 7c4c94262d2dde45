package hnsadapter_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/internal/gencluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// eventCluster is the benchmark cluster (internal/gencluster.Bench: 10,000
// Services, 100,000 endpoints, on an Overlay node) in a Tracker, synced
// into a fake HNS (profile latest, no latency) through SyncSnapshot.
// Benchmarks share it: each leaves it synced.
type eventCluster struct {
	tr *lbpolicy.Tracker
	h  *fake.HNS
	r  *hnsadapter.Reconciler
	// orig are IPv4 slices as generated, moved the same with the first
	// endpoint replaced (made beforehand, as an informer decodes them).
	orig, moved []*discovery.EndpointSlice
	isMoved     []bool // whether the Tracker holds moved[i]
	next        int
}

var (
	eventClusterOnce sync.Once
	eventClusterVal  *eventCluster
	eventClusterErr  error
)

func getEventCluster(b *testing.B) *eventCluster {
	b.Helper()
	eventClusterOnce.Do(func() { eventClusterVal, eventClusterErr = newEventCluster("") })
	if eventClusterErr != nil {
		b.Fatal(eventClusterErr)
	}
	return eventClusterVal
}

// newEventCluster makes the cluster, its Reconciler keeping its ownership
// record in ownershipFile ("": none).
func newEventCluster(ownershipFile string) (*eventCluster, error) {
	shape := gencluster.Bench
	node := gencluster.Node(shape)
	svcs, sls := gencluster.Cluster(shape, 1)
	p, err := hns.ProfileNamed("latest")
	if err != nil {
		return nil, err
	}
	h := fake.New(p)
	netID := h.AddNetwork(node.NetworkName, "Overlay")
	h.AddLocalEndpoint(netID, "cbr0", "")
	for _, ip := range gencluster.LocalIPs(sls) {
		h.AddLocalEndpoint(netID, "pod-"+ip, ip)
	}
	tr, err := lbpolicy.NewTracker(node)
	if err != nil {
		return nil, err
	}
	c := &eventCluster{tr: tr, h: h}
	for _, s := range svcs {
		tr.OnServiceAdd(s)
	}
	for _, s := range sls {
		tr.OnEndpointSliceAdd(s)
		if s.AddressType == discovery.AddressTypeIPv4 && len(s.Endpoints) > 0 && len(c.orig) < 2000 {
			c.orig = append(c.orig, s)
			c.moved = append(c.moved, moveFirst(s, len(c.moved)))
		}
	}
	c.isMoved = make([]bool, len(c.orig))
	c.r, err = hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: node.NetworkName, FullSyncPeriod: 1000 * time.Hour,
		OwnershipFile: ownershipFile})
	if err != nil {
		return nil, err
	}
	if _, err := c.sync(); err != nil {
		return nil, err
	}
	return c, nil
}

// moveFirst returns a copy of slice i, s, with its first endpoint replaced
// by a pod of its own on a remote node: 10.64+n/256.n%256.250+i/400 on
// node n = 1+i%400, an address no other slice has.
func moveFirst(s *discovery.EndpointSlice, i int) *discovery.EndpointSlice {
	s = s.DeepCopy()
	n := 1 + i%400
	s.Endpoints[0].Addresses = []string{fmt.Sprintf("10.%d.%d.%d", 64+n/256, n%256, 250+i/400)}
	s.Endpoints[0].NodeName = ptrTo(fmt.Sprintf("win-%d", n+1))
	return s
}

// event moves the first endpoint of the next slice to its other address,
// or back.
func (c *eventCluster) event() {
	i := c.next
	c.next = (c.next + 1) % len(c.orig)
	if c.isMoved[i] {
		c.tr.OnEndpointSliceUpdate(c.moved[i], c.orig[i])
	} else {
		c.tr.OnEndpointSliceUpdate(c.orig[i], c.moved[i])
	}
	c.isMoved[i] = !c.isMoved[i]
}

// sync applies a Snapshot, which must succeed for every object.
func (c *eventCluster) sync() (hnsadapter.Result, error) {
	s := c.tr.Snapshot()
	res, err := c.r.SyncSnapshot(context.Background(), &s)
	if err == nil && len(res.Errors) > 0 {
		err = res.Errors[0]
	}
	return res, err
}

// BenchmarkEventToSync10k: one EndpointSlice update (one endpoint replaced
// by a pod on another node) on the 10,000-Service cluster, then its
// Snapshot and SyncSnapshot: the whole path of an informer event to its
// HNS calls (a remote endpoint created, the Service's load balancers
// updated in place, the old endpoint deleted), on the fake.
func BenchmarkEventToSync10k(b *testing.B) {
	c := getEventCluster(b)
	c.warm(b)
	b.ReportAllocs()
	b.ResetTimer()
	var calls int
	for range b.N {
		c.event()
		res, err := c.sync()
		if err != nil {
			b.Fatal(err)
		}
		calls += res.MutatingCalls()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "mutating-calls/op")
}

// warm runs the first pass over the slices, whose first events allocate
// what later ones reuse.
func (c *eventCluster) warm(b *testing.B) {
	b.Helper()
	for range 10 {
		c.event()
		if _, err := c.sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventsToSync10k: 1,000 EndpointSlice updates like
// BenchmarkEventToSync10k's, delivered to the Tracker, then one Snapshot
// and SyncSnapshot. The op is all of it; "events-ms", "snapshot-ms" (the
// Tracker plans the Services the events changed when the Snapshot is
// taken) and "sync-ms" split it.
func BenchmarkEventsToSync10k(b *testing.B) {
	c := getEventCluster(b)
	c.warm(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	var events, snaps, syncs time.Duration
	var calls int
	for range b.N {
		t0 := time.Now()
		for range 1000 {
			c.next = r.IntN(len(c.orig))
			c.event()
		}
		t1 := time.Now()
		snap := c.tr.Snapshot()
		t2 := time.Now()
		res, err := c.r.SyncSnapshot(context.Background(), &snap)
		if err == nil && len(res.Errors) > 0 {
			err = res.Errors[0]
		}
		if err != nil {
			b.Fatal(err)
		}
		events += t1.Sub(t0)
		snaps += t2.Sub(t1)
		syncs += time.Since(t2)
		calls += res.MutatingCalls()
	}
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(perOp(events), "events-ms")
	b.ReportMetric(perOp(snaps), "snapshot-ms")
	b.ReportMetric(perOp(syncs), "sync-ms")
	b.ReportMetric(float64(calls)/float64(b.N), "mutating-calls/op")
}

// BenchmarkEventToSync10kOwnershipFile is BenchmarkEventToSync10k with
// Options.OwnershipFile: each event's sync appends its ownership changes
// to the record's journal (and, now and then, rewrites the record of
// every owned object, ~110,000 of them) on this machine's disk.
func BenchmarkEventToSync10kOwnershipFile(b *testing.B) {
	dir := b.TempDir()
	c, err := newEventCluster(filepath.Join(dir, "owned.json"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "owned.json"))
	if err != nil {
		b.Fatal(err)
	}
	c.warm(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.event()
		if _, err := c.sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Size())/1e6, "record-MB")
}
