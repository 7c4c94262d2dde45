package lbpolicy

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// objects are the Services and EndpointSlices a Tracker holds, filed the
// way Compute files them: per Service key, the Service and its slices.
// Its methods return the Service states whose plan the change affects,
// for the Tracker to re-plan.
type objects struct {
	services map[types.NamespacedName]*serviceState
	slices   map[types.NamespacedName]sliceEntry
}

// serviceState is one Service key: the Service (nil until it is added or
// after it is deleted), its EndpointSlices, and what planning it alone
// gave.
type serviceState struct {
	key    types.NamespacedName
	object string // "Service ns/name", made once
	svc    *corev1.Service
	slices []*discovery.EndpointSlice // sorted by name
	out    serviceOutput
	// planned is the Service out was planned from: while it is svc, the
	// claims' order need not be decided again.
	planned *corev1.Service
	// keyStates are the states of the keys out's load balancers claim, in
	// their order (claims.replace).
	keyStates []*keyState
	pending   bool // in the Tracker's pending list (Tracker.mark)
}

// serviceOutput is what computer.service produced for one Service: never
// modified once made, so that pointers into it stay valid while claims and
// the change log refer to them.
type serviceOutput struct {
	lbs []LoadBalancer
	// Per load balancer, its remote backends (an empty list, not nil, when
	// none), or nil where they are all its backends (see remotesOf), as
	// for almost every load balancer when a cluster has many nodes; nil
	// when they all are.
	remotes   [][]netip.Addr
	endpoints []endpointCandidate
	diags     []Diagnostic
}

// remotesOf returns load balancer i's remote backends.
func (o *serviceOutput) remotesOf(i int) remoteView {
	if o.remotes != nil && o.remotes[i] != nil {
		return remoteView{ips: o.remotes[i]}
	}
	return remoteView{backends: o.lbs[i].Backends}
}

func sameIPs(ips []netip.Addr, backends []Backend) bool {
	if len(ips) != len(backends) {
		return false
	}
	for i := range ips {
		if ips[i] != backends[i].IP {
			return false
		}
	}
	return true
}

// sliceEntry is a held EndpointSlice and the Service state it was filed
// under when it arrived (its label then, not re-read later), nil when
// none. The state lives at least as long as the slice is filed under it.
type sliceEntry struct {
	obj   *discovery.EndpointSlice
	owner *serviceState
}

func newObjects() objects {
	return objects{
		services: map[types.NamespacedName]*serviceState{},
		slices:   map[types.NamespacedName]sliceEntry{},
	}
}

// state returns the state for key, creating it.
func (o *objects) state(key types.NamespacedName) *serviceState {
	st := o.services[key]
	if st == nil {
		st = &serviceState{key: key, object: "Service " + key.Namespace + "/" + key.Name}
		o.services[key] = st
	}
	return st
}

// forgetIfEmpty drops a state that holds neither a Service nor slices.
func (o *objects) forgetIfEmpty(st *serviceState) {
	if st.svc == nil && len(st.slices) == 0 {
		delete(o.services, st.key)
	}
}

// inOrder returns the states in Compute's order (namespace, then name).
func (o *objects) inOrder() []*serviceState {
	states := make([]*serviceState, 0, len(o.services))
	for _, st := range o.services {
		states = append(states, st)
	}
	slices.SortFunc(states, func(a, b *serviceState) int { return compareClaims(a, 0, b, 0) })
	return states
}

// putService returns the state to re-plan, nil when svc is the object
// already held (an informer's resync).
func (o *objects) putService(svc *corev1.Service) *serviceState {
	st := o.state(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name})
	if st.svc == svc {
		return nil
	}
	st.svc = svc
	return st
}

// deleteService returns the state to re-plan, nil when no such Service is
// held.
func (o *objects) deleteService(key types.NamespacedName) *serviceState {
	st := o.services[key]
	if st == nil || st.svc == nil {
		return nil
	}
	st.svc = nil
	return st
}

// ownerOf returns the Service a slice belongs to, as Compute (via
// endpoints.ByService) files it.
func ownerOf(sl *discovery.EndpointSlice) (types.NamespacedName, bool) {
	name := sl.Labels[discovery.LabelServiceName]
	return types.NamespacedName{Namespace: sl.Namespace, Name: name}, name != ""
}

// putSlice returns the states to re-plan, in this order: the Service the
// slice leaves (when its label changed) and the one it joins, each nil
// when there is none or when sl is the object already held.
func (o *objects) putSlice(sl *discovery.EndpointSlice) (from, to *serviceState) {
	key := types.NamespacedName{Namespace: sl.Namespace, Name: sl.Name}
	owner, hasOwner := ownerOf(sl)
	old, ok := o.slices[key]
	if ok && old.obj == sl {
		return nil, nil // an informer's resync: the object held, unchanged
	}
	if ok && old.owner != nil && (!hasOwner || old.owner.key != owner) {
		from = old.owner
		from.removeSlice(sl.Name)
	}
	entry := sliceEntry{obj: sl}
	if hasOwner {
		to = old.owner
		if to == nil || to.key != owner {
			to = o.state(owner)
		}
		to.putSlice(sl)
		entry.owner = to
	}
	o.slices[key] = entry
	return from, to
}

// deleteSlice returns the state to re-plan, nil when no such slice is
// held or it belonged to no Service.
func (o *objects) deleteSlice(key types.NamespacedName) *serviceState {
	old, ok := o.slices[key]
	if !ok {
		return nil
	}
	delete(o.slices, key)
	if old.owner == nil {
		return nil
	}
	old.owner.removeSlice(key.Name)
	return old.owner
}

// putSlice adds or replaces sl (by name) in the name-sorted list.
func (st *serviceState) putSlice(sl *discovery.EndpointSlice) {
	i, found := slices.BinarySearchFunc(st.slices, sl.Name, func(s *discovery.EndpointSlice, name string) int {
		return strings.Compare(s.Name, name)
	})
	if found {
		st.slices[i] = sl
		return
	}
	st.slices = slices.Insert(st.slices, i, sl)
}

func (st *serviceState) removeSlice(name string) {
	i, found := slices.BinarySearchFunc(st.slices, name, func(s *discovery.EndpointSlice, name string) int {
		return strings.Compare(s.Name, name)
	})
	if found {
		st.slices = slices.Delete(st.slices, i, i+1)
	}
}
