package cluster

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
	"sort"
	"strings"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Stdin is the path that ReadPaths reads from its stdin argument.
const Stdin = "-"

// ReadPaths reads the objects of every path in order. A path is a file, a
// directory (its *.yaml, *.yml and *.json files in name order, not
// recursively, skipping names that start with a dot), or "-" for stdin,
// which may be given once. An object given twice is an error (ErrDuplicate).
func ReadPaths(paths []string, stdin io.Reader) (*Objects, error) {
	return ReadOptions{}.ReadPaths(paths, stdin)
}

// ReadOptions change what ReadPaths keeps of the objects.
type ReadOptions struct {
	// PlanOnly drops from each EndpointSlice endpoint what planning never
	// reads — targetRef, hostname, deprecatedTopology — so that a large
	// input is held in about a fifth less memory. Tools that name pods
	// keep the default.
	PlanOnly bool
}

// ReadPaths is the package's ReadPaths with these options.
func (opts ReadOptions) ReadPaths(paths []string, stdin io.Reader) (*Objects, error) {
	all := &Objects{}
	add := func(r io.Reader, source string) error {
		objs, err := decode(r, source, opts)
		if err != nil {
			return err
		}
		return all.merge(objs)
	}
	readFile := func(path string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return add(f, path)
	}

	usedStdin := false
	for _, p := range paths {
		if p == Stdin {
			if usedStdin {
				return nil, errors.New(`stdin ("-") can be read only once`)
			}
			usedStdin = true
			if err := add(stdin, "<stdin>"); err != nil {
				return nil, err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if err := readFile(p); err != nil {
				return nil, err
			}
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: a directory without .yaml, .yml or .json files", p)
		}
		for _, f := range files {
			if err := readFile(f); err != nil {
				return nil, err
			}
		}
	}
	return all, nil
}

// manifestFiles returns dir's YAML and JSON files, in name order.
func manifestFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		switch strings.ToLower(filepath.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			continue // a dangling link or a directory named like a file
		}
		files = append(files, path)
	}
	return files, nil
}

// maxNodeBytes bounds a node file.
const maxNodeBytes = 1 << 20

// ReadNode reads an lbpolicy.Node from a YAML or JSON file. Decoding is
// strict: an unknown or duplicate field is an error that names it. The Node
// is not validated; lbpolicy.Compute does that.
func ReadNode(path string) (lbpolicy.Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return lbpolicy.Node{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxNodeBytes+1))
	if err != nil {
		return lbpolicy.Node{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxNodeBytes {
		return lbpolicy.Node{}, fmt.Errorf("%s: %w: a node file is at most %d KiB", path, ErrTooLarge, maxNodeBytes>>10)
	}
	return decodeNode(data, path)
}

func decodeNode(data []byte, source string) (lbpolicy.Node, error) {
	var node lbpolicy.Node
	var doc []byte
	count := 0
	err := documents(bytes.NewReader(data), func(index int, raw []byte, err error) error {
		if err != nil {
			return err
		}
		if firstByte(raw) == 'n' { // an empty document
			return nil
		}
		count++
		doc = raw
		return nil
	})
	switch {
	case err != nil:
		return node, fmt.Errorf("%s: %w", source, err)
	case count == 0:
		return node, fmt.Errorf("%s: the node file is empty", source)
	case count > 1:
		return node, fmt.Errorf("%s: the node file holds %d documents; want one", source, count)
	case firstByte(doc) != '{':
		return node, fmt.Errorf("%s: want a mapping of node fields (%s), got %s", source, strings.Join(nodeFields(reflect.TypeOf(node)), ", "), jsonKind(doc))
	}

	var top map[string]json.RawMessage
	_ = json.Unmarshal(doc, &top)
	if _, hasKind := top["kind"]; hasKind {
		return node, fmt.Errorf("%s: this is a Kubernetes object, not an hnslb node description (fields %s; see testdata/nodes)", source, strings.Join(nodeFields(reflect.TypeOf(node)), ", "))
	}

	// encoding/json matches field names case-insensitively; a node file
	// is checked exactly, so that "enableDsr" is not silently taken.
	if err := checkFields(top, reflect.TypeOf(node), "node"); err != nil {
		return node, fmt.Errorf("%s: %w", source, err)
	}
	var subnets []map[string]json.RawMessage
	if json.Unmarshal(top["remoteSubnets"], &subnets) == nil {
		for i, s := range subnets {
			if err := checkFields(s, reflect.TypeOf(lbpolicy.RemoteSubnet{}), fmt.Sprintf("remoteSubnets[%d]", i)); err != nil {
				return node, fmt.Errorf("%s: %w", source, err)
			}
		}
	}

	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&node); err != nil {
		path, err := describeJSONError(doc, err)
		if path != "" {
			return lbpolicy.Node{}, fmt.Errorf("%s: %s: %w", source, path, err)
		}
		return lbpolicy.Node{}, fmt.Errorf("%s: %w", source, err)
	}
	return node, nil
}

// checkFields reports the first key of obj, in sorted order, that is not
// exactly the JSON name of a field of t.
func checkFields(obj map[string]json.RawMessage, t reflect.Type, where string) error {
	valid := nodeFields(t)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(valid, k) {
			continue
		}
		for _, v := range valid {
			if strings.EqualFold(k, v) {
				return fmt.Errorf("%s: unknown field %q; did you mean %q?", where, k, v)
			}
		}
		return fmt.Errorf("%s: unknown field %q; the fields are %s", where, k, strings.Join(valid, ", "))
	}
	return nil
}

// nodeFields lists the JSON names of a struct's fields, sorted.
func nodeFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
