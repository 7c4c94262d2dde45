package hnsadapter

import (
	"net/netip"

	"github.com/hnslb/hnslb/lbpolicy"
)

// ownership is the set of HNS objects the Reconciler may modify or delete,
// by ID (in idKey form). HNS load balancers carry no name or tag, so ownership
// lives here, in memory:
//
//   - an object the Reconciler created is owned;
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
// endpoint) when the Reconciler created them.
type ownership struct {
	lbs map[string]struct{}
	eps map[string]struct{}
}

func newOwnership() ownership {
	return ownership{lbs: map[string]struct{}{}, eps: map[string]struct{}{}}
}

func (o *ownership) ownsLB(id string) bool {
	_, ok := o.lbs[idKey(id)]
	return ok
}

func (o *ownership) ownsEndpoint(id string) bool {
	_, ok := o.eps[idKey(id)]
	return ok
}

func (o *ownership) addLB(id string)          { o.lbs[idKey(id)] = struct{}{} }
func (o *ownership) addEndpoint(id string)    { o.eps[idKey(id)] = struct{}{} }
func (o *ownership) removeLB(id string)       { delete(o.lbs, idKey(id)) }
func (o *ownership) removeEndpoint(id string) { delete(o.eps, idKey(id)) }

// prune forgets the owned objects v does not hold, and returns how many
// load balancers and endpoints it forgot.
func (o *ownership) prune(v *view) (lbs, eps int) {
	for id := range o.lbs {
		if _, ok := v.lbs[id]; !ok {
			delete(o.lbs, id)
			lbs++
		}
	}
	for id := range o.eps {
		if _, ok := v.eps[id]; !ok {
			delete(o.eps, id)
			eps++
		}
	}
	return lbs, eps
}

// adopt takes ownership of what a restarted Reconciler may take (see
// ownership) and returns the number of load balancers adopted. keys are
// the plan's load-balancer keys; endpoints its endpoints by IP. With
// claimNetwork, elsewhere holds the IDs (in idKey form) of the endpoints on
// other networks.
func (o *ownership) adopt(v *view, keys map[lbpolicy.Key]struct{}, endpoints map[netip.Addr]*lbpolicy.Endpoint,
	claimNetwork bool, elsewhere map[string]struct{},
) (adopted int) {
	for k := range keys {
		if ids := v.byKey[k]; len(ids) > 0 {
			o.addLB(ids[0]) // several holders: the first by ID
			adopted++
		}
	}
	if claimNetwork {
		for id, lb := range v.lbs {
			if !o.ownsLB(id) && claimable(lb, elsewhere) {
				o.addLB(id)
				adopted++
			}
		}
	}
	for ip, ids := range v.remoteByIP {
		want := endpoints[ip]
		for _, id := range ids {
			if claimNetwork || (want != nil && want.Remote && matchesEndpoint(v.eps[id], want)) {
				o.addEndpoint(id)
				if !claimNetwork {
					break // one per IP
				}
			}
		}
	}
	return adopted
}
