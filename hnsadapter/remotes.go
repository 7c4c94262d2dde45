package hnsadapter

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// remoteEntry is one remote endpoint of the view, in its by-IP order.
type remoteEntry struct {
	ip netip.Addr
	id string // idKey form
	ep *hns.HostComputeEndpoint
}

// remotesByIP returns the view's remote endpoints sorted by IP, then ID,
// while the view's endpoints are still those of their list (else nil): a
// full sync walks them beside the plan's endpoints, sorted by IP too,
// instead of looking each IP up in remoteByIP and each ID in eps. Made
// once per list: a full sync whose list did not change reuses it.
func (v *view) remotesByIP() []remoteEntry {
	if v.listedEPs == nil || len(v.eps) != len(v.listedEPs) { // changed, or an ID listed twice
		return nil
	}
	if v.remotes != nil || len(v.remoteByIP) == 0 {
		return v.remotes
	}
	out := make([]remoteEntry, 0, len(v.eps))
	for i := range v.listedEPs {
		ep := &v.listedEPs[i]
		if ip, ok := endpointIP(ep); ok && isRemote(ep) {
			out = append(out, remoteEntry{ip: ip, id: idKey(ep.Id), ep: ep})
		}
	}
	slices.SortFunc(out, func(a, b remoteEntry) int { return cmp.Or(a.ip.Compare(b.ip), cmp.Compare(a.id, b.id)) })
	v.remotes = out
	return out
}

// remoteWalk finds, for plan endpoints taken in ascending IP order, the
// view's remote endpoints with each IP.
type remoteWalk struct {
	all []remoteEntry
	at  int
}

// holding returns the entries with IP ip, which must not be lower than
// the last one asked for.
func (w *remoteWalk) holding(ip netip.Addr) []remoteEntry {
	for w.at < len(w.all) && w.all[w.at].ip.Less(ip) {
		w.at++
	}
	end := w.at
	for end < len(w.all) && w.all[end].ip == ip {
		end++
	}
	return w.all[w.at:end]
}

// existingRemoteIn is existingRemote over the entries holding want's IP.
func (s *syncRun) existingRemoteIn(held []remoteEntry, want *lbpolicy.Endpoint) (id string, ok bool) {
	if len(held) == 1 { // the usual case: owned or not, the one to use
		if sameRemote(held[0].ep, want) {
			return held[0].ep.Id, true
		}
		return "", false
	}
	var other string
	for _, e := range held {
		if !sameRemote(e.ep, want) {
			continue
		}
		if s.r.owned.ownsEndpoint(e.id) {
			return e.ep.Id, true
		}
		if other == "" {
			other = e.ep.Id
		}
	}
	return other, other != ""
}
