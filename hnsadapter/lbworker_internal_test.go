package hnsadapter

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// answering answers every update with what answer makes of the load
// balancer sent.
type answering struct {
	hns.Client
	answer func(lb *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer
}

func (a answering) UpdateLoadBalancer(_ context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	out := a.answer(lb)
	out.Id = id
	return out, nil
}

// TestRunLBTaskFacts: what a worker tells the sync about an update's
// answer: its key, whether its IDs are those sent, and whether they are
// in key order, which it takes from the task when the answer is what was
// sent (wantOrdered) and works out otherwise.
func TestRunLBTaskFacts(t *testing.T) {
	const a, b = "6A0C0C1E-0000-4000-8000-00000000000A", "6A0C0C1E-0000-4000-8000-00000000000B"
	copies := func(ids []string) []string { // the same IDs in other strings
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = string([]byte(id))
		}
		return out
	}
	echo := func(lb *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer { c := *lb; return &c }
	reversed := func(lb *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer {
		c := *lb
		c.HostComputeEndpoints = slices.Clone(lb.HostComputeEndpoints)
		slices.Reverse(c.HostComputeEndpoints)
		return &c
	}
	copied := func(lb *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer {
		c := *lb
		c.HostComputeEndpoints = copies(lb.HostComputeEndpoints)
		return &c
	}
	for _, tc := range []struct {
		name        string
		ids         []string
		wantOrdered bool
		answer      func(*hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer
		facts       answerFacts
	}{
		{"the strings sent, in key order", []string{a, b}, true, echo, answerFacts{asSent: true, ordered: true}},
		{"the strings sent, not in key form", []string{"6a0c0c1e-0000-4000-8000-00000000000a"}, false, echo,
			answerFacts{asSent: true}},
		{"copies of the IDs sent", []string{a, b}, true, copied, answerFacts{asSent: true, ordered: true}},
		{"the IDs sent, reordered", []string{a, b}, true, reversed, answerFacts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb := &lbpolicy.LoadBalancer{IPFamily: lbpolicy.IPv4, FrontendVIPs: []netip.Addr{netip.MustParseAddr("10.96.0.1")},
				Protocol: lbpolicy.ProtocolTCP, InternalPort: 8080, ExternalPort: 80}
			want := desiredLoadBalancer(lb, tc.ids)
			key := lb.Key()
			w := lbWorker{
				calls:   &calls{b: answering{answer: tc.answer}, log: logr.Discard(), now: time.Now},
				updates: &inPlaceUpdates{supported: true, log: logr.Discard()},
			}
			w.updates.verified.Store(true)
			task := &lbTask{action: actionUpdate, plan: lb, obj: keyLB(key), key: key, keyOK: true,
				old: &hns.HostComputeLoadBalancer{Id: "LB"}, want: want, wantOrdered: tc.wantOrdered}
			o := runLBTask(context.Background(), w, task)
			if o.err != nil || !o.updated {
				t.Fatalf("update: %+v", o)
			}
			tc.facts.key, tc.facts.keyOK = key, true
			if o.facts != tc.facts {
				t.Errorf("facts %+v, want %+v", o.facts, tc.facts)
			}
		})
	}
}
