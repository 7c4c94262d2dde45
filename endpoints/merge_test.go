package endpoints_test

import (
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/endpoints"
)

var (
	httpKey = endpoints.PortKey{Name: "http", Protocol: tcp}
	sliceA  = types.NamespacedName{Namespace: "default", Name: "web-a"}
	sliceB  = types.NamespacedName{Namespace: "default", Name: "web-b"}
)

func TestMerge(t *testing.T) {
	zoneA := zoneHints("zone-a")
	tests := []struct {
		name     string
		slices   []*discovery.EndpointSlice
		family   discovery.AddressType
		nodeName string
		want     endpoints.Ports
		wantErrs []*endpoints.SliceError
	}{
		{
			name:   "no slices",
			family: v4,
		},
		{
			name: "one slice, sorted by address",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("10.0.0.3"), ep("10.0.0.1"), ep("10.0.0.20"), ep("10.0.0.2"))},
			family: v4,
			want: endpoints.Ports{httpKey: {
				want("10.0.0.1", 80), want("10.0.0.2", 80), want("10.0.0.3", 80), want("10.0.0.20", 80),
			}},
		},
		{
			name: "IPv4 wanted: IPv6 slices ignored",
			slices: []*discovery.EndpointSlice{
				slice("web-a", v4, http80, ep("10.0.0.1")),
				slice("web-b", v6, http80, ep("fd00::1")),
			},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
		},
		{
			name: "IPv6 wanted: IPv4 slices ignored",
			slices: []*discovery.EndpointSlice{
				slice("web-a", v4, http80, ep("10.0.0.1")),
				slice("web-b", v6, http80, ep("fd00::1")),
			},
			family: v6,
			want:   endpoints.Ports{httpKey: {want("fd00::1", 80)}},
		},
		{
			name: "FQDN slices ignored silently",
			slices: []*discovery.EndpointSlice{
				slice("web-a", fqdn, http80, ep("example.com"), ep("10.0.0.1")),
			},
			family: v4,
		},
		{
			name:   "FQDN is not a family Merge serves",
			slices: []*discovery.EndpointSlice{slice("web-a", fqdn, http80, ep("example.com"))},
			family: fqdn,
		},
		{
			name:   "nil slices skipped",
			slices: []*discovery.EndpointSlice{nil, slice("web-a", v4, http80, ep("10.0.0.1")), nil},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
		},
		{
			name: "IPv6 address in an IPv4 slice skipped with an error",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("fd00::1"), ep("10.0.0.1"))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "fd00::1", Field: "endpoints[0].addresses[0]", Reason: "IPv6 address in an IPv4 EndpointSlice"},
			},
		},
		{
			name: "IPv4 and mapped IPv4 addresses in an IPv6 slice skipped with errors",
			slices: []*discovery.EndpointSlice{slice("web-a", v6, http80,
				ep("10.0.0.1"), ep("::ffff:10.0.0.2"), ep("fd00::1"))},
			family: v6,
			want:   endpoints.Ports{httpKey: {want("fd00::1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "10.0.0.1", Field: "endpoints[0].addresses[0]", Reason: "IPv4 address in an IPv6 EndpointSlice"},
				{Slice: sliceA, Address: "::ffff:10.0.0.2", Field: "endpoints[1].addresses[0]", Reason: "IPv4 address in an IPv6 EndpointSlice"},
			},
		},
		{
			name: "unparsable addresses skipped with one error each, whatever the number of ports",
			slices: []*discovery.EndpointSlice{slice("web-a", v4,
				ports(port("http", tcp, 80), port("https", tcp, 443)),
				ep("10.0.0.300"), ep("10.0.0.1"), ep("fe80::1%eth0"), ep("10.0.0.0/24"))},
			family: v4,
			want: endpoints.Ports{
				httpKey:                        {want("10.0.0.1", 80)},
				{Name: "https", Protocol: tcp}: {want("10.0.0.1", 443)},
			},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "10.0.0.300", Field: "endpoints[0].addresses[0]", Reason: "not an IP address"},
				{Slice: sliceA, Address: "fe80::1%eth0", Field: "endpoints[2].addresses[0]", Reason: "not an IP address: zones (%...) are not allowed"},
				{Slice: sliceA, Address: "10.0.0.0/24", Field: "endpoints[3].addresses[0]", Reason: "not an IP address: a CIDR, give the address without /prefix"},
			},
		},
		{
			name: "first address only",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				discovery.Endpoint{Addresses: []string{"10.0.0.2", "10.0.0.1"}},
				discovery.Endpoint{Addresses: []string{"bad", "10.0.0.3"}},
			)},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.2", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "bad", Field: "endpoints[1].addresses[0]", Reason: "not an IP address"},
			},
		},
		{
			name: "endpoints without addresses ignored silently",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				discovery.Endpoint{}, discovery.Endpoint{Addresses: []string{}}, ep("10.0.0.1"))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
		},
		{
			name: "sloppy addresses are parsed as kube-proxy does and deduplicated",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("010.000.000.001", onNode("n1")), ep(" 10.0.0.1", onNode("n2")))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80, wantNode("n1", false))}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "010.000.000.001", Field: "endpoints[0].addresses[0]", Kept: true,
					Reason: "read as 10.0.0.1 (kube-proxy's lenient parsing): write it canonically"},
				{Slice: sliceA, Address: " 10.0.0.1", Field: "endpoints[1].addresses[0]", Kept: true,
					Reason: "read as 10.0.0.1 (kube-proxy's lenient parsing): write it canonically"},
			},
		},
		{
			name:   "IPv4-mapped IPv6 in an IPv4 slice is read as IPv4, with a warning",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80, ep("::ffff:10.0.0.1"))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "::ffff:10.0.0.1", Field: "endpoints[0].addresses[0]", Kept: true,
					Reason: "read as 10.0.0.1 (kube-proxy's lenient parsing): write it canonically"},
			},
		},
		{
			name: "unknown addressType: slice skipped with an error",
			slices: []*discovery.EndpointSlice{
				slice("web-a", "IPv7", http80, ep("10.0.0.2")),
				slice("web-b", v4, http80, ep("10.0.0.1")),
			},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Field: "addressType", Reason: `addressType "IPv7" is not IPv4, IPv6 or FQDN: the slice is skipped`},
			},
		},
		{
			name: "special-purpose IPv4 addresses are never backends",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("0.0.0.0"), ep("127.0.0.1"), ep("169.254.169.254"), ep("224.0.0.1"), ep("10.0.0.1"))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "0.0.0.0", Field: "endpoints[0].addresses[0]", Reason: "special-purpose address (unspecified), never a backend"},
				{Slice: sliceA, Address: "127.0.0.1", Field: "endpoints[1].addresses[0]", Reason: "special-purpose address (loopback), never a backend"},
				{Slice: sliceA, Address: "169.254.169.254", Field: "endpoints[2].addresses[0]", Reason: "special-purpose address (link-local), never a backend"},
				{Slice: sliceA, Address: "224.0.0.1", Field: "endpoints[3].addresses[0]", Reason: "special-purpose address (multicast), never a backend"},
			},
		},
		{
			name: "special-purpose IPv6 addresses are never backends",
			slices: []*discovery.EndpointSlice{slice("web-a", v6, http80,
				ep("::"), ep("::1"), ep("fe80::1"), ep("ff02::1"), ep("fd00::1"))},
			family: v6,
			want:   endpoints.Ports{httpKey: {want("fd00::1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Address: "::", Field: "endpoints[0].addresses[0]", Reason: "special-purpose address (unspecified), never a backend"},
				{Slice: sliceA, Address: "::1", Field: "endpoints[1].addresses[0]", Reason: "special-purpose address (loopback), never a backend"},
				{Slice: sliceA, Address: "fe80::1", Field: "endpoints[2].addresses[0]", Reason: "special-purpose address (link-local), never a backend"},
				{Slice: sliceA, Address: "ff02::1", Field: "endpoints[3].addresses[0]", Reason: "special-purpose address (multicast), never a backend"},
			},
		},
		{
			name: "ports keyed by name and protocol; nil name is \"\", nil protocol is TCP",
			slices: []*discovery.EndpointSlice{slice("web-a", v4,
				ports(
					discovery.EndpointPort{Port: ptr[int32](8080)},
					port("dns", udp, 53),
					port("dns", tcp, 5353),
				),
				ep("10.0.0.1"))},
			family: v4,
			want: endpoints.Ports{
				{Name: "", Protocol: tcp}:    {want("10.0.0.1", 8080)},
				{Name: "dns", Protocol: udp}: {want("10.0.0.1", 53)},
				{Name: "dns", Protocol: tcp}: {want("10.0.0.1", 5353)},
			},
		},
		{
			name: "invalid ports skipped with an error, the others kept",
			slices: []*discovery.EndpointSlice{slice("web-a", v4,
				ports(
					discovery.EndpointPort{Name: ptr("none"), Protocol: ptr(tcp)},
					port("zero", tcp, 0),
					port("big", udp, 65536),
					port("negative", tcp, -1),
					port("http", tcp, 80),
				),
				ep("10.0.0.1"))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80)}},
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceA, Reason: `port "none"/TCP skipped: it has no port number`},
				{Slice: sliceA, Reason: `port "zero"/TCP skipped: port number 0 is outside 1-65535`},
				{Slice: sliceA, Reason: `port "big"/UDP skipped: port number 65536 is outside 1-65535`},
				{Slice: sliceA, Reason: `port "negative"/TCP skipped: port number -1 is outside 1-65535`},
			},
		},
		{
			name:   "a slice without ports gives nothing",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, nil, ep("10.0.0.1"))},
			family: v4,
		},
		{
			name: "port without endpoints gives no entry",
			slices: []*discovery.EndpointSlice{
				slice("web-a", v4, http80),
				slice("web-b", v4, http80, ep("bad")),
			},
			family: v4,
			wantErrs: []*endpoints.SliceError{
				{Slice: sliceB, Address: "bad", Field: "endpoints[0].addresses[0]", Reason: "not an IP address"},
			},
		},
		{
			name: "slices merged; duplicates keep the first in slice name order",
			slices: []*discovery.EndpointSlice{
				slice("web-b", v4, http80, ep("10.0.0.1", onNode("from-b")), ep("10.0.0.3")),
				slice("web-a", v4, http80, ep("10.0.0.2"), ep("10.0.0.1", onNode("from-a"))),
			},
			family: v4,
			want: endpoints.Ports{httpKey: {
				want("10.0.0.1", 80, wantNode("from-a", false)), want("10.0.0.2", 80), want("10.0.0.3", 80),
			}},
		},
		{
			name: "duplicates across slices: the non-terminating one wins",
			slices: []*discovery.EndpointSlice{
				slice("web-a", v4, http80, ep("10.0.0.1", onNode("from-a"), draining())),
				slice("web-b", v4, http80, ep("10.0.0.1", onNode("from-b"))),
			},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80, wantNode("from-b", false))}},
		},
		{
			name: "duplicates, all terminating: the first wins",
			slices: []*discovery.EndpointSlice{
				slice("web-b", v4, http80, ep("10.0.0.1", onNode("from-b"), draining())),
				slice("web-a", v4, http80,
					ep("10.0.0.1", onNode("from-a-1"), draining()),
					ep("10.0.0.1", onNode("from-a-2"), draining())),
			},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80, wantNode("from-a-1", false), wantDraining)}},
		},
		{
			name: "duplicates within one slice: the first non-terminating one wins",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("10.0.0.1", onNode("n1"), draining()),
				ep("10.0.0.1", onNode("n2"), ready(false)),
				ep("10.0.0.1", onNode("n3")))},
			family: v4,
			want: endpoints.Ports{httpKey: {want("10.0.0.1", 80, wantNode("n2", false), func(e *endpoints.Endpoint) {
				e.Ready = false
			})}},
		},
		{
			name: "one port name, two port numbers (targetPort change): both kept, by address then port",
			slices: []*discovery.EndpointSlice{
				slice("web-a", v4, ports(port("http", tcp, 8080)), ep("10.0.0.2"), ep("10.0.0.1")),
				slice("web-b", v4, ports(port("http", tcp, 80)), ep("10.0.0.1"), ep("10.0.0.3")),
			},
			family: v4,
			want: endpoints.Ports{httpKey: {
				want("10.0.0.1", 80), want("10.0.0.1", 8080), want("10.0.0.2", 8080), want("10.0.0.3", 80),
			}},
		},
		{
			name: "local detection",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("10.0.0.1", onNode("node-1")),
				ep("10.0.0.2", onNode("node-2")),
				ep("10.0.0.3"),
				ep("10.0.0.4", onNode("")))},
			family:   v4,
			nodeName: "node-1",
			want: endpoints.Ports{httpKey: {
				want("10.0.0.1", 80, wantNode("node-1", true)),
				want("10.0.0.2", 80, wantNode("node-2", false)),
				want("10.0.0.3", 80),
				want("10.0.0.4", 80),
			}},
		},
		{
			name: "no node name: nothing is local, not even endpoints with an empty nodeName",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("10.0.0.1", onNode("node-1")),
				ep("10.0.0.2", onNode("")),
				ep("10.0.0.3"))},
			family: v4,
			want: endpoints.Ports{httpKey: {
				want("10.0.0.1", 80, wantNode("node-1", false)),
				want("10.0.0.2", 80),
				want("10.0.0.3", 80),
			}},
		},
		{
			name: "conditions: nil pointers take the API defaults",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("10.0.0.1"),
				ep("10.0.0.2", ready(false)),
				ep("10.0.0.3", serving(false)),
				ep("10.0.0.4", terminating(true)),
				ep("10.0.0.5", ready(true), serving(true), terminating(false)),
				ep("10.0.0.6", ready(false), serving(false), terminating(true)))},
			family: v4,
			want: endpoints.Ports{httpKey: {
				want("10.0.0.1", 80),
				want("10.0.0.2", 80, func(e *endpoints.Endpoint) { e.Ready = false }),
				want("10.0.0.3", 80, func(e *endpoints.Endpoint) { e.Serving = false }),
				want("10.0.0.4", 80, func(e *endpoints.Endpoint) { e.Terminating = true }),
				want("10.0.0.5", 80),
				want("10.0.0.6", 80, func(e *endpoints.Endpoint) { e.Ready, e.Serving, e.Terminating = false, false, true }),
			}},
		},
		{
			name: "hints passed through",
			slices: []*discovery.EndpointSlice{slice("web-a", v4, http80,
				ep("10.0.0.1", hints(zoneA)))},
			family: v4,
			want:   endpoints.Ports{httpKey: {want("10.0.0.1", 80, wantHints(zoneA))}},
		},
		{
			name:   "IPv6",
			slices: []*discovery.EndpointSlice{slice("web-a", v6, http80, ep("FD00::0002"), ep("fd00::1"), ep("2001:db8::1"))},
			family: v6,
			want:   endpoints.Ports{httpKey: {want("2001:db8::1", 80), want("fd00::1", 80), want("fd00::2", 80)}},
		},
	}
	// One Merger for every case, in turn: what it reuses from the
	// previous case must not show.
	var m endpoints.Merger
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := deepCopy(tt.slices)
			order := slices.Clone(tt.slices)

			gotM, errsM := m.Merge(tt.slices, tt.family, tt.nodeName)
			if diff := cmp.Diff(tt.want, gotM, cmpAddr); diff != "" {
				t.Errorf("Merger.Merge() ports (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errsM); diff != "" {
				t.Errorf("Merger.Merge() errors (-want +got):\n%s", diff)
			}

			got, errs := endpoints.Merge(tt.slices, tt.family, tt.nodeName)
			if diff := cmp.Diff(tt.want, got, cmpAddr); diff != "" {
				t.Errorf("Merge() ports (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs); diff != "" {
				t.Errorf("Merge() errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.slices); diff != "" {
				t.Errorf("Merge() modified its input (-before +after):\n%s", diff)
			}
			for i := range order {
				if order[i] != tt.slices[i] {
					t.Errorf("Merge() reordered its input slice")
				}
			}

			// Same result whatever the order of the slices.
			reversed := slices.Clone(tt.slices)
			slices.Reverse(reversed)
			got2, errs2 := endpoints.Merge(reversed, tt.family, tt.nodeName)
			if diff := cmp.Diff(got, got2, cmpAddr); diff != "" {
				t.Errorf("Merge() depends on slice order (-in order +reversed):\n%s", diff)
			}
			if diff := cmp.Diff(errs, errs2); diff != "" {
				t.Errorf("Merge() errors depend on slice order (-in order +reversed):\n%s", diff)
			}
		})
	}
}

func TestMergeSharesHints(t *testing.T) {
	h := zoneHints("zone-a")
	in := []*discovery.EndpointSlice{slice("web-a", v4, http80, ep("10.0.0.1", hints(h)))}
	got, _ := endpoints.Merge(in, v4, "")
	if got[httpKey][0].Hints != h {
		t.Errorf("Merge() copied the hints; want the input's pointer")
	}
}

func TestMergeListsDoNotOverlap(t *testing.T) {
	in := []*discovery.EndpointSlice{slice("web-a", v4,
		ports(port("a", tcp, 1), port("b", tcp, 2)), ep("10.0.0.1"), ep("10.0.0.2"))}
	got, _ := endpoints.Merge(in, v4, "")
	a := got[endpoints.PortKey{Name: "a", Protocol: tcp}]
	b := got[endpoints.PortKey{Name: "b", Protocol: tcp}]
	_ = append(a, want("10.9.9.9", 9))
	if diff := cmp.Diff([]endpoints.Endpoint{want("10.0.0.1", 2), want("10.0.0.2", 2)}, b, cmpAddr); diff != "" {
		t.Errorf("appending to one port's list changed another's (-want +got):\n%s", diff)
	}
}

func TestSliceErrorError(t *testing.T) {
	tests := []struct {
		err  endpoints.SliceError
		want string
	}{
		{
			err:  endpoints.SliceError{Slice: types.NamespacedName{Namespace: "default", Name: "web-abc"}, Address: "10.0.0.300", Reason: "not an IP address"},
			want: `EndpointSlice default/web-abc: address "10.0.0.300" skipped: not an IP address`,
		},
		{
			err:  endpoints.SliceError{Slice: types.NamespacedName{Namespace: "default", Name: "web-abc"}, Reason: `port "http"/TCP skipped: it has no port number`},
			want: `EndpointSlice default/web-abc: port "http"/TCP skipped: it has no port number`,
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestByService(t *testing.T) {
	mk := func(ns, name, svc string) *discovery.EndpointSlice {
		s := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if svc != "-" {
			s.Labels = map[string]string{discovery.LabelServiceName: svc}
		}
		return s
	}
	webB := mk("default", "web-b", "web")
	webA := mk("default", "web-a", "web")
	webC := mk("default", "web-c", "web")
	otherNS := mk("other", "web-x", "web")
	dns := mk("kube-system", "dns-1", "dns")
	noLabel := mk("default", "orphan", "-")
	emptyLabel := mk("default", "empty", "")
	in := []*discovery.EndpointSlice{webB, nil, otherNS, webC, noLabel, dns, webA, emptyLabel}

	want := map[types.NamespacedName][]*discovery.EndpointSlice{
		{Namespace: "default", Name: "web"}:     {webA, webB, webC},
		{Namespace: "other", Name: "web"}:       {otherNS},
		{Namespace: "kube-system", Name: "dns"}: {dns},
	}
	before := deepCopy(slices.DeleteFunc(slices.Clone(in), func(s *discovery.EndpointSlice) bool { return s == nil }))

	got := endpoints.ByService(in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ByService() (-want +got):\n%s", diff)
	}
	reversed := slices.Clone(in)
	slices.Reverse(reversed)
	if diff := cmp.Diff(want, endpoints.ByService(reversed)); diff != "" {
		t.Errorf("ByService(reversed) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, slices.DeleteFunc(slices.Clone(in), func(s *discovery.EndpointSlice) bool { return s == nil })); diff != "" {
		t.Errorf("ByService() modified its input (-before +after):\n%s", diff)
	}
	if got := endpoints.ByService([]*discovery.EndpointSlice{nil, noLabel}); got != nil {
		t.Errorf("ByService(no labelled slices) = %v, want nil", got)
	}
}

func TestMergeAllocs(t *testing.T) {
	// A typical Service: one slice, one port, ten endpoints.
	var eps []discovery.Endpoint
	for i := range 10 {
		eps = append(eps, ep(netip.AddrFrom4([4]byte{10, 0, 0, byte(10 - i)}).String(), onNode("n1")))
	}
	in := []*discovery.EndpointSlice{slice("web-a", v4, http80, eps...)}
	allocs := testing.AllocsPerRun(100, func() { endpoints.Merge(in, v4, "n1") })
	// The endpoint array and the map.
	if allocs > 3 {
		t.Errorf("Merge() allocates %v times, want at most 3", allocs)
	}
}

// TestMergerAllocs: a Merger merges a typical Service without allocating
// once it has merged a larger one.
func TestMergerAllocs(t *testing.T) {
	var eps []discovery.Endpoint
	for i := range 100 {
		eps = append(eps, ep(netip.AddrFrom4([4]byte{10, 0, 1, byte(100 - i)}).String(), onNode("n1")))
	}
	var m endpoints.Merger
	m.Merge([]*discovery.EndpointSlice{slice("web-a", v4, http80, eps...)}, v4, "n1")
	in := []*discovery.EndpointSlice{slice("web-b", v4, http80, eps[:10]...)}
	if allocs := testing.AllocsPerRun(100, func() { m.Merge(in, v4, "n1") }); allocs > 0 {
		t.Errorf("Merger.Merge() allocates %v times, want none", allocs)
	}
}

// TestMergeDuplicateSliceCopies: two different objects with one
// namespace/name merge the same way whatever their order.
func TestMergeDuplicateSliceCopies(t *testing.T) {
	mk := func(rv string, terminating bool) *discovery.EndpointSlice {
		name, port := "http", int32(8080)
		return &discovery.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-1", ResourceVersion: rv, Labels: map[string]string{discovery.LabelServiceName: "web"}},
			AddressType: discovery.AddressTypeIPv4,
			Ports:       []discovery.EndpointPort{{Name: &name, Port: &port}},
			Endpoints: []discovery.Endpoint{{Addresses: []string{"10.244.1.5"},
				Conditions: discovery.EndpointConditions{Terminating: &terminating}, NodeName: &rv}},
		}
	}
	a, b := mk("1", true), mk("2", true)
	p1, _ := endpoints.Merge([]*discovery.EndpointSlice{a, b}, discovery.AddressTypeIPv4, "")
	p2, _ := endpoints.Merge([]*discovery.EndpointSlice{b, a}, discovery.AddressTypeIPv4, "")
	if diff := cmp.Diff(p1, p2, cmpAddr); diff != "" {
		t.Errorf("merge depends on input order (-first +second):\n%s", diff)
	}
	g1 := endpoints.ByService([]*discovery.EndpointSlice{a, b})
	g2 := endpoints.ByService([]*discovery.EndpointSlice{b, a})
	if diff := cmp.Diff(g1, g2); diff != "" {
		t.Errorf("ByService depends on input order:\n%s", diff)
	}
}

// A slice of more endpoints than Merge reads ahead at a time (32): each
// endpoint keeps its own address, conditions and index, across the
// chunks' edges too.
func TestMergeLongSlice(t *testing.T) {
	const n = 70
	var eps []discovery.Endpoint
	var wantPorts []endpoints.Endpoint
	var wantErrs []*endpoints.SliceError
	for i := range n {
		addr := netip.AddrFrom4([4]byte{10, 0, 1, byte(n - i)}).String() // descending: Merge sorts
		switch {
		case i == 31 || i == 64:
			addr = "10.0.0.300"
			wantErrs = append(wantErrs, &endpoints.SliceError{Slice: sliceA, Address: addr,
				Field: "endpoints[" + strconv.Itoa(i) + "].addresses[0]", Reason: "not an IP address"})
			eps = append(eps, ep(addr))
		case i == 32:
			eps = append(eps, discovery.Endpoint{}) // no address: ignored
		case i%3 == 0:
			eps = append(eps, ep(addr, draining()))
			wantPorts = append(wantPorts, want(addr, 80, wantDraining))
		default:
			eps = append(eps, ep(addr))
			wantPorts = append(wantPorts, want(addr, 80))
		}
	}
	slices.Reverse(wantPorts)
	got, errs := endpoints.Merge([]*discovery.EndpointSlice{slice("web-a", v4, http80, eps...)}, v4, "")
	if diff := cmp.Diff(endpoints.Ports{httpKey: wantPorts}, got, cmpAddr); diff != "" {
		t.Errorf("Merge() ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("Merge() errors (-want +got):\n%s", diff)
	}
}
