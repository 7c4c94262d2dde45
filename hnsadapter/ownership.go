package hnsadapter

import (
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/lbpolicy"
)

// ownership is the set of HNS objects the Reconciler may modify or delete,
// by ID (in idKey form). HNS load balancers carry no name or tag, so ownership
// lives here, in memory, and, with Options.OwnershipFile, in a record that
// outlives the process (record.go):
//
//   - an object the Reconciler created is owned;
//   - so is an object a create made that HNS answered without saying
//     whether it took effect, once a full sync's list shows it with what
//     the create sent (unsure.go);
//   - at the first successful sync after NewReconciler, an object named in
//     the ownership record is owned if HNS still holds an object with its
//     ID and the identity key recorded with it (a load balancer's key, an
//     endpoint's IP): an ID is never owned if its object no longer has the
//     key recorded;
//   - at the first successful sync after NewReconciler (a restart), a load
//     balancer whose key the plan wants, and a remote endpoint on the
//     network identical to one the plan wants, are adopted: a restart with
//     unchanged state makes no mutating call;
//   - with Options.ClaimNetwork, at that first sync, so is every load
//     balancer none of whose endpoints lies on another network, and every
//     remote endpoint on the managed network;
//   - an owned object missing from a successful list is forgotten (deleted
//     out of band; what the plan still wants is created again).
//
// Everything else belongs to someone else and is never modified or deleted.
// Local endpoints are never adopted, not even with ClaimNetwork: they belong
// to the CNI, except the plan's own local endpoints (the overlay source-VIP
// endpoint) when the Reconciler created them (or its record names them).
type ownership struct {
	// lbs holds each owned load balancer's identity key (zero for one
	// without), eps each owned endpoint's IP (invalid for one without),
	// by ID: what the ownership record names them by.
	lbs map[string]lbpolicy.Key
	eps map[string]netip.Addr
	// dirty: what the ownership record holds changed since it was last
	// written.
	dirty bool
	// journal: keep changes, what changed since the record was last
	// written, in order, for the record's journal (journal.go).
	journal bool
	changes []ownershipChange
	// gen counts the changes: a view pruned against at one generation
	// needs no prune again until either changes (view.prunedAt).
	gen uint64
}

// ownershipChange is one object owned or no longer owned.
type ownershipChange struct {
	endpoint bool // else a load balancer
	removed  bool
	id       string
	key      lbpolicy.Key // load balancer's
	ip       netip.Addr   // endpoint's
}

// changed notes c.
func (o *ownership) changed(c ownershipChange) {
	o.dirty = true
	o.gen++
	if o.journal {
		o.changes = append(o.changes, c)
	}
}

// newOwnership returns an empty ownership; journal says whether to keep
// the changes for the ownership record's journal.
func newOwnership(journal bool) ownership {
	return ownership{lbs: map[string]lbpolicy.Key{}, eps: map[string]netip.Addr{}, journal: journal}
}

func (o *ownership) ownsLB(id string) bool {
	_, ok := o.lbs[idKey(id)]
	return ok
}

// ownsKeyed is ownsLB(e.id), remembered in e until ownership changes.
func (o *ownership) ownsKeyed(e *keyedLB) bool {
	if e.ownedAt != o.gen+1 {
		e.owned, e.ownedAt = o.ownsLB(e.id), o.gen+1
	}
	return e.owned
}

func (o *ownership) ownsEndpoint(id string) bool {
	_, ok := o.eps[idKey(id)]
	return ok
}

// addLB owns the load balancer id, whose identity key is key (zero: none).
func (o *ownership) addLB(id string, key lbpolicy.Key) {
	if id = idKey(id); add(o.lbs, id, key) {
		o.changed(ownershipChange{id: id, key: key})
	}
}

// addEndpoint owns the endpoint id, whose IP is ip.
func (o *ownership) addEndpoint(id string, ip netip.Addr) {
	if id = idKey(id); add(o.eps, id, ip) {
		o.changed(ownershipChange{endpoint: true, id: id, ip: ip})
	}
}

func (o *ownership) removeLB(id string) {
	if id = idKey(id); remove(o.lbs, id) {
		o.changed(ownershipChange{removed: true, id: id})
	}
}

func (o *ownership) removeEndpoint(id string) {
	if id = idKey(id); remove(o.eps, id) {
		o.changed(ownershipChange{endpoint: true, removed: true, id: id})
	}
}

// add sets m[id] to v and reports whether that changed m.
func add[V comparable](m map[string]V, id string, v V) bool {
	if old, ok := m[id]; ok && old == v {
		return false
	}
	m[id] = v
	return true
}

// remove removes id from m and reports whether it was there.
func remove[V any](m map[string]V, id string) bool {
	n := len(m)
	delete(m, id)
	return len(m) != n
}

// prune forgets the owned objects v does not hold, and returns how many
// load balancers and endpoints it forgot. It skips the lookups when
// neither v's objects nor the ownership changed since they were last
// pruned against each other (at 100,000 endpoints, a no-op full sync's
// list leaves both as they were).
func (o *ownership) prune(v *view) (lbs, eps int) {
	if v.prunedAt == o.gen+1 {
		return 0, 0
	}
	defer func() { v.prunedAt = o.gen + 1 }()
	for id := range o.lbs {
		if _, ok := v.lbs[id]; !ok {
			o.removeLB(id)
			lbs++
		}
	}
	for id := range o.eps {
		if _, ok := v.eps[id]; !ok {
			o.removeEndpoint(id)
			eps++
		}
	}
	return lbs, eps
}

// adopt takes ownership of what a restarted Reconciler may take (see
// ownership) and returns the number of load balancers adopted. keys are
// the plan's load-balancer keys; wants its endpoints, the first of each IP;
// sorted, v's endpoints as byIP returns them when wants are sorted by IP
// too (else nil). With claimNetwork, elsewhere holds the IDs (in idKey
// form) of the endpoints on other networks.
func (o *ownership) adopt(v *view, keys map[lbpolicy.Key]struct{}, wants []*lbpolicy.Endpoint, sorted *listedByIP,
	claimNetwork bool, elsewhere map[string]struct{},
) (adopted int) {
	if len(o.lbs) == 0 && len(o.eps) == 0 { // sized once: a restart adopts nearly all
		o.lbs = make(map[string]lbpolicy.Key, len(keys))
		o.eps = make(map[string]netip.Addr, len(wants))
	}
	for k := range keys {
		if ids := v.byKey[k]; len(ids) > 0 {
			o.addLB(ids[0], k) // several holders: the first by ID
			adopted++
		}
	}
	if claimNetwork {
		for id, lb := range v.lbs {
			if !o.ownsLB(id) && claimable(lb, elsewhere) {
				o.addLB(id, v.keys[id])
				adopted++
			}
		}
	}
	if claimNetwork {
		for ip, ids := range v.remoteByIP {
			for _, id := range ids {
				o.addEndpoint(id, ip)
			}
		}
		return adopted
	}
	if sorted != nil {
		walk := ipWalk{all: sorted.remotes}
		for _, want := range wants {
			if e := walk.holding(want.IP.Unmap()); len(e) > 0 && want.Remote {
				if i := slices.IndexFunc(e, func(e listedEndpoint) bool { return e.sameRemote(want) }); i >= 0 {
					o.addEndpoint(e[i].id, e[i].ip) // one per IP: the first by ID
				}
			}
		}
		return adopted
	}
	for _, want := range wants {
		if !want.Remote {
			continue
		}
		ip := want.IP.Unmap()
		for _, id := range v.remoteByIP[ip] {
			if sameRemote(v.eps[id], want) {
				o.addEndpoint(id, ip)
				break // one per IP: the first by ID
			}
		}
	}
	return adopted
}
