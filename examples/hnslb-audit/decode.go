package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// maxInputBytes bounds one HNS input file: a dump of 10,000 load balancers
// and their endpoints is about 20 MiB.
const maxInputBytes = 256 << 20

// The files of a collectlogs.ps1 output directory that compare reads
// (microsoft/wcnscripts scripts/collectlogs/collectlogs.ps1, with its
// default -HnsSchemaVersion 2).
const (
	collectPolicies  = "policy.txt"   // Get-HnsLoadBalancer -Version 2 | ConvertTo-Json -Depth 20
	collectEndpoints = "endpoint.txt" // a table, then Get-HnsEndpoint -Version 2 | ConvertTo-Json -Depth 20
	collectNetworks  = "network.txt"  // a table, then Get-HnsNetwork -Version 2 | ConvertTo-Json -Depth 20 (optional)
)

// readHNS reads what HNS holds from path: a dump file (as `hnslb-audit
// dump` and fake.HNS write it), "-" for stdin, or a directory holding
// collectlogs.ps1's policy.txt and endpoint.txt (and network.txt).
func readHNS(path string, stdin io.Reader) (Dump, error) {
	if path == "-" {
		data, err := readAll(stdin, "<stdin>")
		if err != nil {
			return Dump{}, err
		}
		return decodeDump(data, "<stdin>")
	}
	info, err := os.Stat(path)
	if err != nil {
		return Dump{}, err
	}
	if info.IsDir() {
		return readCollectlogs(path)
	}
	data, err := readFile(path)
	if err != nil {
		return Dump{}, err
	}
	return decodeDump(data, path)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, path)
}

func readAll(r io.Reader, source string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", source, maxInputBytes>>20)
	}
	return data, nil
}

// dumpKeys are the keys of a dump document, in the order written.
var dumpKeys = []string{"Networks", "LoadBalancers", "Endpoints"}

// ignoredKey may be in a dump and is ignored: fake.HNS's dump (its State)
// adds the ports the host holds, which HNS's lists do not show.
const ignoredKey = "ReservedPorts"

// decodeDump decodes a dump document: a JSON object with the keys
// Networks, LoadBalancers and Endpoints, each a list of HNS objects in the
// HCN v2 schema. Text may be UTF-8 or, after a byte-order mark, UTF-16 (as
// Windows PowerShell 5.1 writes with `>`). A list may also be written the
// ways ConvertTo-Json writes lists: a list of one as the object alone, none
// as null, or {"value": [...], "Count": n}. Fields hnslb does not know (HNS
// returns more than hcn reads) are ignored; a known field of the wrong type
// is an error naming the object and the field.
func decodeDump(data []byte, source string) (Dump, error) {
	fail := func(format string, a ...any) (Dump, error) {
		return Dump{}, fmt.Errorf("%s: "+format, append([]any{source}, a...)...)
	}
	text, err := cluster.ReadText(bytes.NewReader(data))
	if err != nil {
		return fail("%v", err)
	}
	raw, err := oneValue(text)
	switch {
	case err != nil:
		return fail("%v", err)
	case raw == nil:
		return fail("empty: want a JSON object with the keys %s (hnslb-audit dump writes it)", strings.Join(dumpKeys, ", "))
	case firstByte(raw) != '{':
		return fail("%s, not an HNS dump: want an object with the keys %s; for collectlogs.ps1 output give its directory (%s, %s)",
			jsonKind(raw), strings.Join(dumpKeys, ", "), collectPolicies, collectEndpoints)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return fail("%v", err)
	}
	for key := range top {
		if !slices.Contains(dumpKeys, key) && key != ignoredKey {
			return fail("unknown key %q: an HNS dump has the keys %s%s", key, strings.Join(dumpKeys, ", "), singleObjectHint(top))
		}
	}
	for _, key := range dumpKeys {
		if _, ok := top[key]; !ok {
			return fail("no key %q: an HNS dump has the keys %s", key, strings.Join(dumpKeys, ", "))
		}
	}
	var d Dump
	if d.Networks, err = decodeList(top["Networks"], source+": Networks", decodeNetwork); err != nil {
		return Dump{}, err
	}
	if d.LoadBalancers, err = decodeList(top["LoadBalancers"], source+": LoadBalancers", decodeLoadBalancer); err != nil {
		return Dump{}, err
	}
	if d.Endpoints, err = decodeList(top["Endpoints"], source+": Endpoints", decodeEndpoint); err != nil {
		return Dump{}, err
	}
	return d, checkIDs(d, source+": LoadBalancers", source+": Endpoints")
}

// checkIDs refuses a dump that holds one ID twice (load balancers name
// their endpoints by ID); lbs and eps name the lists in errors.
func checkIDs(d Dump, lbs, eps string) error {
	seen := map[string]string{}
	check := func(id, where string) error {
		if id == "" {
			return nil
		}
		if prev, dup := seen[idKey(id)]; dup {
			return fmt.Errorf("%s: ID %s: also the ID of %s", where, id, prev)
		}
		seen[idKey(id)] = where
		return nil
	}
	for i, lb := range d.LoadBalancers {
		if err := check(lb.Id, fmt.Sprintf("%s[%d]", lbs, i)); err != nil {
			return err
		}
	}
	for i, ep := range d.Endpoints {
		if err := check(ep.Id, fmt.Sprintf("%s[%d]", eps, i)); err != nil {
			return err
		}
	}
	return nil
}

// singleObjectHint explains an object that is one HNS object rather than
// a dump.
func singleObjectHint(top map[string]json.RawMessage) string {
	if hasKey(top, "PortMappings") || hasKey(top, "HostComputeEndpoints") || hasKey(top, "IpConfigurations") {
		return "; this looks like one HNS object (ConvertTo-Json of a single load balancer or endpoint): for collectlogs.ps1 output give its directory"
	}
	return ""
}

// readCollectlogs reads the load balancers, endpoints and networks from a
// collectlogs.ps1 output directory.
func readCollectlogs(dir string) (Dump, error) {
	var d Dump
	items := func(name string, required bool) ([]json.RawMessage, string, error) {
		path := filepath.Join(dir, name)
		data, err := readFile(path)
		if errors.Is(err, os.ErrNotExist) && !required {
			return nil, path, nil
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("%w: a directory given to -hns holds collectlogs.ps1 output: %s and %s", err, collectPolicies, collectEndpoints)
			}
			return nil, path, err
		}
		list, err := powerShellJSON(data)
		if err != nil {
			return nil, path, fmt.Errorf("%s: %w", path, err)
		}
		return list, path, nil
	}
	lbs, path, err := items(collectPolicies, true)
	if err == nil {
		d.LoadBalancers, err = decodeItems(lbs, path, decodeLoadBalancer)
	}
	if err != nil {
		return Dump{}, err
	}
	eps, path, err := items(collectEndpoints, true)
	if err == nil {
		d.Endpoints, err = decodeItems(eps, path, decodeEndpoint)
	}
	if err != nil {
		return Dump{}, err
	}
	nets, path, err := items(collectNetworks, false)
	if err == nil {
		d.Networks, err = decodeItems(nets, path, decodeNetwork)
	}
	if err != nil {
		return Dump{}, err
	}
	return d, checkIDs(d, filepath.Join(dir, collectPolicies), filepath.Join(dir, collectEndpoints))
}

// powerShellJSON returns the list in a file that PowerShell wrote: the
// output of ConvertTo-Json, possibly after a table (collectlogs.ps1 writes
// a Select-Object table first, then appends the JSON). An empty file is an
// empty list.
func powerShellJSON(data []byte) ([]json.RawMessage, error) {
	text, err := cluster.ReadText(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, nil
	}
	for start := 0; start < len(text); {
		line := text[start:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if c := firstByte(line); c == '[' || c == '{' {
			if raw, err := oneValue(text[start:]); err == nil && raw != nil {
				return listItems(raw, "the JSON")
			}
		}
		start += len(line)
	}
	return nil, errors.New("no JSON found: want the output of ConvertTo-Json (after an optional table)")
}

// decodeList decodes a list of HNS objects; where names the list in errors.
func decodeList[T any](raw json.RawMessage, where string, decode func(json.RawMessage, string) (T, error)) ([]T, error) {
	items, err := listItems(raw, where)
	if err != nil {
		return nil, err
	}
	return decodeItems(items, where, decode)
}

func decodeItems[T any](items []json.RawMessage, where string, decode func(json.RawMessage, string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(items))
	for i, item := range items {
		v, err := decode(item, fmt.Sprintf("%s[%d]", where, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// listItems returns the elements of a list as ConvertTo-Json may write it:
// an array; one object alone (a list of one); null (none); or, from
// Windows PowerShell 5.1 for some arrays, {"value": [...], "Count": n}.
func listItems(raw json.RawMessage, where string) ([]json.RawMessage, error) {
	switch firstByte(raw) {
	case 'n':
		return nil, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return items, nil
	case '{':
		var wrapped map[string]json.RawMessage
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if v, ok := wrapped["value"]; ok && len(wrapped) <= 2 && firstByte(v) == '[' {
			if _, ok := wrapped["Count"]; ok || len(wrapped) == 1 {
				return listItems(v, where)
			}
		}
		return []json.RawMessage{raw}, nil
	}
	return nil, fmt.Errorf("%s: %s, want a list of objects", where, jsonKind(raw))
}

// decodeLoadBalancer decodes one HNS load balancer of the v2 schema.
func decodeLoadBalancer(raw json.RawMessage, where string) (hns.HostComputeLoadBalancer, error) {
	var lb hns.HostComputeLoadBalancer
	fields, where, err := object(raw, where)
	if err != nil {
		return lb, err
	}
	if (hasKey(fields, "References") || hasKey(fields, "Policies")) && !hasKey(fields, "PortMappings") && !hasKey(fields, "HostComputeEndpoints") {
		return lb, fmt.Errorf("%s: an HNS v1 policy list (Policies, References), as Get-HnsPolicyList of hns.psm1 or collectlogs.ps1 -HnsSchemaVersion 1 write it; "+
			"hnslb-audit reads the v2 schema: Get-HnsLoadBalancer -Version 2 of hns.v2.psm1, or hnslb-audit dump", where)
	}
	return lb, unmarshalFields(raw, &lb, where)
}

// decodeEndpoint decodes one HNS endpoint of the v2 schema.
func decodeEndpoint(raw json.RawMessage, where string) (hns.HostComputeEndpoint, error) {
	var ep hns.HostComputeEndpoint
	fields, where, err := object(raw, where)
	if err != nil {
		return ep, err
	}
	if (hasKey(fields, "IPAddress") || hasKey(fields, "VirtualNetwork") || hasKey(fields, "IsRemoteEndpoint")) && !hasKey(fields, "IpConfigurations") && !hasKey(fields, "HostComputeNetwork") {
		return ep, fmt.Errorf("%s: an HNS v1 endpoint (IPAddress, VirtualNetwork), as Get-HnsEndpoint of hns.psm1 or collectlogs.ps1 -HnsSchemaVersion 1 write it; "+
			"hnslb-audit reads the v2 schema: Get-HnsEndpoint -Version 2 of hns.v2.psm1, or hnslb-audit dump", where)
	}
	if err := unmarshalFields(raw, &ep, where); err != nil {
		return ep, err
	}
	if ep.Id == "" {
		return ep, fmt.Errorf("%s: ID: missing; load balancers name their endpoints by ID", where)
	}
	return ep, nil
}

// decodeNetwork decodes one HNS network.
func decodeNetwork(raw json.RawMessage, where string) (hns.HostComputeNetwork, error) {
	var n hns.HostComputeNetwork
	_, where, err := object(raw, where)
	if err != nil {
		return n, err
	}
	return n, unmarshalFields(raw, &n, where)
}

// object checks that raw is a JSON object and returns its fields and where,
// with the object's ID added when it has one.
func object(raw json.RawMessage, where string) (map[string]json.RawMessage, string, error) {
	if firstByte(raw) != '{' {
		return nil, where, fmt.Errorf("%s: %s, want an object", where, jsonKind(raw))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, where, fmt.Errorf("%s: %w", where, err)
	}
	for k, v := range fields {
		var id string
		if strings.EqualFold(k, "ID") && json.Unmarshal(v, &id) == nil && id != "" {
			where += " (ID " + id + ")"
		}
	}
	return fields, where, nil
}

// unmarshalFields decodes raw into v, naming the field of a type error.
func unmarshalFields(raw json.RawMessage, v any, where string) error {
	err := json.Unmarshal(raw, v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Errorf("%s: %s: a JSON %s, want %s", where, typeErr.Field, typeErr.Value, describeType(typeErr.Type))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// describeType names what a Go type takes in JSON.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<(t.Bits())-1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage: any value
			return "a JSON value"
		}
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

// oneValue returns the one JSON value in text (nil if text is blank), or
// an error when text holds invalid JSON or more than one value.
func oneValue(text []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, describeSyntax(text, err)
	}
	end := dec.InputOffset()
	if rest := bytes.TrimLeft(text[end:], " \t\r\n"); len(rest) > 0 {
		line, col := position(text, int64(len(text)-len(rest)))
		return nil, fmt.Errorf("more than one JSON value: another starts at line %d, column %d", line, col)
	}
	return raw, nil
}

// describeSyntax adds the line and column to a JSON syntax error.
func describeSyntax(text []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(text, syn.Offset-1) // Offset counts the bad byte
		return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: the text ends inside a value (cut short?)")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// position returns the 1-based line and column of byte offset off.
func position(text []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(text)))
	before := text[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
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
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	}
	return "a number"
}

// hasKey reports whether fields has key, in any case (encoding/json matches
// field names so).
func hasKey(fields map[string]json.RawMessage, key string) bool {
	for k := range fields {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}
