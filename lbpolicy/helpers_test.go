package lbpolicy_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Builders for the objects the tests feed Compute. They read like the
// YAML a user would write.

const ns = "default"

func ptr[T any](v T) *T { return &v }

type svcOpt func(*corev1.Service)

// service returns a ClusterIP Service "default/<name>" with clusterIP
// 10.96.0.10 and one TCP port "http" 80 → targetPort 80, unless opts say
// otherwise.
func service(name string, opts ...svcOpt) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  "10.96.0.10",
			ClusterIPs: []string{"10.96.0.10"},
			Ports:      []corev1.ServicePort{tcpPort("http", 80, 0)},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func tcpPort(name string, port, nodePort int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port, NodePort: nodePort, TargetPort: intstr.FromInt32(port)}
}

func udpPort(name string, port, nodePort int32) corev1.ServicePort {
	p := tcpPort(name, port, nodePort)
	p.Protocol = corev1.ProtocolUDP
	return p
}

func clusterIPs(ips ...string) svcOpt {
	return func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = ips[0], ips }
}

func ports(ps ...corev1.ServicePort) svcOpt {
	return func(s *corev1.Service) { s.Spec.Ports = ps }
}

func svcType(t corev1.ServiceType) svcOpt { return func(s *corev1.Service) { s.Spec.Type = t } }

func etpLocal(s *corev1.Service) {
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
}

func itpLocal(s *corev1.Service) {
	p := corev1.ServiceInternalTrafficPolicyLocal
	s.Spec.InternalTrafficPolicy = &p
}

func externalIPs(ips ...string) svcOpt {
	return func(s *corev1.Service) { s.Spec.ExternalIPs = ips }
}

func ingress(ips ...string) svcOpt {
	return func(s *corev1.Service) {
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
	}
}

func healthCheckNodePort(p int32) svcOpt {
	return func(s *corev1.Service) { s.Spec.HealthCheckNodePort = p }
}

func annotation(k, v string) svcOpt {
	return func(s *corev1.Service) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[k] = v
	}
}

func label(k, v string) svcOpt {
	return func(s *corev1.Service) {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[k] = v
	}
}

func clientIPAffinity(timeout int32) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		if timeout != 0 {
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(timeout)}}
		}
	}
}

// ep is one endpoint of a slice, in a compact form.
type ep struct {
	ip          string
	node        string // "" = no nodeName
	notReady    bool
	terminating bool
	notServing  bool
	zones       []string
	nodes       []string
}

// epSlice returns an EndpointSlice of Service svc with the given ports
// (name → port) and endpoints.
func epSlice(svc, name string, family discovery.AddressType, portNum map[string]int32, eps ...ep) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels: map[string]string{discovery.LabelServiceName: svc},
		},
		AddressType: family,
	}
	for pn, num := range portNum {
		s.Ports = append(s.Ports, discovery.EndpointPort{Name: ptr(pn), Port: ptr(num), Protocol: ptr(corev1.ProtocolTCP)})
	}
	for _, e := range eps {
		de := discovery.Endpoint{
			Addresses: []string{e.ip},
			Conditions: discovery.EndpointConditions{
				Ready:       ptr(!e.notReady && !e.terminating),
				Serving:     ptr(!e.notServing),
				Terminating: ptr(e.terminating),
			},
		}
		if e.node != "" {
			de.NodeName = ptr(e.node)
		}
		if len(e.zones) > 0 || len(e.nodes) > 0 {
			de.Hints = &discovery.EndpointHints{}
			for _, z := range e.zones {
				de.Hints.ForZones = append(de.Hints.ForZones, discovery.ForZone{Name: z})
			}
			for _, n := range e.nodes {
				de.Hints.ForNodes = append(de.Hints.ForNodes, discovery.ForNode{Name: n})
			}
		}
		s.Endpoints = append(s.Endpoints, de)
	}
	return s
}

func v4slice(svc string, port int32, eps ...ep) *discovery.EndpointSlice {
	return epSlice(svc, svc+"-v4", discovery.AddressTypeIPv4, map[string]int32{"http": port}, eps...)
}

func v6slice(svc string, port int32, eps ...ep) *discovery.EndpointSlice {
	return epSlice(svc, svc+"-v6", discovery.AddressTypeIPv6, map[string]int32{"http": port}, eps...)
}

const thisNode = "win-1"

// l2bridge is a single-stack IPv4 L2Bridge node on the newest HNS.
func l2bridge() lbpolicy.Node {
	return lbpolicy.Node{
		Name:        thisNode,
		Zone:        "zone-a",
		NodeIPs:     []string{"10.0.0.4"},
		NetworkType: lbpolicy.L2Bridge,
		NetworkName: "cbr0",
	}
}

// overlay is a single-stack IPv4 Overlay node whose pod subnet is
// 10.244.1.0/24, with two remote nodes (10.0.0.5 and 10.0.0.6).
func overlay() lbpolicy.Node {
	return lbpolicy.Node{
		Name:        thisNode,
		Zone:        "zone-a",
		NodeIPs:     []string{"10.0.0.4"},
		NetworkType: lbpolicy.Overlay,
		NetworkName: "flannel.4096",
		SourceVIPs:  []string{"10.244.1.2"},
		HostMAC:     "00-15-5d-00-00-01",
		RemoteSubnets: []lbpolicy.RemoteSubnet{
			{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "10.0.0.5"},
			{DestinationPrefix: "10.244.3.0/24", ProviderAddress: "10.0.0.6"},
		},
	}
}

func dualStack(n lbpolicy.Node) lbpolicy.Node {
	n.NodeIPs = []string{"10.0.0.4", "fd00::4"}
	return n
}

func with(n lbpolicy.Node, f func(*lbpolicy.Node)) lbpolicy.Node {
	f(&n)
	return n
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func vips(s ...string) []netip.Addr {
	out := []netip.Addr{}
	for _, v := range s {
		out = append(out, addr(v))
	}
	return out
}

func backends(s ...string) []lbpolicy.Backend {
	var out []lbpolicy.Backend
	for _, v := range s {
		var b lbpolicy.Backend
		if err := b.UnmarshalText([]byte(v)); err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// addrCmp lets go-cmp compare netip.Addr values.
var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var planOpts = cmp.Options{addrCmp, cmpopts.EquateEmpty()}

func mustCompute(t *testing.T, n lbpolicy.Node, svcs []*corev1.Service, slices ...*discovery.EndpointSlice) lbpolicy.Plan {
	t.Helper()
	p, err := lbpolicy.Compute(n, svcs, slices)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

// reasons lists the diagnostics as "severity object reason", for compact
// assertions.
func reasons(p lbpolicy.Plan) []string {
	var out []string
	for _, d := range p.Diagnostics {
		out = append(out, string(d.Severity)+" "+d.Object+" "+string(d.Reason))
	}
	return out
}

// cmpSorted compares string lists as sets.
var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
