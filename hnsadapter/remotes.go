package hnsadapter

import (
	"bytes"
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

// sortByIP sorts es by IP, then ID.
func sortByIP(es []listedEndpoint) {
	byIP := func(a, b listedEndpoint) int {
		if c := a.ip.Compare(b.ip); c != 0 {
			return c
		}
		return strings.Compare(idKey(a.id), idKey(b.id)) // as remoteByIP and localByIP
	}
	if !slices.IsSortedFunc(es, byIP) {
		slices.SortFunc(es, byIP)
	}
}

// listedProviderAddress is providerAddress(ep), without decoding JSON
// when the settings are written as this package writes them
// (providerAddressSettings): the usual case, read for every remote
// endpoint of a list.
func listedProviderAddress(ep *hns.HostComputeEndpoint) netip.Addr {
	const prefix, suffix = `{"ProviderAddress":"`, `"}`
	if len(ep.Policies) == 1 && ep.Policies[0].Type == hns.EndpointPolicyProviderAddress {
		s := ep.Policies[0].Settings
		if len(s) > len(prefix)+len(suffix) && bytes.HasPrefix(s, []byte(prefix)) && bytes.HasSuffix(s, []byte(suffix)) {
			if pa, err := netip.ParseAddr(string(s[len(prefix) : len(s)-len(suffix)])); err == nil {
				return pa.Unmap()
			}
		}
	}
	return providerAddress(ep)
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
