package fake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// TestAnswersAreCopies: what CreateLoadBalancer, UpdateLoadBalancer and
// CreateEndpoint answer is the caller's, as is what it sent: changing
// their slices in place, or appending to them and changing what was
// appended, changes neither the fake nor another answer.
func TestAnswersAreCopies(t *testing.T) {
	ctx := t.Context()
	n := newNode(t, "latest", "Overlay")
	reqA := lb("10.96.0.10", 80, n.pods[0], n.pods[1])
	a := mustCreate(t, n.h, reqA)
	reqB := lb("10.96.0.11", 80, n.pods[1])
	b := mustCreate(t, n.h, reqB)
	reqU := lb("10.96.0.10", 80, n.pods[2], n.pods[0])
	u, err := n.h.UpdateLoadBalancer(ctx, a.Id, reqU)
	if err != nil {
		t.Fatal(err)
	}
	reqE := remoteEP("10.244.1.5", "192.168.1.3")
	e, err := n.h.CreateEndpoint(ctx, n.net, reqE)
	if err != nil {
		t.Fatal(err)
	}
	before := n.h.Snapshot()
	wantB := snapshot(t, b)

	for _, l := range []*hns.HostComputeLoadBalancer{reqA, a, reqU, u, reqB} {
		want := viaJSON(t, l)
		changeLB(want)
		changeLB(l)
		if diff := cmp.Diff(want, l); diff != "" {
			t.Errorf("a change to one slice of %v reached another (-want +got):\n%s", want, diff)
		}
	}
	for _, ep := range []*hns.HostComputeEndpoint{reqE, e} {
		want := viaJSON(t, ep)
		changeEP(want)
		changeEP(ep)
		if diff := cmp.Diff(want, ep); diff != "" {
			t.Errorf("a change to one slice of %v reached another (-want +got):\n%s", want, diff)
		}
	}
	if diff := cmp.Diff(before, n.h.Snapshot()); diff != "" {
		t.Errorf("the fake changed with the callers' objects (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(wantB, snapshot(t, b)); diff != "" {
		t.Errorf("changing one answer changed another (-want +got):\n%s", diff)
	}
}

// changeLB changes every slice of l in place, appends to each, and
// changes what it appended.
func changeLB(l *hns.HostComputeLoadBalancer) {
	l.HostComputeEndpoints[0] = "x"
	l.FrontendVIPs[0] = "x"
	l.PortMappings[0].ExternalPort = 1
	l.HostComputeEndpoints = append(l.HostComputeEndpoints, "appended")
	l.FrontendVIPs = append(l.FrontendVIPs, "appended")
	l.PortMappings = append(l.PortMappings, hns.LoadBalancerPortMapping{Protocol: 17})
	l.HostComputeEndpoints[len(l.HostComputeEndpoints)-1] = "y"
}

// changeEP is changeLB for an endpoint.
func changeEP(ep *hns.HostComputeEndpoint) {
	ep.Policies[0].Settings[2] = 'X'
	ep.Policies[0].Settings = append(ep.Policies[0].Settings, '!')
	ep.Policies = append(ep.Policies, hns.EndpointPolicy{Type: "Other"})
	ep.IpConfigurations[0].IpAddress = "x"
	ep.IpConfigurations = append(ep.IpConfigurations, hns.IpConfig{IpAddress: "y"})
}

// viaJSON returns a deep copy of v that shares no memory with it.
func viaJSON[T any](t *testing.T, v *T) *T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestListsFollowUpdates: after creates, updates and deletes through the
// Client in any order, the lists hold exactly the objects as stored, in
// full.
func TestListsFollowUpdates(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	h := fake.New(profile(t, "latest"))
	netID := h.AddNetwork("net", "Overlay")
	want := map[string]hns.HostComputeLoadBalancer{}
	var eps []string
	for i := range 20 {
		ep, err := h.CreateEndpoint(ctx, netID, remoteEP(fmt.Sprintf("10.1.0.%d", i+1), "192.168.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep.Id)
	}
	pick := func() []string { return []string{eps[rng.IntN(len(eps))], eps[rng.IntN(len(eps))]} }
	for step := range 300 {
		switch ids := keysOf(want); {
		case len(ids) == 0 || rng.IntN(3) == 0:
			got, err := h.CreateLoadBalancer(ctx, lb(fmt.Sprintf("10.96.%d.%d", step/250, step%250), 80, pick()...))
			if err != nil {
				t.Fatal(err)
			}
			want[got.Id] = *got
		case rng.IntN(2) == 0:
			id := ids[rng.IntN(len(ids))]
			req := lb(want[id].FrontendVIPs[0], 80, pick()...)
			req.PortMappings[0].InternalPort = uint16(1 + step)
			got, err := h.UpdateLoadBalancer(ctx, id, req)
			if err != nil {
				t.Fatal(err)
			}
			want[id] = *got
		default:
			id := ids[rng.IntN(len(ids))]
			if err := h.DeleteLoadBalancer(ctx, id); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
		}
		if rng.IntN(8) != 0 {
			continue // several changes between lists
		}
		lbs, err := h.ListLoadBalancers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantList := []hns.HostComputeLoadBalancer{}
		for _, id := range keysOf(want) {
			wantList = append(wantList, want[id])
		}
		if diff := cmp.Diff(wantList, lbs); diff != "" {
			t.Fatalf("step %d: load balancers listed (-want +got):\n%s", step, diff)
		}
	}
}

// keysOf returns m's keys sorted (the fake's IDs are upper case, so this
// is the lists' order).
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestReferencesSpelledAsHeld: a load balancer names its endpoints as the
// fake holds their IDs, whatever the case of the reference, also for an
// endpoint seeded with a lower-case ID.
func TestReferencesSpelledAsHeld(t *testing.T) {
	ctx := t.Context()
	n := newNode(t, "latest", "Overlay")
	const seeded = "0a1b2c3d-0000-4000-8000-00000000000f"
	n.h.AddEndpoint(hns.HostComputeEndpoint{Id: seeded, HostComputeNetwork: n.net,
		IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.9"}}})
	for _, tc := range []struct {
		name string
		refs []string
		want []string
	}{
		{"as held", []string{seeded, n.pods[0]}, []string{seeded, n.pods[0]}},
		{"other case", []string{strings.ToUpper(seeded), strings.ToLower(n.pods[0])}, []string{seeded, n.pods[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, tc.refs...))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := n.h.DeleteLoadBalancer(ctx, got.Id); err != nil {
					t.Fatal(err)
				}
			}()
			if diff := cmp.Diff(tc.want, got.HostComputeEndpoints); diff != "" {
				t.Errorf("answer's HostComputeEndpoints (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, n.h.LoadBalancers()[0].HostComputeEndpoints); diff != "" {
				t.Errorf("stored HostComputeEndpoints (-want +got):\n%s", diff)
			}
			if err := n.h.IndexError(); err != nil {
				t.Error(err)
			}
		})
	}
	if !n.h.RemoveEndpoint(strings.ToUpper(seeded)) {
		t.Fatal("RemoveEndpoint: not found")
	}
	if err := n.h.IndexError(); err != nil {
		t.Error(err)
	}
}
