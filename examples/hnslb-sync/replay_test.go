package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

func profile(t *testing.T, name string) hns.Profile {
	t.Helper()
	p, err := hns.ProfileNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sampleNode(t *testing.T) lbpolicy.Node {
	t.Helper()
	node, _ := cluster.Sample()
	return node
}

func replayOf(t *testing.T, src source, profileName string, restartAt int) (*replay, []stepResult) {
	t.Helper()
	rp, err := newReplay(sampleNode(t), profile(t, profileName), false)
	if err != nil {
		t.Fatal(err)
	}
	results, err := rp.run(context.Background(), src, restartAt)
	if err != nil {
		t.Fatal(err)
	}
	return rp, results
}

func nonZero(c map[hns.Op]int) map[hns.Op]int {
	out := map[hns.Op]int{}
	for op, n := range c {
		if n != 0 {
			out[op] = n
		}
	}
	return out
}

// The calls printed are those the fake received, which are those the
// Reconciler reports making.
func TestCallsAreTheReconcilers(t *testing.T) {
	evs, err := cluster.ReadEvents(eventsFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		src  source
	}{
		{"demo", &stateSource{steps: demoSteps()}},
		{"events", newEventSource(evs.Events, 1)},
	} {
		for _, p := range []string{"ws2022", "latest"} {
			t.Run(tc.name+"/"+p, func(t *testing.T) {
				_, results := replayOf(t, tc.src, p, 2)
				for i, r := range results {
					if diff := cmp.Diff(nonZero(r.result.Calls), nonZero(r.calls)); diff != "" {
						t.Errorf("step %d (%s): calls (-Result.Calls +fake):\n%s", i+1, r.name, diff)
					}
				}
			})
		}
	}
}

// A failed call is a per-object error of its step, which fails the step;
// the replay clock lets the next step retry it.
func TestStepErrors(t *testing.T) {
	rp, err := newReplay(sampleNode(t), profile(t, "latest"), false)
	if err != nil {
		t.Fatal(err)
	}
	const webKey = "IPv4/10.96.45.12/TCP/80"
	rp.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Count: 1, Match: func(id string) bool { return id == webKey }})
	_, objs := cluster.Sample()
	src := &stateSource{steps: []state{{name: "fails", objs: objs}, {name: "retries", objs: objs}}}
	results, err := rp.run(context.Background(), src, 0)
	if err != nil {
		t.Fatal(err)
	}

	first, second := results[0], results[1]
	if !first.failed() || len(first.errors()) != 1 || !strings.HasPrefix(first.errors()[0], "LoadBalancer "+webKey) {
		t.Fatalf("step 1: failed %v, errors %q; want the web load balancer's error", first.failed(), first.errors())
	}
	if got := first.problems(); got != "1 object error(s)" {
		t.Errorf("step 1: problems %q", got)
	}
	if second.failed() || second.calls[hns.OpCreateLoadBalancer] != 1 {
		t.Errorf("step 2: errors %q, %d creates; want the load balancer created", second.errors(), second.calls[hns.OpCreateLoadBalancer])
	}

	var out bytes.Buffer
	if err := writeJSON(&out, results); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Steps []struct {
			Errors []string `json:"errors"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{first.errors(), {}}, [][]string{doc.Steps[0].Errors, doc.Steps[1].Errors}); diff != "" {
		t.Errorf("JSON errors (-want +got):\n%s", diff)
	}
	out.Reset()
	if err := writeTable(&out, header{profile: profile(t, "latest"), node: sampleNode(t), steps: 2}, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%-*s%s", labelWidth, "errors (1)", "LoadBalancer "+webKey)) {
		t.Errorf("the table does not show the error:\n%s", out.String())
	}
}

// A sync that fails as a whole is an error of its step.
func TestSyncFailure(t *testing.T) {
	rp, err := newReplay(sampleNode(t), profile(t, "ws2022"), false)
	if err != nil {
		t.Fatal(err)
	}
	rp.h.InjectFault(fake.Fault{Op: hns.OpListLoadBalancers, Count: 1})
	_, objs := cluster.Sample()
	results, err := rp.run(context.Background(), &stateSource{steps: []state{{name: "s", objs: objs}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if !r.failed() || r.syncErr == nil || !strings.HasPrefix(r.problems(), "the sync failed: ") || r.errors()[0] != r.syncErr.Error() {
		t.Errorf("failed %v, problems %q, errors %q", r.failed(), r.problems(), r.errors())
	}
}

func TestAddPods(t *testing.T) {
	node := lbpolicy.Node{
		Name: "win-1", NodeIPs: []string{"10.0.0.4", "fd00::4"}, NetworkType: lbpolicy.L2Bridge, NetworkName: "l2bridge",
		RootEndpointName: "host",
	}
	overlay := lbpolicy.Node{
		Name: "win-1", NodeIPs: []string{"10.0.0.4", "fd00::4"}, NetworkType: lbpolicy.Overlay, NetworkName: "vxlan0",
		SourceVIPs: []string{"10.244.1.2"}, HostMAC: "00-15-5d-00-00-01",
	}
	here, there := "win-1", "win-2"
	ep := func(node *string, pod string, addrs ...string) discovery.Endpoint {
		e := discovery.Endpoint{Addresses: addrs, NodeName: node}
		if pod != "" {
			e.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: pod}
		}
		return e
	}
	sls := []*discovery.EndpointSlice{{
		AddressType: discovery.AddressTypeIPv4,
		Endpoints: []discovery.Endpoint{
			ep(&here, "a", "10.244.1.5", "10.244.1.99"), // the first address only
			ep(&there, "b", "10.244.2.7"),               // remote
			ep(nil, "c", "10.244.1.8"),                  // no node: not local
			ep(&here, "hostnet", "10.0.0.4"),            // host network: no endpoint
			ep(&here, "", "10.244.1.2"),                 // the overlay source VIP
			ep(&here, "host", "10.244.1.9"),             // named like the root endpoint
			ep(&here, "bad", "10.244.1"),                // not an IP
			ep(&here, "none"),                           // no address
		},
	}, {
		AddressType: discovery.AddressTypeIPv6,
		Endpoints:   []discovery.Endpoint{ep(&here, "a", "fd00:10:244:1::5")},
	}, {
		AddressType: discovery.AddressTypeFQDN,
		Endpoints:   []discovery.Endpoint{ep(&here, "f", "example.com")},
	}, {
		AddressType: discovery.AddressTypeIPv4,
		Endpoints:   []discovery.Endpoint{ep(&here, "a-again", "10.244.1.5")}, // already added
	}}
	tests := []struct {
		name  string
		node  lbpolicy.Node
		added []string
		names []string
	}{{
		name:  "L2Bridge dual-stack",
		node:  node,
		added: []string{"10.244.1.5 (ns/a)", "10.244.1.2", "10.244.1.9 (ns/host)", "fd00:10:244:1::5 (ns/a)"},
		names: []string{"a", "a", "host", "pod-10.244.1.2", "pod-10.244.1.9"},
	}, {
		name:  "Overlay: the primary family only, not the source VIP",
		node:  overlay,
		added: []string{"10.244.1.5 (ns/a)", "10.244.1.9 (ns/host)"},
		names: []string{"a", "cbr0", "host"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp, err := newReplay(tt.node, profile(t, "latest"), false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.added, rp.addPods(sls)); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
			if again := rp.addPods(sls); len(again) != 0 {
				t.Errorf("added again: %q", again)
			}
			var names []string
			for _, e := range rp.h.Endpoints() {
				names = append(names, e.Name)
			}
			if diff := cmp.Diff(tt.names, slices.Sorted(slices.Values(names))); diff != "" {
				t.Errorf("HNS endpoint names (-want +got):\n%s", diff)
			}
			if rp.h.Calls().Mutating() != 0 {
				t.Error("adding pods made Client calls")
			}
		})
	}
}
