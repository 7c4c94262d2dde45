package lbpolicy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The glue between client-go informers and the Tracker's typed methods:
// informers hand over objects as any, and deletions as tombstones when the
// final state is unknown. client-go is not a dependency of this package,
// so its types are recognized by their shape.

// ErrUnexpectedObject is wrapped by the errors an EventHandler reports for
// an object it cannot use: a nil object, another type than its informer's,
// or a tombstone whose key is not "namespace/name".
var ErrUnexpectedObject = errors.New("unexpected object")

// EventHandler feeds one informer's events to a Tracker; get one from
// the Tracker's ServiceEventHandler or EndpointSliceEventHandler. It has
// the method set of client-go's cache.ResourceEventHandler, so an
// informer's AddEventHandler takes it as it is. Objects it cannot use
// change nothing and are reported to the callback it was made with.
type EventHandler struct {
	t      *Tracker
	slices bool // an EndpointSlice informer's, not a Service informer's
	report func(error)
}

// ServiceEventHandler returns the EventHandler for a Service informer.
// report, which may be nil, is called with an error wrapping
// ErrUnexpectedObject for each event whose object cannot be used.
func (t *Tracker) ServiceEventHandler(report func(error)) EventHandler {
	return EventHandler{t: t, report: report}
}

// EndpointSliceEventHandler returns the EventHandler for an EndpointSlice
// informer. report is as for ServiceEventHandler.
func (t *Tracker) EndpointSliceEventHandler(report func(error)) EventHandler {
	return EventHandler{t: t, slices: true, report: report}
}

// OnAdd takes an added *v1.Service or *discoveryv1.EndpointSlice, as
// OnServiceAdd or OnEndpointSliceAdd. isInInitialList is not needed.
func (h EventHandler) OnAdd(obj any, isInInitialList bool) {
	h.put("OnAdd", nil, obj)
}

// OnUpdate takes an updated object, as OnServiceUpdate or
// OnEndpointSliceUpdate; oldObj is used only if it has the right type.
func (h EventHandler) OnUpdate(oldObj, newObj any) {
	h.put("OnUpdate", oldObj, newObj)
}

func (h EventHandler) put(method string, oldObj, obj any) {
	if h.slices {
		sl, ok := obj.(*discovery.EndpointSlice)
		if !ok || sl == nil {
			h.unexpected(fmt.Errorf("%s: got %T, want a non-nil *v1.EndpointSlice", method, obj))
			return
		}
		old, _ := oldObj.(*discovery.EndpointSlice)
		h.t.OnEndpointSliceUpdate(old, sl)
		return
	}
	svc, ok := obj.(*corev1.Service)
	if !ok || svc == nil {
		h.unexpected(fmt.Errorf("%s: got %T, want a non-nil *v1.Service", method, obj))
		return
	}
	old, _ := oldObj.(*corev1.Service)
	h.t.OnServiceUpdate(old, svc)
}

// OnDelete takes the deleted object, client-go's tombstone
// (cache.DeletedFinalStateUnknown, or a pointer to one), or any object with
// GetNamespace and GetName (such as *metav1.PartialObjectMetadata): only
// namespace/name is used, and of a tombstone its Key, or its Obj when the
// Key is empty.
func (h EventHandler) OnDelete(obj any) {
	switch obj.(type) {
	case *corev1.Service:
		if h.slices {
			h.unexpected(errors.New("OnDelete: got a Service, want an EndpointSlice"))
			return
		}
	case *discovery.EndpointSlice:
		if !h.slices {
			h.unexpected(errors.New("OnDelete: got an EndpointSlice, want a Service"))
			return
		}
	}
	key, err := deletedKey(obj)
	if err != nil {
		h.unexpected(fmt.Errorf("OnDelete: %w", err))
		return
	}
	if h.slices {
		h.t.OnEndpointSliceDelete(key.Namespace, key.Name)
	} else {
		h.t.OnServiceDelete(key.Namespace, key.Name)
	}
}

func (h EventHandler) unexpected(err error) {
	if h.report == nil {
		return
	}
	kind := "Service"
	if h.slices {
		kind = "EndpointSlice"
	}
	h.report(fmt.Errorf("lbpolicy: %s event handler: %w: %w", kind, err, ErrUnexpectedObject))
}

// metaObject is what a deletion needs of an object: its key.
type metaObject interface {
	GetNamespace() string
	GetName() string
}

// deletedKey returns the namespace/name a deletion names.
func deletedKey(obj any) (types.NamespacedName, error) {
	if key, last, ok := tombstone(obj); ok {
		return tombstoneKey(key, last)
	}
	if o, ok := obj.(metaObject); ok {
		if v := reflect.ValueOf(o); v.Kind() != reflect.Pointer || !v.IsNil() {
			return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}, nil
		}
	}
	return types.NamespacedName{}, fmt.Errorf("got %T, want the deleted object, a tombstone or an object with GetNamespace and GetName", obj)
}

// tombstone recognizes client-go's cache.DeletedFinalStateUnknown by its
// shape, struct{ Key string; Obj interface{} }, as a value or a non-nil
// pointer, and returns its fields.
func tombstone(obj any) (key string, last any, ok bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || v.NumField() != 2 {
		return "", nil, false
	}
	k, okK := v.Type().FieldByName("Key")
	o, okO := v.Type().FieldByName("Obj")
	if !okK || !okO || !k.IsExported() || !o.IsExported() ||
		k.Type.Kind() != reflect.String || o.Type.Kind() != reflect.Interface || o.Type.NumMethod() != 0 {
		return "", nil, false
	}
	return v.FieldByIndex(k.Index).String(), v.FieldByIndex(o.Index).Interface(), true
}

// tombstoneKey returns the namespace/name of a tombstone: its key, split
// as client-go's SplitMetaNamespaceKey does ("name" alone is a name
// without namespace), or when that is empty, its last known object's.
func tombstoneKey(key string, last any) (types.NamespacedName, error) {
	if key == "" {
		if last == nil {
			return types.NamespacedName{}, errors.New("tombstone with neither Key nor Obj")
		}
		if _, _, nested := tombstone(last); nested {
			return types.NamespacedName{}, errors.New("tombstone inside a tombstone")
		}
		return deletedKey(last)
	}
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return types.NamespacedName{Name: parts[0]}, nil
	case len(parts) == 2 && parts[1] != "":
		return types.NamespacedName{Namespace: parts[0], Name: parts[1]}, nil
	}
	return types.NamespacedName{}, fmt.Errorf("tombstone key %q is not namespace/name", key)
}
