package endpoints_test

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/hnslb/hnslb/endpoints"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in      string
		want    string // "" for an error
		wantErr string // a substring of the error
	}{
		{in: "10.1.2.3", want: "10.1.2.3"},
		{in: "0.0.0.0", want: "0.0.0.0"},
		{in: "255.255.255.255", want: "255.255.255.255"},
		{in: "  10.1.2.3\n", want: "10.1.2.3"},
		{in: "010.001.002.003", want: "10.1.2.3"},
		{in: "08.09.010.0255", want: "8.9.10.255"}, // decimal, never octal
		{in: "0000000010.1.2.3", want: "10.1.2.3"},
		{in: "::ffff:1.2.3.4", want: "1.2.3.4"},
		{in: "::ffff:0102:0304", want: "1.2.3.4"},
		{in: "::FFFF:010.001.002.003", want: "10.1.2.3"},
		{in: "::1.2.3.4", want: "::102:304"}, // IPv4-compatible is IPv6
		{in: "fd00::1", want: "fd00::1"},
		{in: "FD00:0000::0001", want: "fd00::1"},
		{in: "000fd00::1", want: "fd00::1"},
		{in: "0000000001::", want: "1::"},
		{in: "::", want: "::"},
		{in: "1:2:3:4:5:6:7:8", want: "1:2:3:4:5:6:7:8"},
		{in: "1:2:3:4:5:6:1.2.3.4", want: "1:2:3:4:5:6:102:304"},
		{in: "1:2:3:4:5:6:01.02.03.04", want: "1:2:3:4:5:6:102:304"},
		{in: "1:2::6:01.02.03.04", want: "1:2::6:102:304"},

		{in: "", wantErr: "empty"},
		{in: "   ", wantErr: "empty"},
		{in: "fe80::1%eth0", wantErr: "zones"},
		{in: "fe80::01%eth0", wantErr: "zones"},
		{in: "10.0.0.0/8", wantErr: "CIDR"},
		{in: "fd00::/64", wantErr: "CIDR"},
		{in: "256.1.1.1", wantErr: "not an IP address"},
		{in: "1.2.3", wantErr: "not an IP address"},
		{in: "1.2.3.4.5", wantErr: "not an IP address"},
		{in: "1.2.3.", wantErr: "not an IP address"},
		{in: ".1.2.3", wantErr: "not an IP address"},
		{in: "1..2.3", wantErr: "not an IP address"},
		{in: "1.2.3.4:80", wantErr: "not an IP address"},
		{in: "0x1.2.3.4", wantErr: "not an IP address"},
		{in: "99999999999999.1.1.1", wantErr: "not an IP address"},
		{in: "10000::", wantErr: "not an IP address"},
		{in: "1::2::3", wantErr: "not an IP address"},
		{in: "1:2:3:4:5:6:7:8:9", wantErr: "not an IP address"},
		{in: "1:2:3:4:5:6:7:8::", wantErr: "not an IP address"},
		{in: "1:2:3:4:5:6:7:01.2.3.4", wantErr: "not an IP address"},
		{in: "1:2:3:01.2.3.4", wantErr: "not an IP address"},
		{in: "1:", wantErr: "not an IP address"},
		{in: ":1", wantErr: "not an IP address"},
		{in: "[::1]", wantErr: "not an IP address"},
		{in: "garbage", wantErr: "not an IP address"},
		{in: "example.com", wantErr: "not an IP address"},
		{in: "1.2.3.4 5", wantErr: "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := endpoints.ParseAddr(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseAddr(%q) = %v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), strconv.Quote(tt.in)) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseAddr(%q) error %q: want the quoted input and %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddr(%q): %v", tt.in, err)
			}
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("ParseAddr(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{
		"10.1.2.3", "010.001.002.003", "::ffff:1.2.3.4", "::ffff:010.1.2.3", "fd00::1",
		"0000fd00::1", "fe80::1%eth0", "10.0.0.0/8", "", " 1.2.3.4 ", "1:2:3:4:5:6:1.2.3.4", "::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := endpoints.ParseAddr(s)
		if err != nil {
			if a.IsValid() {
				t.Errorf("ParseAddr(%q) = %v with error %v", s, a, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Errorf("ParseAddr(%q) error %q does not quote the input", s, err)
			}
			// Today's net.ParseIP is stricter than the sloppy parser.
			if ip := net.ParseIP(s); ip != nil {
				t.Errorf("ParseAddr(%q) failed (%v), net.ParseIP accepts it as %v", s, err, ip)
			}
			return
		}
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ParseAddr(%q) = %v: want a valid address without zone, never IPv4-mapped", s, a)
		}
		b, err := endpoints.ParseAddr(a.String())
		if err != nil || b != a {
			t.Errorf("ParseAddr(%q) = %v, but ParseAddr(%q) = %v, %v", s, a, a.String(), b, err)
		}
		if ip := net.ParseIP(s); ip != nil {
			want, _ := netip.AddrFromSlice(ip)
			if want = want.Unmap(); want != a {
				t.Errorf("ParseAddr(%q) = %v, net.ParseIP says %v", s, a, want)
			}
		}
	})
}

func TestParseAddrNormalized(t *testing.T) {
	tests := []struct {
		in             string
		want           string // "" for an error
		wantNormalized bool
	}{
		{in: "10.1.2.3", want: "10.1.2.3"},
		{in: "fd00::1", want: "fd00::1"},
		{in: "FD00::0001", want: "fd00::1"}, // netip's syntax: not lenient
		{in: "010.001.002.003", want: "10.1.2.3", wantNormalized: true},
		{in: "::ffff:10.1.2.3", want: "10.1.2.3", wantNormalized: true},
		{in: " 10.1.2.3", want: "10.1.2.3", wantNormalized: true},
		{in: "0000001::1", want: "1::1", wantNormalized: true},
		{in: "10.1.2.300"},
		{in: ""},
	}
	for _, tt := range tests {
		a, normalized, err := endpoints.ParseAddrNormalized(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseAddrNormalized(%q) = %v, want an error", tt.in, a)
			}
			continue
		}
		if err != nil || a.String() != tt.want || normalized != tt.wantNormalized {
			t.Errorf("ParseAddrNormalized(%q) = %v, %v, %v; want %s, %v", tt.in, a, normalized, err, tt.want, tt.wantNormalized)
		}
	}
}

func TestSpecialPurpose(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", ""},
		{"192.0.2.1", ""},
		{"fd00::1", ""},
		{"2001:db8::1", ""},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"127.0.0.1", "loopback"},
		{"127.1.2.3", "loopback"},
		{"::1", "loopback"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"224.0.0.1", "multicast"},
		{"239.1.1.1", "multicast"},
		{"ff02::1", "multicast"},
	}
	for _, tt := range tests {
		if got := endpoints.SpecialPurpose(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("SpecialPurpose(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
