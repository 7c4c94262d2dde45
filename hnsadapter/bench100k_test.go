package hnsadapter_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/internal/gencluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// cluster100k is the plan of gencluster.Bench (10,000 Services, 100,000
// endpoints) for its Overlay node, and that node's network name and
// local pod IPs; computed once, as it costs seconds.
var cluster100k = sync.OnceValue(func() bench100k {
	svcs, slices := gencluster.Cluster(gencluster.Bench, 1)
	node := gencluster.Node(gencluster.Bench)
	p, err := lbpolicy.Compute(node, svcs, slices)
	if err != nil {
		panic(err) // the generated cluster is valid
	}
	return bench100k{plan: &p, network: node.NetworkName, locals: gencluster.LocalIPs(slices)}
})

type bench100k struct {
	plan    *lbpolicy.Plan
	network string
	locals  []string
}

// synced100k returns a fake HNS on which a Reconciler has synced the 100k
// plan, that plan, and the network name.
func synced100k(b *testing.B) (*fake.HNS, *lbpolicy.Plan, string) {
	b.Helper()
	c := cluster100k()
	p, network := c.plan, c.network
	prof, err := hns.ProfileNamed("latest")
	if err != nil {
		b.Fatal(err)
	}
	h := fake.New(prof)
	netID := h.AddNetwork(network, "Overlay")
	h.AddLocalEndpoint(netID, "cbr0", "") // the host's, for the health-check VIPs
	for _, a := range c.locals {
		if _, err := netip.ParseAddr(a); err == nil { // gencluster spells some IPv6 pods invalidly
			h.AddLocalEndpoint(netID, "pod", a)
		}
	}
	r := reconciler100k(b, h, network)
	mustSync(b, r, p)
	h.Endpoints() // the fake orders what the sync made at its next list
	return h, p, network
}

func reconciler100k(b *testing.B, be hns.Client, network string) *hnsadapter.Reconciler {
	b.Helper()
	r, err := hnsadapter.NewReconciler(be, hnsadapter.Options{NetworkName: network, Logger: logr.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// reportCounts reports what HNS holds: remote endpoints and load
// balancers.
func reportCounts(b *testing.B, h *fake.HNS) {
	remote := 0
	for _, ep := range h.Endpoints() {
		if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 {
			remote++
		}
	}
	b.ReportMetric(float64(remote), "remote-endpoints")
	b.ReportMetric(float64(len(h.LoadBalancers())), "load-balancers")
}

// BenchmarkSyncNoop100k: a no-op Sync of the generated cluster's plan
// (gencluster.Bench: 10,000 Services, 100,000 endpoints; about 99,000
// remote endpoints and 23,000 load balancers on its Overlay node) with
// everything already in HNS: two lists and the full compare, in the
// steady state of periodic full syncs. "fake" is against fake.HNS, whose
// lists copy every object; "bare" against a map backend that checks
// nothing: the Reconciler's own cost.
func BenchmarkSyncNoop100k(b *testing.B) {
	h, p, network := synced100k(b)
	for _, backend := range []string{"fake", "bare"} {
		b.Run(backend, func(b *testing.B) {
			var be hns.Client = h
			if backend == "bare" {
				bh := newBareHNS(h)
				for _, lb := range h.LoadBalancers() {
					bh.lbs.put(lb.Id, lb)
				}
				be = bh
			}
			r := reconciler100k(b, be, network)
			mustSync(b, r, p) // adoption
			// The first no-op after a change of the lists also resolves
			// the held load balancers' endpoints (~15 ms, once): time
			// the ones after it, as periodic full syncs are.
			mustSync(b, r, p)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if res := mustSync(b, r, p); res.MutatingCalls() != 0 {
					b.Fatalf("no-op sync made %d mutating calls", res.MutatingCalls())
				}
			}
			b.StopTimer()
			reportCounts(b, h)
		})
	}
}

// BenchmarkSyncRestart100k: a new Reconciler's first Sync of the
// generated cluster's plan (see BenchmarkSyncNoop100k) on a fake.HNS that
// holds it all: it adopts everything with no mutating call.
func BenchmarkSyncRestart100k(b *testing.B) {
	h, p, network := synced100k(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r := reconciler100k(b, h, network)
		b.StartTimer()
		res := mustSync(b, r, p)
		if res.MutatingCalls() != 0 {
			b.Fatalf("restart made %d mutating calls", res.MutatingCalls())
		}
		if res.Adopted == 0 {
			b.Fatal("restart adopted nothing")
		}
	}
	b.StopTimer()
	reportCounts(b, h)
}

// BenchmarkList100k: the two lists of a full sync (all load balancers, the
// network's endpoints) on the fake holding the generated cluster's state
// (see BenchmarkSyncNoop100k): what fake.HNS adds to a full sync.
func BenchmarkList100k(b *testing.B) {
	h, _, _ := synced100k(b)
	netID := h.Networks()[0].Id
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		lbs, err := h.ListLoadBalancers(ctx)
		if err != nil {
			b.Fatal(err)
		}
		eps, err := h.ListEndpoints(ctx, netID)
		if err != nil {
			b.Fatal(err)
		}
		if len(lbs) == 0 || len(eps) == 0 {
			b.Fatal("nothing listed")
		}
	}
}
