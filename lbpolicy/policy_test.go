package lbpolicy_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// lbSummary is "Kind backend,backend" per load balancer, for tests that
// are about which backends each kind gets.
func lbSummary(p lbpolicy.Plan) []string {
	var out []string
	for _, lb := range p.LoadBalancers {
		var bs []string
		for _, b := range lb.Backends {
			bs = append(bs, b.String())
		}
		out = append(out, fmt.Sprintf("%s %s", lb.Kind, strings.Join(bs, ",")))
	}
	sort.Strings(out)
	return out
}

// TestTerminatingFallback walks the KEP-1669 transitions for a Service with
// externalTrafficPolicy Local, whose ClusterIP uses the cluster set and
// whose external kinds use the local set (KEP-5100's Windows DSR
// exceptions: only local endpoints count for the local set).
func TestTerminatingFallback(t *testing.T) {
	svc := service("web", svcType(corev1.ServiceTypeLoadBalancer), etpLocal,
		ports(tcpPort("http", 80, 30080)), ingress("198.51.100.7"))
	l1 := ep{ip: "10.244.1.11", node: thisNode}
	l2 := ep{ip: "10.244.1.12", node: thisNode}
	r1 := ep{ip: "10.244.2.21", node: "win-2"}
	term := func(e ep) ep { e.terminating = true; return e }
	gone := func(e ep) ep { e.terminating = true; e.notServing = true; return e }
	unready := func(e ep) ep { e.notReady = true; return e }

	tests := []struct {
		name string
		eps  []ep
		want []string
	}{
		{"all ready", []ep{l1, r1},
			[]string{"ClusterIP 10.244.1.11,10.244.2.21", "Ingress 10.244.1.11", "NodePort 10.244.1.11"}},
		{"some terminating: only ready endpoints", []ep{term(l1), l2, r1},
			[]string{"ClusterIP 10.244.1.12,10.244.2.21", "Ingress 10.244.1.12", "NodePort 10.244.1.12"}},
		{"all terminating but serving: traffic keeps draining to them", []ep{term(l1), term(r1)},
			[]string{"ClusterIP 10.244.1.11,10.244.2.21", "Ingress 10.244.1.11", "NodePort 10.244.1.11"}},
		{"none serving: no load balancers", []ep{gone(l1), gone(r1)}, nil},
		{"local set falls back on its own: remote ready, local only terminating", []ep{term(l1), r1},
			[]string{"ClusterIP 10.244.2.21", "Ingress 10.244.1.11", "NodePort 10.244.1.11"}},
		{"unready (not terminating) endpoints are never used, unlike winkernel", []ep{unready(l1), r1},
			[]string{"ClusterIP 10.244.2.21"}},
		{"terminating but not serving is not a fallback", []ep{gone(l1), term(l2)},
			[]string{"ClusterIP 10.244.1.12", "Ingress 10.244.1.12", "NodePort 10.244.1.12"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompute(t, l2bridge(), []*corev1.Service{svc}, v4slice("web", 8080, tc.eps...))
			if diff := cmp.Diff(tc.want, lbSummary(p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTopology covers topology hints: applied to the cluster set only,
// only when every ready endpoint has them and one names this node or zone.
func TestTopology(t *testing.T) {
	svc := service("web", svcType(corev1.ServiceTypeNodePort), etpLocal, ports(tcpPort("http", 80, 30080)))
	zoned := func(e ep, zones ...string) ep { e.zones = zones; return e }
	noded := func(e ep, nodes ...string) ep { e.nodes = nodes; return e }
	l1 := ep{ip: "10.244.1.11", node: thisNode}
	r1 := ep{ip: "10.244.2.21", node: "win-2"}
	r2 := ep{ip: "10.244.3.31", node: "win-3"}

	tests := []struct {
		name           string
		preferSameNode *bool
		eps            []ep
		want           []string
	}{
		{"no hints: every endpoint", nil, []ep{l1, r1},
			[]string{"ClusterIP 10.244.1.11,10.244.2.21", "NodePort 10.244.1.11"}},
		{"zone hints: same-zone endpoints", nil, []ep{zoned(l1, "zone-a"), zoned(r1, "zone-a"), zoned(r2, "zone-b")},
			[]string{"ClusterIP 10.244.1.11,10.244.2.21", "NodePort 10.244.1.11"}},
		{"partial zone hints: no filtering", nil, []ep{zoned(l1, "zone-a"), r1},
			[]string{"ClusterIP 10.244.1.11,10.244.2.21", "NodePort 10.244.1.11"}},
		{"hints name other zones only: no filtering", nil, []ep{zoned(r1, "zone-b"), zoned(r2, "zone-c")},
			[]string{"ClusterIP 10.244.2.21,10.244.3.31"}},
		{"node hints (PreferSameNode): this node's endpoints", nil,
			[]ep{noded(zoned(l1, "zone-a"), thisNode), noded(zoned(r1, "zone-a"), "win-2")},
			[]string{"ClusterIP 10.244.1.11", "NodePort 10.244.1.11"}},
		{"node hints with the gate off: zone hints decide", ptr(false),
			[]ep{noded(zoned(l1, "zone-a"), thisNode), noded(zoned(r1, "zone-a"), "win-2")},
			[]string{"ClusterIP 10.244.1.11,10.244.2.21", "NodePort 10.244.1.11"}},
		{"unready endpoints without hints do not disable topology", nil,
			[]ep{zoned(l1, "zone-a"), zoned(r1, "zone-b"), {ip: "10.244.3.39", node: "win-3", notReady: true}},
			[]string{"ClusterIP 10.244.1.11", "NodePort 10.244.1.11"}},
		{"serving-terminating fallback ignores topology", nil,
			[]ep{{ip: "10.244.2.21", node: "win-2", terminating: true, zones: []string{"zone-b"}},
				{ip: "10.244.3.31", node: "win-3", terminating: true, zones: []string{"zone-a"}}},
			[]string{"ClusterIP 10.244.2.21,10.244.3.31"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := with(l2bridge(), func(n *lbpolicy.Node) { n.PreferSameTrafficDistribution = tc.preferSameNode })
			p := mustCompute(t, n, []*corev1.Service{svc}, v4slice("web", 8080, tc.eps...))
			if diff := cmp.Diff(tc.want, lbSummary(p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyMatrix checks the rows of docs/semantics.md §4.2 over every combination of
// network, family, DSR, traffic policies and preserve-destination, for a
// LoadBalancer Service with a node port, an external IP and an ingress IP,
// one local and one remote endpoint. The expectations are the table's
// words, one line per column.
func TestPolicyMatrix(t *testing.T) {
	type famSetup struct {
		family                     lbpolicy.IPFamily
		nodeIP, svip, clusterIP    string
		extIP, ingIP, local, remot string
		subnet, pa                 string
	}
	fams := []famSetup{
		{lbpolicy.IPv4, "10.0.0.4", "10.244.1.2", "10.96.0.10", "192.0.2.50", "198.51.100.7", "10.244.1.10", "10.244.2.20", "10.244.2.0/24", "10.0.0.5"},
		{lbpolicy.IPv6, "fd00::4", "fd00:244:1::2", "fd00:96::10", "2001:db8::50", "2001:db8::7", "fd00:244:1::10", "fd00:244:2::20", "fd00:244:2::/64", "fd00::5"},
	}
	for _, netType := range []lbpolicy.NetworkType{lbpolicy.L2Bridge, lbpolicy.Overlay} {
		for _, f := range fams {
			for _, enableDSR := range []bool{false, true} {
				for _, etp := range []bool{false, true} {
					for _, itp := range []bool{false, true} {
						for _, pd := range []bool{false, true} {
							name := fmt.Sprintf("%s/%s/dsr=%v/etpLocal=%v/itpLocal=%v/preserveDest=%v", netType, f.family, enableDSR, etp, itp, pd)
							t.Run(name, func(t *testing.T) {
								n := lbpolicy.Node{
									Name: thisNode, NodeIPs: []string{f.nodeIP}, NetworkType: netType,
									EnableDSR: enableDSR, ForwardHealthCheckVIP: true,
								}
								if netType == lbpolicy.Overlay {
									n.SourceVIPs = []string{f.svip}
									n.HostMAC = "00-15-5d-00-00-01"
									n.RemoteSubnets = []lbpolicy.RemoteSubnet{{DestinationPrefix: f.subnet, ProviderAddress: f.pa}}
								}
								opts := []svcOpt{svcType(corev1.ServiceTypeLoadBalancer), clusterIPs(f.clusterIP),
									ports(tcpPort("http", 80, 30080)), externalIPs(f.extIP), ingress(f.ingIP), healthCheckNodePort(32000)}
								if etp {
									opts = append(opts, etpLocal)
								}
								if itp {
									opts = append(opts, itpLocal)
								}
								if pd {
									opts = append(opts, annotation("preserve-destination", "true"))
								}
								addrType := discovery.AddressTypeIPv4
								if f.family == lbpolicy.IPv6 {
									addrType = discovery.AddressTypeIPv6
								}
								sl := epSlice("web", "web-1", addrType, map[string]int32{"http": 8080},
									ep{ip: f.local, node: thisNode}, ep{ip: f.remot, node: "win-2"})
								p := mustCompute(t, n, []*corev1.Service{service("web", opts...)}, sl)

								both := f.local + "," + f.remot
								if addr(f.remot).Less(addr(f.local)) {
									both = f.remot + "," + f.local
								}
								set := func(local bool) string {
									if local {
										return f.local
									}
									return both
								}
								var fam lbpolicy.LoadBalancerFlags
								if f.family == lbpolicy.IPv6 {
									fam = ipv6
								}
								flag := func(on bool) lbpolicy.LoadBalancerFlags {
									if on {
										return fam | dsr
									}
									return fam
								}
								svip := ""
								if netType == lbpolicy.Overlay {
									svip = f.svip
								}
								ingPM, hcPM := pmExt, lbpolicy.PortMappingFlags(0)
								if pd {
									ingPM, hcPM = pmPDIng, pmPDHC
								}
								hcPort := uint16(32000)
								want := map[lbpolicy.Kind]string{
									//                               LB flags            port mapping   backends
									lbpolicy.KindClusterIP:   row(flag(enableDSR), 0, set(itp), svip, 80),
									lbpolicy.KindNodePort:    row(flag(etp), pmNode, set(etp || pd), svip, 30080),
									lbpolicy.KindExternalIP:  row(flag(etp), pmExt, set(etp), svip, 80),
									lbpolicy.KindIngress:     row(flag(etp || pd), ingPM, set(etp || pd), svip, 80),
									lbpolicy.KindHealthCheck: row(flag(false), hcPM, "<cbr0>", svip, hcPort),
								}
								got := map[lbpolicy.Kind]string{}
								for _, lb := range p.LoadBalancers {
									var bs []string
									for _, b := range lb.Backends {
										bs = append(bs, b.String())
									}
									sv := ""
									if lb.SourceVIP.IsValid() {
										sv = lb.SourceVIP.String()
									}
									if lb.IPFamily != f.family {
										t.Errorf("%s: family %s", lb.Kind, lb.IPFamily)
									}
									got[lb.Kind] = row(lb.Flags, lb.PortMappingFlags, strings.Join(bs, ","), sv, lb.ExternalPort)
								}
								if diff := cmp.Diff(want, got); diff != "" {
									t.Errorf("(-want +got):\n%s", diff)
								}
							})
						}
					}
				}
			}
		}
	}
}

func row(f lbpolicy.LoadBalancerFlags, pm lbpolicy.PortMappingFlags, backends, svip string, port uint16) string {
	return fmt.Sprintf("flags=%d pm=%d port=%d svip=%q backends=%s", f, pm, port, svip, backends)
}

func TestCapabilities(t *testing.T) {
	many := func(n int) []ep {
		var out []ep
		for i := 0; i < n; i++ {
			out = append(out, ep{ip: fmt.Sprintf("10.244.%d.%d", 2+i/200, 10+i%200), node: "win-2"})
		}
		return out
	}
	t.Run("WS2019: more than 64 backends without DSR are cut to 64", func(t *testing.T) {
		n := with(l2bridge(), func(n *lbpolicy.Node) { n.HNSVersion = "10.3" })
		p := mustCompute(t, n, []*corev1.Service{service("web")}, v4slice("web", 8080, many(70)...))
		if len(p.LoadBalancers) != 1 || len(p.LoadBalancers[0].Backends) != 64 {
			t.Fatalf("want one LB with 64 backends, got %v", lbSummary(p))
		}
		if len(p.Endpoints) != 64 {
			t.Errorf("want 64 remote endpoints (only for kept backends), got %d", len(p.Endpoints))
		}
		if diff := cmp.Diff([]string{"warning Service default/web:http TooManyBackends"}, reasons(p)); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("WS2019: a DSR load balancer keeps every backend", func(t *testing.T) {
		n := with(l2bridge(), func(n *lbpolicy.Node) { n.HNSVersion = "10.3"; n.EnableDSR = true })
		p := mustCompute(t, n, []*corev1.Service{service("web")}, v4slice("web", 8080, many(70)...))
		if len(p.LoadBalancers) != 1 || len(p.LoadBalancers[0].Backends) != 70 || p.LoadBalancers[0].Flags != dsr {
			t.Fatalf("want one DSR LB with 70 backends, got %+v", p.LoadBalancers)
		}
	})
	t.Run("no IPv6 before HNS 11.10: IPv4 only, an error diagnostic", func(t *testing.T) {
		n := with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.HNSVersion = "11.9" })
		p := mustCompute(t, n, []*corev1.Service{service("web", clusterIPs("10.96.0.10", "fd00:96::10"))},
			v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode}), v6slice("web", 8080, ep{ip: "fd00:244:1::10", node: thisNode}))
		if diff := cmp.Diff([]string{"ClusterIP 10.244.1.10"}, lbSummary(p)); diff != "" {
			t.Error(diff)
		}
		if diff := cmp.Diff([]string{"error Node win-1 IPv6Unsupported"}, reasons(p)); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("no session affinity before HNS 12.0", func(t *testing.T) {
		n := with(l2bridge(), func(n *lbpolicy.Node) { n.HNSVersion = "11.10" })
		p := mustCompute(t, n, []*corev1.Service{service("web", clientIPAffinity(0))}, v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode}))
		if p.LoadBalancers[0].DistributionType != lbpolicy.DistributionNone {
			t.Errorf("distribution %v, want None", p.LoadBalancers[0].DistributionType)
		}
		if diff := cmp.Diff([]string{"warning Service default/web SessionAffinityUnsupported"}, reasons(p)); diff != "" {
			t.Error(diff)
		}
	})
}

func TestCapabilityTable(t *testing.T) {
	tests := []struct {
		v    string
		want lbpolicy.Capabilities
	}{
		{"9.2", lbpolicy.Capabilities{MaxNonDSRBackends: 64}},
		{"9.3", lbpolicy.Capabilities{DSR: true, MaxNonDSRBackends: 64}},
		{"10.1", lbpolicy.Capabilities{MaxNonDSRBackends: 64}},
		{"10.2", lbpolicy.Capabilities{DSR: true, MaxNonDSRBackends: 64}},
		{"11.10", lbpolicy.Capabilities{DSR: true, IPv6: true, MaxNonDSRBackends: 64}},
		{"12.0", lbpolicy.Capabilities{DSR: true, IPv6: true, SessionAffinity: true}},
		{"15.4", lbpolicy.Capabilities{DSR: true, IPv6: true, SessionAffinity: true}},
		{"15.5", lbpolicy.Capabilities{DSR: true, IPv6: true, SessionAffinity: true, Modify: true}},
		{"16.0", lbpolicy.Capabilities{DSR: true, IPv6: true, SessionAffinity: true, Modify: true}},
		{"15.5.1234", lbpolicy.Capabilities{DSR: true, IPv6: true, SessionAffinity: true, Modify: true}},
	}
	for _, tc := range tests {
		v, err := lbpolicy.ParseVersion(tc.v)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", tc.v, err)
		}
		if diff := cmp.Diff(tc.want, v.Capabilities()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.v, diff)
		}
	}
	for _, bad := range []string{"", "15", "x.y", "15.-1", "1.2.3.4.5"} {
		if _, err := lbpolicy.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) succeeded", bad)
		}
	}
}

func TestHealthCheckSharing(t *testing.T) {
	n := with(l2bridge(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true })
	lb := func(name, cip string, ps ...corev1.ServicePort) *corev1.Service {
		return service(name, svcType(corev1.ServiceTypeLoadBalancer), clusterIPs(cip), ports(ps...), ingress("198.51.100.7"))
	}
	local := ep{ip: "10.244.1.10", node: thisNode}
	p := mustCompute(t, n,
		[]*corev1.Service{
			lb("a", "10.96.0.10", tcpPort("http", 80, 0), tcpPort("https", 443, 0)),
			lb("b", "10.96.0.11", tcpPort("dns", 53, 0)),
		},
		epSlice("a", "a-1", discovery.AddressTypeIPv4, map[string]int32{"http": 8080, "https": 8443}, local),
		epSlice("b", "b-1", discovery.AddressTypeIPv4, map[string]int32{"dns": 5353}, local),
	)
	var hc []lbpolicy.LoadBalancer
	for _, l := range p.LoadBalancers {
		if l.Kind == lbpolicy.KindHealthCheck {
			hc = append(hc, l)
		}
	}
	if len(hc) != 1 || hc[0].Service != "default/a" {
		t.Errorf("want one health-check LB (first Service's) for the shared IP, got %+v", hc)
	}
	if diff := cmp.Diff([]string{}, reasons(p), planOpts); diff != "" {
		t.Errorf("identical health-check LBs are not a conflict: %s", diff)
	}
}

func TestNodeValidation(t *testing.T) {
	tests := []struct {
		name   string
		node   lbpolicy.Node
		fields []string
	}{
		{"empty", lbpolicy.Node{}, []string{"nodeName", "networkType", "nodeIPs"}},
		{"bad addresses", with(overlay(), func(n *lbpolicy.Node) {
			n.NodeIPs = []string{"10.0.0.300"}
			n.SourceVIPs = []string{"nope"}
			n.HostMAC = "00-15-5d"
			n.RemoteSubnets = []lbpolicy.RemoteSubnet{{DestinationPrefix: "10.244.2.0", ProviderAddress: "10.0.0.5"}, {DestinationPrefix: "10.244.3.0/24", ProviderAddress: "x"}}
		}), []string{"nodeIPs[0]", "sourceVIPs[0]", "hostMAC", "remoteSubnets[0].destinationPrefix", "remoteSubnets[1].providerAddress"}},
		{"two IPv4 node IPs", with(l2bridge(), func(n *lbpolicy.Node) { n.NodeIPs = []string{"10.0.0.4", "10.0.0.5"} }), []string{"nodeIPs[1]"}},
		{"overlay without host MAC", with(overlay(), func(n *lbpolicy.Node) { n.HostMAC = "" }), []string{"hostMAC"}},
		{"overlay without a source VIP", with(overlay(), func(n *lbpolicy.Node) { n.SourceVIPs = nil }), []string{"sourceVIPs"}},
		{"families", with(l2bridge(), func(n *lbpolicy.Node) { n.IPFamilies = []lbpolicy.IPFamily{"IPv5", lbpolicy.IPv6} }), []string{"ipFamilies[0]", "ipFamilies[1]"}},
		{"ports and versions", with(l2bridge(), func(n *lbpolicy.Node) { n.HealthzPort = 70000; n.HNSVersion = "latest" }), []string{"healthzPort", "hnsVersion"}},
		{"valid overlay", overlay(), nil},
		{"valid l2bridge in lower case", with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.NetworkType = "l2bridge" }), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.node.Validate()
			var got []string
			if err != nil {
				if !errors.Is(err, lbpolicy.ErrInvalidNode) {
					t.Errorf("error %v does not wrap ErrInvalidNode", err)
				}
				got = fieldsOf(err)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if _, cerr := lbpolicy.Compute(tc.node, nil, nil); (cerr != nil) != (err != nil) {
				t.Errorf("Compute error %v, Validate error %v", cerr, err)
			}
		})
	}
}

// fieldsOf digs the *FieldError values out of a joined error.
func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var fe *lbpolicy.FieldError
		if errors.As(e, &fe) && e == error(fe) {
			out = append(out, fe.Field)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

func TestDuplicateService(t *testing.T) {
	p := mustCompute(t, l2bridge(), []*corev1.Service{service("web"), service("web")},
		v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode}))
	if len(p.LoadBalancers) != 1 {
		t.Errorf("want 1 LB, got %v", lbSummary(p))
	}
	if diff := cmp.Diff([]string{"error Service default/web InvalidService"}, reasons(p)); diff != "" {
		t.Error(diff)
	}
}

func TestBadObjectsDoNotStopOthers(t *testing.T) {
	bad := service("bad", clusterIPs("10.96.0.300"), externalIPs("not-an-ip"))
	good := service("good", clusterIPs("10.96.0.11"))
	badSlice := v4slice("good", 8080, ep{ip: "10.244.1.999", node: thisNode}, ep{ip: "10.244.1.10", node: thisNode})
	p := mustCompute(t, l2bridge(), []*corev1.Service{bad, good, nil}, badSlice, nil)
	if diff := cmp.Diff([]string{"ClusterIP 10.244.1.10"}, lbSummary(p)); diff != "" {
		t.Error(diff)
	}
	want := []string{
		"warning EndpointSlice default/good-v4 InvalidEndpointSlice",
		"error Service default/bad InvalidService",
		"error Service default/bad InvalidService",
	}
	if diff := cmp.Diff(want, reasons(p)); diff != "" {
		t.Errorf("(-want +got):\n%s\n%v", diff, p.Diagnostics)
	}
	for _, d := range p.Diagnostics {
		if d.Message == "" {
			t.Errorf("diagnostic without message: %+v", d)
		}
	}
}

func TestKeyAndText(t *testing.T) {
	lb := lbpolicy.LoadBalancer{IPFamily: lbpolicy.IPv6, Protocol: udp, ExternalPort: 53, FrontendVIPs: []netip.Addr{addr("fd00::a")}}
	if got := lb.Key().String(); got != "IPv6/fd00::a/UDP/53" {
		t.Errorf("key %q", got)
	}
	np := lbpolicy.LoadBalancer{IPFamily: lbpolicy.IPv4, Protocol: tcp, ExternalPort: 30080}
	if got := np.Key().String(); got != "IPv4/*/TCP/30080" {
		t.Errorf("key %q", got)
	}
	if got := (dsr | ipv6).String(); got != "DSR|IPv6" {
		t.Errorf("flags %q", got)
	}
	if got := pmPDIng.String(); got != "UseMux|PreserveDIP|VipExternalIP" {
		t.Errorf("port-mapping flags %q", got)
	}
	if got := lbpolicy.PortMappingFlags(0).String(); got != "None" {
		t.Errorf("no flags %q", got)
	}
	var b lbpolicy.Backend
	for _, s := range []string{"", "<>", "10.0.0.300"} {
		if err := b.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("Backend %q accepted", s)
		}
	}
}

// TestEndpointAddressInUse: on Overlay, one IP wanted as two different
// endpoints keeps the source-VIP endpoint, then the ClusterIP endpoint,
// over a remote backend's, and says so.
func TestEndpointAddressInUse(t *testing.T) {
	p := mustCompute(t, overlay(),
		[]*corev1.Service{
			service("a", clusterIPs("10.244.1.2")),  // the source VIP
			service("b", clusterIPs("10.244.2.20")), // a remote pod's IP
			service("c", clusterIPs("10.96.0.12")),
		},
		v4slice("a", 80, ep{ip: "10.244.1.10", node: thisNode}),
		v4slice("b", 80, ep{ip: "10.244.1.10", node: thisNode}),
		v4slice("c", 80, ep{ip: "10.244.2.20", node: "win-2"}, ep{ip: "10.244.3.30", node: "win-3"}))
	var got []string
	for _, e := range p.Endpoints {
		got = append(got, fmt.Sprintf("%s remote=%v %s", e.IP, e.Remote, e.MACAddress))
	}
	want := []string{
		"10.96.0.12 remote=true 00-15-5d-00-00-01",
		"10.244.1.2 remote=false 00-15-5d-00-00-01",
		"10.244.2.20 remote=true 00-15-5d-00-00-01",
		"10.244.3.30 remote=true 02-11-0a-f4-03-1e",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	wantDiag := []string{
		"warning Node win-1 EndpointAddressInUse",
		"warning Service default/a EndpointAddressInUse",
	}
	if diff := cmp.Diff(wantDiag, reasons(p)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s\n%v", diff, p.Diagnostics)
	}
}
