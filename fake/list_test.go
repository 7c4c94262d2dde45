package fake_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// TestListsFollowChanges: after any sequence of puts and deletes (seeded
// and through the Client), the lists hold exactly what is stored, sorted
// by ID, whatever the case of the IDs.
func TestListsFollowChanges(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	h := fake.New(profile(t, "latest"))
	netID := h.AddNetwork("net", "Overlay")
	wantEPs := map[string]bool{} // upper-case IDs
	wantLBs := map[string]bool{}
	guid := func(i int) string {
		id := fmt.Sprintf("%08X-0000-4000-8000-%012X", rng.Uint32(), i)
		if rng.IntN(2) == 0 {
			id = strings.ToLower(id)
		}
		return id
	}
	for step := range 400 {
		switch rng.IntN(5) {
		case 0, 1:
			id := h.AddEndpoint(hns.HostComputeEndpoint{Id: guid(step), HostComputeNetwork: netID,
				IpConfigurations: []hns.IpConfig{{IpAddress: fmt.Sprintf("10.1.%d.%d", step/250, step%250)}}})
			wantEPs[strings.ToUpper(id)] = true
		case 2:
			id := h.AddLoadBalancer(hns.HostComputeLoadBalancer{Id: guid(step), FrontendVIPs: []string{"10.96.0.1"}})
			wantLBs[strings.ToUpper(id)] = true
		case 3:
			for id := range wantEPs { // a random one: map order
				if rng.IntN(2) == 0 {
					if err := h.DeleteEndpoint(ctx, strings.ToLower(id)); err != nil {
						t.Fatal(err)
					}
				} else {
					h.RemoveEndpoint(id)
				}
				delete(wantEPs, id)
				break
			}
		case 4:
			for id := range wantLBs {
				h.RemoveLoadBalancer(id)
				delete(wantLBs, id)
				break
			}
		}
		if rng.IntN(10) != 0 {
			continue // several changes between lists
		}
		eps, err := h.ListEndpoints(ctx, netID)
		if err != nil {
			t.Fatal(err)
		}
		lbs, err := h.ListLoadBalancers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sortedKeys(wantEPs), upperIDs(eps, func(ep hns.HostComputeEndpoint) string { return ep.Id })); diff != "" {
			t.Fatalf("step %d: endpoints listed (-want +got):\n%s", step, diff)
		}
		if diff := cmp.Diff(sortedKeys(wantLBs), upperIDs(lbs, func(lb hns.HostComputeLoadBalancer) string { return lb.Id })); diff != "" {
			t.Fatalf("step %d: load balancers listed (-want +got):\n%s", step, diff)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func upperIDs[T any](objs []T, id func(T) string) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, strings.ToUpper(id(o)))
	}
	return out
}

// TestListsAreCopies: what a list returns is the caller's: changing the
// objects' slices in place, or appending to them, changes neither the
// fake nor the other objects of the list.
func TestListsAreCopies(t *testing.T) {
	ctx := context.Background()
	h := fake.New(profile(t, "latest"))
	netID := h.AddNetwork("net", "Overlay")
	for i := range 3 {
		h.AddEndpoint(hns.HostComputeEndpoint{HostComputeNetwork: netID, Flags: hns.EndpointFlagsRemoteEndpoint,
			IpConfigurations: []hns.IpConfig{{IpAddress: fmt.Sprintf("10.1.0.%d", i+1)}},
			Policies: []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress,
				Settings: []byte(fmt.Sprintf(`{"ProviderAddress":"10.0.0.%d"}`, i+1))}}})
		h.AddLoadBalancer(hns.HostComputeLoadBalancer{HostComputeEndpoints: []string{fmt.Sprintf("ep-%d", i)},
			FrontendVIPs: []string{fmt.Sprintf("10.96.0.%d", i+1)},
			PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 80, ExternalPort: 80}}})
	}
	before := h.Snapshot()

	eps, err := h.ListEndpoints(ctx, netID)
	if err != nil {
		t.Fatal(err)
	}
	lbs, err := h.ListLoadBalancers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := fake.State{Networks: before.Networks, LoadBalancers: slices.Clone(lbs), Endpoints: slices.Clone(eps)}
	listed = cloneState(listed)
	for i := range eps {
		eps[i].IpConfigurations[0].IpAddress = "192.0.2.1"
		eps[i].IpConfigurations = append(eps[i].IpConfigurations, hns.IpConfig{IpAddress: "192.0.2.2"})
		eps[i].Policies[0].Settings[2] = 'X'
		eps[i].Policies[0].Settings = append(eps[i].Policies[0].Settings, '!')
		eps[i].Policies = append(eps[i].Policies, hns.EndpointPolicy{Type: "Other"})
	}
	for i := range lbs {
		lbs[i].HostComputeEndpoints[0] = "changed"
		lbs[i].HostComputeEndpoints = append(lbs[i].HostComputeEndpoints, "appended")
		lbs[i].FrontendVIPs = append(lbs[i].FrontendVIPs, "192.0.2.3")
		lbs[i].PortMappings[0].InternalPort = 1
		lbs[i].PortMappings = append(lbs[i].PortMappings, hns.LoadBalancerPortMapping{Protocol: 17})
	}
	if diff := cmp.Diff(before, h.Snapshot()); diff != "" {
		t.Errorf("the fake changed with the caller's copies (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(listed.Endpoints[1:], afterChanges(listed).Endpoints[1:]); diff == "" {
		t.Fatal("test is broken: the changes changed nothing")
	}
	if diff := cmp.Diff(afterChanges(listed), fake.State{Networks: before.Networks, LoadBalancers: lbs, Endpoints: eps}); diff != "" {
		t.Errorf("a change to one listed object reached another (-want +got):\n%s", diff)
	}
}

// afterChanges applies TestListsAreCopies's changes to a deep copy of s,
// object by object.
func afterChanges(s fake.State) fake.State {
	s = cloneState(s)
	for i := range s.Endpoints {
		ep := &s.Endpoints[i]
		ep.IpConfigurations[0].IpAddress = "192.0.2.1"
		ep.IpConfigurations = append(ep.IpConfigurations, hns.IpConfig{IpAddress: "192.0.2.2"})
		ep.Policies[0].Settings[2] = 'X'
		ep.Policies[0].Settings = append(ep.Policies[0].Settings, '!')
		ep.Policies = append(ep.Policies, hns.EndpointPolicy{Type: "Other"})
	}
	for i := range s.LoadBalancers {
		lb := &s.LoadBalancers[i]
		lb.HostComputeEndpoints[0] = "changed"
		lb.HostComputeEndpoints = append(lb.HostComputeEndpoints, "appended")
		lb.FrontendVIPs = append(lb.FrontendVIPs, "192.0.2.3")
		lb.PortMappings[0].InternalPort = 1
		lb.PortMappings = append(lb.PortMappings, hns.LoadBalancerPortMapping{Protocol: 17})
	}
	return s
}

// cloneState deep-copies s, object by object (no shared arrays).
func cloneState(s fake.State) fake.State {
	out := fake.State{Networks: slices.Clone(s.Networks)}
	for _, lb := range s.LoadBalancers {
		lb.HostComputeEndpoints = slices.Clone(lb.HostComputeEndpoints)
		lb.FrontendVIPs = slices.Clone(lb.FrontendVIPs)
		lb.PortMappings = slices.Clone(lb.PortMappings)
		out.LoadBalancers = append(out.LoadBalancers, lb)
	}
	for _, ep := range s.Endpoints {
		ep.IpConfigurations = slices.Clone(ep.IpConfigurations)
		pols := make([]hns.EndpointPolicy, len(ep.Policies))
		for i, p := range ep.Policies {
			pols[i] = hns.EndpointPolicy{Type: p.Type, Settings: slices.Clone(p.Settings)}
		}
		ep.Policies = pols
		out.Endpoints = append(out.Endpoints, ep)
	}
	return out
}
