package cluster

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

func TestSampleNode(t *testing.T) {
	node, _ := Sample()
	want := lbpolicy.Node{
		Name:        "win-node-1",
		Zone:        "zone-a",
		NodeIPs:     []string{"10.0.0.4"},
		NetworkType: lbpolicy.Overlay,
		NetworkName: "flannel.4096",
		SourceVIPs:  []string{"10.244.1.2"},
		HostMAC:     "00-15-5d-a1-b2-c3",
		EnableDSR:   true,
		RemoteSubnets: []lbpolicy.RemoteSubnet{
			{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "10.0.0.5"},
			{DestinationPrefix: "10.244.3.0/24", ProviderAddress: "10.0.0.6"},
		},
		ForwardHealthCheckVIP: true,
		HNSVersion:            "15.5",
	}
	if diff := cmp.Diff(want, node); diff != "" {
		t.Errorf("sample node (-want +got):\n%s", diff)
	}
}

// TestSampleCluster guards what the sample is for: every case the planner
// should show is still in it.
func TestSampleCluster(t *testing.T) {
	_, objs := Sample()
	if len(objs.Ignored) != 0 {
		t.Errorf("the sample has ignored objects: %v", objs.Ignored)
	}
	svc := map[string]*corev1.Service{}
	for _, s := range objs.Services {
		svc[s.Namespace+"/"+s.Name] = s
	}
	sliceOf := map[string][]string{} // service → slice address types
	for _, s := range objs.EndpointSlices {
		name := s.Namespace + "/" + s.Labels["kubernetes.io/service-name"]
		if svc[name] == nil {
			t.Errorf("EndpointSlice %s/%s: no Service %s", s.Namespace, s.Name, name)
		}
		sliceOf[name] = append(sliceOf[name], string(s.AddressType))
	}
	has := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("the sample has no %s", what)
		}
	}
	anyService := func(pred func(*corev1.Service) bool) bool {
		return slices.ContainsFunc(objs.Services, pred)
	}

	web := svc["default/web"]
	has("ClusterIP service default/web with two named ports and named targetPorts",
		web != nil && len(web.Spec.Ports) == 2 && web.Spec.Ports[0].TargetPort.StrVal != "")
	has("NodePort service with sessionAffinity ClientIP", anyService(func(s *corev1.Service) bool {
		return s.Spec.Type == corev1.ServiceTypeNodePort && s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP
	}))
	has("LoadBalancer with externalTrafficPolicy Local, healthCheckNodePort, a VIP and a Proxy ingress IP", anyService(func(s *corev1.Service) bool {
		ing := s.Status.LoadBalancer.Ingress
		return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
			s.Spec.HealthCheckNodePort != 0 && len(ing) == 2 && ing[1].IPMode != nil && *ing[1].IPMode == corev1.LoadBalancerIPModeProxy
	}))
	has("service with externalIPs", anyService(func(s *corev1.Service) bool { return len(s.Spec.ExternalIPs) > 0 }))
	has("preserve-destination LoadBalancer", anyService(func(s *corev1.Service) bool {
		return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Annotations["preserve-destination"] == "true"
	}))
	has("RequireDualStack service with IPv4 and IPv6 slices", anyService(func(s *corev1.Service) bool {
		return s.Spec.IPFamilyPolicy != nil && *s.Spec.IPFamilyPolicy == corev1.IPFamilyPolicyRequireDualStack &&
			len(s.Spec.ClusterIPs) == 2 && slices.Equal(sliceOf[s.Namespace+"/"+s.Name], []string{"IPv4", "IPv6"})
	}))
	has("SCTP port", anyService(func(s *corev1.Service) bool {
		return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Protocol == corev1.ProtocolSCTP })
	}))
	has("headless service", anyService(func(s *corev1.Service) bool { return s.Spec.ClusterIP == corev1.ClusterIPNone }))
	has("ExternalName service", anyService(func(s *corev1.Service) bool { return s.Spec.Type == corev1.ServiceTypeExternalName }))

	var terminating, hinted, hostNetwork bool
	for _, s := range objs.EndpointSlices {
		all, serving := true, false
		for _, e := range s.Endpoints {
			c := e.Conditions
			all = all && c.Terminating != nil && *c.Terminating
			serving = serving || c.Serving != nil && *c.Serving
			hinted = hinted || e.Hints != nil && len(e.Hints.ForZones) > 0
			hostNetwork = hostNetwork || s.Labels["kubernetes.io/service-name"] == "web" && e.Addresses[0] == "10.0.0.5"
		}
		terminating = terminating || len(s.Endpoints) > 0 && all && serving
	}
	has("slice whose endpoints all terminate, some serving", terminating)
	has("endpoints with zone hints", hinted)
	has("default/web endpoint on the node IP 10.0.0.5", hostNetwork)
}

func TestSampleReturnsNewObjects(t *testing.T) {
	node1, objs1 := Sample()
	node1.NodeIPs[0] = "changed"
	objs1.Services[0].Name = "changed"
	node2, objs2 := Sample()
	if node2.NodeIPs[0] == "changed" || objs2.Services[0].Name == "changed" {
		t.Error("Sample returned shared objects")
	}
}
