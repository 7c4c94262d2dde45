package fake_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// benchState is a fake holding about what the 100k benchmark cluster puts
// on a node (hnsadapter's BenchmarkList100k): nEPs remote endpoints with a
// ProviderAddress policy and nLBs load balancers of lbRefs endpoints each,
// all made through Client calls.
type benchState struct {
	h     *fake.HNS
	net   string
	eps   []string // endpoint IDs, in creation order
	lbs   []string // load balancer IDs, in creation order
	ipSeq int      // next benchIP for a new endpoint
	vip   int      // next benchVIP for a new load balancer
}

const (
	nEPs   = 104_000
	nLBs   = 16_000
	lbRefs = 8
)

// benchIP is the i-th remote pod IP: 10.128.0.0/9, then 11.128.0.0/9 and
// on, for benchmarks that make millions of endpoints on one state (at
// -count 3 FakeCalls makes more than the 2^23 of 10.128.0.0/9).
func benchIP(i int) string {
	return fmt.Sprintf("%d.%d.%d.%d", 10+i>>23, 128+i>>16&127, i>>8&255, i&255)
}

// benchVIP is the i-th ClusterIP (10.0.0.0/9).
func benchVIP(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&127, i>>8&255, i&255) }

func newBenchState(b *testing.B, eps, lbs int) *benchState {
	b.Helper()
	h := fake.New(profile(b, "latest"))
	s := &benchState{h: h, net: h.AddNetwork("cbr0", "Overlay")}
	for range eps {
		s.eps = append(s.eps, s.createEP(b))
	}
	for range lbs {
		s.lbs = append(s.lbs, s.createLB(b))
	}
	return s
}

// nextEP returns the next new remote endpoint.
func (s *benchState) nextEP() *hns.HostComputeEndpoint {
	ip := benchIP(s.ipSeq)
	s.ipSeq++
	return remoteEP(ip, "192.168.1."+fmt.Sprint(s.ipSeq%200+1))
}

func (s *benchState) createEP(b *testing.B) string {
	return s.create(b, s.nextEP())
}

func (s *benchState) create(b *testing.B, ep *hns.HostComputeEndpoint) string {
	got, err := s.h.CreateEndpoint(context.Background(), s.net, ep)
	if err != nil {
		b.Fatal(err)
	}
	return got.Id
}

// lbFor returns the i-th load balancer: a ClusterIP with lbRefs of the
// endpoints, starting at the one numbered off.
func (s *benchState) lbFor(vip, off int) *hns.HostComputeLoadBalancer {
	refs := make([]string, lbRefs)
	for j := range refs {
		refs[j] = s.eps[(off+j)%len(s.eps)]
	}
	return lb(benchVIP(vip), 80, refs...)
}

// nextLB returns the next new load balancer.
func (s *benchState) nextLB() *hns.HostComputeLoadBalancer {
	lb := s.lbFor(s.vip, s.vip*lbRefs)
	s.vip++
	return lb
}

func (s *benchState) createLB(b *testing.B) string {
	return s.createThis(b, s.nextLB())
}

func (s *benchState) createThis(b *testing.B, lb *hns.HostComputeLoadBalancer) string {
	got, err := s.h.CreateLoadBalancer(context.Background(), lb)
	if err != nil {
		b.Fatal(err)
	}
	return got.Id
}

// BenchmarkFakeList100k: the two lists of a full sync (every load balancer,
// the network's endpoints) on a fake holding nEPs endpoints and nLBs load
// balancers.
func BenchmarkFakeList100k(b *testing.B) {
	s := newBenchState(b, nEPs, nLBs)
	ctx := context.Background()
	s.h.Endpoints() // order what the setup made
	s.h.LoadBalancers()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		lbs, err := s.h.ListLoadBalancers(ctx)
		if err != nil {
			b.Fatal(err)
		}
		eps, err := s.h.ListEndpoints(ctx, s.net)
		if err != nil {
			b.Fatal(err)
		}
		if len(lbs) != nLBs || len(eps) != nEPs {
			b.Fatalf("listed %d load balancers and %d endpoints", len(lbs), len(eps))
		}
	}
}

// BenchmarkFakeListAfterChange100k: BenchmarkFakeList100k's lists after
// one endpoint created and another deleted and a load balancer updated,
// the lists of a full sync that follows changes: the fake orders what
// changed at the first list.
func BenchmarkFakeListAfterChange100k(b *testing.B) {
	s := newBenchState(b, nEPs, nLBs)
	ctx := context.Background()
	next := make([]*hns.HostComputeLoadBalancer, len(s.lbs))
	for i := range next {
		next[i] = s.lbFor(i, i*lbRefs+1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := s.createEP(b)
		if err := s.h.DeleteEndpoint(ctx, id); err != nil {
			b.Fatal(err)
		}
		s.createEP(b)
		k := i % len(s.lbs)
		if _, err := s.h.UpdateLoadBalancer(ctx, s.lbs[k], next[k]); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.h.ListLoadBalancers(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := s.h.ListEndpoints(ctx, s.net); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFakeCalls: one mutating Client call per op, of each kind, on a
// fake holding the 100k state (see BenchmarkFakeList100k), and on one
// holding 5,000 endpoints and 800 load balancers. Each leaves the state as
// it found it (what it made, it deletes after the timer).
func BenchmarkFakeCalls(b *testing.B) {
	for _, size := range []struct {
		name     string
		eps, lbs int
	}{{"100k", nEPs, nLBs}, {"5k", 5000, 800}} {
		b.Run(size.name, func(b *testing.B) { benchCalls(b, newBenchState(b, size.eps, size.lbs)) })
	}
}

// cpuPerOp reports the process's CPU time per op over the timed part of
// b, as "cpu-ns/op": on a busy machine it varies less than ns/op, which is
// wall time. Call it at the start; the returned func at the end.
func cpuPerOp(b *testing.B) func() {
	start, ok := cpuTime()
	return func() {
		end, _ := cpuTime()
		if ok {
			b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func benchCalls(b *testing.B, s *benchState) {
	ctx := context.Background()
	b.Run("CreateEndpoint", func(b *testing.B) {
		made := make([]string, 0, b.N)
		in := make([]*hns.HostComputeEndpoint, b.N)
		for i := range in {
			in[i] = s.nextEP()
		}
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuPerOp(b)
		for _, ep := range in {
			made = append(made, s.create(b, ep))
		}
		b.StopTimer()
		done()
		for _, id := range made {
			if err := s.h.DeleteEndpoint(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DeleteEndpoint", func(b *testing.B) {
		made := make([]string, 0, b.N)
		for range b.N {
			made = append(made, s.createEP(b))
		}
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuPerOp(b)
		for _, id := range made {
			if err := s.h.DeleteEndpoint(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		done()
	})
	b.Run("CreateLoadBalancer", func(b *testing.B) {
		made := make([]string, 0, b.N)
		in := make([]*hns.HostComputeLoadBalancer, b.N)
		for i := range in {
			in[i] = s.nextLB()
		}
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuPerOp(b)
		for _, lb := range in {
			made = append(made, s.createThis(b, lb))
		}
		b.StopTimer()
		done()
		for _, id := range made {
			if err := s.h.DeleteLoadBalancer(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UpdateLoadBalancer", func(b *testing.B) {
		// Load balancer i moves its endpoints one along, as an event does.
		next := make([]*hns.HostComputeLoadBalancer, len(s.lbs))
		for i := range next {
			next[i] = s.lbFor(i, i*lbRefs+1)
		}
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuPerOp(b)
		for i := range b.N {
			k := i % len(s.lbs)
			if _, err := s.h.UpdateLoadBalancer(ctx, s.lbs[k], next[k]); err != nil {
				b.Fatal(err)
			}
		}
		done()
	})
	b.Run("DeleteLoadBalancer", func(b *testing.B) {
		made := make([]string, 0, b.N)
		for range b.N {
			made = append(made, s.createLB(b))
		}
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuPerOp(b)
		for _, id := range made {
			if err := s.h.DeleteLoadBalancer(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		done()
	})
}
