package fake

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The plain form is read as json.Unmarshal reads it, and anything else is
// left to json.Unmarshal.
func TestPlainProviderAddress(t *testing.T) {
	for _, tc := range []struct {
		settings string
		plain    bool
	}{
		{`{"ProviderAddress":"10.0.0.4"}`, true},
		{`{"ProviderAddress":"fd00::4"}`, true},
		{`{"ProviderAddress":""}`, true},
		{`{ "ProviderAddress": "10.0.0.4" }`, false},
		{`{"ProviderAddress":"10.0.0.4","Other":1}`, false},
		{`{"ProviderAddress":"10.0.\u0030.4"}`, false},
		{`{"ProviderAddress":"a\"b"}`, false},
		{`{"providerAddress":"10.0.0.4"}`, false},
	} {
		pa, ok := plainProviderAddress([]byte(tc.settings))
		if ok != tc.plain {
			t.Errorf("%s: plain = %v, want %v", tc.settings, ok, tc.plain)
			continue
		}
		var s hns.ProviderAddressEndpointPolicySetting
		if err := json.Unmarshal([]byte(tc.settings), &s); err != nil {
			t.Fatalf("%s: %v", tc.settings, err)
		}
		if ok && string(pa) != s.ProviderAddress {
			t.Errorf("%s: read %q, json.Unmarshal reads %q", tc.settings, pa, s.ProviderAddress)
		}
		got, found, err := providerAddress(hns.HostComputeEndpoint{Policies: []hns.EndpointPolicy{
			{Type: hns.EndpointPolicyProviderAddress, Settings: []byte(tc.settings)}}})
		if err != nil || !found || got != s.ProviderAddress {
			t.Errorf("%s: providerAddress = %q, %v, %v; want %q", tc.settings, got, found, err, s.ProviderAddress)
		}
	}
}

// normAddr gives one spelling per address, whatever the input's.
func TestNormAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.4": "10.0.0.4", "::ffff:10.0.0.4": "10.0.0.4", "FD00::4": "fd00::4",
		"fd00:0:0::4": "fd00::4", "not-an-ip": "not-an-ip", "NOT": "not",
	} {
		if got := normAddr(in); got != want {
			t.Errorf("normAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPlainProviderAddress: whenever the fast path reads settings, it reads
// what json.Unmarshal reads.
func FuzzPlainProviderAddress(f *testing.F) {
	f.Add([]byte(`{"ProviderAddress":"10.0.0.4"}`))
	f.Add([]byte(`{"ProviderAddress":"a\u0022"}`))
	f.Add([]byte(`{"ProviderAddress":""}`))
	f.Fuzz(func(t *testing.T, settings []byte) {
		pa, ok := plainProviderAddress(settings)
		if !ok {
			return
		}
		var s hns.ProviderAddressEndpointPolicySetting
		if err := json.Unmarshal(settings, &s); err != nil {
			t.Fatalf("%q: read %q, but json.Unmarshal fails: %v", settings, pa, err)
		}
		if s.ProviderAddress != string(pa) {
			t.Fatalf("%q: read %q, json.Unmarshal reads %q", settings, pa, s.ProviderAddress)
		}
	})
}

// plainIPv4 accepts only what netip.ParseAddr accepts as IPv4.
func TestPlainIPv4(t *testing.T) {
	for _, s := range []string{
		"10.0.0.4", "0.0.0.0", "255.255.255.255", "192.168.1.10", "", ".", "1.2.3", "1.2.3.4.5",
		"1.2.3.256", "01.2.3.4", "1.2.3.04", "1.2.3.0", "1..3.4", "1.2.3.4.", ".1.2.3.4", "1.2.3.a",
		"::1", "fd00::4", "1.2.3.4%eth0", "1.2.3.4 ", "9999.1.1.1", "00.1.1.1",
	} {
		_, err := netip.ParseAddr(s)
		want := err == nil && !strings.Contains(s, ":")
		if got := plainIPv4([]byte(s)); got != want {
			t.Errorf("plainIPv4(%q) = %v, netip.ParseAddr reads an IPv4 address: %v", s, got, want)
		}
		if got := plainIPv4(s); got != want {
			t.Errorf("plainIPv4(string %q) = %v, netip.ParseAddr reads an IPv4 address: %v", s, got, want)
		}
	}
}

// FuzzPlainIPv4: whatever plainIPv4 accepts, netip.ParseAddr reads as IPv4.
func FuzzPlainIPv4(f *testing.F) {
	f.Add([]byte("10.0.0.4"))
	f.Add([]byte("1.2.3.04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !plainIPv4(b) {
			return
		}
		if a, err := netip.ParseAddr(string(b)); err != nil || !a.Is4() || a.String() != string(b) {
			t.Fatalf("plainIPv4(%q) is true; netip.ParseAddr: %v, %v", b, a, err)
		}
	})
}
