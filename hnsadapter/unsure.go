package hnsadapter

import (
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Creates HNS answered without saying whether they took effect.
//
// A create that failed may still have made its object: HNS can fail after
// the change took effect, and a call can be cut short after HNS acted. A
// create answered without the new object's ID made it, but the Reconciler
// cannot tell which object it is. Either way only a list says, and HNS
// objects carry no tag, so the rule is:
//
//	After such a create, the next full sync's list decides: an object the
//	Reconciler does not own that holds the create's identity key (a load
//	balancer's frontend, an endpoint's IP on the managed network) and has
//	exactly the content the create sent becomes its own.
//
// Why this cannot take another agent's object: the Reconciler creates only
// where its view holds no object with the key or IP, so the object was not
// there when it last looked; and it must match everything the create sent,
// which for a load balancer includes the endpoint IDs the Reconciler chose,
// and for an endpoint its MAC and provider address. Only an object another
// agent made after the Reconciler's last list, for the same frontend or
// IP, with the same content, could be taken, and that one does what the
// plan asks. A create HNS refused as "already exists" (another object
// holds the frontend or IP) is believed: believing the opposite is what
// could take another agent's object.
//
// The next sync is a full one, so that the object, if there is one,
// becomes the Reconciler's at once: a create that keeps failing costs a
// list at each retry, which its backoff spaces. The ownership record
// (Options.OwnershipFile) keeps what the creates sent until a list has
// decided, across a restart.

// unsureCreate reports whether a create that failed with err may have
// taken effect: every failure but "already exists".
func unsureCreate(err error) bool { return !hns.IsAlreadyExists(err) }

// createUnsure records a create of object k, which sent lb or ep, that HNS
// answered without saying whether it took effect: the next sync lists
// HNS, and its list decides.
func (r *Reconciler) createUnsure(k objectKey, lb *hns.HostComputeLoadBalancer, ep *hns.HostComputeEndpoint) {
	r.objects.unsure(k, lb, ep)
	r.owned.dirty = true // the ownership record keeps unsure creates
	r.requireFull(fullUnsure)
}

// claimUnsure takes ownership of what the unsure creates since the last
// full list made, by the rule above, and returns how many load balancers
// it took. Call after a full sync's list, before planning.
func (s *syncRun) claimUnsure() (lbs int) {
	r, v := s.r, s.v
	for _, u := range r.objects.takeUnsure() {
		r.owned.dirty = true // the record keeps unsure creates
		var id string
		switch u.key.kind {
		case kindLoadBalancer:
			id = s.unsureLB(u.key.lb, u.lbs)
		case kindEndpoint:
			id = s.unsureEndpoint(v.remoteByIP[u.key.ip], u.eps)
			if id == "" {
				id = s.unsureEndpoint(v.localByIP[u.key.ip], u.eps)
			}
		}
		if id != "" {
			if u.key.kind == kindLoadBalancer {
				lbs++
			}
			r.log.Info("Found an object a create answered with an error or without ID had made: now owned",
				"id", id, "object", u.key.String())
		}
	}
	return lbs
}

// unsureLB returns the ID of the load balancer with key that one of the
// creates sent made, now owned, or "".
func (s *syncRun) unsureLB(key lbpolicy.Key, sent []*hns.HostComputeLoadBalancer) string {
	for _, id := range s.v.byKey[key] {
		if s.r.owned.ownsLB(id) {
			continue
		}
		for _, want := range sent {
			if sameLoadBalancer(s.v.lbs[id], want) {
				s.r.owned.addLB(id, key)
				return id
			}
		}
	}
	return ""
}

// unsureEndpoint returns the ID of the endpoint among ids that one of the
// creates sent made, now owned, or "".
func (s *syncRun) unsureEndpoint(ids []string, sent []*hns.HostComputeEndpoint) string {
	for _, id := range ids {
		if s.r.owned.ownsEndpoint(id) {
			continue
		}
		for _, want := range sent {
			if sameEndpoint(s.v.eps[id], want) {
				ip, _ := endpointIP(s.v.eps[id])
				s.r.owned.addEndpoint(id, ip)
				return id
			}
		}
	}
	return ""
}

// sameEndpoint reports whether HNS endpoint ep has what sent has: IP,
// remote flag, MAC and provider address (matchesEndpoint's fields).
func sameEndpoint(ep, sent *hns.HostComputeEndpoint) bool {
	ip, ok := endpointIP(sent)
	return ok && matchesEndpoint(ep, &lbpolicy.Endpoint{
		IP: ip, Remote: isRemote(sent), MACAddress: sent.MacAddress, ProviderAddress: providerAddress(sent),
	})
}
