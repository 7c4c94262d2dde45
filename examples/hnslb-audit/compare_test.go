package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The hand-made node, plan and HNS of the compare tests: Service
// default/web with a ClusterIP (a local and a remote pod), a NodePort and
// a HealthCheck load balancer, on an Overlay network "net".
const (
	netID   = "0000000A-0000-4000-8000-000000000000"
	idPod   = "00000001-0000-4000-8000-000000000000" // local 10.244.1.5
	idPeer  = "00000002-0000-4000-8000-000000000000" // remote 10.244.2.7
	idRoot  = "00000003-0000-4000-8000-000000000000" // local cbr0, no IP
	idVIPEP = "00000004-0000-4000-8000-000000000000" // remote 10.96.0.20, the ClusterIP endpoint
	idSrc   = "00000009-0000-4000-8000-000000000000" // local 10.244.1.2, the source-VIP endpoint
	idCIP   = "0000000B-0000-4000-8000-000000000000" // load balancers
	idNP    = "0000000C-0000-4000-8000-000000000000"
	idHC    = "0000000D-0000-4000-8000-000000000000"
)

var testNode = lbpolicy.Node{Name: "n1", NetworkName: "net", NetworkType: lbpolicy.Overlay}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func testPlan() lbpolicy.Plan {
	backends := []lbpolicy.Backend{{IP: addr("10.244.1.5")}, {IP: addr("10.244.2.7")}}
	return lbpolicy.Plan{
		LoadBalancers: []lbpolicy.LoadBalancer{{
			Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
			Protocol: lbpolicy.ProtocolTCP, InternalPort: 8080, ExternalPort: 30080,
			PortMappingFlags: lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP,
			SourceVIP:        addr("10.244.1.2"), Backends: backends,
		}, {
			Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
			FrontendVIPs: []netip.Addr{addr("10.96.0.20")}, Protocol: lbpolicy.ProtocolTCP, InternalPort: 8080, ExternalPort: 80,
			Flags: lbpolicy.FlagDSR, SourceVIP: addr("10.244.1.2"), Backends: backends,
		}, {
			Service: "default/web", Kind: lbpolicy.KindHealthCheck, IPFamily: lbpolicy.IPv4,
			FrontendVIPs: []netip.Addr{addr("20.0.0.1")}, Protocol: lbpolicy.ProtocolTCP, InternalPort: 10256, ExternalPort: 10256,
			SourceVIP: addr("10.244.1.2"), Backends: []lbpolicy.Backend{{EndpointName: "cbr0"}},
		}},
		Endpoints: []lbpolicy.Endpoint{
			{IP: addr("10.96.0.20"), Remote: true, MACAddress: "00-15-5d-a1-b2-c3", ProviderAddress: addr("10.0.0.4")},
			{IP: addr("10.244.1.2"), MACAddress: "00-15-5d-a1-b2-c3"},
			{IP: addr("10.244.2.7"), Remote: true, MACAddress: "02-11-0a-f4-02-07", ProviderAddress: addr("10.0.0.5")},
		},
	}
}

func settings(pa string) json.RawMessage {
	s, _ := json.Marshal(hns.ProviderAddressEndpointPolicySetting{ProviderAddress: pa})
	return s
}

func remoteEP(id, ip, mac, pa string) hns.HostComputeEndpoint {
	return hns.HostComputeEndpoint{
		Id: id, HostComputeNetwork: netID, IpConfigurations: []hns.IpConfig{{IpAddress: ip}}, MacAddress: mac,
		Flags:    hns.EndpointFlagsRemoteEndpoint,
		Policies: []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: settings(pa)}},
	}
}

func localEP(id, name, ip string) hns.HostComputeEndpoint {
	ep := hns.HostComputeEndpoint{Id: id, Name: name, HostComputeNetwork: netID, MacAddress: "00-15-5D-01-02-03"}
	if ip != "" {
		ep.IpConfigurations = []hns.IpConfig{{IpAddress: ip}}
	}
	return ep
}

func hnsLB(id string, vip string, in, ext uint16, flags lbpolicy.LoadBalancerFlags, pmFlags lbpolicy.PortMappingFlags, eps ...string) hns.HostComputeLoadBalancer {
	lb := hns.HostComputeLoadBalancer{
		Id: id, HostComputeEndpoints: eps, SourceVIP: "10.244.1.2",
		PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: in, ExternalPort: ext, Flags: pmFlags}},
		SchemaVersion: hns.V2SchemaVersion(), Flags: flags,
	}
	if vip != "" {
		lb.FrontendVIPs = []string{vip}
	}
	return lb
}

// testDump is what HNS holds when it matches testPlan.
func testDump() Dump {
	return Dump{
		Networks: []hns.HostComputeNetwork{{Id: netID, Name: "net", Type: "Overlay"}},
		LoadBalancers: []hns.HostComputeLoadBalancer{
			hnsLB(idCIP, "10.96.0.20", 8080, 80, lbpolicy.FlagDSR, 0, idPod, idPeer),
			hnsLB(idNP, "", 8080, 30080, 0, lbpolicy.PortMappingLocalRoutedVIP|lbpolicy.PortMappingVipExternalIP, idPeer, idPod),
			hnsLB(idHC, "20.0.0.1", 10256, 10256, 0, 0, idRoot),
		},
		Endpoints: []hns.HostComputeEndpoint{
			localEP(idPod, "web-1", "10.244.1.5"),
			remoteEP(idPeer, "10.244.2.7", "02-11-0A-F4-02-07", "10.0.0.5"),
			localEP(idRoot, "cbr0", ""),
			remoteEP(idVIPEP, "10.96.0.20", "00-15-5D-A1-B2-C3", "10.0.0.4"),
			{Id: idSrc, HostComputeNetwork: netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.2"}}, MacAddress: "00-15-5D-A1-B2-C3"},
		},
	}
}

// testCluster is the cluster behind testPlan, plus Service default/db
// (clusterIP 10.96.0.30, node port 30300), for the hints.
func testCluster() *clusterIndex {
	node := "n1"
	services := []*corev1.Service{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
			HealthCheckNodePort: 32000},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "20.0.0.1"}}}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.30", Ports: []corev1.ServicePort{{Port: 5432, NodePort: 30300}}},
	}}
	slices := []*discovery.EndpointSlice{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-x", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		Endpoints: []discovery.Endpoint{
			{Addresses: []string{"10.244.1.5"}, NodeName: &node, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-1"}},
			{Addresses: []string{"10.244.2.7"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-2"}},
		},
	}}
	return newClusterIndex(services, slices)
}

// brief renders what does not match, one line per entry, for comparisons:
// "different IPv4/10.96.0.20/TCP/80: flags 1 DSR|0 None".
func brief(r report) []string {
	var out []string
	add := func(status, name, hint string, diffs []difference) {
		if status == statusMatch && hint == "" {
			return
		}
		var parts []string
		for _, d := range diffs {
			parts = append(parts, fmt.Sprintf("%s %s|%s", d.Field, d.Planned, d.HNS))
		}
		line := status + " " + name
		if hint != "" {
			line += " (" + hint + ")"
		}
		if len(parts) > 0 {
			line += ": " + strings.Join(parts, "; ")
		}
		out = append(out, line)
	}
	for _, lb := range r.LoadBalancers {
		add(lb.Status, lb.Key, lb.Hint, lb.Differences)
	}
	for _, ep := range r.Endpoints {
		add(ep.Status, ep.IP, ep.Hint, ep.Differences)
	}
	for _, d := range r.Diagnostics {
		out = append(out, "diagnostic "+string(d.Reason))
	}
	return out
}

func findLB(d *Dump, id string) *hns.HostComputeLoadBalancer {
	for i := range d.LoadBalancers {
		if d.LoadBalancers[i].Id == id {
			return &d.LoadBalancers[i]
		}
	}
	panic("no load balancer " + id)
}

func findEP(d *Dump, id string) *hns.HostComputeEndpoint {
	for i := range d.Endpoints {
		if d.Endpoints[i].Id == id {
			return &d.Endpoints[i]
		}
	}
	panic("no endpoint " + id)
}

func dropEP(d *Dump, id string) {
	d.Endpoints = slices.DeleteFunc(d.Endpoints, func(ep hns.HostComputeEndpoint) bool { return ep.Id == id })
}

const cip = "IPv4/10.96.0.20/TCP/80"

// lbCases drift testDump's load balancers; want is what the audit finds
// (brief).
var lbCases = []struct {
	name  string
	drift func(d *Dump)
	cidrs []netip.Prefix
	want  []string
}{
	{name: "in sync", drift: func(*Dump) {}},
	{name: "same content, other spellings", drift: func(d *Dump) {
		lb := findLB(d, idCIP)
		lb.SourceVIP, lb.FrontendVIPs = "::ffff:10.244.1.2", []string{"::ffff:10.96.0.20"}
		lb.HostComputeEndpoints = []string{strings.ToLower(idPeer), idPod, idPod}
		lb.SchemaVersion = hns.SchemaVersion{Major: 1}
		findEP(d, idPeer).MacAddress = "02:11:0a:f4:02:07"
	}},
	{name: "flags", drift: func(d *Dump) { findLB(d, idCIP).Flags = lbpolicy.FlagDSR | 8 },
		want: []string{"different " + cip + ": flags 1 DSR|9 DSR|0x8"}},
	{name: "port mapping", drift: func(d *Dump) {
		pm := &findLB(d, idCIP).PortMappings[0]
		pm.InternalPort, pm.Flags, pm.DistributionType = 9090, lbpolicy.PortMappingPreserveDIP, lbpolicy.DistributionSourceIP
	}, want: []string{"different " + cip + ": internalPort 8080|9090; portMappingFlags 0 None|8 PreserveDIP; distributionType 0 None|2 SourceIP"}},
	{name: "source VIP and a second VIP", drift: func(d *Dump) {
		lb := findLB(d, idCIP)
		lb.SourceVIP, lb.FrontendVIPs = "", append(lb.FrontendVIPs, "10.96.0.21")
	}, want: []string{"different " + cip + ": frontendVIPs 10.96.0.20|10.96.0.20, 10.96.0.21; sourceVIP 10.244.1.2|"}},
	{name: "two port mappings", drift: func(d *Dump) {
		lb := findLB(d, idCIP)
		lb.PortMappings = append(lb.PortMappings, hns.LoadBalancerPortMapping{Protocol: 17, InternalPort: 53, ExternalPort: 53})
	}, want: []string{"different " + cip + ": portMappings 1|2"}},
	{name: "stale and missing backends", drift: func(d *Dump) {
		d.Endpoints = append(d.Endpoints, remoteEP("00000005-0000-4000-8000-000000000000", "10.244.3.3", "02-11-0A-F4-03-03", "10.0.0.6"))
		findLB(d, idCIP).HostComputeEndpoints = []string{idPod, "00000005-0000-4000-8000-000000000000"}
	}, want: []string{
		"different " + cip + ": backends 10.244.2.7 (pod default/web-2, Service default/web)|; backends |10.244.3.3 (in no EndpointSlice)",
		"extra 10.244.3.3 (a backend of 1 HNS load balancer): remote |yes; macAddress |02-11-0a-f4-03-03; providerAddress |10.0.0.6",
	}},
	{name: "dangling ID, pod without endpoint", drift: func(d *Dump) { dropEP(d, idPod) }, want: []string{
		"different IPv4/*/TCP/30080: backends |endpoint " + idPod + " (dangling: HNS has no such endpoint); backends 10.244.1.5 (pod default/web-1, Service default/web) (no HNS endpoint)|",
		"different " + cip + ": backends |endpoint " + idPod + " (dangling: HNS has no such endpoint); backends 10.244.1.5 (pod default/web-1, Service default/web) (no HNS endpoint)|",
	}},
	{name: "root endpoint renamed", drift: func(d *Dump) { findEP(d, idRoot).Name = "cbr1" }, want: []string{
		"different IPv4/20.0.0.1/TCP/10256: backends <cbr0> (root endpoint) (no HNS endpoint)|; backends |<cbr1>",
	}},
	{name: "a remote endpoint where the pod's local one should be", drift: func(d *Dump) {
		d.Endpoints = append(d.Endpoints, remoteEP("00000006-0000-4000-8000-000000000000", "10.244.1.5", "02-11-0A-F4-01-05", "10.0.0.4"))
		findLB(d, idCIP).HostComputeEndpoints = []string{idPeer, "00000006-0000-4000-8000-000000000000"}
	}, want: []string{
		"different " + cip + ": backends 10.244.1.5 (pod default/web-1, Service default/web) [endpoint " + idPod + "]|; " +
			"backends |10.244.1.5 (pod default/web-1, Service default/web) [endpoint 00000006-0000-4000-8000-000000000000]",
		"extra 10.244.1.5 (a backend of 1 HNS load balancer): remote |yes; macAddress |02-11-0a-f4-01-05; providerAddress |10.0.0.4",
	}},
	{name: "missing", drift: func(d *Dump) { d.LoadBalancers = d.LoadBalancers[1:] }, want: []string{
		"missing " + cip + ": frontendVIPs 10.96.0.20|; internalPort 8080|; flags 1 DSR|; portMappingFlags 0 None|; distributionType 0 None|; " +
			"sourceVIP 10.244.1.2|; backends 10.244.1.5 (pod default/web-1, Service default/web)|; backends 10.244.2.7 (pod default/web-2, Service default/web)|",
	}},
	{name: "extras", cidrs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}, drift: func(d *Dump) {
		for i, f := range []struct {
			vip  string
			port uint16
		}{{"10.96.0.30", 80}, {"10.96.0.20", 443}, {"10.96.9.9", 80}, {"192.0.2.1", 80}, {"", 30300}, {"", 32000}, {"", 31000}, {"", 8080}} {
			d.LoadBalancers = append(d.LoadBalancers, hnsLB(fmt.Sprintf("1000000%d-0000-4000-8000-000000000000", i), f.vip, 80, f.port, 0, 0, idPod))
		}
		findLB(d, "10000000-0000-4000-8000-000000000000").HostComputeEndpoints = nil
	}, want: []string{
		"extra IPv4/*/TCP/8080 (foreign: no Service of the cluster has node port 8080): internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
		"extra IPv4/*/TCP/30300 (a Service's: 30300 is a NodePort port of default/db, but the plan has no load balancer for TCP port 30300): internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
		"extra IPv4/*/TCP/31000 (a Service's: node port 31000 is in the default NodePort range 30000-32767, but no Service of the cluster has it (a deleted Service's?)): internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
		"extra IPv4/*/TCP/32000 (a Service's: 32000 is a HealthCheck port of default/web, but the plan has no load balancer for TCP port 32000): internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
		"extra IPv4/10.96.0.20/TCP/443 (a Service's: 10.96.0.20 is a ClusterIP of default/web, but the plan has no load balancer for TCP port 443): frontendVIPs |10.96.0.20; internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
		"extra IPv4/10.96.0.30/TCP/80 (a Service's: 10.96.0.30 is a ClusterIP of default/db, but the plan has no load balancer for TCP port 80): frontendVIPs |10.96.0.30; internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2",
		"extra IPv4/10.96.9.9/TCP/80 (a Service's: 10.96.9.9 is in the Service CIDR 10.96.0.0/12, but no Service of the cluster has it (a deleted Service's?)): frontendVIPs |10.96.9.9; internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
		"extra IPv4/192.0.2.1/TCP/80 (foreign: 192.0.2.1 is no Service IP of the cluster (clusterIP, externalIP or load-balancer ingress IP)): frontendVIPs |192.0.2.1; internalPort |80; flags |0 None; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; backends |10.244.1.5 (pod default/web-1, Service default/web)",
	}},
	{name: "without a key, and a second with one key", drift: func(d *Dump) {
		d.LoadBalancers = append(d.LoadBalancers,
			hns.HostComputeLoadBalancer{Id: "20000000-0000-4000-8000-000000000000", FrontendVIPs: []string{"10.96.0.20"}},
			hns.HostComputeLoadBalancer{Id: "30000000-0000-4000-8000-000000000000", FrontendVIPs: []string{"ten"}, PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6}}},
			hnsLB("FF000000-0000-4000-8000-000000000000", "10.96.0.20", 8080, 80, lbpolicy.FlagDSR, 0, idPod, idPeer))
	}, want: []string{
		"extra " + cip + " (a second HNS load balancer with the key of " + idCIP + "): frontendVIPs |10.96.0.20; internalPort |8080; flags |1 DSR; portMappingFlags |0 None; distributionType |0 None; sourceVIP |10.244.1.2; " +
			"backends |10.244.1.5 (pod default/web-1, Service default/web); backends |10.244.2.7 (pod default/web-2, Service default/web)",
		"extra  (foreign: no port mapping, so no Service frontend): frontendVIPs |10.96.0.20; flags |0 None; portMappings |0",
		`extra  (foreign: frontend VIP "ten" is not an IP address): frontendVIPs |"ten"; internalPort |0; flags |0 None; portMappingFlags |0 None; distributionType |0 None`,
	}},
}

func TestCompareLoadBalancers(t *testing.T) {
	for _, tt := range lbCases {
		t.Run(tt.name, func(t *testing.T) {
			plan, d := testPlan(), testDump()
			tt.drift(&d)
			r := compare(&plan, testNode, testCluster(), tt.cidrs, &d)
			if diff := cmp.Diff(tt.want, brief(r)); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
			if r.differs() != (len(tt.want) > 0) {
				t.Errorf("differs() = %v with %d findings", r.differs(), len(tt.want))
			}
		})
	}
}

func TestCompareEndpoints(t *testing.T) {
	const other = "0000000F-0000-4000-8000-000000000000"
	tests := []struct {
		name  string
		node  func(n *lbpolicy.Node)
		drift func(d *Dump)
		want  []string
	}{
		{name: "remote endpoint missing", drift: func(d *Dump) { dropEP(d, idVIPEP) }, want: []string{
			"missing 10.96.0.20: remote yes|; macAddress 00-15-5d-a1-b2-c3|; providerAddress 10.0.0.4|",
		}},
		{name: "MAC and provider address", drift: func(d *Dump) {
			ep := findEP(d, idPeer)
			ep.MacAddress, ep.Policies[0].Settings = "02-11-0A-F4-02-08", settings("10.0.0.6")
		}, want: []string{"different 10.244.2.7: macAddress 02-11-0a-f4-02-07|02-11-0a-f4-02-08; providerAddress 10.0.0.5|10.0.0.6"}},
		{name: "unreadable policy", drift: func(d *Dump) { findEP(d, idPeer).Policies[0].Settings = json.RawMessage(`"x"`) },
			want: []string{"different 10.244.2.7: providerAddress 10.0.0.5|(unreadable ProviderAddress policy)"}},
		{name: "the source-VIP endpoint made remote", drift: func(d *Dump) {
			*findEP(d, idSrc) = remoteEP(idSrc, "10.244.1.2", "00-15-5D-A1-B2-C3", "10.0.0.4")
		}, want: []string{"different 10.244.1.2: remote no|yes; providerAddress |10.0.0.4"}},
		{name: "a local endpoint serves for the remote one", drift: func(d *Dump) {
			*findEP(d, idPeer) = localEP(idPeer, "web-2", "10.244.2.7")
		}, want: []string{"match 10.244.2.7 (a local endpoint has this IP and serves in place of the planned remote one)"}},
		{name: "extra remote endpoints, one on another network", drift: func(d *Dump) {
			d.Endpoints = append(d.Endpoints, remoteEP("00000007-0000-4000-8000-000000000000", "10.244.9.9", "02-11-0A-F4-09-09", "10.0.0.9"))
			ep := remoteEP("00000008-0000-4000-8000-000000000000", "10.244.9.8", "02-11-0A-F4-09-08", "10.0.0.9")
			ep.HostComputeNetwork = other
			d.Endpoints = append(d.Endpoints, ep)
		}, want: []string{"extra 10.244.9.9 (no HNS load balancer uses it): remote |yes; macAddress |02-11-0a-f4-09-09; providerAddress |10.0.0.9"}},
		{name: "network not in the dump", drift: func(d *Dump) { d.Networks[0].Name = "other" }, want: []string{"diagnostic NetworkNotInDump"}},
		{name: "no network in the dump", drift: func(d *Dump) { d.Networks = nil }, want: []string{"diagnostic NoNetwork"}},
		{name: "node without network", node: func(n *lbpolicy.Node) { n.NetworkName = "" }, drift: func(*Dump) {}, want: []string{"diagnostic NoNetwork"}},
		// An endpoint on another network is not the node's: missing on
		// "net", and not extra.
		{name: "the network's endpoints only", drift: func(d *Dump) {
			d.Networks = append(d.Networks, hns.HostComputeNetwork{Id: other, Name: "nat"})
			findEP(d, idVIPEP).HostComputeNetwork = other
		}, want: []string{"missing 10.96.0.20: remote yes|; macAddress 00-15-5d-a1-b2-c3|; providerAddress 10.0.0.4|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, d, node := testPlan(), testDump(), testNode
			if tt.node != nil {
				tt.node(&node)
			}
			tt.drift(&d)
			r := compare(&plan, node, testCluster(), nil, &d)
			if diff := cmp.Diff(tt.want, brief(r)); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
		})
	}
}

// Every field of the HNS schema is compared, or deliberately not: a field
// added to the schema fails this test until it is classified.
func TestEveryFieldCovered(t *testing.T) {
	lbCases := map[string]func(lb *hns.HostComputeLoadBalancer){
		"HostComputeEndpoints": func(lb *hns.HostComputeLoadBalancer) { lb.HostComputeEndpoints = lb.HostComputeEndpoints[:1] },
		"SourceVIP":            func(lb *hns.HostComputeLoadBalancer) { lb.SourceVIP = "10.244.1.3" },
		"FrontendVIPs":         func(lb *hns.HostComputeLoadBalancer) { lb.FrontendVIPs = []string{"10.96.0.21"} }, // the key: missing + extra
		"PortMappings":         func(lb *hns.HostComputeLoadBalancer) { lb.PortMappings = nil },
		"Flags":                func(lb *hns.HostComputeLoadBalancer) { lb.Flags = 0 },
		"Id":                   nil, // not compared
		"SchemaVersion":        nil, // not compared
	}
	pmCases := map[string]func(pm *hns.LoadBalancerPortMapping){
		"Protocol":         func(pm *hns.LoadBalancerPortMapping) { pm.Protocol = 17 }, // the key
		"InternalPort":     func(pm *hns.LoadBalancerPortMapping) { pm.InternalPort = 1 },
		"ExternalPort":     func(pm *hns.LoadBalancerPortMapping) { pm.ExternalPort = 1 }, // the key
		"DistributionType": func(pm *hns.LoadBalancerPortMapping) { pm.DistributionType = 1 },
		"Flags":            func(pm *hns.LoadBalancerPortMapping) { pm.Flags = 1 },
	}
	epCases := map[string]func(ep *hns.HostComputeEndpoint){
		"Policies":           func(ep *hns.HostComputeEndpoint) { ep.Policies = nil },
		"IpConfigurations":   func(ep *hns.HostComputeEndpoint) { ep.IpConfigurations[0].IpAddress = "10.244.2.8" }, // identity: missing + extra
		"MacAddress":         func(ep *hns.HostComputeEndpoint) { ep.MacAddress = "02-11-00-00-00-00" },
		"Flags":              func(ep *hns.HostComputeEndpoint) { ep.Flags = 0 },                        // a local endpoint serves: a hint
		"HostComputeNetwork": func(ep *hns.HostComputeEndpoint) { ep.HostComputeNetwork = "elsewhere" }, // off the network: missing
		"Id":                 nil,                                                                       // not compared (load balancers name it; see the backends)
		"Name":               nil,                                                                       // compared only for the root endpoint of HealthCheck load balancers
		"SchemaVersion":      nil,
	}
	check := func(what string, typ reflect.Type, fields []string) {
		var all []string
		for i := range typ.NumField() {
			all = append(all, typ.Field(i).Name)
		}
		sort.Strings(all)
		sort.Strings(fields)
		if diff := cmp.Diff(all, fields); diff != "" {
			t.Errorf("%s fields not classified by this test (-schema +test):\n%s", what, diff)
		}
	}
	// audit reports whether the audit says anything: a finding, or a hint.
	audit := func(drift func(d *Dump)) bool {
		plan, d := testPlan(), testDump()
		drift(&d)
		r := compare(&plan, testNode, testCluster(), nil, &d)
		return len(brief(r)) > 0
	}
	check("HostComputeLoadBalancer", reflect.TypeOf(hns.HostComputeLoadBalancer{}), keys(lbCases))
	for field, change := range lbCases {
		want := change != nil
		if change == nil {
			change = func(lb *hns.HostComputeLoadBalancer) {
				lb.Id, lb.SchemaVersion = "EE000000-0000-4000-8000-000000000000", hns.SchemaVersion{}
			}
		}
		if got := audit(func(d *Dump) { change(findLB(d, idCIP)) }); got != want {
			t.Errorf("HostComputeLoadBalancer.%s changed: differs %v, want %v", field, got, want)
		}
	}
	check("LoadBalancerPortMapping", reflect.TypeOf(hns.LoadBalancerPortMapping{}), keys(pmCases))
	for field, change := range pmCases {
		if !audit(func(d *Dump) { change(&findLB(d, idCIP).PortMappings[0]) }) {
			t.Errorf("LoadBalancerPortMapping.%s changed: no difference found", field)
		}
	}
	check("HostComputeEndpoint", reflect.TypeOf(hns.HostComputeEndpoint{}), keys(epCases))
	for field, change := range epCases {
		want := change != nil
		if change == nil {
			change = func(ep *hns.HostComputeEndpoint) { ep.Name, ep.SchemaVersion = "renamed", hns.V2SchemaVersion() }
		}
		if got := audit(func(d *Dump) { change(findEP(d, idPeer)) }); got != want {
			t.Errorf("HostComputeEndpoint.%s changed: differs %v, want %v", field, got, want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDescribe(t *testing.T) {
	c := testCluster()
	tests := map[string]string{
		"10.244.1.5": "10.244.1.5 (pod default/web-1, Service default/web)",
		"10.244.9.9": "10.244.9.9",
	}
	for ip, want := range tests {
		if got := c.describe(addr(ip)); got != want {
			t.Errorf("describe(%s) = %q, want %q", ip, got, want)
		}
	}
}
