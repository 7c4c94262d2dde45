// Package gencluster generates realistic, deterministic clusters of
// Services and EndpointSlices, and the Overlay node they are planned for,
// for the module's benchmarks and property tests. It is internal: nothing
// outside this module may import it.
package gencluster

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// ThisNode is the name of the node Node describes; endpoints on it are
// local.
const ThisNode = "win-1"

// Shape says what Cluster builds.
type Shape struct {
	Services  int
	Endpoints int     // in total, spread over the services
	Nodes     int     // remote nodes, each with a /24 pod subnet
	ETPLocal  float64 // share of external Services with ETP Local
	TwoPorts  float64 // share of Services with two ports
	DualStack float64 // share of dual-stack Services
}

// Bench is the cluster of the benchmarks: 10,000 Services and 100,000
// endpoints on 401 nodes, mixed kinds, 5% ETP Local, 10% with two ports,
// 10% dual-stack.
var Bench = Shape{Services: 10000, Endpoints: 100000, Nodes: 400, ETPLocal: 0.05, TwoPorts: 0.10, DualStack: 0.10}

// Node is an Overlay node (DSR on) matching Cluster's addressing: this node
// (ThisNode) owns pod subnet 0 (10.64.0.0/24); remote node i ("win-<i+1>")
// owns subnet i (10.64.i.0/24, carrying into the second octet) behind
// provider address 10.0.0.4+i (likewise).
func Node(shape Shape) lbpolicy.Node {
	n := lbpolicy.Node{
		Name: ThisNode, Zone: "zone-a", NodeIPs: []string{"10.0.0.4"},
		NetworkType: lbpolicy.Overlay, NetworkName: "flannel.4096",
		SourceVIPs: []string{"10.64.0.2"}, HostMAC: "00-15-5d-00-00-01",
		EnableDSR: true, ForwardHealthCheckVIP: true,
	}
	for i := 1; i <= shape.Nodes; i++ {
		n.RemoteSubnets = append(n.RemoteSubnets, lbpolicy.RemoteSubnet{
			DestinationPrefix: fmt.Sprintf("10.%d.%d.0/24", 64+i/256, i%256),
			ProviderAddress:   fmt.Sprintf("10.0.%d.%d", (4+i)/256, (4+i)%256),
		})
	}
	return n
}

// Cluster builds a cluster of shape deterministically from seed.
func Cluster(shape Shape, seed uint64) ([]*corev1.Service, []*discovery.EndpointSlice) {
	r := rand.New(rand.NewPCG(seed, 1))
	svcs := make([]*corev1.Service, 0, shape.Services)
	var slices []*discovery.EndpointSlice
	perSvc := shape.Endpoints / shape.Services
	nextPod := 0
	for i := 0; i < shape.Services; i++ {
		s := service(r, shape, i)
		svcs = append(svcs, s)
		sl := &discovery.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: s.Namespace, Name: s.Name + "-abcde",
				Labels: map[string]string{discovery.LabelServiceName: s.Name},
			},
			AddressType: discovery.AddressTypeIPv4,
		}
		for _, p := range s.Spec.Ports {
			sl.Ports = append(sl.Ports, discovery.EndpointPort{Name: ptr(p.Name), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(8000 + p.Port)})
		}
		for j := 0; j < perSvc; j++ {
			node := nextPod % (shape.Nodes + 1) // node 0 is this node
			ip := fmt.Sprintf("10.%d.%d.%d", 64+node/256, node%256, 10+(nextPod/(shape.Nodes+1))%240)
			nextPod++
			e := discovery.Endpoint{
				Addresses:  []string{ip},
				NodeName:   ptr(fmt.Sprintf("win-%d", node+1)),
				Conditions: discovery.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
			}
			if r.IntN(50) == 0 { // 2% draining
				e.Conditions = discovery.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}
			}
			sl.Endpoints = append(sl.Endpoints, e)
		}
		slices = append(slices, sl)
		if len(s.Spec.ClusterIPs) == 2 {
			v6 := sl.DeepCopy()
			v6.Name = s.Name + "-v6"
			v6.AddressType = discovery.AddressTypeIPv6
			for j := range v6.Endpoints {
				v6.Endpoints[j].Addresses = []string{fmt.Sprintf("fd00:244::%x", j+1+i*perSvc)}
			}
			slices = append(slices, v6)
		}
	}
	return svcs, slices
}

// service is Service i, drawing its kind and options from r.
func service(r *rand.Rand, shape Shape, i int) *corev1.Service {
	name := fmt.Sprintf("svc-%05d", i)
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%02d", i%50), Name: name},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  fmt.Sprintf("10.96.%d.%d", i/250, 1+i%250),
			ClusterIPs: []string{fmt.Sprintf("10.96.%d.%d", i/250, 1+i%250)},
			Ports:      []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
		},
	}
	if r.Float64() < shape.DualStack {
		s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, fmt.Sprintf("fd00:96::%x", i+1))
	}
	if r.Float64() < shape.TwoPorts {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090})
	}
	switch k := r.IntN(100); {
	case k < 20:
		s.Spec.Type = corev1.ServiceTypeNodePort
	case k < 35:
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: fmt.Sprintf("198.51.%d.%d", i/250, 1+i%250)}}
	case k < 40:
		s.Spec.ExternalIPs = []string{fmt.Sprintf("192.0.%d.%d", i/250, 1+i%250)}
	}
	if s.Spec.Type != corev1.ServiceTypeClusterIP {
		for j := range s.Spec.Ports {
			s.Spec.Ports[j].NodePort = int32(30000 + (i*2+j)%2768)
		}
		if r.Float64() < shape.ETPLocal {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = int32(32768 + i%2000)
		}
	}
	if s.Spec.Type == corev1.ServiceTypeNodePort && i%2768 >= 2768/2 {
		// Keep node ports unique, as the API server would.
		s.Spec.Type = corev1.ServiceTypeClusterIP
		for j := range s.Spec.Ports {
			s.Spec.Ports[j].NodePort = 0
		}
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// LocalIPs returns the addresses, in slice order and without repeats, of
// the endpoints on ThisNode: the pods whose HNS endpoints the CNI creates
// on the node, which a test HNS must hold before a sync. Addresses that do
// not parse are left out: past 6,553 Services, Cluster's IPv6 addresses
// have a 5-digit group, which planning reports and skips (kept, so that
// benchmark figures stay comparable).
func LocalIPs(slices []*discovery.EndpointSlice) []string {
	seen := map[string]bool{}
	var out []string
	for _, sl := range slices {
		for _, e := range sl.Endpoints {
			if e.NodeName == nil || *e.NodeName != ThisNode {
				continue
			}
			for _, a := range e.Addresses {
				if _, err := netip.ParseAddr(a); err == nil && !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return out
}
