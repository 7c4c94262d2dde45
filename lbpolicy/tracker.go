package lbpolicy

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Tracker plans incrementally, for a proxy driven by informers. It holds the
// current Services, EndpointSlices and Node, is told about each add, update
// and delete, and re-plans only the Services whose Service object or
// EndpointSlices changed. Its Plan is always exactly the one Compute returns
// for the same Node, Services and EndpointSlices, byte for byte as JSON, and
// Changes says which load balancers, endpoints and diagnostics changed
// since the previous call, so that an applier touches only those.
//
// Use it from informer event handlers (client-go is not a dependency of
// this package, so the handlers need one line to unwrap client-go's
// tombstone):
//
//	t, err := lbpolicy.NewTracker(node)
//	...
//	svcInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
//		AddFunc:    func(obj any) { logIfErr(t.OnServiceAdd(obj)) },
//		UpdateFunc: func(old, obj any) { logIfErr(t.OnServiceUpdate(old, obj)) },
//		DeleteFunc: func(obj any) {
//			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
//				obj = lbpolicy.DeletedObject{Key: d.Key, Obj: d.Obj}
//			}
//			logIfErr(t.OnServiceDelete(obj))
//		},
//	})
//	// The same for EndpointSlices with OnEndpointSliceAdd/Update/Delete.
//	for range syncSignal {
//		changes := t.Changes() // what to create, update and delete in HNS
//		...
//	}
//
// Rules, as in Compute:
//   - A Service is keyed by namespace/name: an add of a Service the Tracker
//     already holds replaces it (an update), and a delete needs only the
//     key, so a tombstone whose final state is unknown (DeletedObject with
//     a nil Obj) deletes the right object.
//   - An EndpointSlice belongs to the Service named by its
//     kubernetes.io/service-name label, in its namespace. Slices are kept
//     whether or not that Service exists yet, and used when it appears; a
//     slice whose label changes moves from one Service to the other; a
//     slice without the label plans nothing.
//   - Node changes (SetNode) re-plan everything.
//
// The Tracker keeps references to the objects it is given and reads them
// again when it re-plans their Service: as with informers' caches, callers
// must not modify an object after handing it over (informer objects are
// immutable by contract). It never modifies them itself. An update that
// hands over the very object already held (an informer's resync) costs
// nothing.
//
// A Tracker is safe for concurrent use: events may arrive from several
// goroutines, and Plan and Changes may be called at any time. The slices in
// what Plan and Changes return are never modified by the Tracker afterwards
// (later calls build new ones, and Plan may return the same ones again when
// nothing changed); callers must treat them as read-only.
//
// Cost: an event costs what planning its one Service costs, plus a map
// update per load balancer and endpoint IP of that Service (more where
// several Services claim one frontend or IP); Changes costs what changed
// since the previous call, never the size of the cluster; Plan is O(n)
// (it merges what changed into the previous plan, and returns the previous
// plan when nothing changed). SetNode, the first Plan and the first
// Changes are O(n). With 10,000 Services and 100,000 endpoints loaded, an
// EndpointSlice update and Changes take about 10 µs, and 1,000 events,
// Changes and Plan about 25 ms (BenchmarkTracker*). Memory for pending
// changes is what changed since the previous Changes call, so an applier
// should call Changes at every sync; before the first call to Changes
// nothing is kept for it.
type Tracker struct {
	mu sync.Mutex

	node     *node
	services map[types.NamespacedName]*serviceState
	slices   map[types.NamespacedName]sliceEntry

	// The assembled plan, kept incrementally (see tracker_assembly.go).
	keys  map[lbKey]*keyState
	ips   map[netip.Addr]*ipState
	diags map[Diagnostic]int // a multiset: the plan holds each once

	// Keys and IPs whose claims changed during the current event.
	epoch       uint64
	touchedKeys []lbKey
	touchedIPs  []netip.Addr

	// The last Plan, and what changed since (when planValid).
	plan      Plan
	planValid bool
	planKeys  map[lbKey]struct{}
	planIPs   map[netip.Addr]struct{}
	planDiags map[Diagnostic]struct{}

	// The state at the previous Changes call, for what changed since
	// (when tracking, that is once Changes has been called).
	tracking   bool
	lbBefore   map[lbKey]*LoadBalancer
	epBefore   map[netip.Addr]endpointState
	diagBefore map[Diagnostic]bool
}

// serviceState is one Service key: the Service (nil until it is added or
// after it is deleted), its EndpointSlices, and what planning it alone
// gave.
type serviceState struct {
	key    types.NamespacedName
	svc    *corev1.Service
	slices []*discovery.EndpointSlice // sorted by name
	out    serviceOutput
}

// serviceOutput is what computer.service produced for one Service: never
// modified once made, so that pointers into it stay valid while claims and
// pending changes refer to them.
type serviceOutput struct {
	lbs       []LoadBalancer
	remotes   [][]netip.Addr
	endpoints []endpointCandidate
	diags     []Diagnostic
}

// sliceEntry is a held EndpointSlice and the Service it was filed under
// when it arrived (its label then, not re-read later).
type sliceEntry struct {
	obj      *discovery.EndpointSlice
	owner    types.NamespacedName
	hasOwner bool
}

// DeletedObject is a deletion whose final state may be unknown, with the
// shape of client-go's cache.DeletedFinalStateUnknown: Key is
// "namespace/name" and Obj the last known object, or nil. Convert
// client-go's tombstone with one line before calling OnServiceDelete or
// OnEndpointSliceDelete:
//
//	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok { obj = lbpolicy.DeletedObject{Key: d.Key, Obj: d.Obj} }
//
// The Key alone decides what is deleted; Obj is used only when Key is
// empty.
type DeletedObject struct {
	Key string
	Obj any
}

// ErrUnexpectedObject is wrapped by the errors Tracker's event methods
// return for an object they cannot use: a nil object, another type than
// the method takes, or a tombstone whose key is not "namespace/name".
// Nothing is changed when an event method returns an error.
var ErrUnexpectedObject = errors.New("unexpected object")

// NewTracker returns a Tracker for node, holding no Services or
// EndpointSlices yet. It fails, like Compute, only for an invalid node.
func NewTracker(n Node) (*Tracker, error) {
	v, err := n.validate()
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		node:     v,
		services: map[types.NamespacedName]*serviceState{},
		slices:   map[types.NamespacedName]sliceEntry{},
		epoch:    1,
	}
	t.rebuild()
	return t, nil
}

// SetNode replaces the node and re-plans everything. An invalid node is
// rejected with Compute's error and changes nothing.
func (t *Tracker) SetNode(n Node) error {
	v, err := n.validate()
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.node = v
	t.rebuild()
	return nil
}

// OnServiceAdd takes an added *corev1.Service. If the Tracker already holds
// a Service of that namespace/name, this one replaces it.
func (t *Tracker) OnServiceAdd(obj any) error {
	svc, err := asService("OnServiceAdd", obj)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.putService(svc)
	return nil
}

// OnServiceUpdate takes an updated *corev1.Service; oldObj (the previous
// state, as informers give it) may be nil and is only used to drop the old
// key should namespace/name differ.
func (t *Tracker) OnServiceUpdate(oldObj, newObj any) error {
	svc, err := asService("OnServiceUpdate", newObj)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := oldObj.(*corev1.Service); ok && old != nil && (old.Namespace != svc.Namespace || old.Name != svc.Name) {
		t.deleteService(types.NamespacedName{Namespace: old.Namespace, Name: old.Name})
	}
	t.putService(svc)
	return nil
}

// OnServiceDelete takes a deleted *corev1.Service, a DeletedObject (or a
// pointer to one), or any object with GetNamespace and GetName (such as
// *metav1.PartialObjectMetadata): only namespace/name is used. Deleting a
// Service the Tracker does not hold is not an error.
func (t *Tracker) OnServiceDelete(obj any) error {
	if _, ok := obj.(*discovery.EndpointSlice); ok {
		return fmt.Errorf("lbpolicy: Tracker.OnServiceDelete: got an EndpointSlice, want a Service: %w", ErrUnexpectedObject)
	}
	key, err := objectKey("OnServiceDelete", obj)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deleteService(key)
	return nil
}

// OnEndpointSliceAdd takes an added *discovery.EndpointSlice. If the
// Tracker already holds a slice of that namespace/name, this one replaces
// it.
func (t *Tracker) OnEndpointSliceAdd(obj any) error {
	sl, err := asSlice("OnEndpointSliceAdd", obj)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.putSlice(sl)
	return nil
}

// OnEndpointSliceUpdate takes an updated *discovery.EndpointSlice. The
// Service it belongs to is read from the new object's label; the Tracker
// remembers which Service held the previous version, so oldObj may be nil.
func (t *Tracker) OnEndpointSliceUpdate(oldObj, newObj any) error {
	sl, err := asSlice("OnEndpointSliceUpdate", newObj)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := oldObj.(*discovery.EndpointSlice); ok && old != nil && (old.Namespace != sl.Namespace || old.Name != sl.Name) {
		t.deleteSlice(types.NamespacedName{Namespace: old.Namespace, Name: old.Name})
	}
	t.putSlice(sl)
	return nil
}

// OnEndpointSliceDelete takes a deleted *discovery.EndpointSlice, a
// DeletedObject (or a pointer to one), or any object with GetNamespace and
// GetName: only namespace/name is used, and the Service the slice
// belonged to is the one the Tracker filed it under. Deleting a slice the
// Tracker does not hold is not an error.
func (t *Tracker) OnEndpointSliceDelete(obj any) error {
	if _, ok := obj.(*corev1.Service); ok {
		return fmt.Errorf("lbpolicy: Tracker.OnEndpointSliceDelete: got a Service, want an EndpointSlice: %w", ErrUnexpectedObject)
	}
	key, err := objectKey("OnEndpointSliceDelete", obj)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deleteSlice(key)
	return nil
}

func asService(method string, obj any) (*corev1.Service, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok || svc == nil {
		return nil, fmt.Errorf("lbpolicy: Tracker.%s: got %T, want a non-nil *v1.Service: %w", method, obj, ErrUnexpectedObject)
	}
	return svc, nil
}

func asSlice(method string, obj any) (*discovery.EndpointSlice, error) {
	sl, ok := obj.(*discovery.EndpointSlice)
	if !ok || sl == nil {
		return nil, fmt.Errorf("lbpolicy: Tracker.%s: got %T, want a non-nil *v1.EndpointSlice: %w", method, obj, ErrUnexpectedObject)
	}
	return sl, nil
}

// metaObject is what a deletion needs of an object: its key.
type metaObject interface {
	GetNamespace() string
	GetName() string
}

// objectKey returns the namespace/name a deletion names.
func objectKey(method string, obj any) (types.NamespacedName, error) {
	switch o := obj.(type) {
	case DeletedObject:
		return tombstoneKey(method, o)
	case *DeletedObject:
		if o != nil {
			return tombstoneKey(method, *o)
		}
	case metaObject:
		if v := reflect.ValueOf(o); v.Kind() != reflect.Pointer || !v.IsNil() {
			return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}, nil
		}
	}
	return types.NamespacedName{}, fmt.Errorf("lbpolicy: Tracker.%s: got %T, want the deleted object, a DeletedObject or an object with GetNamespace and GetName: %w",
		method, obj, ErrUnexpectedObject)
}

// tombstoneKey splits the key as client-go's SplitMetaNamespaceKey does
// ("name" alone is a name without namespace).
func tombstoneKey(method string, d DeletedObject) (types.NamespacedName, error) {
	if d.Key == "" {
		if d.Obj == nil {
			return types.NamespacedName{}, fmt.Errorf("lbpolicy: Tracker.%s: DeletedObject with neither Key nor Obj: %w", method, ErrUnexpectedObject)
		}
		if _, nested := d.Obj.(DeletedObject); nested {
			return types.NamespacedName{}, fmt.Errorf("lbpolicy: Tracker.%s: DeletedObject inside a DeletedObject: %w", method, ErrUnexpectedObject)
		}
		return objectKey(method, d.Obj)
	}
	parts := strings.Split(d.Key, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return types.NamespacedName{Name: parts[0]}, nil
	case len(parts) == 2 && parts[1] != "":
		return types.NamespacedName{Namespace: parts[0], Name: parts[1]}, nil
	}
	return types.NamespacedName{}, fmt.Errorf("lbpolicy: Tracker.%s: DeletedObject key %q is not namespace/name: %w", method, d.Key, ErrUnexpectedObject)
}

// state returns the state for key, creating it.
func (t *Tracker) state(key types.NamespacedName) *serviceState {
	st := t.services[key]
	if st == nil {
		st = &serviceState{key: key}
		t.services[key] = st
	}
	return st
}

func (t *Tracker) putService(svc *corev1.Service) {
	st := t.state(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name})
	if st.svc == svc {
		return // an informer's resync: the object held, unchanged
	}
	st.svc = svc
	t.replan(st)
	t.settle()
}

func (t *Tracker) deleteService(key types.NamespacedName) {
	st := t.services[key]
	if st == nil || st.svc == nil {
		return
	}
	st.svc = nil
	t.replan(st)
	t.settle()
}

// ownerOf returns the Service a slice belongs to, as Compute (via
// endpoints.ByService) files it.
func ownerOf(sl *discovery.EndpointSlice) (types.NamespacedName, bool) {
	name := sl.Labels[discovery.LabelServiceName]
	return types.NamespacedName{Namespace: sl.Namespace, Name: name}, name != ""
}

func (t *Tracker) putSlice(sl *discovery.EndpointSlice) {
	key := types.NamespacedName{Namespace: sl.Namespace, Name: sl.Name}
	owner, hasOwner := ownerOf(sl)
	old, ok := t.slices[key]
	if ok && old.obj == sl {
		return // an informer's resync: the object held, unchanged
	}
	if ok && old.hasOwner && (!hasOwner || old.owner != owner) {
		st := t.services[old.owner]
		st.removeSlice(sl.Name)
		t.replan(st)
	}
	t.slices[key] = sliceEntry{obj: sl, owner: owner, hasOwner: hasOwner}
	if hasOwner {
		st := t.state(owner)
		st.putSlice(sl)
		t.replan(st)
	}
	t.settle()
}

func (t *Tracker) deleteSlice(key types.NamespacedName) {
	old, ok := t.slices[key]
	if !ok {
		return
	}
	delete(t.slices, key)
	if old.hasOwner {
		st := t.services[old.owner]
		st.removeSlice(key.Name)
		t.replan(st)
		t.settle()
	}
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
