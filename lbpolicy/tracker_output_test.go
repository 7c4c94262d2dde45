package lbpolicy

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// outputNode is an Overlay node with one remote subnet, 10.244.2.0/24.
func outputNode(t *testing.T) *node {
	t.Helper()
	n, err := Node{
		Name: "win-1", NodeIPs: []string{"10.0.0.4"}, NetworkType: Overlay, NetworkName: "flannel.4096",
		SourceVIPs: []string{"10.244.1.2"}, HostMAC: "00-15-5d-00-00-01",
		RemoteSubnets: []RemoteSubnet{{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "10.0.0.5"}},
	}.validate()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// outputSlice is web's slice with one endpoint per address.
func outputSlice(addrs ...string) *discovery.EndpointSlice {
	name, proto, port := "http", corev1.ProtocolTCP, int32(8080)
	sl := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-a", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
	}
	for _, a := range addrs {
		sl.Endpoints = append(sl.Endpoints, discovery.Endpoint{Addresses: []string{a}})
	}
	return sl
}

// TestPlannerKeepsWhatDidNotChange: the planner's output equals a fresh
// computer's, shares the previous output's lists that did not change, and
// holds no scratch memory (planning another Service leaves it intact).
func TestPlannerKeepsWhatDidNotChange(t *testing.T) {
	n := outputNode(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080}}},
	}
	o := newObjects()
	st := o.state(types.NamespacedName{Namespace: "default", Name: "web"})
	st.svc = svc
	fresh := func() serviceOutput {
		c := computer{node: n}
		c.service(st.svc, st.slices)
		return serviceOutput{lbs: c.lbs, endpoints: c.endpoints, diags: c.diags}
	}
	var p planner
	plan := func() serviceOutput {
		old := st.out
		st.out = p.plan(n, st, &old)
		if diff := cmp.Diff(fresh(), st.out, cmp.AllowUnexported(serviceOutput{}, endpointCandidate{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Fatalf("planner's output differs from the computer's (-computer +planner):\n%s", diff)
		}
		return old
	}

	st.slices = []*discovery.EndpointSlice{outputSlice("10.244.2.5", "10.244.2.6")}
	plan()
	first := st.out
	if len(first.lbs) != 2 || &first.lbs[0].Backends[0] != &first.lbs[1].Backends[0] {
		t.Fatalf("ClusterIP and NodePort load balancers do not share their backends: %+v", first.lbs)
	}

	// The same endpoints in a new object: nothing new is kept.
	st.slices = []*discovery.EndpointSlice{outputSlice("10.244.2.5", "10.244.2.6")}
	plan()
	if !sameList(first.lbs, st.out.lbs) || !sameList(first.endpoints, st.out.endpoints) {
		t.Errorf("an unchanged plan was kept anew")
	}

	// One endpoint replaced: new backends, shared by both load balancers;
	// the ClusterIP endpoint and frontend VIP are the old ones.
	st.slices = []*discovery.EndpointSlice{outputSlice("10.244.2.5", "10.244.2.7")}
	plan()
	lbs := st.out.lbs
	if sameList(first.lbs, lbs) || &lbs[0].Backends[0] != &lbs[1].Backends[0] || &lbs[0].Backends[0] == &first.lbs[0].Backends[0] {
		t.Errorf("new backends not kept once for both load balancers")
	}
	if !sameList(first.lbs[0].FrontendVIPs, lbs[0].FrontendVIPs) || !sameList(first.endpoints, st.out.endpoints) {
		t.Errorf("unchanged frontend VIPs or endpoints were kept anew")
	}

	// Planning another Service reuses the scratch memory: what was kept
	// must not change.
	kept := fmt.Sprintf("%+v", st.out.lbs)
	other := &serviceState{key: types.NamespacedName{Namespace: "default", Name: "other"}, object: "Service default/other", svc: svc.DeepCopy()}
	other.svc.Name, other.svc.Spec.ClusterIP, other.svc.Spec.ClusterIPs = "other", "10.96.0.11", []string{"10.96.0.11"}
	other.slices = []*discovery.EndpointSlice{outputSlice("10.244.2.8", "10.244.2.9", "10.244.2.10")}
	p.plan(n, other, &serviceOutput{})
	if got := fmt.Sprintf("%+v", st.out.lbs); got != kept {
		t.Errorf("a kept output changed when the planner planned another Service:\nbefore %s\nafter  %s", kept, got)
	}
}

// TestKeyString: Key.String's format, for every protocol and with and
// without a VIP.
func TestKeyString(t *testing.T) {
	tests := []struct {
		k    Key
		want string
	}{
		{Key{Family: IPv4, VIP: netip.MustParseAddr("10.96.0.10"), Protocol: ProtocolTCP, Port: 80}, "IPv4/10.96.0.10/TCP/80"},
		{Key{Family: IPv6, VIP: netip.MustParseAddr("fd00::a"), Protocol: ProtocolUDP, Port: 53}, "IPv6/fd00::a/UDP/53"},
		{Key{Family: IPv4, Protocol: ProtocolTCP, Port: 30080}, "IPv4/*/TCP/30080"},
		{Key{Family: IPv4, Protocol: 132, Port: 1}, "IPv4/*/132/1"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestIsConflict: isConflict recognises frontendConflict's diagnostic for
// the same winner and loser, and only it.
func TestIsConflict(t *testing.T) {
	win := &LoadBalancer{Service: "default/a", Port: "http", Kind: KindClusterIP, IPFamily: IPv4,
		FrontendVIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}, Protocol: ProtocolTCP, ExternalPort: 80}
	loser := &LoadBalancer{Service: "default/b", Port: "web", Kind: KindExternalIP, IPFamily: IPv4,
		FrontendVIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}, Protocol: ProtocolTCP, ExternalPort: 80}
	d, ok := frontendConflict(win, loser)
	if !ok {
		t.Fatal("no conflict")
	}
	want := "ExternalIP frontend IPv4/10.96.0.10/TCP/80 is already planned for Service default/a:http (ClusterIP): this load balancer is not planned"
	if d.Message != want || d.Object != "Service default/b:web" {
		t.Errorf("frontendConflict() = %q, %q; want %q, %q", d.Object, d.Message, "Service default/b:web", want)
	}
	other := *loser
	other.Port = "we"
	otherWin := *win
	otherWin.Kind = KindNodePort
	for _, tt := range []struct {
		name        string
		win, loser  *LoadBalancer
		wantMatches bool
	}{
		{"same", win, loser, true},
		{"other loser port", win, &other, false},
		{"other winner kind", &otherWin, loser, false},
	} {
		if got, _ := isConflict(&d, tt.win, tt.loser, nil); got != tt.wantMatches {
			t.Errorf("%s: isConflict() = %v, want %v", tt.name, got, tt.wantMatches)
		}
	}
}
