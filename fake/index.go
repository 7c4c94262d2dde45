package fake

import (
	"slices"
	"unsafe"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The store. Every change to h.lbs and h.eps goes through putLB,
// replaceLB, deleteLB, dropLB, putEP, deleteEP and dropEP, which keep two
// indexes beside them, the ID order of each (idOrder), and the endpoints'
// slots (epSlots):
//
//   - h.lbsByFrontend: for each frontend, the load balancers holding it;
//   - h.epsByIP: for each IP address (as normAddr spells it), the
//     endpoints holding it, on any network.
//
// With them a create looks up its own frontends or IPs instead of
// comparing them with every object HNS holds, so a sync of n objects from
// empty costs O(n), not O(n²). The values are ID keys (idKey). A key
// normally has one holder; seeded objects (AddLoadBalancer, AddEndpoint,
// AddLocalEndpoint) may share one, so the values are lists (holders). The
// indexes hold exactly what frontends and normAddr compute from the stored
// objects, so a lookup finds what a scan comparing those values would.

// lbEntry is a stored load balancer with its frontends, kept so that an
// update compares and unindexes them without reading the load balancer's
// slices (a cache miss each at scale). Never changed once stored: a put
// replaces the entry.
type lbEntry struct {
	lb     hns.HostComputeLoadBalancer
	fronts []frontend // appendFrontends(lb), in buf when they fit
	buf    [1]frontend
	refs   []refCache // by reference; nil for a load balancer seeded
}

// refCache is what a load balancer's endpoint reference resolved to when
// it was stored: the endpoint's slot and its generation then (epSlots),
// found again by the hash of its ID key (HNS.refHash).
type refCache struct {
	hash      uint64
	slot, gen uint32
}

// cached returns the index of e's reference to the endpoint with ID key k
// (whose refHash is hash), if that endpoint is still stored, else -1. It
// looks at reference i first: an update moves few references, by few
// places.
func (e *lbEntry) cached(i int, hash uint64, k string, slots *epSlots) int {
	if e == nil {
		return -1
	}
	for n := range len(e.refs) {
		j := (i + n) % len(e.refs)
		if c := e.refs[j]; c.hash != hash || !slots.live(c.slot, c.gen) {
			continue
		}
		if s := e.lb.HostComputeEndpoints[j]; s == k || idKey(s) == k {
			return j
		}
	}
	return -1
}

// same returns the index of e's reference that is the very string sent
// (the same bytes in memory, which it compares without reading them), if
// the endpoint that reference resolved to is still stored, else -1. Such
// a reference is sent spelled as e stores it, the endpoint's ID. It looks
// at reference i first, as cached does.
func (e *lbEntry) same(i int, sent string, slots *epSlots) int {
	if e == nil || len(e.refs) == 0 {
		return -1
	}
	p, n := unsafe.StringData(sent), len(e.refs)
	i %= n
	for d := range n {
		j := i + d
		if j >= n {
			j -= n
		}
		if s := e.lb.HostComputeEndpoints[j]; unsafe.StringData(s) == p && len(s) == len(sent) {
			if c := e.refs[j]; slots.live(c.slot, c.gen) {
				return j
			}
		}
	}
	return -1
}

// newLBEntry returns an entry holding lb (which no one else may hold).
func newLBEntry(lb hns.HostComputeLoadBalancer) *lbEntry {
	e := &lbEntry{lb: lb}
	e.index()
	return e
}

// index sets e.fronts from e.lb.
func (e *lbEntry) index() { e.fronts = appendFrontends(e.buf[:0], &e.lb) }

// putLB stores lb under its ID, replacing the load balancer with that ID if
// there is one, and indexes it. Call with h.mu held.
func (h *HNS) putLB(lb hns.HostComputeLoadBalancer) {
	k := idKey(lb.Id)
	var old []frontend
	if e, ok := h.lbs[k]; ok {
		old = e.fronts
	}
	h.replaceLB(k, newLBEntry(lb), old)
}

// replaceLB stores e (no one else's) under ID key k in place of the load
// balancer there, whose frontends were old (none if there was none), and
// indexes it: an update that keeps its frontends, the usual one, leaves
// the index as it is. Call with h.mu held.
func (h *HNS) replaceLB(k string, e *lbEntry, old []frontend) {
	if !slices.Equal(old, e.fronts) {
		h.reindexLB(k, old, e.fronts)
	}
	h.lbOrder.touch(k)
	h.lbs[k] = e
}

// reindexLB moves load balancer k in the frontend index from the
// frontends old to fronts, counting the frontends held by more than one
// (h.sharedFrontends). Call with h.mu held.
func (h *HNS) reindexLB(k string, old, fronts []frontend) {
	m := h.lbsByFrontend
	for _, f := range old {
		n := m[f].len()
		removeHolder(m, f, k)
		h.sharedFrontends += shareChange(n, m[f].len())
	}
	for _, f := range fronts {
		n := m[f].len()
		addHolder(m, f, k)
		h.sharedFrontends += shareChange(n, m[f].len())
	}
}

// shareChange is 1 if an index key that had n holders now shared by more
// than one, -1 if it no longer is, else 0.
func shareChange(before, after int) int {
	switch {
	case before < 2 && after >= 2:
		return 1
	case before >= 2 && after < 2:
		return -1
	}
	return 0
}

// deleteLB deletes load balancer id and reports whether it existed. Call
// with h.mu held.
func (h *HNS) deleteLB(id string) bool {
	k := idKey(id)
	old, ok := h.lbs[k]
	if ok {
		h.dropLB(k, old)
	}
	return ok
}

// dropLB deletes e, stored under ID key k. Call with h.mu held.
func (h *HNS) dropLB(k string, e *lbEntry) {
	h.reindexLB(k, e.fronts, nil)
	delete(h.lbs, k)
	h.lbOrder.touch(k)
}

// epRef is a stored endpoint and its slot (epSlots).
type epRef struct {
	ep   *hns.HostComputeEndpoint // never changed in place
	slot uint32
}

// putEP stores a new endpoint (its ID must be unused) and indexes it: ep
// itself, which no one else may hold. Call with h.mu held.
func (h *HNS) putEP(ep *hns.HostComputeEndpoint) {
	k := idKey(ep.Id)
	slot := h.epSlots.take()
	h.eps[k] = epRef{ep: ep, slot: slot}
	h.epSlots.noteID(ep.Id, slot)
	if k != ep.Id {
		h.epIDsNotKeys++
	}
	h.epOrder.touch(k)
	for _, c := range ep.IpConfigurations {
		addHolder(h.epsByIP, normAddr(c.IpAddress), k)
	}
}

// deleteEP deletes endpoint id and reports whether it existed. Call with
// h.mu held.
func (h *HNS) deleteEP(id string) bool {
	k := idKey(id)
	old, ok := h.eps[k]
	if ok {
		h.dropEP(k, old)
	}
	return ok
}

// dropEP deletes ref, stored under ID key k. Call with h.mu held.
func (h *HNS) dropEP(k string, ref epRef) {
	for _, c := range ref.ep.IpConfigurations {
		removeHolder(h.epsByIP, normAddr(c.IpAddress), k)
	}
	if k != ref.ep.Id {
		h.epIDsNotKeys--
	}
	h.epSlots.release(ref.slot)
	delete(h.eps, k)
	h.epOrder.touch(k)
}

// epSlots gives each stored endpoint a slot whose generation changes when
// the endpoint is deleted. A load balancer keeps the slot and generation
// each of its references resolved to (lbEntry.refs), so that an update
// naming the same endpoints sees that they are still stored in this one
// array, which stays in the CPU's cache, instead of looking each up in
// h.eps (two cache misses at scale). A generation would have to wrap
// around (2^32 deletions in one slot) to be mistaken.
type epSlots struct {
	gens []uint32 // by slot
	free []uint32 // slots of deleted endpoints, for the next ones
	// byID: the slots of the endpoints stored last, by the address of
	// their ID's bytes (recentID). A sync creates endpoints and then
	// updates load balancers to name them, with the very ID strings the
	// creates answered: each is found here, in an array that stays in the
	// CPU's cache, rather than in h.eps (cache misses at scale).
	byID [1 << recentBits]recentID
}

// recentID is an endpoint stored at slot, generation gen, under an ID
// whose n bytes are at address id.
type recentID struct {
	id        uintptr
	n         int
	slot, gen uint32
}

const recentBits = 11

// recentIndex is where byID keeps the ID whose bytes are at address p.
func recentIndex(p uintptr) int { return int(uint64(p) * 0x9E3779B97F4A7C15 >> (64 - recentBits)) }

// noteID notes that the endpoint with ID id is stored at slot.
func (s *epSlots) noteID(id string, slot uint32) {
	p := uintptr(unsafe.Pointer(unsafe.StringData(id)))
	s.byID[recentIndex(p)] = recentID{id: p, n: len(id), slot: slot, gen: s.gens[slot]}
}

// byString returns the slot and generation of a stored endpoint whose
// ID is the very string id (the same bytes in memory, which it compares
// without reading them), if noteID noted it among the last ones. The
// address names the same bytes for as long as the endpoint is stored (it
// holds its ID, and the collector moves nothing), which live checks.
func (s *epSlots) byString(id string) (slot, gen uint32, ok bool) {
	if len(id) == 0 {
		return 0, 0, false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(id)))
	r := s.byID[recentIndex(p)]
	if r.id != p || r.n != len(id) || !s.live(r.slot, r.gen) {
		return 0, 0, false
	}
	return r.slot, r.gen, true
}

// take returns a slot for a new endpoint.
func (s *epSlots) take() uint32 {
	if n := len(s.free); n > 0 {
		slot := s.free[n-1]
		s.free = s.free[:n-1]
		return slot
	}
	s.gens = append(s.gens, 0)
	return uint32(len(s.gens) - 1)
}

// release frees the slot of an endpoint deleted.
func (s *epSlots) release(slot uint32) {
	s.gens[slot]++
	s.free = append(s.free, slot)
}

// gen returns the generation of a stored endpoint's slot.
func (s *epSlots) gen(slot uint32) uint32 { return s.gens[slot] }

// live reports whether the endpoint that had slot at generation gen is
// still stored.
func (s *epSlots) live(slot, gen uint32) bool { return int(slot) < len(s.gens) && s.gens[slot] == gen }

// holders are the ID keys of the objects holding an index key: almost
// always one, which they keep without allocating a slice.
type holders struct {
	one  string   // "" = none
	more []string // the others, when objects share the key
}

func (hs holders) len() int {
	if hs.one == "" {
		return 0
	}
	return 1 + len(hs.more)
}

func (hs holders) at(i int) string {
	if i == 0 {
		return hs.one
	}
	return hs.more[i-1]
}

func (hs holders) has(id string) bool { return hs.one == id || slices.Contains(hs.more, id) }

func addHolder[K comparable](m map[K]holders, key K, id string) {
	hs := m[key]
	switch {
	case hs.has(id):
		return
	case hs.one == "":
		hs.one = id
	default:
		hs.more = append(hs.more, id)
	}
	m[key] = hs
}

func removeHolder[K comparable](m map[K]holders, key K, id string) {
	hs, ok := m[key]
	if !ok || !hs.has(id) {
		return
	}
	if hs.one == id {
		if len(hs.more) == 0 {
			delete(m, key)
			return
		}
		hs.one, hs.more = hs.more[0], slices.Clone(hs.more[1:])
	} else {
		hs.more = slices.DeleteFunc(slices.Clone(hs.more), func(s string) bool { return s == id })
	}
	m[key] = hs
}

// idOrder keeps the objects of a store (h.lbs or h.eps) in ID order for
// the lists, lazily: a put or a delete notes its key, and the next list
// merges the noted keys (sorted) into the order. A list of an unchanged
// store sorts nothing and looks nothing up, and one after k changes sorts
// those k keys and looks up only them.
//
// The objects are kept as compact copies (compact): their slices cut, in
// ID order, from a few arrays of their own. A list copies them from there
// front to back, rather than from wherever each object's slices were
// allocated, in the random order of their IDs; at 100,000 objects that
// difference is most of the cost of a list (cache misses). Objects put
// since the last compaction keep their own slices (loose) until they are
// an eighth of the store: compacting after every change would copy
// everything twice per list.
type idOrder[V any] struct {
	sorted  []string // keys of vals, sorted
	vals    []V      // the objects of sorted, never handed out
	touched []string // keys put or deleted since; not sorted, may repeat
	loose   int      // objects of vals put since the last compaction (at most)
}

// touch notes that the object under key k was put or deleted.
func (o *idOrder[V]) touch(k string) { o.touched = append(o.touched, k) }

// reset empties the order, for a store emptied.
func (o *idOrder[V]) reset() { *o = idOrder[V]{} }

// values returns the n objects of a store, whose order o is, sorted by
// ID; get looks one up by key. compact makes a slice of objects compact
// copies in place. The slice and the objects' slices are o's: read them
// under h.mu, and copy them before handing them out.
func (o *idOrder[V]) values(n int, get func(k string) (V, bool), compact func([]V)) []V {
	if len(o.touched) == 0 {
		return o.vals
	}
	slices.Sort(o.touched)
	touched := slices.Compact(o.touched)
	keys := make([]string, 0, n)
	vals := make([]V, 0, n)
	old, oldVals := o.sorted, o.vals
	for _, k := range touched { // the runs of old between them move in one copy
		i, found := slices.BinarySearch(old, k)
		keys, vals = append(keys, old[:i]...), append(vals, oldVals[:i]...)
		if found {
			i++
		}
		old, oldVals = old[i:], oldVals[i:]
		if v, ok := get(k); ok {
			keys, vals = append(keys, k), append(vals, v)
			o.loose++
		}
	}
	keys, vals = append(keys, old...), append(vals, oldVals...)
	if o.loose > len(vals)/8 {
		compact(vals)
		o.loose = 0
	}
	clear(o.touched) // no stale keys for the collector to scan
	o.sorted, o.vals, o.touched = keys, vals, o.touched[:0]
	return vals
}

// getLB and getEP look up a stored object by ID key, for idOrder.values.
func (h *HNS) getLB(k string) (hns.HostComputeLoadBalancer, bool) {
	if e, ok := h.lbs[k]; ok {
		return e.lb, true
	}
	return hns.HostComputeLoadBalancer{}, false
}

func (h *HNS) getEP(k string) (hns.HostComputeEndpoint, bool) {
	if ref, ok := h.eps[k]; ok {
		return *ref.ep, true
	}
	return hns.HostComputeEndpoint{}, false
}
