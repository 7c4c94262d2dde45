package fake

import (
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The store. Every change to h.lbs and h.eps goes through putLB, deleteLB,
// putEP and deleteEP, which keep two indexes beside them, and the ID
// order of each (idOrder):
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
		h.lbOrder.changed(false)
	} else {
		h.lbOrder.add(k)
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
	h.lbOrder.changed(true)
	return true
}

// putEP stores a new endpoint (its ID must be unused) and indexes it. Call
// with h.mu held.
func (h *HNS) putEP(ep hns.HostComputeEndpoint) {
	k := idKey(ep.Id)
	h.eps[k] = ep
	h.epOrder.add(k)
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
	h.epOrder.changed(true)
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

// idOrder keeps the objects of a store (h.lbs or h.eps) in ID order for
// the lists, lazily: a put notes a new key, a delete that keys went, and
// the next list merges the new keys (sorted) into the order and drops the
// gone ones. A list of an unchanged store sorts nothing and looks nothing
// up (it reads vals), and one after k changes sorts only those k keys.
type idOrder[V any] struct {
	sorted  []string // may still hold deleted keys while removed is set
	added   []string // not yet in sorted; may repeat or be deleted since
	removed bool
	// vals holds the objects of sorted, as stored (sharing their slices:
	// never hand them out), while valid.
	vals  []V
	valid bool
}

func (o *idOrder[V]) add(k string) { o.added, o.valid = append(o.added, k), false }

// changed notes that an object was replaced or deleted.
func (o *idOrder[V]) changed(removed bool) {
	o.removed, o.valid = o.removed || removed, false
}

// reset empties the order, for a store emptied.
func (o *idOrder[V]) reset() { *o = idOrder[V]{} }

// values returns the objects of store m, whose order o is, sorted by ID.
// The slice and the objects' slices are the store's: read them under
// h.mu, and copy them before handing them out.
func (o *idOrder[V]) values(m map[string]V) []V {
	if o.valid {
		return o.vals
	}
	keys := o.keys(m)
	o.vals = o.vals[:0]
	for _, k := range keys {
		o.vals = append(o.vals, m[k])
	}
	o.valid = true
	return o.vals
}

// keys returns the keys of store m, sorted.
func (o *idOrder[V]) keys(m map[string]V) []string {
	if len(o.added) == 0 && !o.removed {
		return o.sorted
	}
	slices.Sort(o.added)
	merged := make([]string, 0, len(m))
	old, added := o.sorted, slices.Compact(o.added)
	for len(old) > 0 || len(added) > 0 {
		var k string
		switch {
		case len(added) == 0 || len(old) > 0 && old[0] < added[0]:
			k, old = old[0], old[1:]
		case len(old) > 0 && old[0] == added[0]: // deleted and put again
			k, old, added = old[0], old[1:], added[1:]
		default:
			k, added = added[0], added[1:]
		}
		if !o.removed {
			merged = append(merged, k)
		} else if _, ok := m[k]; ok {
			merged = append(merged, k)
		}
	}
	o.sorted, o.added, o.removed = merged, nil, false
	return merged
}
