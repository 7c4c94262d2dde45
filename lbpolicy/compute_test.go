package lbpolicy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Flag values as HNS knows them, spelled out so that the expected objects
// below read like hnsdiag output.
const (
	dsr     = lbpolicy.FlagDSR
	ipv6    = lbpolicy.FlagIPv6
	pmNode  = lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingVipExternalIP // 18
	pmExt   = lbpolicy.PortMappingVipExternalIP                                      // 16
	pmPDIng = pmExt | lbpolicy.PortMappingUseMux | lbpolicy.PortMappingPreserveDIP   // 28
	pmPDHC  = lbpolicy.PortMappingUseMux | lbpolicy.PortMappingPreserveDIP           // 12
	tcp     = lbpolicy.ProtocolTCP
	udp     = lbpolicy.ProtocolUDP
)

// The upstream winkernel scenarios (pkg/proxy/winkernel/proxier_test.go),
// re-expressed as the full objects hnslb plans, plus the rows of docs/semantics.md §4.2.
func TestComputeScenarios(t *testing.T) {
	// Endpoints used throughout: one local pod, two remote pods in the
	// remote subnets, a remote node IP (hostNetwork pod on node 10.0.0.5).
	local := ep{ip: "10.244.1.10", node: thisNode}
	remote1 := ep{ip: "10.244.2.20", node: "win-2"}
	remote2 := ep{ip: "10.244.3.30", node: "win-3"}
	remoteNodeIP := ep{ip: "10.0.0.5", node: "win-2"}

	tests := []struct {
		name     string
		node     lbpolicy.Node
		services []*corev1.Service
		slices   []*discovery.EndpointSlice
		wantLBs  []lbpolicy.LoadBalancer
		wantEPs  []lbpolicy.Endpoint // compared only when non-nil
		wantDiag []string            // compared always
	}{
		{
			name:     "ClusterIP on L2Bridge without DSR: slice port wins over targetPort, empty SourceVIP",
			node:     l2bridge(),
			services: []*corev1.Service{service("web")},
			slices:   []*discovery.EndpointSlice{v4slice("web", 8080, remote1, local)},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Backends: backends("10.244.1.10", "10.244.2.20"),
			}},
			wantEPs: []lbpolicy.Endpoint{
				{IP: addr("10.244.2.20"), Remote: true, MACAddress: "02-11-0a-f4-02-14"},
			},
		},
		{
			name:     "ClusterIP on Overlay with DSR: source VIP, ClusterIP and remote endpoints with provider addresses",
			node:     with(overlay(), func(n *lbpolicy.Node) { n.EnableDSR = true }),
			services: []*corev1.Service{service("web")},
			slices:   []*discovery.EndpointSlice{v4slice("web", 8080, local, remote1, remote2)},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Flags: dsr, SourceVIP: addr("10.244.1.2"),
				Backends: backends("10.244.1.10", "10.244.2.20", "10.244.3.30"),
			}},
			wantEPs: []lbpolicy.Endpoint{
				{IP: addr("10.96.0.10"), Remote: true, MACAddress: "00-15-5d-00-00-01", ProviderAddress: addr("10.0.0.4")},
				{IP: addr("10.244.1.2"), MACAddress: "00-15-5d-00-00-01"},
				{IP: addr("10.244.2.20"), Remote: true, MACAddress: "02-11-0a-f4-02-14", ProviderAddress: addr("10.0.0.5")},
				{IP: addr("10.244.3.30"), Remote: true, MACAddress: "02-11-0a-f4-03-1e", ProviderAddress: addr("10.0.0.6")},
			},
		},
		{
			name:     "Overlay: a backend on a remote node's IP makes the SourceVIP the node IP (KEP-5100 b)",
			node:     overlay(),
			services: []*corev1.Service{service("web")},
			slices:   []*discovery.EndpointSlice{v4slice("web", 8080, remoteNodeIP, remote1)},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				SourceVIP: addr("10.0.0.4"),
				Backends:  backends("10.0.0.5", "10.244.2.20"),
			}},
			wantEPs: []lbpolicy.Endpoint{
				{IP: addr("10.0.0.5"), Remote: true, MACAddress: "02-11-0a-00-00-05", ProviderAddress: addr("10.0.0.5")},
				{IP: addr("10.96.0.10"), Remote: true, MACAddress: "00-15-5d-00-00-01", ProviderAddress: addr("10.0.0.4")},
				{IP: addr("10.244.1.2"), MACAddress: "00-15-5d-00-00-01"},
				{IP: addr("10.244.2.20"), Remote: true, MACAddress: "02-11-0a-f4-02-14", ProviderAddress: addr("10.0.0.5")},
			},
		},
		{
			name:     "Overlay: a backend outside every remote subnet gets the node IP as SourceVIP and PA (KEP-5100 c)",
			node:     overlay(),
			services: []*corev1.Service{service("web")},
			slices:   []*discovery.EndpointSlice{v4slice("web", 443, ep{ip: "192.0.2.7"})},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 443, ExternalPort: 80,
				SourceVIP: addr("10.0.0.4"), Backends: backends("192.0.2.7"),
			}},
			wantEPs: []lbpolicy.Endpoint{
				{IP: addr("10.96.0.10"), Remote: true, MACAddress: "00-15-5d-00-00-01", ProviderAddress: addr("10.0.0.4")},
				{IP: addr("10.244.1.2"), MACAddress: "00-15-5d-00-00-01"},
				{IP: addr("192.0.2.7"), Remote: true, MACAddress: "02-11-c0-00-02-07", ProviderAddress: addr("10.0.0.4")},
			},
		},
		{
			name: "NodePort, ETP Cluster: no DSR, all backends, LocalRoutedVIP|VipExternalIP",
			node: l2bridge(),
			services: []*corev1.Service{service("web", svcType(corev1.ServiceTypeNodePort),
				ports(tcpPort("http", 80, 30080)))},
			slices: []*discovery.EndpointSlice{v4slice("web", 8080, local, remote1)},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					PortMappingFlags: pmNode, Backends: backends("10.244.1.10", "10.244.2.20"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Backends: backends("10.244.1.10", "10.244.2.20"),
				},
			},
		},
		{
			name: "LoadBalancer, ETP Local: external kinds DSR with local backends, ClusterIP keeps all, health check to the host",
			node: with(l2bridge(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true }),
			services: []*corev1.Service{service("web", svcType(corev1.ServiceTypeLoadBalancer), etpLocal,
				ports(tcpPort("http", 80, 30080)), healthCheckNodePort(32000),
				externalIPs("192.0.2.50"), ingress("198.51.100.7"))},
			slices: []*discovery.EndpointSlice{v4slice("web", 8080, local, remote1)},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					Flags: dsr, PortMappingFlags: pmNode, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Backends: backends("10.244.1.10", "10.244.2.20"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindExternalIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("192.0.2.50"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Flags: dsr, PortMappingFlags: pmExt, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindIngress, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("198.51.100.7"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Flags: dsr, PortMappingFlags: pmExt, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "", Kind: lbpolicy.KindHealthCheck, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("198.51.100.7"), Protocol: tcp, InternalPort: 32000, ExternalPort: 32000,
					Backends: backends("<cbr0>"),
				},
			},
		},
		{
			name: "LoadBalancer, preserve-destination: ingress UseMux|PreserveDIP with DSR, health check 12 on healthzPort",
			node: with(overlay(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true; n.RootEndpointName = "host" }),
			services: []*corev1.Service{service("web", svcType(corev1.ServiceTypeLoadBalancer),
				annotation("preserve-destination", "true"), ports(tcpPort("http", 80, 30080)), ingress("198.51.100.7"))},
			slices: []*discovery.EndpointSlice{v4slice("web", 8080, local, remote1)},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					PortMappingFlags: pmNode, SourceVIP: addr("10.244.1.2"), Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					SourceVIP: addr("10.244.1.2"), Backends: backends("10.244.1.10", "10.244.2.20"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindIngress, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("198.51.100.7"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Flags: dsr, PortMappingFlags: pmPDIng, SourceVIP: addr("10.244.1.2"), Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Kind: lbpolicy.KindHealthCheck, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("198.51.100.7"), Protocol: tcp, InternalPort: 10256, ExternalPort: 10256,
					PortMappingFlags: pmPDHC, SourceVIP: addr("10.244.1.2"), Backends: backends("<host>"),
				},
			},
		},
		{
			name:     "ITP Local: the ClusterIP load balancer uses local endpoints only",
			node:     l2bridge(),
			services: []*corev1.Service{service("web", itpLocal)},
			slices:   []*discovery.EndpointSlice{v4slice("web", 8080, local, remote1)},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Backends: backends("10.244.1.10"),
			}},
			wantEPs: []lbpolicy.Endpoint{},
		},
		{
			name:     "ITP Local without local endpoints: no load balancer, an info diagnostic",
			node:     l2bridge(),
			services: []*corev1.Service{service("web", itpLocal)},
			slices:   []*discovery.EndpointSlice{v4slice("web", 8080, remote1)},
			wantLBs:  nil,
			wantEPs:  []lbpolicy.Endpoint{},
			wantDiag: []string{"info Service default/web:http NoEndpoints"},
		},
		{
			name: "UDP service: UDP load balancers, but the health check is TCP",
			node: with(l2bridge(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true }),
			services: []*corev1.Service{service("dns", svcType(corev1.ServiceTypeLoadBalancer),
				ports(udpPort("dns", 53, 0)), ingress("198.51.100.8"))},
			slices: []*discovery.EndpointSlice{epSlice("dns", "dns-1", discovery.AddressTypeIPv4, nil)},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/dns", Kind: lbpolicy.KindHealthCheck, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("198.51.100.8"), Protocol: tcp, InternalPort: 10256, ExternalPort: 10256,
				Backends: backends("<cbr0>"),
			}},
			wantDiag: []string{"info Service default/dns:dns NoEndpoints"},
		},
		{
			name: "session affinity ClientIP: SourceIP distribution on every kind; a custom timeout is reported",
			node: l2bridge(),
			services: []*corev1.Service{service("web", svcType(corev1.ServiceTypeNodePort),
				ports(tcpPort("http", 80, 30080)), clientIPAffinity(600))},
			slices: []*discovery.EndpointSlice{v4slice("web", 8080, local)},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					PortMappingFlags: pmNode, DistributionType: lbpolicy.DistributionSourceIP, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					DistributionType: lbpolicy.DistributionSourceIP, Backends: backends("10.244.1.10"),
				},
			},
			wantDiag: []string{"info Service default/web SessionAffinityTimeoutIgnored"},
		},
		{
			name:     "IPv6 single-stack with DSR: IPv6 flag on the load balancer",
			node:     with(l2bridge(), func(n *lbpolicy.Node) { n.NodeIPs = []string{"fd00::4"}; n.EnableDSR = true }),
			services: []*corev1.Service{service("web", clusterIPs("fd00:96::10"))},
			slices:   []*discovery.EndpointSlice{v6slice("web", 8080, ep{ip: "fd00:244:1::10", node: thisNode})},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv6,
				FrontendVIPs: vips("fd00:96::10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Flags: dsr | ipv6, Backends: backends("fd00:244:1::10"),
			}},
		},
		{
			name: "dual-stack LoadBalancer on L2Bridge: one load balancer per family, ingress and external IPs by family",
			node: dualStack(l2bridge()),
			services: []*corev1.Service{service("web", svcType(corev1.ServiceTypeLoadBalancer),
				clusterIPs("10.96.0.10", "fd00:96::10"), ports(tcpPort("http", 80, 30080)),
				externalIPs("fd00:ee::1"), ingress("198.51.100.7", "2001:db8::7"))},
			slices: []*discovery.EndpointSlice{
				v4slice("web", 8080, local),
				v6slice("web", 8080, ep{ip: "fd00:244:1::10", node: thisNode}),
			},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					PortMappingFlags: pmNode, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindIngress, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("198.51.100.7"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					PortMappingFlags: pmExt, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv6,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					Flags: ipv6, PortMappingFlags: pmNode, Backends: backends("fd00:244:1::10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindIngress, IPFamily: lbpolicy.IPv6,
					FrontendVIPs: vips("2001:db8::7"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Flags: ipv6, PortMappingFlags: pmExt, Backends: backends("fd00:244:1::10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv6,
					FrontendVIPs: vips("fd00:96::10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Flags: ipv6, Backends: backends("fd00:244:1::10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindExternalIP, IPFamily: lbpolicy.IPv6,
					FrontendVIPs: vips("fd00:ee::1"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Flags: ipv6, PortMappingFlags: pmExt, Backends: backends("fd00:244:1::10"),
				},
			},
		},
		{
			name:     "Overlay with two node IPs plans the primary family only",
			node:     dualStack(overlay()),
			services: []*corev1.Service{service("web", clusterIPs("10.96.0.10", "fd00:96::10"))},
			slices: []*discovery.EndpointSlice{
				v4slice("web", 8080, local),
				v6slice("web", 8080, ep{ip: "fd00:244:1::10", node: thisNode}),
			},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				SourceVIP: addr("10.244.1.2"), Backends: backends("10.244.1.10"),
			}},
			wantDiag: []string{"warning Node win-1 OverlaySingleStack"},
		},
		{
			name:     "endpoints disagree on the target port: the majority port, the rest reported",
			node:     l2bridge(),
			services: []*corev1.Service{service("web")},
			slices: []*discovery.EndpointSlice{
				epSlice("web", "web-a", discovery.AddressTypeIPv4, map[string]int32{"http": 8080},
					ep{ip: "10.244.1.11", node: thisNode}, ep{ip: "10.244.1.12", node: thisNode}),
				epSlice("web", "web-b", discovery.AddressTypeIPv4, map[string]int32{"http": 9090},
					ep{ip: "10.244.1.13", node: thisNode}),
			},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Backends: backends("10.244.1.11", "10.244.1.12"),
			}},
			wantDiag: []string{"warning Service default/web:http MixedInternalPorts"},
		},
		{
			name:     "mixed target ports, tied: the lowest port wins",
			node:     l2bridge(),
			services: []*corev1.Service{service("web")},
			slices: []*discovery.EndpointSlice{
				epSlice("web", "web-a", discovery.AddressTypeIPv4, map[string]int32{"http": 9090}, ep{ip: "10.244.1.11", node: thisNode}),
				epSlice("web", "web-b", discovery.AddressTypeIPv4, map[string]int32{"http": 8080}, ep{ip: "10.244.1.12", node: thisNode}),
			},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Backends: backends("10.244.1.12"),
			}},
			wantDiag: []string{"warning Service default/web:http MixedInternalPorts"},
		},
		{
			name:     "dual-stack node, IPv4-only Service: nothing in IPv6, silently",
			node:     dualStack(l2bridge()),
			services: []*corev1.Service{service("web")},
			slices:   []*discovery.EndpointSlice{v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode})},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Backends: backends("10.244.1.10"),
			}},
		},
		{
			name: "two Services claim one external IP and port: the first by name wins, the other is an error",
			node: l2bridge(),
			services: []*corev1.Service{
				service("b-second", clusterIPs("10.96.0.11"), externalIPs("192.0.2.50")),
				service("a-first", externalIPs("192.0.2.50")),
			},
			slices: []*discovery.EndpointSlice{v4slice("a-first", 8080, local), v4slice("b-second", 9090, local)},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/a-first", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/b-second", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.11"), Protocol: tcp, InternalPort: 9090, ExternalPort: 80,
					Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/a-first", Port: "http", Kind: lbpolicy.KindExternalIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("192.0.2.50"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					PortMappingFlags: pmExt, Backends: backends("10.244.1.10"),
				},
			},
			wantDiag: []string{"error Service default/b-second:http FrontendConflict"},
		},
		{
			name: "skipped as designed: headless, ExternalName, another proxy's, SCTP, ipMode Proxy, hostname-only ingress",
			node: l2bridge(),
			services: []*corev1.Service{
				service("headless", clusterIPs("None")),
				service("extname", svcType(corev1.ServiceTypeExternalName), clusterIPs("")),
				service("other", label("service.kubernetes.io/service-proxy-name", "cilium")),
				service("sctp", clusterIPs("10.96.0.20"), ports(corev1.ServicePort{Name: "s", Protocol: corev1.ProtocolSCTP, Port: 9})),
				service("lb", clusterIPs("10.96.0.30"), svcType(corev1.ServiceTypeLoadBalancer), func(s *corev1.Service) {
					proxy := corev1.LoadBalancerIPModeProxy
					s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{
						{IP: "198.51.100.9", IPMode: &proxy},
						{Hostname: "lb.example.com"},
					}
				}),
			},
			slices: []*discovery.EndpointSlice{
				v4slice("headless", 80, local), v4slice("other", 80, local),
				v4slice("lb", 8080, local),
			},
			wantLBs: []lbpolicy.LoadBalancer{{
				Service: "default/lb", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
				FrontendVIPs: vips("10.96.0.30"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
				Backends: backends("10.244.1.10"),
			}},
			wantDiag: []string{
				"warning Service default/lb IngressHostnameOnly",
				"info Service default/lb IngressIPModeProxy",
				"warning Service default/sctp:s UnsupportedProtocol",
			},
		},
		{
			name: "HNS without DSR (9.2): DSR dropped from ClusterIP and external kinds, with diagnostics",
			node: with(l2bridge(), func(n *lbpolicy.Node) { n.HNSVersion = "9.2"; n.EnableDSR = true }),
			services: []*corev1.Service{service("web", svcType(corev1.ServiceTypeNodePort), etpLocal,
				ports(tcpPort("http", 80, 30080)))},
			slices: []*discovery.EndpointSlice{v4slice("web", 8080, local)},
			wantLBs: []lbpolicy.LoadBalancer{
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindNodePort, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips(), Protocol: tcp, InternalPort: 8080, ExternalPort: 30080,
					PortMappingFlags: pmNode, Backends: backends("10.244.1.10"),
				},
				{
					Service: "default/web", Port: "http", Kind: lbpolicy.KindClusterIP, IPFamily: lbpolicy.IPv4,
					FrontendVIPs: vips("10.96.0.10"), Protocol: tcp, InternalPort: 8080, ExternalPort: 80,
					Backends: backends("10.244.1.10"),
				},
			},
			wantDiag: []string{
				"warning Node win-1 DSRUnsupported",
				"warning Service default/web:http DSRUnsupported",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompute(t, tc.node, tc.services, tc.slices...)
			if diff := cmp.Diff(tc.wantLBs, p.LoadBalancers, planOpts); diff != "" {
				t.Errorf("load balancers (-want +got):\n%s", diff)
			}
			if tc.wantEPs != nil {
				if diff := cmp.Diff(tc.wantEPs, p.Endpoints, planOpts); diff != "" {
					t.Errorf("endpoints (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.wantDiag, reasons(p), planOpts); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall: %v", diff, p.Diagnostics)
			}
		})
	}
}
