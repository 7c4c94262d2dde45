package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/examples/internal/golden"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

var update = flag.Bool("update", false, "rewrite the golden files (and the test dumps) under testdata/")

// The audited node and cluster: the built-in sample of hnslb-plan.
const (
	sampleDir     = "../internal/cluster/sample/"
	sampleCluster = sampleDir + "cluster.yaml"
	sampleNode    = sampleDir + "node.yaml"
)

// The test dumps, made from the fake by the tests below and committed.
const (
	cleanDump = "testdata/clean.hns.json" // as the Reconciler left HNS
	driftDump = "testdata/drift.hns.json" // then drifted (see drift)
)

// syncedHNS returns a fake HNS as it is after hnsadapter's Reconciler
// synced the sample cluster on the sample node: the node's network, the
// root endpoint cbr0, the local pods' endpoints as the CNI made them, and
// what the Reconciler created.
func syncedHNS(t *testing.T) (*fake.HNS, lbpolicy.Node, string) {
	t.Helper()
	node, err := cluster.ReadNode(sampleNode)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cluster.ReadPaths([]string{sampleCluster}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := lbpolicy.Compute(node, objs.Services, objs.EndpointSlices)
	if err != nil {
		t.Fatal(err)
	}
	v, err := lbpolicy.ParseVersion(node.HNSVersion)
	if err != nil {
		t.Fatal(err)
	}
	h := fake.New(hns.ProfileFor(v))
	h.SeedIDs(13)
	netID := h.AddNetwork(node.NetworkName, string(node.NetworkType))
	h.AddLocalEndpoint(netID, lbpolicy.DefaultRootEndpointName, "")
	addPods(h, netID, node, objs.EndpointSlices)

	rec, err := hnsadapter.NewReconciler(h, hnsadapter.Options{NetworkName: node.NetworkName, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Sync(context.Background(), &plan)
	if err != nil || len(res.Errors) > 0 || len(res.Diagnostics) > 0 {
		t.Fatalf("Sync: %v; errors %v; diagnostics %v", err, res.Errors, res.Diagnostics)
	}
	return h, node, netID
}

// addPods gives every local pod of the slices (nodeName is the node's; its
// first address; not a node IP or source VIP) an HNS endpoint named after
// its Pod, as the CNI does when a pod starts.
func addPods(h *fake.HNS, netID string, node lbpolicy.Node, slices []*discovery.EndpointSlice) {
	host := map[string]bool{}
	for _, ip := range append(append([]string{}, node.NodeIPs...), node.SourceVIPs...) {
		host[ip] = true
	}
	for _, sl := range slices {
		for _, ep := range sl.Endpoints {
			if ep.NodeName == nil || *ep.NodeName != node.Name || len(ep.Addresses) == 0 || host[ep.Addresses[0]] {
				continue
			}
			name := "pod-" + ep.Addresses[0]
			if ep.TargetRef != nil {
				name = ep.TargetRef.Name
			}
			h.AddLocalEndpoint(netID, name, ep.Addresses[0])
			host[ep.Addresses[0]] = true
		}
	}
}

// drift changes HNS behind the Reconciler's back, one way per finding the
// audit must make:
//   - default/web:http (IPv4/10.96.45.12/TCP/80) deleted: missing;
//   - a foreign load balancer on 192.168.100.10:8080, and one on web's
//     clusterIP port 8443 that no Service port has: extra;
//   - default/api:http gains the backend 10.244.2.99, a remote endpoint of
//     a pod long gone (stale backend, and an extra remote endpoint);
//   - kube-dns:dns (UDP) loses its DSR flag: a changed flag;
//   - the remote endpoint of 10.244.3.9 (default/legacy-gateway) deleted:
//     a missing endpoint, and a dangling ID in its load balancer;
//   - 10.244.2.7's remote endpoint points at the wrong provider address;
//   - an unused remote endpoint 10.244.3.200: extra;
//   - a load balancer on 10.96.99.99:80, in the Service CIDR but no
//     Service's (one deleted while the agent was down): extra.
func drift(t *testing.T, h *fake.HNS, netID string) {
	t.Helper()
	web := lbWithKey(t, h, "IPv4/10.96.45.12/TCP/80")
	h.RemoveLoadBalancer(web.Id)
	pod := endpointWithIP(t, h, "10.244.1.5")
	for _, f := range []struct {
		vip  string
		port uint16
	}{{"192.168.100.10", 8080}, {"10.96.45.12", 8443}, {"10.96.99.99", 80}} {
		h.AddLoadBalancer(hns.HostComputeLoadBalancer{
			HostComputeEndpoints: []string{pod.Id},
			FrontendVIPs:         []string{f.vip},
			PortMappings:         []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 80, ExternalPort: f.port}},
			SchemaVersion:        hns.V2SchemaVersion(),
		})
	}

	stale := h.AddEndpoint(remoteEndpoint(netID, "10.244.2.99", "10.0.0.5"))
	api := lbWithKey(t, h, "IPv4/10.96.88.20/TCP/8080")
	api.HostComputeEndpoints = append(api.HostComputeEndpoints, stale)
	replaceLB(h, api)

	dns := lbWithKey(t, h, "IPv4/10.96.0.10/UDP/53")
	dns.Flags &^= lbpolicy.FlagDSR
	replaceLB(h, dns)

	h.RemoveEndpoint(endpointWithIP(t, h, "10.244.3.9").Id)

	moved := endpointWithIP(t, h, "10.244.2.7")
	h.RemoveEndpoint(moved.Id)
	wrong := remoteEndpoint(netID, "10.244.2.7", "10.0.0.6")
	wrong.Id, wrong.MacAddress = moved.Id, moved.MacAddress
	h.AddEndpoint(wrong)

	h.AddEndpoint(remoteEndpoint(netID, "10.244.3.200", "10.0.0.6"))
}

func remoteEndpoint(netID, ip, pa string) hns.HostComputeEndpoint {
	settings, _ := json.Marshal(hns.ProviderAddressEndpointPolicySetting{ProviderAddress: pa})
	a := netip.MustParseAddr(ip).As4()
	return hns.HostComputeEndpoint{
		HostComputeNetwork: netID,
		IpConfigurations:   []hns.IpConfig{{IpAddress: ip}},
		MacAddress:         "02-11-" + strings.ToUpper(strings.Join([]string{hex(a[0]), hex(a[1]), hex(a[2]), hex(a[3])}, "-")),
		Flags:              hns.EndpointFlagsRemoteEndpoint,
		Policies:           []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: settings}},
		SchemaVersion:      hns.V2SchemaVersion(),
	}
}

func hex(b byte) string { return string("0123456789abcdef"[b>>4]) + string("0123456789abcdef"[b&15]) }

// replaceLB changes a load balancer out of band, keeping its ID.
func replaceLB(h *fake.HNS, lb hns.HostComputeLoadBalancer) {
	h.RemoveLoadBalancer(lb.Id)
	h.AddLoadBalancer(lb)
}

func lbWithKey(t *testing.T, h *fake.HNS, key string) hns.HostComputeLoadBalancer {
	t.Helper()
	for _, lb := range h.LoadBalancers() {
		if k, ok := hnsadapter.LoadBalancerKey(&lb); ok && k.String() == key {
			return lb
		}
	}
	t.Fatalf("the fake holds no load balancer %s", key)
	return hns.HostComputeLoadBalancer{}
}

func endpointWithIP(t *testing.T, h *fake.HNS, ip string) hns.HostComputeEndpoint {
	t.Helper()
	for _, ep := range h.Endpoints() {
		if len(ep.IpConfigurations) > 0 && ep.IpConfigurations[0].IpAddress == ip {
			return ep
		}
	}
	t.Fatalf("the fake holds no endpoint %s", ip)
	return hns.HostComputeEndpoint{}
}

// compactJSON compares raw JSON (policy settings) as compact text: the
// dump indents it.
var compactJSON = cmp.Transformer("compact", func(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
})

// TestDumpFiles makes the test dumps with the fake's own JSON dump and
// checks them against the committed files (-update rewrites them). The
// fake holds one network, so collectDump, the Windows part of
// `hnslb-audit dump`, must write the same bytes.
func TestDumpFiles(t *testing.T) {
	for _, tt := range []struct {
		path  string
		drift bool
	}{{cleanDump, false}, {driftDump, true}} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			h, node, netID := syncedHNS(t)
			if tt.drift {
				drift(t, h, netID)
			}
			data, err := h.DumpJSON()
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.path, string(data), *update)

			d, err := collectDump(context.Background(), h, node.NetworkName)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := writeDump(&out, d); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(data), out.String()); diff != "" {
				t.Errorf("hnslb-audit dump writes other bytes than the fake's DumpJSON (-fake +dump):\n%s", diff)
			}
			back, err := decodeDump(data, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(d, back, compactJSON); diff != "" {
				t.Errorf("the dump does not read back as written (-written +read):\n%s", diff)
			}
		})
	}
}

func TestCollectDump(t *testing.T) {
	h, node, netID := syncedHNS(t)
	other := h.AddNetwork("nat", "NAT")
	h.AddLocalEndpoint(other, "nat-ep", "172.16.0.2")

	all, err := collectDump(context.Background(), h, "")
	if err != nil {
		t.Fatal(err)
	}
	one, err := collectDump(context.Background(), h, node.NetworkName)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Networks) != 0 || len(one.Networks) != 1 || one.Networks[0].Id != netID {
		t.Errorf("networks: without -network %v, with %v; want none, then %s", all.Networks, one.Networks, netID)
	}
	if len(all.Endpoints) != len(one.Endpoints)+1 {
		t.Errorf("%d endpoints of every network, %d of %s: want exactly the nat one more", len(all.Endpoints), len(one.Endpoints), node.NetworkName)
	}
	if len(one.LoadBalancers) == 0 || !cmp.Equal(all.LoadBalancers, one.LoadBalancers) {
		t.Errorf("load balancers differ with and without -network")
	}
	for i := 1; i < len(one.LoadBalancers); i++ {
		if compareIDs(one.LoadBalancers[i-1].Id, one.LoadBalancers[i].Id) >= 0 {
			t.Errorf("load balancers not sorted by ID at %d", i)
		}
	}
}

func TestCollectDumpReadOnly(t *testing.T) {
	h, node, _ := syncedHNS(t)
	before := h.DumpStable()
	h.ResetCalls()
	if _, err := collectDump(context.Background(), h, node.NetworkName); err != nil {
		t.Fatal(err)
	}
	if n := h.Calls().Mutating(); n != 0 {
		t.Errorf("dump made %d mutating calls", n)
	}
	if after := h.DumpStable(); after != before {
		t.Error("dump changed HNS")
	}
}

func TestCollectDumpErrors(t *testing.T) {
	tests := []struct {
		name    string
		network string
		fault   fake.Fault
		want    string // in the error; "" for none
	}{
		{name: "unknown network", network: "nope", want: `HNS has no network "nope"`},
		{name: "vanishing once", fault: fake.Fault{Op: hns.OpListLoadBalancers, VanishDuringList: true, Count: 1}},
		{name: "vanishing always", fault: fake.Fault{Op: hns.OpListEndpoints, VanishDuringList: true},
			want: "listing HNS endpoints: objects kept vanishing during the list (3 tries)"},
		{name: "list fails", fault: fake.Fault{Op: hns.OpListLoadBalancers, Count: 1}, want: "listing HNS load balancers: hns ListLoadBalancers"},
		{name: "network lookup fails", network: "flannel.4096", fault: fake.Fault{Op: hns.OpGetNetwork, Count: 1},
			want: `looking up HNS network "flannel.4096": hns GetNetworkByName`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, _ := syncedHNS(t)
			if tt.fault.Op != "" {
				h.InjectFault(tt.fault)
			}
			_, err := collectDump(context.Background(), h, tt.network)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
