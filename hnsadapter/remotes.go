package hnsadapter

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// listedEndpoint is one endpoint of the view's list that has an IP, with
// what matching a plan endpoint reads from it worked out once per list: a
// full sync then compares fields instead of reading the endpoint's
// policies again for each of 100,000 plan endpoints.
type listedEndpoint struct {
	ip  netip.Addr
	pa  netip.Addr // its provider address (providerAddress); zero: none
	mac string
	id  string // as listed
	ep  *hns.HostComputeEndpoint
	pos int // its index in the list
}

// listedByIP is the view's list of endpoints sorted by IP, then ID: its
// remote endpoints, and its local ones.
type listedByIP struct {
	remotes, locals []listedEndpoint
}

// byIP returns the view's endpoints sorted by IP (listedByIP) while they
// are still those of their list (else nil): a full sync walks them beside
// the plan's endpoints, sorted by IP too, instead of looking each IP up in
// remoteByIP and localByIP. Made once per list: a full sync whose list did
// not change reuses it.
func (v *view) byIP() *listedByIP {
	if v.listedEPs == nil || len(v.eps) != len(v.listedEPs) { // changed, or an ID listed twice
		return nil
	}
	if v.sorted != nil {
		return v.sorted
	}
	out := &listedByIP{remotes: make([]listedEndpoint, 0, len(v.listedEPs))}
	for i := range v.listedEPs {
		ep := &v.listedEPs[i]
		if ip, ok := endpointIP(ep); ok {
			out.add(ep, ip, i)
		}
	}
	out.sort()
	v.sorted = out
	return out
}

// add adds ep, with IP ip, at position pos of its list.
func (l *listedByIP) add(ep *hns.HostComputeEndpoint, ip netip.Addr, pos int) {
	e := listedEndpoint{ip: ip, mac: ep.MacAddress, id: ep.Id, ep: ep, pos: pos}
	if isRemote(ep) {
		e.pa = listedProviderAddress(ep)
		l.remotes = append(l.remotes, e)
	} else {
		l.locals = append(l.locals, e)
	}
}

// sort sorts the lists by IP, then ID.
func (l *listedByIP) sort() {
	sortByIP(l.remotes)
	sortByIP(l.locals)
}

// sortByIP sorts es by IP, then ID. It sorts short keys, then moves
// each entry once: at 100,000 entries, sorting the entries themselves
// costs twice as much.
func sortByIP(es []listedEndpoint) {
	byIP := func(a, b *listedEndpoint) int {
		if c := a.ip.Compare(b.ip); c != 0 {
			return c
		}
		return strings.Compare(idKey(a.id), idKey(b.id)) // as remoteByIP and localByIP
	}
	if slices.IsSortedFunc(es, func(a, b listedEndpoint) int { return byIP(&a, &b) }) {
		return
	}
	type sortKey struct {
		hi, lo uint64 // the address, 16 bytes (IPv4 mapped)
		at     int32
		v6     bool // IPv4 addresses come first
	}
	keys := make([]sortKey, len(es))
	for i := range es {
		a := es[i].ip.As16()
		keys[i] = sortKey{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), int32(i), es[i].ip.Is6()}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		switch {
		case a.v6 != b.v6:
			return cmp.Compare(b2i(a.v6), b2i(b.v6))
		case a.hi != b.hi:
			return cmp.Compare(a.hi, b.hi)
		case a.lo != b.lo:
			return cmp.Compare(a.lo, b.lo)
		}
		return byIP(&es[a.at], &es[b.at]) // the zone, then the ID
	})
	// es[i] = old es[keys[i].at], by following each cycle of the
	// permutation.
	for i := range keys {
		if keys[i].at < 0 || int(keys[i].at) == i {
			continue
		}
		tmp, j := es[i], i
		for {
			k := int(keys[j].at)
			keys[j].at = -1
			if k == i {
				es[j] = tmp
				break
			}
			es[j], j = es[k], k
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listedProviderAddress is providerAddress(ep), without decoding JSON
// when the settings are written as this package writes them
// (appendPASettings): the usual case, read for every remote endpoint of
// a list.
func listedProviderAddress(ep *hns.HostComputeEndpoint) netip.Addr {
	const prefix, suffix = paSettingsPrefix, paSettingsSuffix
	if len(ep.Policies) == 1 && ep.Policies[0].Type == hns.EndpointPolicyProviderAddress {
		s := ep.Policies[0].Settings
		if len(s) > len(prefix)+len(suffix) && bytes.HasPrefix(s, []byte(prefix)) && bytes.HasSuffix(s, []byte(suffix)) {
			text := s[len(prefix) : len(s)-len(suffix)]
			if pa, ok := parseIPv4(text); ok {
				return pa
			}
			if pa, err := netip.ParseAddr(string(text)); err == nil {
				return pa.Unmap()
			}
		}
	}
	return providerAddress(ep)
}

// parseIPv4 parses b as netip.ParseAddr parses an IPv4 address (four
// decimal bytes, without leading zeros), without making a string of it:
// once per listed remote endpoint, that is 100,000 allocations.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var a [4]byte
	part, digits, val := 0, 0, 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && val == 0 {
				return netip.Addr{}, false // a leading zero
			}
			val, digits = val*10+int(c-'0'), digits+1
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && part < 3 && i < len(b)-1:
			a[part], part, digits, val = byte(val), part+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if part != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a[3] = byte(val)
	return netip.AddrFrom4(a), true
}

// ipWalk finds, for plan endpoints taken in ascending IP order, the
// listed endpoints with each IP.
type ipWalk struct {
	all []listedEndpoint
	at  int
}

// holding returns the entries with IP ip, which must not be lower than
// the last one asked for.
func (w *ipWalk) holding(ip netip.Addr) []listedEndpoint {
	for w.at < len(w.all) && w.all[w.at].ip.Less(ip) {
		w.at++
	}
	end := w.at
	for end < len(w.all) && w.all[end].ip == ip {
		end++
	}
	return w.all[w.at:end]
}

// sameRemote is sameRemote(e.ep, want), from e's fields.
func (e *listedEndpoint) sameRemote(want *lbpolicy.Endpoint) bool {
	return want.Remote && e.pa == want.ProviderAddress.Unmap() &&
		(e.mac == want.MACAddress || strings.EqualFold(e.mac, want.MACAddress) || normalMAC(e.mac) == normalMAC(want.MACAddress))
}

// existingRemoteIn is existingRemote over the entries holding want's IP:
// the entry to use, or nil.
func (s *syncRun) existingRemoteIn(held []listedEndpoint, want *lbpolicy.Endpoint) *listedEndpoint {
	if len(held) == 1 { // the usual case: owned or not, the one to use
		if held[0].sameRemote(want) {
			return &held[0]
		}
		return nil
	}
	var other *listedEndpoint
	for i := range held {
		e := &held[i]
		if !e.sameRemote(want) {
			continue
		}
		if s.r.owned.ownsEndpoint(e.id) {
			return e
		}
		if other == nil {
			other = e
		}
	}
	return other
}
