package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// eventSummary renders events for comparison: type, object, where read,
// and the object's resourceVersion and endpoint addresses, which the test
// files vary between events.
func eventSummary(evs *Events) []string {
	var out []string
	for _, e := range evs.Events {
		var rv string
		var addrs []string
		switch {
		case e.Service != nil:
			rv = e.Service.ResourceVersion
		case e.EndpointSlice != nil:
			rv = e.EndpointSlice.ResourceVersion
			for _, ep := range e.EndpointSlice.Endpoints {
				addrs = append(addrs, ep.Addresses...)
			}
		}
		out = append(out, fmt.Sprintf("document %d: %s rv=%s %v", e.Document, e.String(), rv, addrs))
	}
	for _, s := range evs.Ignored {
		out = append(out, "ignored "+s)
	}
	return out
}

// eventJSON is one watch event as kubectl prints it.
func eventJSON(typ, object string) string {
	return fmt.Sprintf(`{"type":%q,"object":%s}`, typ, object)
}

func TestDecodeEventsTestdata(t *testing.T) {
	want := []string{
		"document 1: ADDED Service default/web rv=1001 []",
		"document 2: ADDED EndpointSlice default/web-abc12 rv=1002 [10.244.1.5]",
		"document 4: MODIFIED EndpointSlice default/web-abc12 rv=1003 [10.244.1.5 10.244.2.7]",
		"document 6: DELETED Service default/web rv=1005 []",
		"ignored document 3: ADDED Pod default/web-0",
		"ignored document 5: BOOKMARK",
	}
	for _, name := range []string{"watch.json", "watch.yaml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "events", name)
			evs, err := ReadEvents(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, eventSummary(evs)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			for _, e := range evs.Events {
				if e.Source != path {
					t.Errorf("event %d: Source %q, want %q", e.Document, e.Source, path)
				}
			}
			// The objects are decoded completely, as Decode decodes them.
			if sl := evs.Events[2].EndpointSlice; sl.Kind != "EndpointSlice" || sl.APIVersion != "discovery.k8s.io/v1" ||
				*sl.Endpoints[1].NodeName != "win-node-2" || *sl.Ports[0].Port != 8080 {
				t.Errorf("EndpointSlice decoded as %+v", sl)
			}
		})
	}
}

func TestReadEventsStdin(t *testing.T) {
	evs, err := ReadEvents(Stdin, strings.NewReader(eventJSON("ADDED", webServiceJSON)))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Events) != 1 || evs.Events[0].Source != "<stdin>" || evs.Events[0].Service == nil {
		t.Errorf("got %+v", evs.Events)
	}
	if _, err := ReadEvents(filepath.Join("testdata", "events", "missing.json"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestDecodeEvents(t *testing.T) {
	svc := strings.TrimSpace(webServiceJSON)
	tests := []struct {
		name string
		in   string
		want []string
	}{{
		name: "one JSON event per line, as the watch API sends them",
		in:   eventJSON("ADDED", svc) + "\n" + eventJSON("DELETED", svc) + "\n",
		want: []string{"document 1: ADDED Service default/web rv= []", "document 2: DELETED Service default/web rv= []"},
	}, {
		name: "type in any case",
		in:   eventJSON("modified", svc),
		want: []string{"document 1: MODIFIED Service default/web rv= []"},
	}, {
		name: "YAML with empty documents and comments",
		in:   "# recorded\n---\n---\ntype: ADDED\nobject:\n" + indent(webSlice, "  ") + "---\n",
		want: []string{"document 2: ADDED EndpointSlice default/web-abc12 rv= [10.244.1.5]"},
	}, {
		name: "namespace defaults to default",
		in:   eventJSON("ADDED", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"}}`),
		want: []string{"document 1: ADDED Service default/x rv= []"},
	}, {
		name: "skipped types and kinds",
		in: eventJSON("BOOKMARK", `{"kind":"Service","apiVersion":"v1","metadata":{"resourceVersion":"7"}}`) +
			eventJSON("ERROR", `{"kind":"Status","apiVersion":"v1","code":410}`) +
			eventJSON("ADDED", `{"kind":"Endpoints","apiVersion":"v1","metadata":{"name":"web","namespace":"default"}}`) +
			eventJSON("DELETED", `{"kind":"Node","apiVersion":"v1","metadata":{"name":"win-node-2"}}`),
		want: []string{
			"ignored document 1: BOOKMARK", "ignored document 2: ERROR",
			"ignored document 3: ADDED Endpoints default/web", "ignored document 4: DELETED Node win-node-2",
		},
	}, {
		name: "empty input",
		in:   "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := DecodeEvents(strings.NewReader(tt.in), "in")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, eventSummary(evs)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeEventsErrors(t *testing.T) {
	svc := strings.TrimSpace(webServiceJSON)
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{{
		name:    "unknown type",
		in:      eventJSON("ADDED", svc) + "\n" + eventJSON("ADDDED", svc),
		want:    `events.json: document 2: type: not a watch event: "ADDDED" is not a watch event type; want ADDED, MODIFIED or DELETED (BOOKMARK and ERROR are skipped)`,
		wantErr: ErrNotEvent,
	}, {
		name:    "type missing",
		in:      `{"object":` + svc + `}`,
		want:    `events.json: document 1: type: not a watch event: is required (ADDED, MODIFIED or DELETED)`,
		wantErr: ErrNotEvent,
	}, {
		name:    "type not a string",
		in:      `{"type":1,"object":` + svc + `}`,
		want:    `events.json: document 1: type: not a watch event: want a string, got a number`,
		wantErr: ErrNotEvent,
	}, {
		name:    "object missing",
		in:      `{"type":"ADDED"}`,
		want:    `events.json: document 1: object: not a watch event: is required: the Service or EndpointSlice the event is about`,
		wantErr: ErrNotEvent,
	}, {
		name:    "object not a mapping",
		in:      `{"type":"ADDED","object":[1]}`,
		want:    `events.json: document 1: object: not a Kubernetes object: want a mapping with apiVersion and kind, got a list`,
		wantErr: ErrNotObject,
	}, {
		name:    "unknown field",
		in:      `{"type":"ADDED","object":` + svc + `,"oldObject":{}}`,
		want:    `events.json: document 1: oldObject: not a watch event: unknown field; a watch event has the fields object and type`,
		wantErr: ErrNotEvent,
	}, {
		name:    "a bare object",
		in:      svc,
		want:    `events.json: document 1: not a watch event: this is a Kubernetes object, not a watch event {"type": ..., "object": {...}}; record events with kubectl get --watch --output-watch-events -o json`,
		wantErr: ErrNotEvent,
	}, {
		name:    "a scalar",
		in:      "ADDED\n",
		want:    `events.json: document 1: not a watch event: want a mapping {"type": ..., "object": {...}}, got a string`,
		wantErr: ErrNotEvent,
	}, {
		name:    "a List as object",
		in:      eventJSON("ADDED", `{"apiVersion":"v1","kind":"List","items":[]}`),
		want:    `events.json: document 1 (List): object: not a watch event: a watch event holds one object, not a List`,
		wantErr: ErrNotEvent,
	}, {
		name: "bad field in the object",
		in:   eventJSON("ADDED", svc) + "\n" + eventJSON("MODIFIED", strings.Replace(svc, `"port":80`, `"port":"80"`, 1)),
		want: `events.json: document 2 (Service default/web): object.spec.ports[0].port: json: cannot unmarshal string into Go value of type int32`,
	}, {
		name: "bad field in YAML, with the line of the input",
		in:   "type: ADDED\nobject:\n" + indent(webService, "  ") + "---\ntype: MODIFIED\nobject:\n  kind: [\n",
		want: `events.json: document 2: yaml: line 17: did not find expected node content`,
	}, {
		name:    "object without kind",
		in:      eventJSON("ADDED", `{"apiVersion":"v1","metadata":{"name":"web"}}`),
		want:    `events.json: document 1: object: not a Kubernetes object: kind is missing`,
		wantErr: ErrNotObject,
	}, {
		name:    "object without name",
		in:      eventJSON("DELETED", `{"apiVersion":"v1","kind":"Service","metadata":{}}`),
		want:    `events.json: document 1 (Service default/): object.metadata.name: is required`,
		wantErr: nil,
	}, {
		name:    "EndpointSlice v1beta1",
		in:      eventJSON("ADDED", `{"apiVersion":"discovery.k8s.io/v1beta1","kind":"EndpointSlice","metadata":{"name":"web-abc12"}}`),
		want:    `events.json: document 1 (EndpointSlice default/web-abc12): object: unsupported apiVersion: EndpointSlice of apiVersion "discovery.k8s.io/v1beta1"; only discovery.k8s.io/v1 is read (Kubernetes 1.21 and later serve it: kubectl get endpointslices.v1.discovery.k8s.io)`,
		wantErr: ErrUnsupportedVersion,
	}, {
		name: "truncated JSON",
		in:   eventJSON("ADDED", svc) + `{"type":"ADDED","object":{`,
		want: `events.json: document 2: json: unexpected end of input`,
	}, {
		name:    "document too large",
		in:      "# " + strings.Repeat("x", MaxDocumentBytes) + "\n",
		want:    `events.json: document 1: too large: document larger than 32 MiB`,
		wantErr: ErrTooLarge,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvents(strings.NewReader(tt.in), "events.json")
			if err == nil {
				t.Fatal("DecodeEvents succeeded, want an error")
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error %T is not a *DecodeError", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeEventsInputTooLarge(t *testing.T) {
	_, err := DecodeEvents(&zeros{n: MaxInputBytes + 1}, "big.json")
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "big.json: ") {
		t.Errorf("DecodeEvents = %v, want ErrTooLarge naming big.json", err)
	}
}

// encodeEvents encodes events as a JSON stream, one event per line.
func encodeEvents(t *testing.T, evs *Events) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, e := range evs.Events {
		var obj any = e.Service
		if e.EndpointSlice != nil {
			obj = e.EndpointSlice
		}
		line, err := json.Marshal(map[string]any{"type": e.Type, "object": obj})
		if err != nil {
			t.Fatalf("encoding what DecodeEvents returned: %v", err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// FuzzDecodeEvents checks that DecodeEvents never panics, fails only with
// a *DecodeError, returns events with exactly one object each, and that
// what it returns survives encoding: decoding the encoded events gives the
// same events, and encoding them again gives the same bytes.
func FuzzDecodeEvents(f *testing.F) {
	f.Add([]byte(eventJSON("ADDED", webServiceJSON)))
	f.Add([]byte("type: MODIFIED\nobject:\n" + indent(webSlice, "  ") + "---\ntype: BOOKMARK\n"))
	for _, name := range []string{"watch.json", "watch.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "events", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeEvents(bytes.NewReader(data), "fuzz")
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			if de.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, e := range evs.Events {
			if (e.Service == nil) == (e.EndpointSlice == nil) {
				t.Fatalf("event %d has %d objects, want 1", e.Document, map[bool]int{true: 0, false: 2}[e.Service == nil])
			}
			switch e.Type {
			case Added, Modified, Deleted:
			default:
				t.Fatalf("event %d has type %q", e.Document, e.Type)
			}
		}
		encoded := encodeEvents(t, evs)
		again, err := DecodeEvents(bytes.NewReader(encoded), "encoded")
		if err != nil {
			t.Fatalf("decoding the encoded events: %v\n%s", err, encoded)
		}
		var types, typesAgain []EventType
		for _, e := range evs.Events {
			types = append(types, e.Type)
		}
		for _, e := range again.Events {
			typesAgain = append(typesAgain, e.Type)
		}
		if diff := cmp.Diff(types, typesAgain); diff != "" {
			t.Fatalf("event types changed by encoding (-before +after):\n%s", diff)
		}
		if reencoded := encodeEvents(t, again); !bytes.Equal(encoded, reencoded) {
			t.Fatalf("encoding is not stable:\n%s\n%s", encoded, reencoded)
		}
	})
}
