package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// documents calls fn with each document of data converted to JSON ("null"
// for an empty YAML document), or with the error that makes it unreadable,
// and stops at the first error fn returns. Indexes are 1-based. Data whose
// first non-blank character is '{' is a stream of JSON values; anything else
// is YAML, split into documents at "---" lines as kubectl does. Text that
// is not UTF-8 (after a byte-order mark, UTF-16 is converted; see toUTF8)
// is an error about the whole input, index 0.
func documents(data []byte, fn func(index int, doc []byte, err error) error) error {
	data, err := toUTF8(data)
	if err != nil {
		return fn(0, nil, err)
	}
	if firstByte(data) == '{' {
		return jsonDocuments(data, fn)
	}
	return yamlDocuments(data, fn)
}

func jsonDocuments(data []byte, fn func(int, []byte, error) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for index := 1; ; index++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var syntax *json.SyntaxError
			switch {
			case errors.As(err, &syntax):
				line, col := position(data, syntax.Offset-1) // Offset is just past the bad byte
				err = fmt.Errorf("json: line %d, column %d: %s", line, col, syntax.Error())
			case errors.Is(err, io.ErrUnexpectedEOF):
				err = errors.New("json: unexpected end of input")
			}
			return fn(index, nil, err)
		}
		if len(raw) > MaxDocumentBytes {
			return fn(index, nil, fmt.Errorf("%w: document larger than %d MiB", ErrTooLarge, MaxDocumentBytes>>20))
		}
		if key := duplicateKey(raw); key != "" {
			return fn(index, nil, fmt.Errorf("json: key %q appears twice in one object", key))
		}
		if err := fn(index, raw, nil); err != nil {
			return err
		}
	}
}

// position returns the 1-based line and column of the byte at index i.
func position(data []byte, i int64) (line, col int) {
	i = max(0, min(i, int64(len(data))))
	before := data[:i]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func yamlDocuments(data []byte, fn func(int, []byte, error) error) error {
	index := 0
	emit := func(doc []byte, firstLine int) error {
		index++
		if len(doc) > MaxDocumentBytes {
			return fn(index, nil, fmt.Errorf("%w: document larger than %d MiB", ErrTooLarge, MaxDocumentBytes>>20))
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return fn(index, nil, yamlError(err, firstLine))
		}
		return fn(index, j, nil)
	}

	start, startLine := 0, 1 // the current document
	line := 1
	for pos := 0; pos < len(data); line++ {
		next := len(data)
		if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		text := data[pos:next]
		if bytes.HasPrefix(text, []byte("---")) {
			rest := strings.TrimSpace(string(text[3:]))
			if rest != "" && rest[0] != '#' {
				index++
				return fn(index, nil, fmt.Errorf("yaml: line %d: a document separator must be alone on its line, found %q", line, truncate(string(text), 40)))
			}
			// Text before the first separator is a document only if it
			// holds more than blank lines and comments.
			if start > 0 || !blank(data[:pos]) {
				if err := emit(data[start:pos], startLine); err != nil {
					return err
				}
			}
			start, startLine = next, line+1
		}
		pos = next
	}
	if start > 0 && start == len(data) {
		return nil // the input ends with a separator
	}
	return emit(data[start:], startLine)
}

// blank reports whether YAML text holds only blank lines and comments.
func blank(text []byte) bool {
	for _, line := range bytes.Split(text, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

var yamlLine = regexp.MustCompile(`\bline (\d+)`)

// yamlError rewrites the line numbers in a YAML parser error, which count
// from the start of the document, to count from the start of the input.
func yamlError(err error, firstLine int) error {
	msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
		n, convErr := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if convErr != nil {
			return m
		}
		return "line " + strconv.Itoa(n+firstLine-1)
	})
	msg = strings.ReplaceAll(msg, "\n", " ")
	return errors.New(strings.Join(strings.Fields(msg), " "))
}

func truncate(s string, n int) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// describeJSONError returns the path of the field a json.Unmarshal error is
// about (with list indexes, e.g. "spec.ports[0].port") and the error to
// report. Errors that are not type errors are returned unchanged.
func describeJSONError(raw []byte, err error) (string, error) {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return "", err
	}
	msg := fmt.Errorf("json: cannot unmarshal %s into Go value of type %s", typeErr.Value, typeErr.Type)
	// The offset is only trusted when the path found there is the one
	// encoding/json names (errors from nested UnmarshalJSON methods carry
	// offsets into the nested value).
	// encoding/json names a map value by the map's path.
	if path, keys := jsonPath(raw, typeErr.Offset); path != "" && len(keys) > 0 &&
		(strings.Join(keys, ".") == typeErr.Field || strings.Join(keys[:len(keys)-1], ".") == typeErr.Field) {
		return path, msg
	}
	return typeErr.Field, msg
}

// jsonPath returns the path of the value that ends at offset in raw (or
// whose opening bracket does) as "spec.ports[0].port", and the object keys
// along it (["spec", "ports", "port"]). It returns "" when no value ends
// there.
func jsonPath(raw []byte, offset int64) (path string, keys []string) {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []frame
	render := func() (string, []string) {
		var p strings.Builder
		var keys []string
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&p, "[%d]", f.index)
				continue
			}
			keys = append(keys, f.key)
			if plainKey(f.key) {
				if p.Len() > 0 {
					p.WriteByte('.')
				}
				p.WriteString(f.key)
			} else {
				p.WriteString("[" + strconv.Quote(f.key) + "]")
			}
		}
		return p.String(), keys
	}
	afterValue := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}

	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", nil
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].wantKey = key, false
				continue
			}
			stack = stack[:n-1] // '}'
			afterValue()
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if dec.InputOffset() >= offset {
				return render()
			}
			stack = append(stack, frame{array: tok == json.Delim('['), wantKey: tok == json.Delim('{')})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			afterValue()
		default:
			if dec.InputOffset() >= offset {
				return render()
			}
			afterValue()
		}
	}
}

// plainKey reports whether a key can be written after a dot in a path.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
