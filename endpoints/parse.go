package endpoints

import (
	"net/netip"
	"strconv"
	"strings"
)

// ParseAddr parses an IP address the way kube-proxy does (k8s.io/utils/net
// ParseIPSloppy, which is Go 1.16's net.ParseIP):
//
//   - IPv4 octets may have leading zeros, read as decimal ("010.001.002.003"
//     is 10.1.2.3, never octal), and so may IPv6 groups ("0000001::1").
//   - An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") is the IPv4 address
//     1.2.3.4, as net.IP.To4 treats it; the result is never a mapped address.
//   - Surrounding white space is ignored.
//   - Zones ("fe80::1%eth0"), CIDRs ("10.0.0.0/8"), ports and the empty
//     string are errors.
//
// Errors quote the input. ParseAddr never panics, and for every address it
// returns, ParseAddr(addr.String()) returns the same address.
func ParseAddr(s string) (netip.Addr, error) {
	a, _, reason := parseAddr(s)
	if reason != "" {
		return netip.Addr{}, &parseError{in: s, reason: reason}
	}
	return a, nil
}

// ParseAddrNormalized is ParseAddr that also reports whether s was
// normalised: read with leading zeros, as an IPv4-mapped IPv6 address or
// with surrounding white space. kube-proxy accepts those silently; hnslb
// accepts them too, and its callers warn (docs/semantics.md §4.1).
func ParseAddrNormalized(s string) (a netip.Addr, normalized bool, err error) {
	a, normalized, reason := parseAddr(s)
	if reason != "" {
		return netip.Addr{}, false, &parseError{in: s, reason: reason}
	}
	return a, normalized, nil
}

// SpecialPurpose returns what kind of special-purpose address a is —
// "unspecified", "loopback", "link-local" or "multicast", in either
// family — or "" for an address that can be a load balancer's frontend or
// backend. The API server rejects these as endpoint addresses and
// ClusterIPs; hnslb does not plan them (docs/semantics.md §4.1).
func SpecialPurpose(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	}
	return ""
}

// parseError is ParseAddr's error: built only on failure, so that the
// happy path does not format anything.
type parseError struct {
	in     string
	reason string
}

func (e *parseError) Error() string {
	return "invalid IP address " + strconv.Quote(e.in) + ": " + e.reason
}

// Reasons parseAddr gives, also used in SliceError.Reason.
const (
	reasonNotIP = "not an IP address"
	reasonEmpty = "not an IP address: empty"
	reasonZone  = "not an IP address: zones (%...) are not allowed"
	reasonCIDR  = "not an IP address: a CIDR, give the address without /prefix"
)

// parseAddr is ParseAddr without the error allocation: it returns whether
// the input was normalised (see ParseAddrNormalized) and a reason ("" on
// success) for people.
func parseAddr(in string) (netip.Addr, bool, string) {
	s := strings.TrimSpace(in)
	if s == "" {
		return netip.Addr{}, false, reasonEmpty
	}
	trimmed := len(s) != len(in)
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, false, reasonZone
		}
		return a.Unmap(), trimmed || a.Is4In6(), ""
	}
	if a, ok := parseSloppy(s); ok {
		return a, true, ""
	}
	switch {
	case strings.IndexByte(s, '%') >= 0:
		return netip.Addr{}, false, reasonZone
	case strings.IndexByte(s, '/') >= 0:
		return netip.Addr{}, false, reasonCIDR
	}
	return netip.Addr{}, false, reasonNotIP
}

// parseSloppy is Go 1.16's net.ParseIP, which netip.ParseAddr is stricter
// than: it allows leading zeros in IPv4 octets (also in an IPv6 address's
// trailing IPv4 part) and more than four digits in an IPv6 group as long as
// the value fits in 16 bits. The first '.' or ':' decides the family, as it
// did there.
func parseSloppy(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			b, ok := parseSloppyIPv4(s)
			if !ok {
				return netip.Addr{}, false
			}
			return netip.AddrFrom4(b), true
		case ':':
			b, ok := parseSloppyIPv6(s)
			if !ok {
				return netip.Addr{}, false
			}
			return netip.AddrFrom16(b).Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// sloppyBig bounds the numbers sloppy parsing reads, so they cannot
// overflow (the old net package's "big").
const sloppyBig = 0xFFFFFF

// parseSloppyIPv4 parses four dot-separated decimal octets, each 0-255,
// leading zeros allowed, and nothing else.
func parseSloppyIPv4(s string) ([4]byte, bool) {
	var p [4]byte
	for i := range p {
		if i > 0 {
			if s == "" || s[0] != '.' {
				return p, false
			}
			s = s[1:]
		}
		n, c := 0, 0
		for c < len(s) && '0' <= s[c] && s[c] <= '9' {
			n = n*10 + int(s[c]-'0')
			c++
			if n >= sloppyBig {
				return p, false
			}
		}
		if c == 0 || n > 0xFF {
			return p, false
		}
		p[i] = byte(n)
		s = s[c:]
	}
	return p, s == ""
}

// parseSloppyIPv6 parses an IPv6 address in the old net.ParseIP syntax:
// hexadecimal groups (any number of leading zeros), at most one "::", and
// an optional trailing IPv4 part.
func parseSloppyIPv6(s string) ([16]byte, bool) {
	var ip [16]byte
	ellipsis := -1 // index in ip where "::" stands

	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if s == "" {
			return ip, true
		}
	}

	i := 0
	for i < 16 {
		n, c, ok := parseHexGroup(s)
		if !ok {
			return ip, false
		}

		if c < len(s) && s[c] == '.' {
			// Trailing IPv4 part: only in the last 4 bytes, or after "::".
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return ip, false
			}
			v4, ok := parseSloppyIPv4(s)
			if !ok {
				return ip, false
			}
			copy(ip[i:], v4[:])
			s = ""
			i += 4
			break
		}

		ip[i] = byte(n >> 8)
		ip[i+1] = byte(n)
		i += 2

		s = s[c:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return ip, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return ip, false
			}
			ellipsis = i
			s = s[1:]
			if s == "" {
				break
			}
		}
	}
	if s != "" {
		return ip, false
	}
	return expandEllipsis(ip, i, ellipsis)
}

// parseHexGroup reads the hexadecimal group at the start of s: its value
// and length. A group must have a digit and fit in 16 bits.
func parseHexGroup(s string) (n, c int, ok bool) {
	for c < len(s) {
		d, ok := hexDigit(s[c])
		if !ok {
			break
		}
		n = n*16 + d
		c++
		if n >= sloppyBig {
			return 0, 0, false
		}
	}
	return n, c, c > 0 && n <= 0xFFFF
}

// expandEllipsis moves the n bytes parsed after "::" (which stands at
// ellipsis, or -1 when there was none) to the end of ip and zeroes the
// gap. Without "::" all 16 bytes must have been given; with it, it must
// stand for at least one group.
func expandEllipsis(ip [16]byte, n, ellipsis int) ([16]byte, bool) {
	if n == 16 {
		return ip, ellipsis < 0
	}
	if ellipsis < 0 {
		return ip, false
	}
	gap := 16 - n
	for j := n - 1; j >= ellipsis; j-- {
		ip[j+gap] = ip[j]
	}
	for j := ellipsis + gap - 1; j >= ellipsis; j-- {
		ip[j] = 0
	}
	return ip, true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
