package hnsadapter

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// view is what the Reconciler knows HNS holds: what the last full sync
// listed, with every change its own calls made since applied. A full sync
// rebuilds it from HNS's lists; a sync of changes (SyncChanges) reads and
// updates it instead of listing, which is why every call's outcome must
// be recorded here. Objects are keyed by ID in idKey form; lists of IDs
// are kept sorted so that every choice among several candidates is
// deterministic, whatever order HNS lists them in.
type view struct {
	lbs   map[string]*hns.HostComputeLoadBalancer
	keys  map[string]lbpolicy.Key // the key of each load balancer that has one
	byKey map[lbpolicy.Key][]string

	// eps are the endpoints on the managed network. localByIP and
	// localByName index the local (non-remote) ones, remoteByIP the
	// remote ones; the first ID of each list wins where one is needed.
	eps         map[string]*hns.HostComputeEndpoint
	localByIP   map[netip.Addr][]string
	localByName map[string][]string
	remoteByIP  map[netip.Addr][]string

	// refs counts, per endpoint ID, the load balancers in lbs that
	// reference it. It is an index of lbs, rebuilt with it at every full
	// sync and changed only by putLB and removeLB, never a count kept
	// beside HNS (kubernetes#91703, kubernetes#135144).
	refs map[string]int
	// released, when set, is told of each endpoint (idKey form) whose
	// last reference goes (for the sync running).
	released func(id string)

	// trusted holds the load balancers whose content here is what HNS
	// answered an update with, not read back: the next full sync's list
	// checks that HNS holds it (kubernetes#131466 on an HNS whose updates
	// were seen to work).
	trusted map[string]struct{}
	// deleted holds the endpoints the Reconciler deleted since the list,
	// with their IPs: the next full sync's list checks that no load
	// balancer still references them (one the Reconciler could not see,
	// in a sync of changes).
	deleted map[string]netip.Addr

	// spare is where the lists of IDs above with one ID come from (see
	// one).
	spare []string

	// listedLBs and listedEPs are the lists the load balancers and the
	// endpoints were made from, until the view changes them (nil since):
	// a full sync whose list is the same keeps that part of the view
	// rather than indexing 100,000 objects again (newViewReusing).
	listedLBs []hns.HostComputeLoadBalancer
	listedEPs []hns.HostComputeEndpoint
	// sorted is byIP's, made at most once per listedEPs; keyed is
	// byKeySorted's, at most once per listedLBs.
	sorted *listedByIP
	keyed  *keyedLBs
	// resolved is what syncs of changes resolved load balancers'
	// backends to (resolved.go). epEpoch counts the changes that may make
	// it wrong: lists of endpoints, and referenced endpoints leaving.
	resolved      map[lbpolicy.Key]*resolvedLB
	epEpoch       uint64
	spareResolved []*resolvedLB
	// prunedAt is 1 + the generation of the ownership that was last
	// pruned against this view's objects (0: none since they were set):
	// while neither changes, pruning again would forget nothing
	// (rebuildView).
	prunedAt uint64
}

func newView(lbs []hns.HostComputeLoadBalancer, eps []hns.HostComputeEndpoint) *view {
	return newViewReusing(lbs, eps, nil)
}

// newViewReusing is newView from old (nil: none), the view of the last
// full sync, which is no longer used for anything but its trusted and
// deleted sets: a part of old made from a list equal to lbs (or eps) and
// not changed since is taken as it is; otherwise old's endpoint maps are
// emptied and reused. At 100,000 endpoints, indexing them anew at each
// full sync is much of its cost and most of its garbage.
func newViewReusing(lbs []hns.HostComputeLoadBalancer, eps []hns.HostComputeEndpoint, old *view) *view {
	v := &view{}
	reusedLBs := old != nil && old.listedLBs != nil && sameLBList(old.listedLBs, lbs)
	if reusedLBs {
		v.lbs, v.keys, v.byKey, v.refs, v.listedLBs, v.keyed = old.lbs, old.keys, old.byKey, old.refs, old.listedLBs, old.keyed
	} else {
		v.lbs = make(map[string]*hns.HostComputeLoadBalancer, len(lbs))
		v.keys = make(map[string]lbpolicy.Key, len(lbs))
		v.byKey = make(map[lbpolicy.Key][]string, len(lbs))
		v.spare = make([]string, len(lbs))
		if old != nil && old.refs != nil {
			v.refs, old.refs = old.refs, nil
			clear(v.refs)
		} else {
			v.refs = make(map[string]int, len(eps))
		}
		for i := range lbs {
			v.putLB(&lbs[i])
		}
		v.listedLBs = lbs
	}
	if old != nil && old.listedEPs != nil && sameEndpointList(old.listedEPs, eps) {
		v.eps, v.localByIP, v.localByName, v.remoteByIP = old.eps, old.localByIP, old.localByName, old.remoteByIP
		v.listedEPs, v.sorted = old.listedEPs, old.sorted
		if reusedLBs {
			v.prunedAt = old.prunedAt // all of old, unchanged
		}
		return v
	}
	if old != nil && old.eps != nil {
		v.eps, v.localByIP, v.localByName, v.remoteByIP = old.eps, old.localByIP, old.localByName, old.remoteByIP
		old.eps, old.localByIP, old.localByName, old.remoteByIP = nil, nil, nil, nil
	}
	v.fillEndpoints(eps, true)
	return v
}

// setEndpoints replaces the endpoints with a fresh list of them.
func (v *view) setEndpoints(eps []hns.HostComputeEndpoint) {
	v.eps, v.localByIP, v.localByName, v.remoteByIP = nil, nil, nil, nil
	v.fillEndpoints(eps, false)
}

// fillEndpoints makes the endpoints eps, emptying the maps of those
// held. With sorted (a full sync's list), it also makes byIP's lists, in
// the same pass: at 100,000 endpoints, a second pass costs as much again.
func (v *view) fillEndpoints(eps []hns.HostComputeEndpoint, sorted bool) {
	if v.eps == nil {
		v.eps = make(map[string]*hns.HostComputeEndpoint, len(eps))
		v.localByIP = map[netip.Addr][]string{}
		v.localByName = map[string][]string{}
		v.remoteByIP = make(map[netip.Addr][]string, len(eps))
	}
	clear(v.eps)
	clear(v.localByIP)
	clear(v.localByName)
	clear(v.remoteByIP)
	v.epEpoch++
	if len(v.spare) < len(eps) {
		v.spare = make([]string, len(eps))
	}
	var byIP *listedByIP
	if sorted {
		byIP = &listedByIP{remotes: make([]listedEndpoint, 0, len(eps))}
	}
	for i := range eps {
		ep := &eps[i]
		id := idKey(ep.Id)
		ip, ok := endpointIP(ep)
		v.index(ep, id, ip, ok) // an empty view: nothing to remove first
		if byIP != nil && ok {
			byIP.add(ep, ip, i)
		}
	}
	if len(v.eps) != len(eps) { // an ID listed twice: the last one wins
		v.fillEndpoints(nil, false)
		for i := range eps {
			v.putEndpoint(&eps[i])
		}
		byIP = nil
	}
	if byIP != nil {
		byIP.sort()
	}
	v.listedEPs, v.sorted, v.prunedAt = eps, byIP, 0
}

// sameLBList reports whether a and b are the same list: the same objects
// in the same order, field by field, exactly.
func sameLBList(a, b []hns.HostComputeLoadBalancer) bool {
	return slices.EqualFunc(a, b, func(x, y hns.HostComputeLoadBalancer) bool {
		return x.Id == y.Id && x.SourceVIP == y.SourceVIP && x.SchemaVersion == y.SchemaVersion && x.Flags == y.Flags &&
			slices.Equal(x.HostComputeEndpoints, y.HostComputeEndpoints) && slices.Equal(x.FrontendVIPs, y.FrontendVIPs) &&
			slices.Equal(x.PortMappings, y.PortMappings)
	})
}

// sameEndpointList is sameLBList for endpoints.
func sameEndpointList(a, b []hns.HostComputeEndpoint) bool {
	return slices.EqualFunc(a, b, func(x, y hns.HostComputeEndpoint) bool {
		return x.Id == y.Id && x.Name == y.Name && x.HostComputeNetwork == y.HostComputeNetwork &&
			x.MacAddress == y.MacAddress && x.Flags == y.Flags && x.SchemaVersion == y.SchemaVersion &&
			slices.Equal(x.IpConfigurations, y.IpConfigurations) &&
			slices.EqualFunc(x.Policies, y.Policies, func(p, q hns.EndpointPolicy) bool {
				return p.Type == q.Type && bytes.Equal(p.Settings, q.Settings)
			})
	})
}

// addID adds id to the sorted list ids, a list of the view's.
func (v *view) addID(ids []string, id string) []string {
	if len(ids) == 0 {
		return v.one(id)
	}
	return insertID(ids, id)
}

// insertID adds id to the sorted list ids.
func insertID(ids []string, id string) []string {
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids
	}
	return slices.Insert(ids, i, id)
}

// one returns the list holding only id. Most keys and IPs have one
// holder: their lists are cut from a shared array, without room to grow
// (a second ID moves the list out), rather than allocated one by one.
func (v *view) one(id string) []string {
	if len(v.spare) == 0 {
		v.spare = make([]string, 64)
	}
	ids := v.spare[:1:1]
	ids[0] = id
	v.spare = v.spare[1:]
	return ids
}

// deleteID removes id from the sorted list ids.
func deleteID(ids []string, id string) []string {
	if i, found := slices.BinarySearch(ids, id); found {
		return slices.Delete(ids, i, i+1)
	}
	return ids
}

// putLB records lb (which has its ID) as held by HNS, replacing what was
// recorded under its ID.
func (v *view) putLB(lb *hns.HostComputeLoadBalancer) {
	k, ok := LoadBalancerKey(lb)
	v.putLBKeyed(lb, k, ok, false, false)
}

// putLBKeyed is putLB, told lb's identity key (if ok) and whether its
// endpoint IDs are known to be in idKey form and ascending (inKeyOrder):
// a worker works those out beside the call, where lb is fresh in its
// cache. trusted: lb is HNS's answer to an update, not read back (see
// view.trusted).
func (v *view) putLBKeyed(lb *hns.HostComputeLoadBalancer, k lbpolicy.Key, ok, ordered, trusted bool) {
	id := idKey(lb.Id)
	if prev := v.lbs[id]; prev != nil && ok && v.sameKey(id, k) {
		// An update on the same key: only the references change.
		was := v.resolved[k] // if made against prev, it knows prev's order
		fromOrdered := was != nil && was.lb == prev && was.ordered || inKeyOrder(prev.HostComputeEndpoints)
		if was != nil && was.lb == prev {
			delete(v.resolved, k)
			v.dropResolved(was)
		}
		v.moveRefsOrdered(prev.HostComputeEndpoints, lb.HostComputeEndpoints,
			fromOrdered && (ordered || inKeyOrder(lb.HostComputeEndpoints)))
		if !trusted {
			delete(v.trusted, id)
		} else {
			v.trust(id)
		}
		v.listedLBs, v.keyed, v.prunedAt = nil, nil, 0 // no longer what the list said
		v.lbs[id] = lb
		return
	}
	v.removeLB(id)
	v.listedLBs, v.keyed, v.prunedAt = nil, nil, 0
	v.lbs[id] = lb
	if ok {
		v.keys[id] = k
		v.byKey[k] = v.addID(v.byKey[k], id)
	}
	forEachID(lb.HostComputeEndpoints, func(ep string) { v.refs[ep]++ })
	if trusted {
		v.trust(id)
	}
}

// sameKey reports whether the load balancer id has key k.
func (v *view) sameKey(id string, k lbpolicy.Key) bool {
	old, had := v.keys[id]
	return had && old == k
}

// forEachID calls fn with each distinct ID of ids, in idKey form, without
// allocating for the usual short lists.
func forEachID(ids []string, fn func(id string)) {
	if inKeyOrder(ids) { // as this package sends them: distinct already
		for _, id := range ids {
			fn(id)
		}
		return
	}
	if len(ids) > 16 {
		for _, id := range idSet(ids) {
			fn(id)
		}
		return
	}
	var buf [16]string
	seen := buf[:0]
	for _, id := range ids {
		if k := idKey(id); !slices.Contains(seen, k) {
			seen = append(seen, k)
			fn(k)
		}
	}
}

// inKeyOrder reports whether ids are in idKey form and strictly
// ascending.
func inKeyOrder(ids []string) bool {
	for i, id := range ids {
		if idKey(id) != id || i > 0 && ids[i-1] >= id {
			return false
		}
	}
	return true
}

// trust records that HNS answered an update of the load balancer id
// with the content the view now holds, and that it was not read back.
func (v *view) trust(id string) {
	if v.trusted == nil {
		v.trusted = map[string]struct{}{}
	}
	v.trusted[idKey(id)] = struct{}{}
}

// removeLB records that HNS no longer holds the load balancer id.
func (v *view) removeLB(id string) {
	id = idKey(id)
	lb, ok := v.lbs[id]
	if !ok {
		return
	}
	v.listedLBs, v.keyed, v.prunedAt = nil, nil, 0
	delete(v.lbs, id)
	delete(v.trusted, id)
	if k, ok := v.keys[id]; ok {
		delete(v.keys, id)
		v.forgetResolved(k, lb)
		if ids := deleteID(v.byKey[k], id); len(ids) > 0 {
			v.byKey[k] = ids
		} else {
			delete(v.byKey, k)
		}
	}
	v.releaseRefs(lb)
}

// releaseRefs drops lb's references to its endpoints.
func (v *view) releaseRefs(lb *hns.HostComputeLoadBalancer) {
	forEachID(lb.HostComputeEndpoints, v.unref)
}

// unref drops one reference to endpoint ep (idKey form).
func (v *view) unref(ep string) {
	if v.refs[ep]--; v.refs[ep] <= 0 {
		delete(v.refs, ep)
		if v.released != nil {
			v.released(ep)
		}
	}
}

// moveRefs moves a load balancer's references from the endpoints from to
// those of to. When both are as this package sends them (idKey form,
// ascending), those in both are left alone: an update usually changes
// one backend of many.
func (v *view) moveRefs(from, to []string) {
	v.moveRefsOrdered(from, to, inKeyOrder(from) && inKeyOrder(to))
}

// moveRefsOrdered is moveRefs, told whether both lists are in key order.
func (v *view) moveRefsOrdered(from, to []string, ordered bool) {
	if !ordered { // the new first: one kept is not released
		forEachID(to, func(ep string) { v.refs[ep]++ })
		forEachID(from, v.unref)
		return
	}
	for len(from) > 0 || len(to) > 0 {
		switch {
		case len(to) == 0 || len(from) > 0 && from[0] < to[0]:
			v.unref(from[0])
			from = from[1:]
		case len(from) == 0 || to[0] < from[0]:
			v.refs[to[0]]++
			to = to[1:]
		default: // in both
			from, to = from[1:], to[1:]
		}
	}
}

// putEndpoint records ep (on the managed network, with its ID) as held.
func (v *view) putEndpoint(ep *hns.HostComputeEndpoint) {
	id := idKey(ep.Id)
	v.removeEndpoint(id)
	v.listedEPs, v.sorted, v.prunedAt = nil, nil, 0
	ip, ok := endpointIP(ep)
	v.index(ep, id, ip, ok)
}

// index records ep, with ID id (idKey form) and IP ip (if ok), in the
// maps of endpoints.
func (v *view) index(ep *hns.HostComputeEndpoint, id string, ip netip.Addr, ok bool) {
	v.eps[id] = ep
	switch {
	case isRemote(ep):
		if ok {
			v.remoteByIP[ip] = v.addID(v.remoteByIP[ip], id)
		}
	default:
		if ok {
			v.localByIP[ip] = v.addID(v.localByIP[ip], id)
		}
		if ep.Name != "" {
			v.localByName[ep.Name] = v.addID(v.localByName[ep.Name], id)
		}
	}
}

// deletedEndpoint records that the Reconciler deleted the endpoint id.
func (v *view) deletedEndpoint(id string) {
	id = idKey(id)
	if ep := v.eps[id]; ep != nil {
		if v.deleted == nil {
			v.deleted = map[string]netip.Addr{}
		}
		v.deleted[id], _ = endpointIP(ep)
		v.dropEndpoint(id, ep)
	}
}

// removeEndpoint records that HNS no longer holds the endpoint id.
func (v *view) removeEndpoint(id string) {
	id = idKey(id)
	if ep, ok := v.eps[id]; ok {
		v.dropEndpoint(id, ep)
	}
}

// dropEndpoint is removeEndpoint of ep, the view's endpoint id (idKey
// form).
func (v *view) dropEndpoint(id string, ep *hns.HostComputeEndpoint) {
	v.listedEPs, v.sorted, v.prunedAt = nil, nil, 0
	delete(v.eps, id)
	if v.refs[id] > 0 {
		v.epEpoch++
	}
	drop := func(m map[netip.Addr][]string, ip netip.Addr) {
		if ids := deleteID(m[ip], id); len(ids) > 0 {
			m[ip] = ids
		} else {
			delete(m, ip)
		}
	}
	ip, ok := endpointIP(ep)
	switch {
	case isRemote(ep):
		if ok {
			drop(v.remoteByIP, ip)
		}
	default:
		if ok {
			drop(v.localByIP, ip)
		}
		if ep.Name != "" {
			if ids := deleteID(v.localByName[ep.Name], id); len(ids) > 0 {
				v.localByName[ep.Name] = ids
			} else {
				delete(v.localByName, ep.Name)
			}
		}
	}
}

// local returns the local endpoint with the IP: the first by ID.
func (v *view) local(ip netip.Addr) (*hns.HostComputeEndpoint, bool) {
	if ids := v.localByIP[ip]; len(ids) > 0 {
		return v.eps[ids[0]], true
	}
	return nil, false
}

// localNamed returns the local endpoint called name: the first by ID.
func (v *view) localNamed(name string) (*hns.HostComputeEndpoint, bool) {
	if ids := v.localByName[name]; len(ids) > 0 {
		return v.eps[ids[0]], true
	}
	return nil, false
}

// referenced reports whether a load balancer in HNS references endpoint id.
func (v *view) referenced(id string) bool { return v.refs[idKey(id)] > 0 }

// keyedLBs is the view's load balancers sorted by identity key, then ID
// (those with a key), and the IDs of those without.
type keyedLBs struct {
	all   []keyedLB
	nokey []string
	// eps holds, once the same list of endpoints came with these load
	// balancers twice in a row (list: its first entry), all[i]'s
	// endpoints as the view's listed endpoints (nil: not listed), at
	// eps[epsAt[i]:epsAt[i+1]]: a full sync compares them with the backends'
	// endpoints by identity rather than by 36-byte ID strings.
	eps      []*hns.HostComputeEndpoint
	epsAt    []int32
	list     *hns.HostComputeEndpoint
	resolved bool
}

// resolve makes eps for the view's endpoints, if it is the second time
// in a row they come with k, and reports whether eps is made for them.
// (The first time, the list may be about to change again: resolving
// costs a lookup per reference.)
func (k *keyedLBs) resolve(v *view) bool {
	if len(v.listedEPs) == 0 || len(v.eps) != len(v.listedEPs) {
		return false
	}
	if list := &v.listedEPs[0]; k.list != list {
		k.list, k.resolved, k.eps, k.epsAt = list, false, nil, nil
		return false
	}
	if k.resolved {
		return true
	}
	n := 0
	for i := range k.all {
		n += len(k.all[i].lb.HostComputeEndpoints)
	}
	k.eps, k.epsAt = make([]*hns.HostComputeEndpoint, 0, n), make([]int32, 0, len(k.all)+1)
	for i := range k.all {
		k.epsAt = append(k.epsAt, int32(len(k.eps)))
		for _, id := range k.all[i].lb.HostComputeEndpoints {
			k.eps = append(k.eps, v.eps[idKey(id)])
		}
	}
	k.epsAt = append(k.epsAt, int32(len(k.eps)))
	k.resolved = true
	return true
}

type keyedLB struct {
	key lbpolicy.Key
	id  string // idKey form
	lb  *hns.HostComputeLoadBalancer
	// owned is whether the load balancer was owned when the ownership's
	// generation was ownedAt-1: a no-op full sync asks again only when
	// ownership changed.
	owned   bool
	ownedAt uint64
}

// byKeySorted returns the view's load balancers sorted by key (keyedLBs)
// while they are still those of their list (else nil): a full sync walks
// them beside the plan's, sorted by key too, instead of looking each key
// up in byKey. Made once per list.
func (v *view) byKeySorted() *keyedLBs {
	if v.listedLBs == nil || v.keyed != nil {
		return v.keyed
	}
	out := &keyedLBs{all: make([]keyedLB, 0, len(v.keys))}
	for id, lb := range v.lbs {
		if k, ok := v.keys[id]; ok {
			out.all = append(out.all, keyedLB{key: k, id: id, lb: lb})
		} else {
			out.nokey = append(out.nokey, id)
		}
	}
	slices.SortFunc(out.all, func(a, b keyedLB) int {
		if c := a.key.Compare(b.key); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	slices.Sort(out.nokey)
	v.keyed = out
	return out
}

// sortedLBIDs returns the IDs of the load balancers, sorted.
func (v *view) sortedLBIDs() []string {
	ids := make([]string, 0, len(v.lbs))
	for id := range v.lbs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// claimable reports whether ClaimNetwork claims lb: none of its endpoints
// lies on another network (elsewhere holds their IDs, in idKey form). A
// reference to an endpoint that no longer exists counts for no network: a
// load balancer of ours whose endpoint vanished out of band is still ours.
func claimable(lb *hns.HostComputeLoadBalancer, elsewhere map[string]struct{}) bool {
	for _, id := range lb.HostComputeEndpoints {
		if _, ok := elsewhere[idKey(id)]; ok {
			return false
		}
	}
	return true
}
