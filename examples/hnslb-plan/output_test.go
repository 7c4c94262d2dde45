package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/lbpolicy"
)

var testNode = lbpolicy.Node{
	Name: "n1", NodeIPs: []string{"10.0.0.4", "fd00::4"}, NetworkType: lbpolicy.L2Bridge,
	HostMAC: "00:15:5D:00:00:01",
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func ipBackends(ips ...string) []lbpolicy.Backend {
	out := make([]lbpolicy.Backend, len(ips))
	for i, ip := range ips {
		out[i] = lbpolicy.Backend{IP: addr(ip)}
	}
	return out
}

// handPlan exercises what the sample cannot: unknown flag bits and
// protocols, IPv6, long backend lists, hostile text.
func handPlan() lbpolicy.Plan {
	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprintf("10.244.2.%d", 100+i))
	}
	return lbpolicy.Plan{
		LoadBalancers: []lbpolicy.LoadBalancer{{
			Service: "ns/wide", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
			FrontendVIPs: []netip.Addr{addr("10.96.0.20")}, Protocol: lbpolicy.ProtocolTCP, InternalPort: 8080, ExternalPort: 80,
			Flags: lbpolicy.FlagDSR | 0x10, PortMappingFlags: lbpolicy.PortMappingILB, DistributionType: lbpolicy.DistributionSourceIPProtocol,
			Backends: ipBackends(many...),
		}, {
			Service: "ns/v6", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv6,
			Protocol: 132, InternalPort: 9000, ExternalPort: 30900,
			Flags: lbpolicy.FlagIPv6, PortMappingFlags: lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP,
			DistributionType: 7, Backends: ipBackends("fd00:10:244:1::5"),
		}, {
			Service: "ns/v6", Kind: lbpolicy.KindHealthCheck, IPFamily: lbpolicy.IPv6,
			FrontendVIPs: []netip.Addr{addr("2001:db8::10")}, Protocol: lbpolicy.ProtocolTCP, InternalPort: 10256, ExternalPort: 10256,
			Flags: lbpolicy.FlagIPv6, Backends: []lbpolicy.Backend{{EndpointName: "cbr0"}},
		}},
		Endpoints: []lbpolicy.Endpoint{
			{IP: addr("10.96.0.30"), Remote: true, MACAddress: "00-15-5d-00-00-01", ProviderAddress: addr("10.0.0.4")},
			{IP: addr("10.244.2.100"), Remote: true, MACAddress: "02-11-0a-f4-02-64"},
		},
		Diagnostics: []lbpolicy.Diagnostic{{
			Severity: lbpolicy.SeverityWarning, Object: "Service ns/evil\tname", Reason: "Odd",
			Message: "line one\nline two\x1b[31m",
		}},
	}
}

const handTable = `NODE n1, L2Bridge, node IPs 10.0.0.4, fd00::4, HNS newest, DSR off

LOAD BALANCERS (3)

#1  ClusterIP  ns/wide:http
    key             IPv4/10.96.0.20/TCP/80
    frontend        IPv4 TCP 10.96.0.20:80 -> 8080
    flags           17 DSR|0x10
    port mapping    1 ILB
    distribution    1 SourceIPProtocol
    source VIP      -
    backends (20)   10.244.2.100, 10.244.2.101 (local), 10.244.2.102 (local), 10.244.2.103 (local),
                    10.244.2.104 (local), 10.244.2.105 (local), 10.244.2.106 (local), 10.244.2.107 (local),
                    10.244.2.108 (local), 10.244.2.109 (local), 10.244.2.110 (local), 10.244.2.111 (local),
                    10.244.2.112 (local), 10.244.2.113 (local), 10.244.2.114 (local), 10.244.2.115 (local),
                    10.244.2.116 (local), 10.244.2.117 (local), 10.244.2.118 (local), 10.244.2.119 (local)

#2  NodePort  ns/v6
    key             IPv6/*/132/30900
    frontend        IPv6 132 (all node IPs):30900 -> 9000
    flags           2 IPv6
    port mapping    18 LocalRoutedVIP|VipExternalIP
    distribution    7 (unknown)
    source VIP      -
    backends (1)    fd00:10:244:1::5 (local)

#3  HealthCheck  ns/v6
    key             IPv6/2001:db8::10/TCP/10256
    frontend        IPv6 TCP [2001:db8::10]:10256 -> 10256
    flags           2 IPv6
    port mapping    0 None
    distribution    0 None
    source VIP      -
    backends (1)    <cbr0> (root endpoint)

ENDPOINTS (2)

IP            TYPE    MAC                PROVIDER ADDRESS  ROLE
10.96.0.30    remote  00-15-5d-00-00-01  10.0.0.4          ClusterIP (no load balancer)
10.244.2.100  remote  02-11-0a-f4-02-64  -                 backend of 1 LB

DIAGNOSTICS (1)

SEVERITY  OBJECT                REASON  MESSAGE
warning   Service ns/evil name  Odd     line one line two [31m
`

func TestWriteTable(t *testing.T) {
	var out bytes.Buffer
	if err := writeTable(&out, testNode, handPlan()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Split(handTable, "\n"), strings.Split(out.String(), "\n")); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	for i, line := range strings.Split(out.String(), "\n") {
		if len(line) > 120 && !strings.HasPrefix(line, "warning") {
			t.Errorf("line %d is %d columns wide: %q", i+1, len(line), line)
		}
	}
}

func TestWriteTableEmpty(t *testing.T) {
	var out bytes.Buffer
	if err := writeTable(&out, testNode, lbpolicy.Plan{}); err != nil {
		t.Fatal(err)
	}
	want := `NODE n1, L2Bridge, node IPs 10.0.0.4, fd00::4, HNS newest, DSR off

LOAD BALANCERS (0)

    (none)

ENDPOINTS (0)

    (none)

DIAGNOSTICS (0)

    (none)
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	var out bytes.Buffer
	if err := writeJSON(&out, lbpolicy.Plan{}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"loadBalancers\": [],\n  \"endpoints\": [],\n  \"diagnostics\": []\n}\n"
	if out.String() != want {
		t.Errorf("empty plan:\n got %q\nwant %q", out.String(), want)
	}

	out.Reset()
	p := handPlan()
	p.LoadBalancers[0].Backends = nil // not a valid plan, but must not print null
	if err := writeJSON(&out, p); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"frontendVIPs": [],`, `"backends": []`, `"<cbr0>"`, `"sourceVIP": "",`, `"providerAddress": ""`, "\n}\n",
		`"key": "IPv4/10.96.0.20/TCP/80",`, `"flagNames": [
        "DSR",
        "0x10"
      ],`, `"portMappingFlagNames": [
        "LocalRoutedVIP",
        "VipExternalIP"
      ],`, `"portMappingFlagNames": [],`, `"distributionTypeName": "SourceIPProtocol"`, `"distributionTypeName": ""`} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("JSON does not contain %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "null") {
		t.Errorf("JSON contains null:\n%s", out.String())
	}
	if p.LoadBalancers[1].FrontendVIPs != nil {
		t.Error("writeJSON modified the plan")
	}
}
