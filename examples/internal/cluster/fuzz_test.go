package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encodeList encodes the Services and EndpointSlices of objs as a v1 List
// in JSON.
func encodeList(t *testing.T, objs *Objects) []byte {
	t.Helper()
	var items []any
	for _, s := range objs.Services {
		items = append(items, s)
	}
	for _, s := range objs.EndpointSlices {
		items = append(items, s)
	}
	out, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatalf("encoding what Decode returned: %v", err)
	}
	return out
}

// FuzzDecode checks that Decode never panics, fails only with a
// *DecodeError, and that what it returns survives encoding: decoding the
// encoded objects gives the same objects, and encoding them again gives the
// same bytes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(webService))
	f.Add([]byte(webService + "---\n\n---\n" + webSlice))
	f.Add([]byte(listOf(webService, listOf(webSlice))))
	f.Add([]byte(webServiceJSON))
	f.Add(sampleCluster)
	f.Add(utf16Text(webService+"---\r\n"+webSlice, binary.LittleEndian))
	f.Add([]byte(`{"kind":"Service","kind":"List"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode(bytes.NewReader(data), "fuzz")
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
		encoded := encodeList(t, objs)
		again, err := Decode(bytes.NewReader(encoded), "encoded")
		if err != nil {
			t.Fatalf("decoding the encoded objects: %v\n%s", err, encoded)
		}
		want := summary(&Objects{Services: objs.Services, EndpointSlices: objs.EndpointSlices})
		if diff := cmp.Diff(want, summary(again)); diff != "" {
			t.Fatalf("objects changed by encoding (-before +after):\n%s", diff)
		}
		if reencoded := encodeList(t, again); !bytes.Equal(encoded, reencoded) {
			t.Fatalf("encoding is not stable:\n%s\n%s", encoded, reencoded)
		}
	})
}
