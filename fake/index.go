package fake

import (
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The store. Every change to h.lbs and h.eps goes through putLB, deleteLB,
// putEP and deleteEP, which keep two indexes beside them:
//
//   - h.lbsByFrontend: for each frontend, the load balancers holding it;
//   - h.epsByIP: for each IP address (as normAddr spells it), the
//     endpoints holding it, on any network.
//
// With them a create looks up its own frontends or IPs instead of
// comparing them with every object HNS holds, so a sync of n objects from
// empty costs O(n), not O(n²). The values are ID keys (idKey). A key
// normally has one holder; seeded objects (AddLoadBalancer, AddEndpoint,
// AddLocalEndpoint) may share one, so the values are lists. The indexes
// hold exactly what frontends and normAddr compute from the stored
// objects, so a lookup finds what a scan comparing those values would.

// putLB stores lb under its ID, replacing the load balancer with that ID if
// there is one, and indexes it. Call with h.mu held.
func (h *HNS) putLB(lb hns.HostComputeLoadBalancer) {
	k := idKey(lb.Id)
	if old, ok := h.lbs[k]; ok {
		for _, f := range frontends(&old) {
			removeHolder(h.lbsByFrontend, f, k)
		}
	}
	h.lbs[k] = lb
	for _, f := range frontends(&lb) {
		addHolder(h.lbsByFrontend, f, k)
	}
}

// deleteLB deletes load balancer id and reports whether it existed. Call
// with h.mu held.
func (h *HNS) deleteLB(id string) bool {
	k := idKey(id)
	old, ok := h.lbs[k]
	if !ok {
		return false
	}
	for _, f := range frontends(&old) {
		removeHolder(h.lbsByFrontend, f, k)
	}
	delete(h.lbs, k)
	return true
}

// putEP stores a new endpoint (its ID must be unused) and indexes it. Call
// with h.mu held.
func (h *HNS) putEP(ep hns.HostComputeEndpoint) {
	k := idKey(ep.Id)
	h.eps[k] = ep
	for _, c := range ep.IpConfigurations {
		addHolder(h.epsByIP, normAddr(c.IpAddress), k)
	}
}

// deleteEP deletes endpoint id and reports whether it existed. Call with
// h.mu held.
func (h *HNS) deleteEP(id string) bool {
	k := idKey(id)
	old, ok := h.eps[k]
	if !ok {
		return false
	}
	for _, c := range old.IpConfigurations {
		removeHolder(h.epsByIP, normAddr(c.IpAddress), k)
	}
	delete(h.eps, k)
	return true
}

func addHolder[K comparable](m map[K][]string, key K, id string) {
	if !slices.Contains(m[key], id) {
		m[key] = append(m[key], id)
	}
}

func removeHolder[K comparable](m map[K][]string, key K, id string) {
	ids := slices.DeleteFunc(m[key], func(s string) bool { return s == id })
	if len(ids) == 0 {
		delete(m, key)
		return
	}
	m[key] = ids
}
