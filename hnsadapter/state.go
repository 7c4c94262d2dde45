package hnsadapter

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/lbpolicy"
)

// hnsState is what one sync's two lists returned, indexed. Objects are
// sorted by ID (case-insensitively) so that every choice among several
// candidates is deterministic, whatever order HNS lists them in.
type hnsState struct {
	lbs  []HostComputeLoadBalancer
	keys []lbpolicy.Key // keys[i] is the key of lbs[i] when keyOK[i]
	// keyOK[i] is false for a load balancer without a usable key.
	keyOK []bool
	// byKey maps a key to the indexes of the load balancers holding it.
	byKey map[lbpolicy.Key][]int

	// endpoints are those on the managed network.
	endpoints []HostComputeEndpoint
	// epIDs holds the IDs (in idKey form) of endpoints.
	epIDs map[string]struct{}
	// localByIP and localByName index the local (non-remote) endpoints,
	// the first by ID winning; remoteByIP the remote ones.
	localByIP   map[netip.Addr]int
	localByName map[string]int
	remoteByIP  map[netip.Addr][]int
}

func newHNSState(lbs []HostComputeLoadBalancer, eps []HostComputeEndpoint) *hnsState {
	byID := func(a, b string) int { return strings.Compare(idKey(a), idKey(b)) } // no allocation for HNS's upper-case IDs
	slices.SortFunc(lbs, func(a, b HostComputeLoadBalancer) int { return byID(a.Id, b.Id) })
	slices.SortFunc(eps, func(a, b HostComputeEndpoint) int { return byID(a.Id, b.Id) })

	st := &hnsState{
		lbs:         lbs,
		keys:        make([]lbpolicy.Key, len(lbs)),
		keyOK:       make([]bool, len(lbs)),
		byKey:       make(map[lbpolicy.Key][]int, len(lbs)),
		endpoints:   eps,
		epIDs:       make(map[string]struct{}, len(eps)),
		localByIP:   map[netip.Addr]int{},
		localByName: map[string]int{},
		remoteByIP:  make(map[netip.Addr][]int, len(eps)),
	}
	for i := range lbs {
		k, ok := LoadBalancerKey(&lbs[i])
		st.keys[i], st.keyOK[i] = k, ok
		if ok {
			st.byKey[k] = append(st.byKey[k], i)
		}
	}
	for i := range eps {
		ep := &eps[i]
		st.epIDs[idKey(ep.Id)] = struct{}{}
		ip, ok := endpointIP(ep)
		if isRemote(ep) {
			if ok {
				st.remoteByIP[ip] = append(st.remoteByIP[ip], i)
			}
			continue
		}
		if _, dup := st.localByIP[ip]; ok && !dup {
			st.localByIP[ip] = i
		}
		if _, dup := st.localByName[ep.Name]; ep.Name != "" && !dup {
			st.localByName[ep.Name] = i
		}
	}
	return st
}

// claimable reports whether ClaimNetwork claims lb: none of its endpoints
// lies on another network (elsewhere holds their IDs, in idKey form). A
// reference to an endpoint that no longer exists counts for no network: a
// load balancer of ours whose endpoint vanished out of band is still ours.
func claimable(lb *HostComputeLoadBalancer, elsewhere map[string]struct{}) bool {
	for _, id := range lb.HostComputeEndpoints {
		if _, ok := elsewhere[idKey(id)]; ok {
			return false
		}
	}
	return true
}
