//go:build windows

package hns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	hcn "github.com/Microsoft/hcsshim/hcn"
	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/hnslb/hnslb/lbpolicy"
	"golang.org/x/sys/windows"
)

// These tests run on Windows, and on Linux under Wine:
//
//	GOOS=windows go test -exec "$PWD/.ci/wine-exec.sh" ./hnsadapter/
//
// With HNSLB_WINE=1 (Wine, so no HNS) they also check that every real hcn
// call fails with IsHNSUnavailable and never panics.

func hcnMustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%T): %v", v, err)
	}
	return string(b)
}

// TestHCNFlagValues checks the neutral constants against hcn's variables.
func TestHCNFlagValues(t *testing.T) {
	for _, c := range []struct {
		name      string
		hcn, ours uint32
	}{
		{"0", uint32(hcn.LoadBalancerFlagsNone), uint32(0)},
		{"lbpolicy.FlagDSR", uint32(hcn.LoadBalancerFlagsDSR), uint32(lbpolicy.FlagDSR)},
		{"lbpolicy.FlagIPv6", uint32(hcn.LoadBalancerFlagsIPv6), uint32(lbpolicy.FlagIPv6)},
		{"0", uint32(hcn.LoadBalancerPortMappingFlagsNone), uint32(0)},
		{"lbpolicy.PortMappingILB", uint32(hcn.LoadBalancerPortMappingFlagsILB), uint32(lbpolicy.PortMappingILB)},
		{"lbpolicy.PortMappingLocalRoutedVIP", uint32(hcn.LoadBalancerPortMappingFlagsLocalRoutedVIP), uint32(lbpolicy.PortMappingLocalRoutedVIP)},
		{"lbpolicy.PortMappingUseMux", uint32(hcn.LoadBalancerPortMappingFlagsUseMux), uint32(lbpolicy.PortMappingUseMux)},
		{"lbpolicy.PortMappingPreserveDIP", uint32(hcn.LoadBalancerPortMappingFlagsPreserveDIP), uint32(lbpolicy.PortMappingPreserveDIP)},
		{"lbpolicy.DistributionNone", uint32(hcn.LoadBalancerDistributionNone), uint32(lbpolicy.DistributionNone)},
		{"lbpolicy.DistributionSourceIPProtocol", uint32(hcn.LoadBalancerDistributionSourceIPProtocol), uint32(lbpolicy.DistributionSourceIPProtocol)},
		{"lbpolicy.DistributionSourceIP", uint32(hcn.LoadBalancerDistributionSourceIP), uint32(lbpolicy.DistributionSourceIP)},
		{"EndpointFlagsNone", uint32(hcn.EndpointFlagsNone), uint32(EndpointFlagsNone)},
		{"EndpointFlagsRemoteEndpoint", uint32(hcn.EndpointFlagsRemoteEndpoint), uint32(EndpointFlagsRemoteEndpoint)},
	} {
		if c.hcn != c.ours {
			t.Errorf("%s: hcn has %d, hnsadapter %d", c.name, c.hcn, c.ours)
		}
	}
	if string(hcn.NetworkProviderAddress) != string(EndpointPolicyProviderAddress) {
		t.Errorf("ProviderAddress policy: hcn has %q, hnsadapter %q", hcn.NetworkProviderAddress, EndpointPolicyProviderAddress)
	}
}

func hcnTestLoadBalancers() map[string]HostComputeLoadBalancer {
	v2 := V2SchemaVersion()
	tcp := func(in, ext uint16, dist lbpolicy.DistributionType, flags lbpolicy.PortMappingFlags) []LoadBalancerPortMapping {
		return []LoadBalancerPortMapping{{Protocol: 6, InternalPort: in, ExternalPort: ext, DistributionType: dist, Flags: flags}}
	}
	eps := []string{"1F7C3B59-7E4B-4B4B-9A4C-0D8E6A6D1A01", "1f7c3b59-7e4b-4b4b-9a4c-0d8e6a6d1a02"}
	return map[string]HostComputeLoadBalancer{
		"empty": {},
		"ClusterIP DSR": {
			HostComputeEndpoints: eps, SourceVIP: "10.244.0.2", FrontendVIPs: []string{"10.96.0.10"},
			PortMappings:  tcp(8080, 80, lbpolicy.DistributionNone, 0),
			SchemaVersion: v2, Flags: lbpolicy.FlagDSR,
		},
		"NodePort, no frontend VIP": {
			Id:                   "8B2A1E0C-5D7F-4C3B-A1E2-F3D4C5B6A798",
			HostComputeEndpoints: eps, SourceVIP: "10.244.0.2",
			PortMappings: tcp(8080, 30080, lbpolicy.DistributionNone,
				lbpolicy.PortMappingLocalRoutedVIP|lbpolicy.PortMappingVipExternalIP),
			SchemaVersion: v2,
		},
		"ExternalIP, session affinity": {
			HostComputeEndpoints: eps[:1], FrontendVIPs: []string{"192.0.2.10"},
			PortMappings:  tcp(8080, 80, lbpolicy.DistributionSourceIP, lbpolicy.PortMappingVipExternalIP),
			SchemaVersion: v2, Flags: lbpolicy.FlagDSR,
		},
		"Ingress, preserve-destination": {
			HostComputeEndpoints: eps, FrontendVIPs: []string{"203.0.113.7"},
			PortMappings: tcp(443, 443, lbpolicy.DistributionNone,
				lbpolicy.PortMappingVipExternalIP|lbpolicy.PortMappingUseMux|lbpolicy.PortMappingPreserveDIP),
			SchemaVersion: v2, Flags: lbpolicy.FlagDSR,
		},
		"HealthCheck": {
			HostComputeEndpoints: eps[:1], FrontendVIPs: []string{"203.0.113.7"},
			PortMappings: tcp(10256, 10256, lbpolicy.DistributionNone,
				lbpolicy.PortMappingUseMux|lbpolicy.PortMappingPreserveDIP),
			SchemaVersion: v2,
		},
		"IPv6 DSR UDP": {
			HostComputeEndpoints: eps, SourceVIP: "fd00:10:244::2", FrontendVIPs: []string{"fd00:10:96::a"},
			PortMappings: []LoadBalancerPortMapping{{
				Protocol: 17, InternalPort: 5353, ExternalPort: 53,
				DistributionType: lbpolicy.DistributionSourceIPProtocol,
			}},
			SchemaVersion: v2, Flags: lbpolicy.FlagDSR | lbpolicy.FlagIPv6,
		},
		"IPv6 only": {
			HostComputeEndpoints: eps, FrontendVIPs: []string{"2001:db8::1", "2001:db8::2"},
			PortMappings:  tcp(80, 80, lbpolicy.DistributionNone, lbpolicy.PortMappingILB),
			SchemaVersion: v2, Flags: lbpolicy.FlagIPv6,
		},
		"every flag, several mappings": {
			HostComputeEndpoints: eps, FrontendVIPs: []string{"10.96.0.11"},
			PortMappings: []LoadBalancerPortMapping{
				{Protocol: 6, InternalPort: 1, ExternalPort: 65535, DistributionType: lbpolicy.DistributionSourceIP,
					Flags: lbpolicy.PortMappingILB | lbpolicy.PortMappingLocalRoutedVIP | lbpolicy.PortMappingUseMux |
						lbpolicy.PortMappingPreserveDIP | lbpolicy.PortMappingVipExternalIP},
				{Protocol: 17, InternalPort: 65535, ExternalPort: 1, Flags: 1 << 31},
				{},
			},
			SchemaVersion: SchemaVersion{Major: 2, Minor: 1}, Flags: lbpolicy.LoadBalancerFlags(0xFFFFFFFF),
		},
	}
}

// TestHCNLoadBalancerConversion: the neutral and the hcn load balancer
// marshal to the same JSON, both ways.
func TestHCNLoadBalancerConversion(t *testing.T) {
	for name, lb := range hcnTestLoadBalancers() {
		t.Run(name, func(t *testing.T) {
			want := hcnMustJSON(t, lb)

			h := toHCNLoadBalancer(&lb)
			if got := hcnMustJSON(t, h); got != want {
				t.Errorf("to hcn:\n got %s\nwant %s", got, want)
			}
			back := fromHCNLoadBalancer(h)
			if d := cmp.Diff(lb, back); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}

			// What HNS returns, as hcn decodes it, back to neutral.
			var fromHNS hcn.HostComputeLoadBalancer
			if err := json.Unmarshal([]byte(want), &fromHNS); err != nil {
				t.Fatal(err)
			}
			if got := hcnMustJSON(t, fromHCNLoadBalancer(&fromHNS)); got != want {
				t.Errorf("from hcn:\n got %s\nwant %s", got, want)
			}

			// No aliasing: changing the hcn copy leaves the original alone.
			if len(h.PortMappings) > 0 {
				h.PortMappings[0].ExternalPort++
				h.HostComputeEndpoints[0] = "changed"
				if hcnMustJSON(t, lb) != want {
					t.Error("toHCNLoadBalancer shares slices with its input")
				}
			}
		})
	}
}

// hcnNormalJSON marshals v with empty objects removed ({} and objects whose
// members are all empty): hcn marshals its zero Dns and Health structs as
// {} and {"Extra":{}}, which HNS reads as absent and the neutral types do
// not have.
func hcnNormalJSON(t *testing.T, v any) string {
	t.Helper()
	var x any
	if err := json.Unmarshal([]byte(hcnMustJSON(t, v)), &x); err != nil {
		t.Fatal(err)
	}
	return hcnMustJSON(t, hcnDropEmptyObjects(x))
}

func hcnDropEmptyObjects(x any) any {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			e = hcnDropEmptyObjects(e)
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				delete(v, k)
				continue
			}
			v[k] = e
		}
	case []any:
		for i := range v {
			v[i] = hcnDropEmptyObjects(v[i])
		}
	}
	return x
}

func hcnPASetting(t *testing.T, pa string) json.RawMessage {
	t.Helper()
	return json.RawMessage(hcnMustJSON(t, ProviderAddressEndpointPolicySetting{ProviderAddress: pa}))
}

func TestHCNEndpointConversion(t *testing.T) {
	v2 := V2SchemaVersion()
	eps := map[string]HostComputeEndpoint{
		"empty": {},
		"remote, overlay": {
			Name: "remote-10.244.2.7", HostComputeNetwork: "6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D",
			Policies:         []EndpointPolicy{{Type: EndpointPolicyProviderAddress, Settings: hcnPASetting(t, "10.0.0.3")}},
			IpConfigurations: []IpConfig{{IpAddress: "10.244.2.7"}},
			MacAddress:       "02-11-0a-f4-02-07", Flags: EndpointFlagsRemoteEndpoint, SchemaVersion: v2,
		},
		"remote, L2Bridge, IPv6": {
			HostComputeNetwork: "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
			IpConfigurations:   []IpConfig{{IpAddress: "fd00:10:244:2::7", PrefixLength: 64}},
			MacAddress:         "02-11-00-00-00-07", Flags: EndpointFlagsRemoteEndpoint, SchemaVersion: v2,
		},
		"local source VIP": {
			Id: "0C1D2E3F-4A5B-4C6D-8E9F-A0B1C2D3E4F5", Name: "source-vip",
			HostComputeNetwork: "6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D",
			IpConfigurations:   []IpConfig{{IpAddress: "10.244.0.2", PrefixLength: 32}, {IpAddress: "fd00::2", PrefixLength: 128}},
			MacAddress:         "00-15-5D-01-02-03", SchemaVersion: v2,
			Policies: []EndpointPolicy{
				{Type: EndpointPolicyProviderAddress, Settings: hcnPASetting(t, "10.0.0.1")},
				{Type: "OutBoundNAT"},
			},
		},
	}
	for name, ep := range eps {
		t.Run(name, func(t *testing.T) {
			want := hcnMustJSON(t, ep)

			h := toHCNEndpoint(&ep)
			if got := hcnNormalJSON(t, h); got != hcnNormalJSON(t, ep) {
				t.Errorf("to hcn:\n got %s\nwant %s", got, hcnNormalJSON(t, ep))
			}
			// The only difference before normalizing: hcn's empty Dns and Health.
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(hcnMustJSON(t, h)), &raw); err != nil {
				t.Fatal(err)
			}
			if string(raw["Dns"]) != "{}" || string(raw["Health"]) != `{"Extra":{}}` {
				t.Errorf("hcn endpoint JSON: want Dns {} and Health {\"Extra\":{}}, got %s", hcnMustJSON(t, h))
			}
			delete(raw, "Dns")
			delete(raw, "Health")
			var neutral map[string]json.RawMessage
			if err := json.Unmarshal([]byte(want), &neutral); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(neutral, raw); d != "" {
				t.Errorf("hcn JSON besides Dns and Health (-neutral +hcn):\n%s", d)
			}

			back := fromHCNEndpoint(h)
			if d := cmp.Diff(ep, back); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			var fromHNS hcn.HostComputeEndpoint
			if err := json.Unmarshal([]byte(want), &fromHNS); err != nil {
				t.Fatal(err)
			}
			if got := hcnMustJSON(t, fromHCNEndpoint(&fromHNS)); got != want {
				t.Errorf("from hcn:\n got %s\nwant %s", got, want)
			}
			if len(h.Policies) > 0 && len(h.Policies[0].Settings) > 0 {
				h.Policies[0].Settings[0] = '['
				if hcnMustJSON(t, ep) != want {
					t.Error("toHCNEndpoint shares policy settings with its input")
				}
			}
		})
	}
}

// TestHCNEndpointFromHNSDropsExtras: what the neutral type lacks (DNS,
// routes, namespace, health) is dropped; the rest survives.
func TestHCNEndpointFromHNSDropsExtras(t *testing.T) {
	h := hcn.HostComputeEndpoint{
		Id: "0C1D2E3F-4A5B-4C6D-8E9F-A0B1C2D3E4F5", Name: "pod", HostComputeNetwork: "net",
		HostComputeNamespace: "ns",
		IpConfigurations:     []hcn.IpConfig{{IpAddress: "10.244.0.9", PrefixLength: 24}},
		Dns:                  hcn.Dns{ServerList: []string{"10.96.0.10"}},
		Routes:               []hcn.Route{{NextHop: "10.244.0.1", DestinationPrefix: "0.0.0.0/0"}},
		MacAddress:           "00-15-5D-00-00-09",
		SchemaVersion:        hcn.SchemaVersion{Major: 2},
	}
	want := HostComputeEndpoint{
		Id: h.Id, Name: "pod", HostComputeNetwork: "net",
		IpConfigurations: []IpConfig{{IpAddress: "10.244.0.9", PrefixLength: 24}},
		MacAddress:       "00-15-5D-00-00-09", SchemaVersion: SchemaVersion{Major: 2},
	}
	if d := cmp.Diff(want, fromHCNEndpoint(&h)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestHCNNetworkConversion(t *testing.T) {
	rsr := json.RawMessage(`{"DestinationPrefix":"10.244.2.0/24","IsolationId":4096,"ProviderAddress":"192.0.2.12","DistributedRouterMacAddress":"00-15-5d-aa-bb-cc"}`)
	h := hcn.HostComputeNetwork{
		Id: "6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D", Name: "flannel.4096", Type: hcn.Overlay,
		Policies: []hcn.NetworkPolicy{
			{Type: hcn.ProviderAddress, Settings: json.RawMessage(`{"ProviderAddress":"192.0.2.11"}`)},
			{Type: hcn.RemoteSubnetRoute, Settings: rsr},
		},
		Ipams: []hcn.Ipam{{Type: "Static", Subnets: []hcn.Subnet{{
			IpAddressPrefix: "10.244.1.0/24",
			Policies:        []json.RawMessage{json.RawMessage(`{"Type":"VSID","Settings":{"IsolationId":4096}}`)},
			Routes:          []hcn.Route{{NextHop: "10.244.1.1", DestinationPrefix: "0.0.0.0/0"}},
		}}}},
		SchemaVersion: hcn.SchemaVersion{Major: 2},
	}
	want := HostComputeNetwork{
		Id: h.Id, Name: "flannel.4096", Type: "Overlay",
		Policies: []NetworkPolicy{
			{Type: "ProviderAddress", Settings: h.Policies[0].Settings},
			{Type: NetworkPolicyRemoteSubnetRoute, Settings: rsr},
		},
		Ipams: []Ipam{{Type: "Static", Subnets: []Subnet{{
			IpAddressPrefix: "10.244.1.0/24",
			Policies:        h.Ipams[0].Subnets[0].Policies,
			Routes:          []Route{{NextHop: "10.244.1.1", DestinationPrefix: "0.0.0.0/0"}},
		}}}},
		SchemaVersion: SchemaVersion{Major: 2},
	}
	got := fromHCNNetwork(&h)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	got.Policies[1].Settings[0] = 'x'
	if h.Policies[1].Settings[0] == 'x' {
		t.Error("the conversion shares the policy settings with hcn's network")
	}
	// The mirror's JSON is hcn's: it reads back into hcn's type unchanged.
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var back hcn.HostComputeNetwork
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(h, back); d != "" {
		t.Errorf("mirror JSON read by hcn (-want +got):\n%s", d)
	}
}

// newHcnError builds the *hcn.HcnError hcn returns when a call fails with
// cause. hcn offers no constructor and its *hcserror.HcsError is internal,
// so it is built by reflection, the way hcn's unexported new() fills it.
// (hcn's private code field stays 0; the mapping does not read it.)
func newHcnError(t *testing.T, cause error) *hcn.HcnError {
	t.Helper()
	he := &hcn.HcnError{}
	f := reflect.ValueOf(he).Elem().FieldByName("HcsError")
	hcs := reflect.New(f.Type().Elem())
	hcs.Elem().FieldByName("Err").Set(reflect.ValueOf(&cause).Elem())
	f.Set(hcs)
	return he
}

// newHcsError builds the bare internal *hcserror.HcsError that hcn's
// hnsCall (GetGlobals) returns.
func newHcsError(t *testing.T, cause error) error {
	t.Helper()
	he := newHcnError(t, cause)
	return reflect.ValueOf(he).Elem().FieldByName("HcsError").Interface().(error)
}

func TestHCNErrorMapping(t *testing.T) {
	dllErr := &windows.DLLError{Err: syscall.Errno(0x7E), ObjName: "computenetwork.dll", Msg: "Failed to load computenetwork.dll: The specified module could not be found."}
	procErr := &windows.DLLError{Err: syscall.Errno(0x7F), ObjName: "HcnModifyLoadBalancer", Msg: "Failed to find HcnModifyLoadBalancer procedure in computenetwork.dll: The specified procedure could not be found."}

	type tc struct {
		name string
		err  error
		code Code
		pred func(error) bool
	}
	var cases []tc
	// Every code errors.go names, as hcn reports it: Errno in an HcnError.
	for code, pred := range map[Code]func(error) bool{
		CodeInvalidParameter:  IsInvalidParameter,
		CodeModuleNotFound:    IsHNSUnavailable,
		CodeAlreadyExists:     IsAlreadyExists,
		CodeNotFound:          IsNotFound,
		CodeNotImplemented:    IsNotImplemented,
		CodePortAlreadyExists: IsPortAlreadyExists,
		CodeInvalidReference:  IsInvalidReference,
	} {
		cases = append(cases,
			tc{fmt.Sprintf("HcnError 0x%X", uint32(code)), newHcnError(t, syscall.Errno(code)), code, pred},
			tc{fmt.Sprintf("wrapped HcnError 0x%X", uint32(code)), fmt.Errorf("context: %w", newHcnError(t, syscall.Errno(code))), code, pred},
			tc{fmt.Sprintf("bare HcsError 0x%X", uint32(code)), newHcsError(t, syscall.Errno(code)), code, pred},
		)
	}
	none := func(error) bool { return true }
	cases = append(cases,
		tc{"other HRESULT kept", newHcnError(t, syscall.Errno(0x80070005)), 0x80070005, none},
		tc{"access denied", newHcnError(t, syscall.Errno(5)), 5, none},
		tc{"HcnError with no Errno (record only)", newHcnError(t, nil), errGenFailure, none},
		tc{"DLL missing in HcnError", newHcnError(t, dllErr), CodeModuleNotFound, IsHNSUnavailable},
		tc{"DLL missing in HcsError", newHcsError(t, dllErr), CodeModuleNotFound, IsHNSUnavailable},
		tc{"DLL missing bare", dllErr, CodeModuleNotFound, IsHNSUnavailable},
		tc{"function missing", newHcnError(t, procErr), CodeModuleNotFound, IsHNSUnavailable},
		tc{"syscall.DLLError", &syscall.DLLError{Err: syscall.Errno(0x7E), ObjName: "vmcompute.dll"}, CodeModuleNotFound, IsHNSUnavailable},
		tc{"LoadBalancerNotFoundError", hcn.LoadBalancerNotFoundError{LoadBalancerId: "x"}, CodeNotFound, IsNotFound},
		tc{"NetworkNotFoundError", hcn.NetworkNotFoundError{NetworkName: "cbr0"}, CodeNotFound, IsNotFound},
		tc{"EndpointNotFoundError", hcn.EndpointNotFoundError{EndpointID: "x"}, CodeNotFound, IsNotFound},
		tc{"wrapped NetworkNotFoundError", fmt.Errorf("x: %w", hcn.NetworkNotFoundError{NetworkName: "cbr0"}), CodeNotFound, IsNotFound},
		tc{"not from HNS", errors.New("invalid load balancer ID"), 0, none},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := hcnError(OpCreateLoadBalancer, c.err)
			if got.Code != c.code {
				t.Errorf("Code = 0x%X, want 0x%X (%v)", uint32(got.Code), uint32(c.code), c.err)
			}
			if !c.pred(got) {
				t.Errorf("predicate false for %v", got)
			}
			if got.Op != OpCreateLoadBalancer || got.Message != c.err.Error() || !errors.Is(got, c.err) {
				t.Errorf("got %#v: want Op, Message = err.Error(), Err = the original", got)
			}
			var wrapped error = fmt.Errorf("sync: %w", got)
			if CodeOf(wrapped) != c.code {
				t.Errorf("CodeOf(wrapped) = 0x%X", uint32(CodeOf(wrapped)))
			}
		})
	}
}

// TestHCNErrorMessageParsing covers the string path: codes and error
// records taken from hcn's message format
// "<func> failed in Win32: <text> (0x<code>) <record>".
func TestHCNErrorMessageParsing(t *testing.T) {
	for _, c := range []struct {
		msg    string
		code   Code
		record string
	}{
		{`hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013) {"Success":false,"Error":"The specified port already exists. ","ErrorCode":2151350291}`,
			CodePortAlreadyExists, `{"Success":false,"Error":"The specified port already exists. ","ErrorCode":2151350291}`},
		{`hcnOpenLoadBalancer failed in Win32: Element not found. (0x490) {"Success":false,"Error":"Element not found. ","ErrorCode":2147943568}`,
			CodeNotFound, `{"Success":false,"Error":"Element not found. ","ErrorCode":2147943568}`},
		{`hcnCreateLoadBalancer failed in Win32: Cannot create a file when that file already exists. (0xb7)`, CodeAlreadyExists, ""},
		{`hcnModifyLoadBalancer failed in Win32: Not implemented (0x80004001) `, CodeNotImplemented, ""},
		{`failed in Win32: %!s(<nil>) (0x1f) {"Error":"(0x57) nested"}`, errGenFailure, `{"Error":"(0x57) nested"}`},
		{`something else entirely`, errGenFailure, ""},
	} {
		if got := win32Code(nil, c.msg); got != c.code {
			t.Errorf("win32Code(%q) = 0x%X, want 0x%X", c.msg, uint32(got), uint32(c.code))
		}
		if got := errorRecord(c.msg); got != c.record {
			t.Errorf("errorRecord(%q) = %q, want %q", c.msg, got, c.record)
		}
	}
	// With an Errno, the Errno wins over the text.
	if got := win32Code(syscall.Errno(0x490), "x failed in Win32: y (0x57)"); got != CodeNotFound {
		t.Errorf("win32Code with Errno = 0x%X", uint32(got))
	}
}

type hcnNotHCS struct{}

func (hcnNotHCS) Error() string { return "x" }

func TestHCNPanicRecovered(t *testing.T) {
	h := &HCN{}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		fn   func() error
		code Code
	}{
		{"lazy DLL that cannot load", func() error {
			_, _, err := windows.NewLazySystemDLL("hnslb-no-such.dll").NewProc("HcnEnumerateLoadBalancers").Call()
			return err
		}, CodeModuleNotFound},
		{"loader's Errno", func() error { panic(syscall.Errno(0x7E)) }, CodeModuleNotFound},
		{"lazy proc that does not exist", func() error {
			windows.NewLazySystemDLL("kernel32.dll").NewProc("HcnNoSuchFunction").Addr()
			return nil
		}, CodeModuleNotFound},
		{"hcn's assertion on a DLLError", func() error {
			var err error = &windows.DLLError{Err: syscall.Errno(0x7E)}
			_ = err.(hcnNotHCS) // panics: interface conversion: error is *windows.DLLError, not ...
			return nil
		}, CodeModuleNotFound},
		{"any other panic", func() error { panic("boom") }, 0},
		{"nil dereference", func() error {
			var lb *hcn.HostComputeLoadBalancer
			return errors.New(lb.Id)
		}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := call(h, ctx, OpListLoadBalancers, "", func() ([]HostComputeLoadBalancer, error) {
				return []HostComputeLoadBalancer{{Id: "answered"}}, c.fn()
			})
			if err == nil {
				t.Fatal("no error")
			}
			if out != nil {
				t.Errorf("call answered %v with its error; want nil", out)
			}
			if CodeOf(err) != c.code {
				t.Errorf("Code = 0x%X, want 0x%X: %v", uint32(CodeOf(err)), uint32(c.code), err)
			}
			if !strings.Contains(err.Error(), "panicked") {
				t.Errorf("message does not say it panicked: %v", err)
			}
		})
	}
}

// hcnEachBackendCall calls every Client method once.
func hcnEachBackendCall(b Client, ctx context.Context) map[Op]error {
	const id = "5D2E5F5A-1B9A-4C55-8E07-0C1B6A0C3C11"
	lb := &HostComputeLoadBalancer{HostComputeEndpoints: []string{id}, FrontendVIPs: []string{"10.96.0.10"},
		PortMappings: []LoadBalancerPortMapping{{Protocol: 6, InternalPort: 80, ExternalPort: 80}}}
	ep := &HostComputeEndpoint{IpConfigurations: []IpConfig{{IpAddress: "10.244.2.7"}}, Flags: EndpointFlagsRemoteEndpoint}
	errs := map[Op]error{}
	_, errs[OpListLoadBalancers] = b.ListLoadBalancers(ctx)
	_, errs[OpGetLoadBalancer] = b.GetLoadBalancer(ctx, id)
	_, errs[OpCreateLoadBalancer] = b.CreateLoadBalancer(ctx, lb)
	_, errs[OpUpdateLoadBalancer] = b.UpdateLoadBalancer(ctx, id, lb)
	errs[OpDeleteLoadBalancer] = b.DeleteLoadBalancer(ctx, id)
	_, errs[OpListEndpoints] = b.ListEndpoints(ctx, "")
	_, errs[OpCreateEndpoint] = b.CreateEndpoint(ctx, id, ep)
	errs[OpDeleteEndpoint] = b.DeleteEndpoint(ctx, id)
	_, errs[OpGetNetwork] = b.GetNetworkByName(ctx, "cbr0")
	_, errs[OpVersion] = b.Version(ctx)
	return errs
}

func TestHCNCanceledContextMakesNoCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for op, err := range hcnEachBackendCall(&HCN{}, ctx) {
		var e *Error
		if !errors.As(err, &e) || e.Op != op || !errors.Is(err, context.Canceled) || e.Code != 0 {
			t.Errorf("%s: got %#v, want *Error{Op: %s} wrapping context.Canceled", op, err, op)
		}
	}
}

func TestHCNCreateEndpointNeedsANetwork(t *testing.T) {
	h := &HCN{}
	ctx := context.Background()
	if _, err := h.CreateEndpoint(ctx, "", &HostComputeEndpoint{}); err == nil || CodeOf(err) != 0 || !strings.Contains(err.Error(), "no network") {
		t.Errorf("no network anywhere: got %v", err)
	}
	if _, err := h.CreateEndpoint(ctx, "a", &HostComputeEndpoint{HostComputeNetwork: "b"}); err == nil || !strings.Contains(err.Error(), "names network b") {
		t.Errorf("conflicting networks: got %v", err)
	}
}

// TestHCNWithoutHNS runs the real hcn calls on a machine without HNS
// (Wine: HNSLB_WINE=1). Each must fail with IsHNSUnavailable, not panic.
func TestHCNWithoutHNS(t *testing.T) {
	if os.Getenv("HNSLB_WINE") != "1" {
		t.Skip("set HNSLB_WINE=1 where there is no HNS (Wine); a real Windows host has one")
	}
	ctx := context.Background()
	for _, name := range []string{"", "cbr0"} {
		h, err := NewHCN(name, logr.Discard())
		if h != nil || !IsHNSUnavailable(err) {
			t.Errorf("NewHCN(%q) = %v, %v; want nil and IsHNSUnavailable", name, h, err)
		}
		t.Logf("NewHCN(%q): %v", name, err)
	}
	for op, err := range hcnEachBackendCall(&HCN{}, ctx) {
		var e *Error
		if !errors.As(err, &e) || e.Op != op || !IsHNSUnavailable(err) {
			t.Errorf("%s: got %#v (%v), want *Error{Op: %s, Code: CodeModuleNotFound}", op, err, err, op)
			continue
		}
		if e.Err == nil || e.Message == "" {
			t.Errorf("%s: %#v lacks the underlying error", op, e)
		}
		t.Logf("%s: %v", op, err)
	}
	// ListEndpoints of one network takes another hcn path.
	if _, err := (&HCN{}).ListEndpoints(ctx, "6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D"); !IsHNSUnavailable(err) {
		t.Errorf("ListEndpoints(network): %v", err)
	}
	// The raw hcn errors are what the mapping expects.
	_, err := hcn.ListLoadBalancers()
	var he *hcn.HcnError
	if !errors.As(err, &he) {
		t.Errorf("hcn.ListLoadBalancers: %T %v, want *hcn.HcnError", err, err)
	}
}
