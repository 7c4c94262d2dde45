package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// summary lists what Decode read, one line per object, for comparisons.
func summary(o *Objects) []string {
	var out []string
	for _, s := range o.Services {
		out = append(out, fmt.Sprintf("%s %s/%s", s.Kind, s.Namespace, s.Name))
	}
	for _, s := range o.EndpointSlices {
		out = append(out, fmt.Sprintf("%s %s/%s", s.Kind, s.Namespace, s.Name))
	}
	for _, s := range o.Ignored {
		out = append(out, "ignored "+s)
	}
	return out
}

const (
	webService = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  clusterIP: 10.96.0.20
  ports:
  - name: http
    port: 80
    targetPort: http
`
	webSlice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["10.244.1.5"]
  nodeName: win-node-1
ports:
- name: http
  port: 8080
`
	webServiceJSON = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
 "spec":{"clusterIP":"10.96.0.20","ports":[{"name":"http","port":80}]}}`
)

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// listOf wraps YAML objects in a v1 List.
func listOf(items ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nmetadata: {}\nitems:\n")
	for _, it := range items {
		b.WriteString("- " + strings.TrimPrefix(indent(it, "  "), "  "))
	}
	return b.String()
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{{
		name: "single object",
		in:   webService,
		want: []string{"Service default/web"},
	}, {
		name: "multi-document with empty documents and comments",
		in: "# exported by hand\n---\n" + webService + "---\n# nothing here\n---\n\n---\n" + webSlice +
			"--- # trailing separator with a comment\n",
		want: []string{"Service default/web", "EndpointSlice default/web-abc12"},
	}, {
		name: "v1 List",
		in:   listOf(webService, webSlice),
		want: []string{"Service default/web", "EndpointSlice default/web-abc12"},
	}, {
		name: "nested List",
		in:   listOf(listOf(webService), listOf(listOf(webSlice))),
		want: []string{"Service default/web", "EndpointSlice default/web-abc12"},
	}, {
		name: "empty List",
		in:   "apiVersion: v1\nkind: List\nitems: []\n",
	}, {
		name: "JSON object",
		in:   webServiceJSON,
		want: []string{"Service default/web"},
	}, {
		name: "JSON List",
		in:   `{"apiVersion":"v1","kind":"List","items":[` + webServiceJSON + `]}`,
		want: []string{"Service default/web"},
	}, {
		name: "JSON stream",
		in:   webServiceJSON + "\n" + strings.ReplaceAll(webServiceJSON, `"web"`, `"api"`),
		want: []string{"Service default/web", "Service default/api"},
	}, {
		name: "typed lists whose items have no kind",
		in: `{"apiVersion":"v1","kind":"ServiceList","items":[{"metadata":{"name":"web","namespace":"default"}}]}
{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSliceList","items":[{"metadata":{"name":"web-1","namespace":"default"},"addressType":"IPv4"}]}`,
		want: []string{"Service default/web", "EndpointSlice default/web-1"},
	}, {
		name: "other kinds are ignored",
		in: listOf(webService,
			"apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: web\n  namespace: default\n",
			"apiVersion: v1\nkind: Node\nmetadata:\n  name: win-node-1\n",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"),
		want: []string{"Service default/web", "ignored Endpoints default/web", "ignored Node win-node-1", "ignored Deployment shop/web"},
	}, {
		name: "missing namespace is default",
		in:   "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
		want: []string{"Service default/web"},
	}, {
		name: "byte-order mark and CRLF",
		in:   "\ufeff" + strings.ReplaceAll(webService+"---\n"+webSlice, "\n", "\r\n"),
		want: []string{"Service default/web", "EndpointSlice default/web-abc12"},
	}, {
		name: "empty input",
		in:   "",
	}, {
		name: "only comments",
		in:   "# nothing\n---\n# still nothing\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode(strings.NewReader(tt.in), "in.yaml")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeContent(t *testing.T) {
	objs, err := Decode(strings.NewReader(webService+"---\n"+webSlice), "in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := objs.Services[0]
	if svc.APIVersion != "v1" || svc.Spec.ClusterIP != "10.96.0.20" || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("Service decoded wrong: %+v", svc)
	}
	slice := objs.EndpointSlices[0]
	if slice.Labels["kubernetes.io/service-name"] != "web" || *slice.Ports[0].Port != 8080 ||
		slice.Endpoints[0].Addresses[0] != "10.244.1.5" || *slice.Endpoints[0].NodeName != "win-node-1" {
		t.Errorf("EndpointSlice decoded wrong: %+v", slice)
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := webService
	for range MaxListDepth + 1 {
		deep = listOf(deep)
	}
	tests := []struct {
		name    string
		in      string
		want    string // the whole message, or a prefix when it ends in "…"
		wantErr error
	}{{
		name: "bad field names source, document, object and field",
		in: webSlice + "---\n# comment only\n---\n" +
			strings.Replace(webService, "port: 80", `port: "eighty"`, 1),
		want: `in.yaml: document 3 (Service default/web): spec.ports[0].port: json: cannot unmarshal string into Go value of type int32`,
	}, {
		name: "a number out of range keeps its list index",
		in:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80},{"port":1e400}]}}`,
		want: `in.yaml: document 1 (Service default/a): spec.ports[1].port: json: cannot unmarshal number 1e400 into Go value of type int32`,
	}, {
		name: "a bad kind is named by its JSON name",
		in:   `{"apiVersion":"v1","kind":["Service"],"metadata":{"name":"a"}}`,
		want: `in.yaml: document 1: kind: json: cannot unmarshal array into Go value of type string`,
	}, {
		name: "bad field in a List item",
		in:   listOf(webService, strings.Replace(webSlice, "nodeName: win-node-1", "nodeName: [a]", 1)),
		want: `in.yaml: document 1 items[1] (EndpointSlice default/web-abc12): endpoints[0].nodeName: json: cannot unmarshal array into Go value of type string`,
	}, {
		name: "bad label value",
		in:   strings.Replace(webSlice, "kubernetes.io/service-name: web", "kubernetes.io/service-name: 1.5", 1),
		want: `in.yaml: document 1 (EndpointSlice default/web-abc12): metadata.labels["kubernetes.io/service-name"]: json: cannot unmarshal number into Go value of type string`,
	}, {
		name: "YAML syntax error with the line in the input",
		in:   webService + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n",
		want: `in.yaml: document 2: yaml: line 16: did not find expected ',' or ']'`,
	}, {
		name: "JSON syntax error",
		in:   "{\"apiVersion\": \"v1\",\n \"kind\": \"Service\",,}",
		want: `in.yaml: document 1: json: line 2, column 20: invalid character ',' looking for beginning of object key string`,
	}, {
		name: "truncated JSON",
		in:   `{"apiVersion": "v1"`,
		want: `in.yaml: document 1: json: unexpected end of input`,
	}, {
		name:    "EndpointSlice v1beta1",
		in:      strings.Replace(webSlice, "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1", 1),
		want:    `in.yaml: document 1 (EndpointSlice default/web-abc12): unsupported apiVersion: EndpointSlice of apiVersion "discovery.k8s.io/v1beta1"; only discovery.k8s.io/v1 is read…`,
		wantErr: ErrUnsupportedVersion,
	}, {
		name:    "Service of another group",
		in:      strings.Replace(webService, "apiVersion: v1", "apiVersion: example.com/v1", 1),
		want:    `in.yaml: document 1 (Service default/web): unsupported apiVersion: Service of apiVersion "example.com/v1"; want v1`,
		wantErr: ErrUnsupportedVersion,
	}, {
		name:    "List of another version",
		in:      "apiVersion: v2\nkind: List\nitems: []\n",
		want:    `in.yaml: document 1 (List): unsupported apiVersion: List of apiVersion "v2"; want v1`,
		wantErr: ErrUnsupportedVersion,
	}, {
		name:    "Lists nested too deep",
		in:      deep,
		want:    `in.yaml: document 1 items[0].items[0].items[0].items[0].items[0].items[0].items[0].items[0]: Lists nested too deep: more than 8 levels`,
		wantErr: ErrListTooDeep,
	}, {
		name:    "a scalar document",
		in:      webService + "---\nhello\n",
		want:    `in.yaml: document 2: not a Kubernetes object: want a mapping with apiVersion and kind, got a string`,
		wantErr: ErrNotObject,
	}, {
		name:    "missing kind",
		in:      "apiVersion: v1\nmetadata:\n  name: web\n",
		want:    `in.yaml: document 1: not a Kubernetes object: kind is missing`,
		wantErr: ErrNotObject,
	}, {
		name:    "null List item",
		in:      "apiVersion: v1\nkind: List\nitems:\n- null\n",
		want:    `in.yaml: document 1 items[0]: not a Kubernetes object: the item is null`,
		wantErr: ErrNotObject,
	}, {
		name: "items not a list",
		in:   "apiVersion: v1\nkind: List\nitems: 5\n",
		want: `in.yaml: document 1: items: json: cannot unmarshal number into Go value of type []json.RawMessage`,
	}, {
		name: "missing name",
		in:   "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: shop\n",
		want: `in.yaml: document 1 (Service shop/): metadata.name: is required`,
	}, {
		name:    "duplicate object",
		in:      webService + "---\n" + webService,
		want:    `in.yaml: document 2 (Service default/web): duplicate object: Service default/web was already read from in.yaml document 1`,
		wantErr: ErrDuplicate,
	}, {
		name: "duplicate YAML key",
		in:   "apiVersion: v1\nkind: Service\nkind: Service\n",
		want: `in.yaml: document 1: yaml: unmarshal errors: line 3: key "kind" already set in map`,
	}, {
		name: "bad separator",
		in:   webService + "--- apiVersion: v1\n",
		want: `in.yaml: document 1: yaml: line 12: a document separator must be alone on its line, found "--- apiVersion: v1"`,
	}, {
		name:    "document too large",
		in:      "# " + strings.Repeat("x", MaxDocumentBytes) + "\n",
		want:    `in.yaml: document 1: too large: document larger than 32 MiB`,
		wantErr: ErrTooLarge,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.in), "in.yaml")
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error %T is not a *DecodeError", err)
			}
			got := err.Error()
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Errorf("error\n got %s\nwant %s", got, tt.want)
				}
			} else if got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeInputTooLarge(t *testing.T) {
	_, err := Decode(&zeros{n: MaxInputBytes + 1}, "big.yaml")
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "big.yaml: ") {
		t.Errorf("Decode = %v, want ErrTooLarge naming big.yaml", err)
	}
}

// zeros reads n spaces without holding them.
type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, fmt.Errorf("read past the end")
	}
	n := min(len(p), z.n)
	for i := range p[:n] {
		p[i] = ' '
	}
	z.n -= n
	return n, nil
}

func TestJSONPath(t *testing.T) {
	raw := []byte(`{"a":{"b":[1,{"c":"x","d e":[true]}]},"f":null}`)
	tests := []struct {
		offset int64
		path   string
		keys   []string
	}{
		{offset: 12, path: "a.b[0]", keys: []string{"a", "b"}},
		{offset: 21, path: "a.b[1].c", keys: []string{"a", "b", "c"}},
		{offset: 29, path: `a.b[1]["d e"]`, keys: []string{"a", "b", "d e"}},
		{offset: 33, path: `a.b[1]["d e"][0]`, keys: []string{"a", "b", "d e"}},
		{offset: 46, path: "f", keys: []string{"f"}},
		{offset: 1000},
	}
	for _, tt := range tests {
		path, keys := jsonPath(raw, tt.offset)
		if path != tt.path || !slices.Equal(keys, tt.keys) {
			t.Errorf("jsonPath(%d) = %q, %q; want %q, %q", tt.offset, path, keys, tt.path, tt.keys)
		}
	}
}
