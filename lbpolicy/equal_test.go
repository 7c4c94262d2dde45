package lbpolicy

import (
	"net/netip"
	"reflect"
	"testing"
)

// TestLoadBalancerEquality walks LoadBalancer's fields: changing any one
// must make equalLoadBalancers false, and equalContent too unless the
// field is the owner (Service, Port). A field added to LoadBalancer but
// not to the equality fails here; a field of a type this test cannot
// change fails too, until the test learns it.
func TestLoadBalancerEquality(t *testing.T) {
	base := LoadBalancer{
		Service: "default/web", Port: "http", Kind: KindIngress, IPFamily: IPv4,
		FrontendVIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Protocol: ProtocolTCP,
		InternalPort: 8080, ExternalPort: 80, Flags: FlagDSR, PortMappingFlags: PortMappingVipExternalIP,
		DistributionType: DistributionSourceIP, SourceVIP: netip.MustParseAddr("10.244.1.2"),
		Backends: []Backend{{IP: netip.MustParseAddr("10.244.1.5")}},
	}
	owner := map[string]bool{"Service": true, "Port": true}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		changed := base
		changed.FrontendVIPs = append([]netip.Addr(nil), base.FrontendVIPs...)
		changed.Backends = append([]Backend(nil), base.Backends...)
		v := reflect.ValueOf(&changed).Elem().Field(i)
		switch {
		case f.Type == reflect.TypeOf(netip.Addr{}):
			v.Set(reflect.ValueOf(netip.MustParseAddr("198.51.100.9")))
		case f.Type == reflect.TypeOf([]netip.Addr{}):
			v.Set(reflect.Append(v, reflect.ValueOf(netip.MustParseAddr("198.51.100.9"))))
		case f.Type == reflect.TypeOf([]Backend{}):
			v.Set(reflect.Append(v, reflect.ValueOf(Backend{EndpointName: "cbr0"})))
		case f.Type.Kind() == reflect.String:
			v.SetString(v.String() + "-changed")
		case f.Type.Kind() >= reflect.Uint && f.Type.Kind() <= reflect.Uint64:
			v.SetUint(v.Uint() + 1)
		default:
			t.Fatalf("LoadBalancer.%s has type %s, which this test cannot change: teach it", f.Name, f.Type)
		}
		if equalLoadBalancers(&base, &changed) {
			t.Errorf("equalLoadBalancers misses LoadBalancer.%s", f.Name)
		}
		if got := equalContent(&base, &changed); got != owner[f.Name] {
			t.Errorf("equalContent with LoadBalancer.%s changed = %v, want %v", f.Name, got, owner[f.Name])
		}
	}
	same := base
	same.FrontendVIPs = append([]netip.Addr(nil), base.FrontendVIPs...)
	same.Backends = append([]Backend(nil), base.Backends...)
	if !equalLoadBalancers(&base, &same) || !equalContent(&base, &same) {
		t.Error("a copy is not equal")
	}
}
