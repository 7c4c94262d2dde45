package cluster

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// utf16Text encodes s as UTF-16 with a byte-order mark, as Windows
// PowerShell 5.1 writes with `>`.
func utf16Text(s string, order binary.AppendByteOrder) []byte {
	out := order.AppendUint16(nil, 0xFEFF)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

const sliceJSON = `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
 "metadata":{"name":"web-abc12","namespace":"default","labels":{"kubernetes.io/service-name":"web"}}}`

func TestDecodeEncodings(t *testing.T) {
	// Two documents, so that a reader that misses the separators loses one.
	twoDocs := webService + "---\n" + webSlice
	crlf := strings.ReplaceAll(twoDocs, "\n", "\r\n")
	want := []string{"Service default/web", "EndpointSlice default/web-abc12"}
	tests := []struct {
		name    string
		input   []byte
		wantErr string // "" = decodes to want
	}{
		{name: "UTF-8", input: []byte(twoDocs)},
		{name: "UTF-8 with BOM", input: append([]byte{0xEF, 0xBB, 0xBF}, twoDocs...)},
		{name: "UTF-16LE with BOM (PowerShell 5.1 >)", input: utf16Text(crlf, binary.LittleEndian)},
		{name: "UTF-16BE with BOM", input: utf16Text(twoDocs, binary.BigEndian)},
		{name: "UTF-16LE JSON stream", input: utf16Text(webServiceJSON+"\n"+sliceJSON, binary.LittleEndian)},
		{name: "UTF-16LE without BOM", input: utf16Text(twoDocs, binary.LittleEndian)[2:],
			wantErr: "in: unsupported text encoding: a NUL byte at line 1, column 2 (UTF-16 without a byte-order mark?); save the file as UTF-8"},
		{name: "UTF-16 cut short", input: utf16Text(twoDocs, binary.LittleEndian)[:11],
			wantErr: "in: unsupported text encoding: UTF-16 text with an odd number of bytes (11), cut short?"},
		{name: "UTF-16 unpaired surrogate", input: binary.LittleEndian.AppendUint16(utf16Text("a", binary.LittleEndian), 0xD800),
			wantErr: "in: unsupported text encoding: UTF-16 text with an unpaired surrogate at offset 4"},
		{name: "UTF-32", input: []byte{0xFF, 0xFE, 0, 0, 'a', 0, 0, 0},
			wantErr: "in: unsupported text encoding: UTF-32 (byte-order mark FFFE0000); save the file as UTF-8"},
		{name: "Latin-1", input: []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: caf\xe9\n"),
			wantErr: "in: unsupported text encoding: invalid UTF-8 at line 4, column 12; save the file as UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode(strings.NewReader(string(tt.input)), "in")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Decode error = %v, want %s", err, tt.wantErr)
				}
				if !errors.Is(err, ErrEncoding) {
					t.Errorf("Decode error %v does not wrap ErrEncoding", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, summary(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeDuplicateJSONKeys(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{{
		name:    "top level",
		input:   `{"apiVersion":"v1","kind":"Service","kind":"Service","metadata":{"name":"a","namespace":"d"}}`,
		wantErr: `in: document 1: json: key "kind" appears twice in one object`,
	}, {
		name:    "nested, escaped spelling",
		input:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"d"},"spec":{"clusterIP":"10.0.0.1","clusterI\u0050":"10.0.0.2"}}`,
		wantErr: `in: document 1: json: key "spec.clusterIP" appears twice in one object`,
	}, {
		name:    "inside a list, second document",
		input:   webServiceJSON + `{"apiVersion":"v1","kind":"List","items":[{"kind":"Service"},{"metadata":{"name":"x","name":"y"}}]}`,
		wantErr: `in: document 2: json: key "items[1].metadata.name" appears twice in one object`,
	}, {
		name:  "same key in sibling objects is fine",
		input: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"d"},"spec":{"ports":[{"port":1,"name":"a"},{"port":2,"name":"b"}]}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.input), "in")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Decode error = %v, want %s", err, tt.wantErr)
			}
		})
	}
}

func TestDuplicateKey(t *testing.T) {
	tests := map[string]string{
		`{}`:                            "",
		`[]`:                            "",
		`"x"`:                           "",
		`{"a":1,"b":{"a":2}}`:           "",
		`{"a":1,"a":2}`:                 "a",
		`{"a":[{"b":1},{"b":1,"b":2}]}`: "a[1].b",
		`{"a\"b":1,"a\u0022b":2}`:       `a"b`,
		`[[1,2],[{"x":true,"x":null}]]`: "[1][0].x",
		`{"s":"}{\\\"","s":0}`:          "s",
	}
	for in, want := range tests {
		if got := duplicateKey([]byte(in)); got != want {
			t.Errorf("duplicateKey(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestReadText(t *testing.T) {
	text := "{\"a\": \"caf\u00e9 \U0001F600\"}\r\n[1]\n"
	for name, in := range map[string][]byte{
		"UTF-8":             []byte(text),
		"UTF-8 with BOM":    append([]byte{0xEF, 0xBB, 0xBF}, text...),
		"UTF-16LE with BOM": utf16Text(text, binary.LittleEndian),
		"UTF-16BE with BOM": utf16Text(text, binary.BigEndian),
	} {
		got, err := ReadText(strings.NewReader(string(in)))
		if err != nil || string(got) != text {
			t.Errorf("%s: ReadText = %q, %v; want %q", name, got, err, text)
		}
	}
	if _, err := ReadText(strings.NewReader("ok\nb\x00d\n")); !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), "line 2, column 2") {
		t.Errorf("ReadText of a NUL byte = %v, want ErrEncoding at line 2, column 2", err)
	}
}
