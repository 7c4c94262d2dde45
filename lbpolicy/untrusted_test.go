package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// TestUntrustedInput covers fields the API server would reject but a
// cluster file, a test or a broken controller may still hand over: none
// is coerced or dropped without a diagnostic naming the object and field.
func TestUntrustedInput(t *testing.T) {
	hcNode := with(l2bridge(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true })
	web := func(opts ...svcOpt) []*corev1.Service { return []*corev1.Service{service("web", opts...)} }
	ready := v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode})
	bogusMode := corev1.LoadBalancerIPMode("Bogus")

	tests := []struct {
		name      string
		node      lbpolicy.Node
		services  []*corev1.Service
		slices    []*discovery.EndpointSlice
		wantKinds []string // "kind frontend:port", sorted as the plan
		wantDiag  []string // "severity object reason field", field is a substring of the message
	}{
		{
			name:     "healthCheckNodePort out of range: no HealthCheck load balancer",
			node:     hcNode,
			services: web(svcType(corev1.ServiceTypeLoadBalancer), ingress("192.0.2.1"), healthCheckNodePort(70000)),
			slices:   []*discovery.EndpointSlice{ready},
			wantKinds: []string{
				"ClusterIP 10.96.0.10:80", "Ingress 192.0.2.1:80",
			},
			wantDiag: []string{"error Service default/web InvalidService spec.healthCheckNodePort"},
		},
		{
			name:      "sessionAffinity Bogus: planned as None",
			node:      l2bridge(),
			services:  web(func(s *corev1.Service) { s.Spec.SessionAffinity = "Bogus" }),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: []string{"ClusterIP 10.96.0.10:80"},
			wantDiag:  []string{"warning Service default/web InvalidService spec.sessionAffinity"},
		},
		{
			name: "ipMode Bogus: planned as VIP, like kube-proxy",
			node: l2bridge(),
			services: web(svcType(corev1.ServiceTypeLoadBalancer), ingress("192.0.2.1"), func(s *corev1.Service) {
				s.Status.LoadBalancer.Ingress[0].IPMode = &bogusMode
			}),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: []string{"ClusterIP 10.96.0.10:80", "Ingress 192.0.2.1:80"},
			wantDiag:  []string{"warning Service default/web InvalidService status.loadBalancer.ingress[0].ipMode"},
		},
		{
			name:      "type Bogus: planned by its fields, like kube-proxy",
			node:      l2bridge(),
			services:  web(svcType("Bogus"), ports(tcpPort("http", 80, 30080))),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: []string{"NodePort :30080", "ClusterIP 10.96.0.10:80"},
			wantDiag:  []string{"warning Service default/web InvalidService spec.type"},
		},
		{
			name:      "duplicate port name: the first port is planned",
			node:      l2bridge(),
			services:  web(ports(tcpPort("http", 80, 0), tcpPort("http", 81, 0))),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: []string{"ClusterIP 10.96.0.10:80"},
			wantDiag:  []string{"error Service default/web:http InvalidService spec.ports[1].name"},
		},
		{
			name:      "one name, two protocols: two ports",
			node:      l2bridge(),
			services:  web(ports(tcpPort("dns", 53, 0), udpPort("dns", 53, 0))),
			slices:    nil,
			wantKinds: nil,
			wantDiag: []string{
				"info Service default/web:dns NoEndpoints ",
			},
		},
		{
			name:     "special-purpose backends are not planned",
			node:     l2bridge(),
			services: web(),
			slices: []*discovery.EndpointSlice{v4slice("web", 8080,
				ep{ip: "0.0.0.0"}, ep{ip: "127.0.0.1"}, ep{ip: "169.254.169.254"}, ep{ip: "224.0.0.1"}, ep{ip: "10.244.2.20"})},
			wantKinds: []string{"ClusterIP 10.96.0.10:80"},
			wantDiag: []string{
				"warning EndpointSlice default/web-v4 InvalidEndpointSlice endpoints[0].addresses[0] \"0.0.0.0\" skipped: special-purpose address (unspecified)",
				"warning EndpointSlice default/web-v4 InvalidEndpointSlice endpoints[1].addresses[0] \"127.0.0.1\" skipped: special-purpose address (loopback)",
				"warning EndpointSlice default/web-v4 InvalidEndpointSlice endpoints[2].addresses[0] \"169.254.169.254\" skipped: special-purpose address (link-local)",
				"warning EndpointSlice default/web-v4 InvalidEndpointSlice endpoints[3].addresses[0] \"224.0.0.1\" skipped: special-purpose address (multicast)",
			},
		},
		{
			name:      "special-purpose ClusterIP: nothing planned",
			node:      l2bridge(),
			services:  web(clusterIPs("127.0.0.1")),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: nil,
			wantDiag:  []string{"error Service default/web InvalidService spec.clusterIPs[0] \"127.0.0.1\" is a special-purpose address (loopback)"},
		},
		{
			name:      "unspecified ClusterIP: nothing planned",
			node:      l2bridge(),
			services:  web(clusterIPs("0.0.0.0")),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: nil,
			wantDiag:  []string{"error Service default/web InvalidService spec.clusterIPs[0] \"0.0.0.0\" is a special-purpose address (unspecified)"},
		},
		{
			name:      "special-purpose external and ingress IPs are not planned",
			node:      l2bridge(),
			services:  web(svcType(corev1.ServiceTypeLoadBalancer), externalIPs("127.0.0.1", "192.0.2.7"), ingress("224.0.0.1", "192.0.2.1")),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: []string{"ClusterIP 10.96.0.10:80", "Ingress 192.0.2.1:80", "ExternalIP 192.0.2.7:80"},
			wantDiag: []string{
				"error Service default/web InvalidService spec.externalIPs[0] \"127.0.0.1\" is a special-purpose address (loopback)",
				"error Service default/web InvalidService status.loadBalancer.ingress[0].ip \"224.0.0.1\" is a special-purpose address (multicast)",
			},
		},
		{
			name:      "leniently parsed addresses are planned, with warnings",
			node:      l2bridge(),
			services:  web(clusterIPs("010.096.000.010"), externalIPs("::ffff:192.0.2.7"), ingress("192.000.002.001")),
			slices:    []*discovery.EndpointSlice{v4slice("web", 8080, ep{ip: "010.244.001.010", node: thisNode})},
			wantKinds: []string{"ClusterIP 10.96.0.10:80", "Ingress 192.0.2.1:80", "ExternalIP 192.0.2.7:80"},
			wantDiag: []string{
				"warning Service default/web NonCanonicalAddress spec.clusterIPs[0] \"010.096.000.010\" is read as 10.96.0.10",
				"warning Service default/web NonCanonicalAddress spec.externalIPs[0] \"::ffff:192.0.2.7\" is read as 192.0.2.7",
				"warning Service default/web NonCanonicalAddress status.loadBalancer.ingress[0].ip \"192.000.002.001\" is read as 192.0.2.1",
				"warning EndpointSlice default/web-v4 NonCanonicalAddress endpoints[0].addresses[0] \"010.244.001.010\": read as 10.244.1.10",
			},
		},
		{
			name:      "leniently parsed node IP: a warning on the Node",
			node:      with(l2bridge(), func(n *lbpolicy.Node) { n.NodeIPs = []string{"010.0.0.4"} }),
			services:  web(),
			slices:    []*discovery.EndpointSlice{ready},
			wantKinds: []string{"ClusterIP 10.96.0.10:80"},
			wantDiag:  []string{"warning Node win-1 NonCanonicalAddress nodeIPs[0] \"010.0.0.4\" is read as 10.0.0.4"},
		},
		{
			name:     "addressType IPv7: the slice is skipped with a warning",
			node:     l2bridge(),
			services: web(),
			slices: []*discovery.EndpointSlice{epSlice("web", "web-v7", "IPv7", map[string]int32{"http": 8080},
				ep{ip: "10.244.1.10", node: thisNode})},
			wantKinds: nil,
			wantDiag: []string{
				"warning EndpointSlice default/web-v7 InvalidEndpointSlice addressType \"IPv7\"",
				"info Service default/web:http NoEndpoints ",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompute(t, tt.node, tt.services, tt.slices...)
			var kinds []string
			for _, lb := range p.LoadBalancers {
				fe := ""
				if len(lb.FrontendVIPs) > 0 {
					fe = lb.FrontendVIPs[0].String()
				}
				kinds = append(kinds, string(lb.Kind)+" "+fe+":"+strconv.Itoa(int(lb.ExternalPort)))
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Errorf("load balancers = %q, want %q", kinds, tt.wantKinds)
			}
			checkDiags(t, p, tt.wantDiag)

			// The Tracker gives the same plan, diagnostics included.
			tr, err := lbpolicy.NewTracker(tt.node)
			if err != nil {
				t.Fatalf("NewTracker: %v", err)
			}
			for _, s := range tt.services {
				tr.OnServiceAdd(s)
			}
			for _, sl := range tt.slices {
				tr.OnEndpointSliceAdd(sl)
			}
			want, _ := json.Marshal(p)
			got, _ := json.Marshal(tr.Snapshot().Plan())
			if !bytes.Equal(got, want) {
				t.Errorf("Tracker plan differs from Compute:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// checkDiags checks that the plan's diagnostics are exactly want, each
// "severity object reason substring-of-message".
func checkDiags(t *testing.T, p lbpolicy.Plan, want []string) {
	t.Helper()
	used := make([]bool, len(p.Diagnostics))
	for _, w := range want {
		f := strings.SplitN(w, " ", 5)
		sev, obj, reason, sub := f[0], f[1]+" "+f[2], f[3], f[4]
		found := false
		for i, d := range p.Diagnostics {
			if !used[i] && string(d.Severity) == sev && d.Object == obj && string(d.Reason) == reason && strings.Contains(d.Message, sub) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing diagnostic %q", w)
		}
	}
	for i, d := range p.Diagnostics {
		if !used[i] {
			t.Errorf("unexpected diagnostic %s", d)
		}
	}
}

// TestSourceVIPOfTheOtherFamily: an Overlay node whose only source VIP is
// of the other family is told so, naming the entry.
func TestSourceVIPOfTheOtherFamily(t *testing.T) {
	n := with(overlay(), func(n *lbpolicy.Node) { n.SourceVIPs = []string{"fd00::2"} })
	err := n.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	want := `node field sourceVIPs[0] "fd00::2": is IPv6, but the Overlay network plans IPv4: give an IPv4 source VIP`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Validate() = %v, want it to contain %s", err, want)
	}
}
