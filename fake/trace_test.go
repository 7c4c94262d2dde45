package fake_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// cluster is a populated Overlay node: node IPs 192.168.1.2 and fd00::2,
// source VIP 10.244.0.2, local pods 10.244.0.11-13, a remote pod
// 10.244.1.5 on node 192.168.1.3, the root endpoint cbr0 (no IP), and the
// load balancers of a few services.
type cluster struct {
	h                           *fake.HNS
	net                         string
	pods                        []string
	remote, root, v6pod         string
	clusterIP, nodePort, extIP  string
	nodePortNoLocal, healthLB   string
	ipv6, dangling, l2ClusterIP string
}

var nodeIPs = []string{"fd00::2", "192.168.1.2"} // IPv6 first: SNAT picks by family

func newCluster(t testing.TB, seed uint64) cluster {
	t.Helper()
	h := fake.New(profile(t, "latest"))
	if seed != 0 {
		h.SeedIDs(seed)
	}
	c := cluster{h: h, net: h.AddNetwork("cbr0", "Overlay")}
	for _, ip := range []string{"10.244.0.11", "10.244.0.12", "10.244.0.13"} {
		c.pods = append(c.pods, h.AddLocalEndpoint(c.net, "pod-"+ip[len(ip)-2:], ip))
	}
	c.root = h.AddLocalEndpoint(c.net, "cbr0", "")
	c.v6pod = h.AddLocalEndpoint(c.net, "pod-v6", "fd00:244::11")
	ep, err := h.CreateEndpoint(t.Context(), c.net, remoteEP("10.244.1.5", "192.168.1.3"))
	if err != nil {
		t.Fatal(err)
	}
	c.remote = ep.Id

	withFlags := func(l *hns.HostComputeLoadBalancer, f lbpolicy.LoadBalancerFlags, pm lbpolicy.PortMappingFlags, svip string) *hns.HostComputeLoadBalancer {
		l.Flags |= f
		l.PortMappings[0].Flags = pm
		l.SourceVIP = svip
		return l
	}
	c.clusterIP = mustCreate(t, h, withFlags(lb("10.96.0.10", 80, c.pods[0], c.pods[1], c.remote), 0, 0, "10.244.0.2")).Id
	c.nodePort = mustCreate(t, h, withFlags(lb("", 30080, c.pods[0], c.remote), 0, 18, "10.244.0.2")).Id
	c.nodePortNoLocal = mustCreate(t, h, withFlags(lb("", 30081, c.pods[1]), 0, 16, "10.244.0.2")).Id
	c.extIP = mustCreate(t, h, withFlags(lb("192.0.2.10", 80, c.pods[2]), lbpolicy.FlagDSR, 16, "10.244.0.2")).Id
	hc := withFlags(lb("192.0.2.10", 10256, c.root), 0, 0, "10.244.0.2")
	hc.PortMappings[0].InternalPort = 10256
	c.healthLB = mustCreate(t, h, hc).Id
	c.ipv6 = mustCreate(t, h, v6(lb("fd00:96::10", 80, c.v6pod))).Id
	c.l2ClusterIP = mustCreate(t, h, lb("10.96.0.20", 443, c.pods[2])).Id // no SourceVIP, as on L2Bridge

	gone := h.AddLocalEndpoint(c.net, "pod-gone", "10.244.0.99")
	c.dangling = mustCreate(t, h, withFlags(lb("10.96.0.30", 80, c.pods[0], gone), 0, 0, "10.244.0.2")).Id
	if err := h.DeleteEndpoint(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTrace(t *testing.T) {
	c := newCluster(t, 0)
	flow := func(o fake.Origin, dst string, port uint16) fake.Flow {
		return fake.Flow{Origin: o, Protocol: 6, Destination: dst, Port: port, NodeIPs: nodeIPs}
	}
	tests := []struct {
		name string
		flow fake.Flow
		want fake.TraceResult
		err  error
	}{{
		name: "ClusterIP from a pod reaches every backend, SNAT to the source VIP",
		flow: flow(fake.FromPod, "10.96.0.10", 80),
		want: fake.TraceResult{LoadBalancerID: c.clusterIP, Backends: []string{"10.244.0.11", "10.244.0.12", "10.244.1.5"},
			Local: []string{"10.244.0.11", "10.244.0.12"}, InternalPort: 8080, SNATSource: "10.244.0.2"},
	}, {
		name: "NodePort from outside via the node IP",
		flow: flow(fake.FromOutside, "192.168.1.2", 30080),
		want: fake.TraceResult{LoadBalancerID: c.nodePort, Backends: []string{"10.244.0.11", "10.244.1.5"},
			Local: []string{"10.244.0.11"}, InternalPort: 8080, SNATSource: "10.244.0.2"},
	}, {
		name: "NodePort from the node with LocalRoutedVIP",
		flow: flow(fake.FromNode, "192.168.1.2", 30080),
		want: fake.TraceResult{LoadBalancerID: c.nodePort, Backends: []string{"10.244.0.11", "10.244.1.5"},
			Local: []string{"10.244.0.11"}, InternalPort: 8080, SNATSource: "10.244.0.2"},
	}, {
		name: "NodePort from the node without LocalRoutedVIP",
		flow: flow(fake.FromNode, "192.168.1.2", 30081),
		err:  fake.ErrNoRoute,
	}, {
		name: "NodePort without LocalRoutedVIP from outside",
		flow: flow(fake.FromOutside, "192.168.1.2", 30081),
		want: fake.TraceResult{LoadBalancerID: c.nodePortNoLocal, Backends: []string{"10.244.0.12"},
			Local: []string{"10.244.0.12"}, InternalPort: 8080, SNATSource: "10.244.0.2"},
	}, {
		name: "NodePort on an address that is not the node's",
		flow: flow(fake.FromOutside, "192.168.1.3", 30080),
		err:  fake.ErrNoRoute,
	}, {
		name: "DSR preserves the client IP",
		flow: fake.Flow{Origin: fake.FromOutside, Source: "203.0.113.7", Protocol: 6, Destination: "192.0.2.10", Port: 80, NodeIPs: nodeIPs},
		want: fake.TraceResult{LoadBalancerID: c.extIP, Backends: []string{"10.244.0.13"},
			Local: []string{"10.244.0.13"}, InternalPort: 8080, DSR: true},
	}, {
		name: "health check reaches the root endpoint by name",
		flow: flow(fake.FromOutside, "192.0.2.10", 10256),
		want: fake.TraceResult{LoadBalancerID: c.healthLB, Backends: []string{"<cbr0>"},
			Local: []string{"<cbr0>"}, InternalPort: 10256, SNATSource: "10.244.0.2"},
	}, {
		name: "no SourceVIP: SNAT to the node IP of the family",
		flow: flow(fake.FromPod, "10.96.0.20", 443),
		want: fake.TraceResult{LoadBalancerID: c.l2ClusterIP, Backends: []string{"10.244.0.13"},
			Local: []string{"10.244.0.13"}, InternalPort: 8080, SNATSource: "192.168.1.2"},
	}, {
		name: "IPv6",
		flow: flow(fake.FromPod, "fd00:96::10", 80),
		want: fake.TraceResult{LoadBalancerID: c.ipv6, Backends: []string{"fd00:244::11"},
			Local: []string{"fd00:244::11"}, InternalPort: 8080, SNATSource: "fd00::2"},
	}, {
		name: "a deleted endpoint gets no traffic",
		flow: flow(fake.FromPod, "10.96.0.30", 80),
		want: fake.TraceResult{LoadBalancerID: c.dangling, Backends: []string{"10.244.0.11"},
			Local: []string{"10.244.0.11"}, InternalPort: 8080, SNATSource: "10.244.0.2"},
	}, {
		name: "wrong port",
		flow: flow(fake.FromPod, "10.96.0.10", 81),
		err:  fake.ErrNoRoute,
	}, {
		name: "wrong protocol",
		flow: fake.Flow{Origin: fake.FromPod, Protocol: 17, Destination: "10.96.0.10", Port: 80},
		err:  fake.ErrNoRoute,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.h.Trace(tt.flow)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Trace = %+v, %v; want %v", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.LoadBalancerID == c.dangling {
				if len(got.Missing) != 1 {
					t.Errorf("Missing = %v, want the deleted endpoint", got.Missing)
				}
				got.Missing = nil
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Trace (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTraceErrors(t *testing.T) {
	c := newCluster(t, 0)
	dup := lb("10.96.0.10", 80, c.pods[2])
	dup.SourceVIP = "10.244.0.2"
	c.h.AddLoadBalancer(*dup) // HNS would refuse it; another agent's leftovers might not be
	for _, tt := range []struct {
		name string
		flow fake.Flow
		err  error
	}{
		{"ambiguous", fake.Flow{Origin: fake.FromPod, Protocol: 6, Destination: "10.96.0.10", Port: 80}, fake.ErrAmbiguousRoute},
		{"no origin", fake.Flow{Protocol: 6, Destination: "10.96.0.10", Port: 80}, nil},
		{"bad destination", fake.Flow{Origin: fake.FromPod, Protocol: 6, Destination: "svc", Port: 80}, nil},
		{"mixed families", fake.Flow{Origin: fake.FromPod, Source: "fd00::5", Protocol: 6, Destination: "10.96.0.10", Port: 80}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.h.Trace(tt.flow)
			if err == nil {
				t.Fatalf("Trace = %+v, want an error", got)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("Trace error %v, want %v", err, tt.err)
			}
			if errors.Is(err, fake.ErrNoRoute) {
				t.Errorf("Trace error %v: an invalid flow is not ErrNoRoute", err)
			}
		})
	}
}

func flowTo(vip string) fake.Flow {
	return fake.Flow{Origin: fake.FromPod, Protocol: 6, Destination: vip, Port: 80}
}
