package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// EventType is the type of a watch event, as the API server and kubectl
// spell it.
type EventType string

// The event types DecodeEvents returns. BOOKMARK and ERROR events are read
// but skipped (listed in Events.Ignored): a bookmark carries no change, and
// an error ends a watch.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
)

// skippedEventTypes are the watch event types that carry no object change.
var skippedEventTypes = []string{"BOOKMARK", "ERROR"}

// ErrNotEvent is wrapped by the DecodeError of a document that is not a
// watch event: not a mapping, a bare Kubernetes object, a field other than
// type and object, an unknown type, or no object.
var ErrNotEvent = errors.New("not a watch event")

// Event is one watch event on a Service or an EndpointSlice.
type Event struct {
	Type EventType
	// Exactly one of Service and EndpointSlice is set. For a DELETED
	// event it is the object's last state.
	Service       *corev1.Service
	EndpointSlice *discovery.EndpointSlice
	// Source names the input the event was read from, and Document is the
	// event's 1-based index in it: the document DecodeError names.
	Source   string
	Document int
}

// Object names the event's object: "Service namespace/name" or
// "EndpointSlice namespace/name".
func (e *Event) Object() string {
	switch {
	case e.Service != nil:
		return "Service " + e.Service.Namespace + "/" + e.Service.Name
	case e.EndpointSlice != nil:
		return "EndpointSlice " + e.EndpointSlice.Namespace + "/" + e.EndpointSlice.Name
	}
	return "(no object)"
}

// String renders the event as "ADDED Service default/web".
func (e *Event) String() string { return string(e.Type) + " " + e.Object() }

// Events are the watch events read from one input, in input order.
type Events struct {
	Events []Event
	// Ignored lists the events skipped: objects of other kinds, and
	// BOOKMARK and ERROR events, as "document 4: ADDED Pod default/web-1"
	// or "document 9: ERROR", in input order.
	Ignored []string
}

// DecodeEvents reads watch events from r, in the form
//
//	kubectl get endpointslices -A --watch --output-watch-events -o json
//
// prints them: JSON values one after another, each
// {"type": "ADDED|MODIFIED|DELETED", "object": {...}}, or the same as
// multi-document YAML (-o yaml). Documents are split as Decode splits them
// and bounded by the same limits; empty documents are skipped. source
// names r in errors, which are *DecodeError values naming the event by its
// document index and, where known, the object and the field ("type",
// "object.spec.ports[0].port").
//
// The object of an event is a v1 Service or a discovery.k8s.io/v1
// EndpointSlice, decoded as Decode decodes them (a missing namespace is
// "default"); events on other kinds, and BOOKMARK and ERROR events, are
// listed in Ignored. The type is matched case-insensitively. The same
// object may of course appear in many events.
func DecodeEvents(r io.Reader, source string) (*Events, error) {
	evs := &Events{}
	err := documents(r, func(index int, doc []byte, err error) error {
		loc := location{source: source, document: index}
		if err != nil {
			return loc.errorf("", "", err)
		}
		return evs.add(loc, doc)
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// ReadEvents reads the watch events in the file at path, or in stdin when
// path is "-" (named "<stdin>" in errors).
func ReadEvents(path string, stdin io.Reader) (*Events, error) {
	if path == Stdin {
		return DecodeEvents(stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeEvents(f, path)
}

// eventFields are the fields of a watch event.
var eventFields = []string{"object", "type"}

// add decodes one document as a watch event.
func (e *Events) add(loc location, raw []byte) error {
	switch firstByte(raw) {
	case 'n': // an empty document
		return nil
	case '{':
	default:
		return loc.errorf("", "", fmt.Errorf(`%w: want a mapping {"type": ..., "object": {...}}, got %s`, ErrNotEvent, jsonKind(raw)))
	}
	fields, err := eventFieldsOf(loc, raw)
	if err != nil {
		return err
	}
	et, skipped, err := eventType(loc, fields)
	if err != nil || skipped != "" {
		if skipped != "" {
			e.Ignored = append(e.Ignored, fmt.Sprintf("document %d: %s", loc.document, skipped))
		}
		return err
	}
	one, err := eventObject(loc, fields)
	if err != nil {
		return err
	}
	switch {
	case len(one.Services) == 1:
		e.Events = append(e.Events, Event{Type: et, Service: one.Services[0], Source: loc.source, Document: loc.document})
	case len(one.EndpointSlices) == 1:
		e.Events = append(e.Events, Event{Type: et, EndpointSlice: one.EndpointSlices[0], Source: loc.source, Document: loc.document})
	default:
		for _, name := range one.Ignored {
			e.Ignored = append(e.Ignored, fmt.Sprintf("document %d: %s %s", loc.document, et, name))
		}
	}
	return nil
}

// eventFieldsOf splits an event into its fields, refusing Kubernetes
// objects and unknown fields.
func eventFieldsOf(loc location, raw []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		field, err := describeJSONError(raw, err)
		return nil, loc.errorf("", field, err)
	}
	_, hasType := fields["type"]
	_, hasKind := fields["kind"]
	if _, hasVersion := fields["apiVersion"]; !hasType && (hasKind || hasVersion) {
		return nil, loc.errorf("", "", fmt.Errorf("%w: this is a Kubernetes object, not a watch event "+
			`{"type": ..., "object": {...}}; record events with kubectl get --watch --output-watch-events -o json`, ErrNotEvent))
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "type" && k != "object" {
			return nil, loc.errorf("", k, fmt.Errorf("%w: unknown field; a watch event has the fields %s", ErrNotEvent, strings.Join(eventFields, " and ")))
		}
	}
	return fields, nil
}

// eventType reads an event's type; skipped names a type that is read but
// not replayed (BOOKMARK, ERROR).
func eventType(loc location, fields map[string]json.RawMessage) (et EventType, skipped string, err error) {
	raw, ok := fields["type"]
	if !ok || firstByte(raw) == 'n' {
		return "", "", loc.errorf("", "type", fmt.Errorf("%w: is required (ADDED, MODIFIED or DELETED)", ErrNotEvent))
	}
	var typ string
	if err := json.Unmarshal(raw, &typ); err != nil {
		return "", "", loc.errorf("", "type", fmt.Errorf("%w: want a string, got %s", ErrNotEvent, jsonKind(raw)))
	}
	for _, t := range []EventType{Added, Modified, Deleted} {
		if strings.EqualFold(typ, string(t)) {
			return t, "", nil
		}
	}
	for _, t := range skippedEventTypes {
		if strings.EqualFold(typ, t) {
			return "", t, nil
		}
	}
	return "", "", loc.errorf("", "type", fmt.Errorf("%w: %q is not a watch event type; want ADDED, MODIFIED or DELETED (BOOKMARK and ERROR are skipped)",
		ErrNotEvent, truncate(typ, 40)))
}

// eventObject decodes an event's object as Decode decodes a document.
func eventObject(loc location, fields map[string]json.RawMessage) (*Objects, error) {
	obj, ok := fields["object"]
	if !ok || firstByte(obj) == 'n' {
		return nil, loc.errorf("", "object", fmt.Errorf("%w: is required: the Service or EndpointSlice the event is about", ErrNotEvent))
	}
	if firstByte(obj) != '{' {
		return nil, loc.errorf("", "object", fmt.Errorf("%w: want a mapping with apiVersion and kind, got %s", ErrNotObject, jsonKind(obj)))
	}
	var h header
	if err := json.Unmarshal(obj, &h); err != nil {
		field, err := describeJSONError(obj, err)
		return nil, loc.errorf("", objectField(field), err)
	}
	if _, isList := listKinds[h.Kind]; isList {
		return nil, loc.errorf(h.Kind, "object", fmt.Errorf("%w: a watch event holds one object, not a %s", ErrNotEvent, h.Kind))
	}
	one := &Objects{}
	if err := one.add(loc, obj, 0, typeMeta{}); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Field = objectField(de.Field)
		}
		return nil, err
	}
	return one, nil
}

// objectField is the path of field of an event's object, from the event.
func objectField(field string) string {
	switch {
	case field == "":
		return "object"
	case strings.HasPrefix(field, "["):
		return "object" + field
	}
	return "object." + field
}
