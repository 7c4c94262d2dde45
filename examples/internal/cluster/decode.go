package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// Limits on what Decode accepts, so that a pathological input fails with an
// error instead of exhausting memory.
const (
	// MaxInputBytes bounds one input (a file or stdin).
	MaxInputBytes = 128 << 20
	// MaxDocumentBytes bounds one YAML document or JSON value.
	MaxDocumentBytes = 32 << 20
	// MaxListDepth bounds the nesting of Lists: a List of Lists has depth 2.
	MaxListDepth = 8
)

// Errors that DecodeError wraps, for errors.Is.
var (
	// ErrTooLarge: the input or one document exceeds MaxInputBytes or
	// MaxDocumentBytes.
	ErrTooLarge = errors.New("too large")
	// ErrListTooDeep: Lists nested more than MaxListDepth deep.
	ErrListTooDeep = errors.New("Lists nested too deep")
	// ErrUnsupportedVersion: a Service, EndpointSlice or List of an
	// apiVersion this package does not read.
	ErrUnsupportedVersion = errors.New("unsupported apiVersion")
	// ErrNotObject: a document that is not a Kubernetes object.
	ErrNotObject = errors.New("not a Kubernetes object")
	// ErrDuplicate: the same Service or EndpointSlice given twice.
	ErrDuplicate = errors.New("duplicate object")
)

// Objects are the objects read from one or more inputs, in input order.
type Objects struct {
	Services       []*corev1.Service
	EndpointSlices []*discovery.EndpointSlice
	// Ignored lists the objects of other kinds as "Kind namespace/name"
	// (or "Kind name" without a namespace), in input order.
	Ignored []string

	// where maps "Service ns/name" and "EndpointSlice ns/name" to the place
	// the object was read from, to report duplicates.
	where map[string]string
	// planOnly: drop what planning never reads (ReadOptions.PlanOnly).
	planOnly bool
}

// dropEndpointDetails drops from a decoded slice what lbpolicy never reads:
// each endpoint's targetRef, hostname and deprecatedTopology, and the
// spare capacity decoding left in its endpoint list. The pod references
// are most of what a large cluster's slices hold.
func dropEndpointDetails(sl *discovery.EndpointSlice) {
	sl.Endpoints = slices.Clip(sl.Endpoints)
	for i := range sl.Endpoints {
		ep := &sl.Endpoints[i]
		ep.TargetRef, ep.Hostname, ep.DeprecatedTopology = nil, nil, nil
	}
}

// DecodeError says where in which input decoding failed.
type DecodeError struct {
	// Source names the input: a path or "<stdin>".
	Source string
	// Document is the 1-based index of the YAML document or JSON value;
	// 0 when the error is about the whole input.
	Document int
	// Item locates the object inside Lists, e.g. "items[3]" or
	// "items[0].items[2]"; "" for a top-level object.
	Item string
	// Object is "Kind namespace/name" when known.
	Object string
	// Field is the JSON path of the bad field, e.g. "spec.ports[0].port",
	// when known.
	Field string
	// Err is what is wrong.
	Err error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Document > 0 {
		fmt.Fprintf(&b, ": document %d", e.Document)
	}
	if e.Item != "" {
		b.WriteString(" " + e.Item)
	}
	if e.Object != "" {
		b.WriteString(" (" + e.Object + ")")
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// location is where an object comes from.
type location struct {
	source   string
	document int
	item     string
}

func (l location) String() string {
	s := fmt.Sprintf("%s document %d", l.source, l.document)
	if l.item != "" {
		s += " " + l.item
	}
	return s
}

func (l location) errorf(object, field string, err error) *DecodeError {
	return &DecodeError{Source: l.source, Document: l.document, Item: l.item, Object: object, Field: field, Err: err}
}

// Decode reads the Services and EndpointSlices in r, which holds YAML or
// JSON: one object, several YAML documents separated by "---" lines, a
// stream of JSON values, or v1 Lists of any of these (nested up to
// MaxListDepth). source names r in errors. Empty documents are skipped;
// objects of other kinds are listed in Ignored.
func Decode(r io.Reader, source string) (*Objects, error) {
	return decode(r, source, ReadOptions{})
}

func decode(r io.Reader, source string, opts ReadOptions) (*Objects, error) {
	objs := &Objects{planOnly: opts.PlanOnly}
	err := documents(r, func(index int, doc []byte, err error) error {
		loc := location{source: source, document: index}
		if err != nil {
			return loc.errorf("", "", err)
		}
		return objs.add(loc, doc, 0, typeMeta{})
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// typeMeta is the part of every object Decode looks at first.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

type header struct {
	typeMeta
	Metadata struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"metadata"`
}

// listKinds are the List kinds Decode opens, with the apiVersion they need
// and the type their items have when the items carry none (the API server
// omits apiVersion and kind in the items of typed lists).
var listKinds = map[string]struct {
	apiVersion string
	item       typeMeta
}{
	"List":              {"v1", typeMeta{}},
	"ServiceList":       {"v1", typeMeta{APIVersion: "v1", Kind: "Service"}},
	"EndpointSliceList": {"discovery.k8s.io/v1", typeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"}},
}

// add decodes one JSON value, at depth Lists deep.
func (o *Objects) add(loc location, raw []byte, depth int, itemType typeMeta) error {
	switch firstByte(raw) {
	case 'n': // null: an empty document
		if depth == 0 {
			return nil
		}
		return loc.errorf("", "", fmt.Errorf("%w: the item is null", ErrNotObject))
	case '{':
	default:
		return loc.errorf("", "", fmt.Errorf("%w: want a mapping with apiVersion and kind, got %s", ErrNotObject, jsonKind(raw)))
	}
	if len(raw) > MaxDocumentBytes {
		return loc.errorf("", "", fmt.Errorf("%w: document larger than %d MiB", ErrTooLarge, MaxDocumentBytes>>20))
	}

	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		field, err := describeJSONError(raw, err)
		return loc.errorf("", field, err)
	}
	if h.Kind == "" && h.APIVersion == "" {
		h.typeMeta = itemType
	}
	namespace := h.Metadata.Namespace
	if namespace == "" {
		namespace = metav1NamespaceDefault
	}
	object := h.Kind + " " + namespace + "/" + h.Metadata.Name

	if h.Kind == "" {
		return loc.errorf("", "", fmt.Errorf("%w: kind is missing", ErrNotObject))
	}
	if lk, ok := listKinds[h.Kind]; ok {
		if h.APIVersion != lk.apiVersion {
			return loc.errorf(h.Kind, "", fmt.Errorf("%w: %s of apiVersion %q; want %s", ErrUnsupportedVersion, h.Kind, h.APIVersion, lk.apiVersion))
		}
		return o.addList(loc, raw, depth+1, lk.item)
	}

	switch h.Kind {
	case "Service", "EndpointSlice":
		return o.addObject(loc, raw, h, object)
	default:
		name := h.Kind
		switch {
		case h.Metadata.Name == "":
		case h.Metadata.Namespace == "":
			name += " " + h.Metadata.Name // cluster-scoped, e.g. a Node
		default:
			name += " " + h.Metadata.Namespace + "/" + h.Metadata.Name
		}
		o.Ignored = append(o.Ignored, name)
	}
	return nil
}

// addObject decodes one Service or EndpointSlice.
func (o *Objects) addObject(loc location, raw []byte, h header, object string) error {
	if h.Kind == "Service" {
		if h.APIVersion != "v1" {
			return loc.errorf(object, "", fmt.Errorf("%w: Service of apiVersion %q; want v1", ErrUnsupportedVersion, h.APIVersion))
		}
		svc := &corev1.Service{}
		if err := json.Unmarshal(raw, svc); err != nil {
			field, err := describeJSONError(raw, err)
			return loc.errorf(object, field, err)
		}
		svc.APIVersion, svc.Kind = h.APIVersion, h.Kind
		if err := o.check(loc, object, &svc.ObjectMeta); err != nil {
			return err
		}
		o.Services = append(o.Services, svc)
		return nil
	}
	if h.APIVersion != "discovery.k8s.io/v1" {
		return loc.errorf(object, "", fmt.Errorf("%w: EndpointSlice of apiVersion %q; only discovery.k8s.io/v1 is read (Kubernetes 1.21 and later serve it: kubectl get endpointslices.v1.discovery.k8s.io)", ErrUnsupportedVersion, h.APIVersion))
	}
	slice := &discovery.EndpointSlice{}
	if err := json.Unmarshal(raw, slice); err != nil {
		field, err := describeJSONError(raw, err)
		return loc.errorf(object, field, err)
	}
	slice.APIVersion, slice.Kind = h.APIVersion, h.Kind
	if err := o.check(loc, object, &slice.ObjectMeta); err != nil {
		return err
	}
	if o.planOnly {
		dropEndpointDetails(slice)
	}
	o.EndpointSlices = append(o.EndpointSlices, slice)
	return nil
}

// check completes and checks the metadata of a Service or EndpointSlice
// and records where the object was read.
func (o *Objects) check(loc location, object string, meta interface {
	GetName() string
	GetNamespace() string
	SetNamespace(string)
}) error {
	if meta.GetName() == "" {
		return loc.errorf(object, "metadata.name", errors.New("is required"))
	}
	if meta.GetNamespace() == "" {
		meta.SetNamespace(metav1NamespaceDefault)
	}
	if o.where == nil {
		o.where = map[string]string{}
	}
	if prev, dup := o.where[object]; dup {
		return loc.errorf(object, "", fmt.Errorf("%w: %s was already read from %s", ErrDuplicate, object, prev))
	}
	o.where[object] = loc.String()
	return nil
}

const metav1NamespaceDefault = "default"

func (o *Objects) addList(loc location, raw []byte, depth int, itemType typeMeta) error {
	if depth > MaxListDepth {
		return loc.errorf("", "", fmt.Errorf("%w: more than %d levels", ErrListTooDeep, MaxListDepth))
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		field, err := describeJSONError(raw, err)
		return loc.errorf("", field, err)
	}
	for i, item := range list.Items {
		itemLoc := loc
		if itemLoc.item != "" {
			itemLoc.item += "."
		}
		itemLoc.item += fmt.Sprintf("items[%d]", i)
		if err := o.add(itemLoc, item, depth, itemType); err != nil {
			return err
		}
	}
	return nil
}

// merge appends src to o, rejecting objects o already holds.
func (o *Objects) merge(src *Objects) error {
	if o.where == nil {
		o.where = map[string]string{}
	}
	for key, where := range src.where {
		if prev, dup := o.where[key]; dup {
			return fmt.Errorf("%w: %s is in %s and in %s", ErrDuplicate, key, prev, where)
		}
	}
	for key, where := range src.where {
		o.where[key] = where
	}
	o.Services = append(o.Services, src.Services...)
	o.EndpointSlices = append(o.EndpointSlices, src.EndpointSlices...)
	o.Ignored = append(o.Ignored, src.Ignored...)
	return nil
}

func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// jsonKind names the type of a JSON value for messages.
func jsonKind(raw []byte) string {
	switch firstByte(raw) {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 0:
		return "nothing"
	}
	return "a number"
}
