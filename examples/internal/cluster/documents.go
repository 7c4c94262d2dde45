package cluster

import (
	"bufio"
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

// documents calls fn with each document of the text r yields, converted to
// JSON ("null" for an empty YAML document), or with the error that makes it
// unreadable, and stops at the first error fn returns. Indexes are 1-based;
// index 0 is an error about the whole input (its encoding, its size, a read
// error). Input whose first non-blank character is '{' is a stream of JSON
// values; anything else is YAML, split into documents at "---" lines as
// kubectl does.
//
// The input is read as a stream and never held whole: memory follows the
// largest document, not the input (MaxInputBytes still bounds the input).
// Text must be UTF-8; after a byte-order mark, UTF-16 is converted (see
// textReader).
func documents(r io.Reader, fn func(index int, doc []byte, err error) error) error {
	br, err := textReader(&limitedReader{r: r, left: MaxInputBytes})
	if err != nil {
		return fn(0, nil, err)
	}
	if startsWithBrace(br) {
		return jsonDocuments(br, fn)
	}
	return yamlDocuments(br, fn)
}

// startsWithBrace reports whether the first non-blank byte within the read
// buffer is '{'.
func startsWithBrace(br *bufio.Reader) bool {
	peek, _ := br.Peek(br.Size())
	return firstByte(peek) == '{'
}

// limitedReader fails with ErrTooLarge once more than left bytes are read.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: input larger than %d MiB", ErrTooLarge, MaxInputBytes>>20)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: input larger than %d MiB", ErrTooLarge, MaxInputBytes>>20)
	}
	return n, err
}

// readError is an error of the input as a whole, not of one document.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

func jsonDocuments(br *bufio.Reader, fn func(int, []byte, error) error) error {
	text := &lineCounter{r: br}
	dec := json.NewDecoder(text)
	for index := 1; ; index++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var syntax *json.SyntaxError
			switch {
			case errors.As(err, &syntax) && text.invalidUTF8(syntax.Offset):
				line, col := text.position(syntax.Offset - 1)
				return fn(0, nil, fmt.Errorf("%w: invalid UTF-8 at line %d, column %d; save the file as UTF-8", ErrEncoding, line, col))
			case errors.As(err, &syntax):
				line, col := text.position(syntax.Offset - 1) // Offset is just past the bad byte
				err = fmt.Errorf("json: line %d, column %d: %s", line, col, syntax.Error())
				if strings.Contains(syntax.Error(), `'\x00'`) {
					err = fmt.Errorf("%w (UTF-16 without a byte-order mark? save the file as UTF-8)", err)
				}
			case errors.Is(err, io.ErrUnexpectedEOF):
				err = errors.New("json: unexpected end of input")
			default:
				return fn(0, nil, err) // reading failed
			}
			return fn(index, nil, err)
		}
		end := dec.InputOffset()
		if len(raw) > MaxDocumentBytes {
			return fn(index, nil, errDocumentTooLarge)
		}
		if i := invalidUTF8(raw); i < len(raw) {
			line, col := text.position(end - int64(len(raw)) + int64(i))
			return fn(0, nil, fmt.Errorf("%w: invalid UTF-8 at line %d, column %d; save the file as UTF-8", ErrEncoding, line, col))
		}
		text.forget(end)
		if key := duplicateKey(raw); key != "" {
			return fn(index, nil, fmt.Errorf("json: key %q appears twice in one object", key))
		}
		if err := fn(index, raw, nil); err != nil {
			return err
		}
	}
}

// lineCounter keeps the text read since the end of the last complete JSON
// value, so that an error at a stream offset can be given as a line and
// column without holding the whole input.
type lineCounter struct {
	r         io.Reader
	kept      []byte // the bytes read from offset keptStart on
	keptStart int64
	lines     int   // newlines before keptStart
	lineStart int64 // the offset just past the last of them
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.kept = append(c.kept, p[:n]...)
	return n, err
}

// forget drops the kept bytes before offset off, counting their lines.
func (c *lineCounter) forget(off int64) {
	k := min(max(off-c.keptStart, 0), int64(len(c.kept)))
	done := c.kept[:k]
	c.lines += bytes.Count(done, []byte("\n"))
	if i := bytes.LastIndexByte(done, '\n'); i >= 0 {
		c.lineStart = c.keptStart + int64(i) + 1
	}
	c.kept = append(c.kept[:0], c.kept[k:]...)
	c.keptStart += k
}

// invalidUTF8 reports whether the kept text before offset off (a syntax
// error's, just past the bad byte) is not valid UTF-8 at its end.
func (c *lineCounter) invalidUTF8(off int64) bool {
	k := min(max(off-c.keptStart, 0), int64(len(c.kept)))
	return invalidUTF8(c.kept[:k]) < int(k)
}

// position returns the 1-based line and column of the byte at offset off.
func (c *lineCounter) position(off int64) (line, col int) {
	k := min(max(off-c.keptStart, 0), int64(len(c.kept)))
	before := c.kept[:k]
	line = c.lines + bytes.Count(before, []byte("\n")) + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		return line, len(before) - i
	}
	return line, int(c.keptStart+k-c.lineStart) + 1
}

func yamlDocuments(br *bufio.Reader, fn func(int, []byte, error) error) error {
	index := 0
	emit := func(doc []byte, firstLine int) error {
		index++
		if len(doc) > MaxDocumentBytes {
			return fn(index, nil, errDocumentTooLarge)
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return fn(index, nil, yamlError(err, firstLine))
		}
		return fn(index, j, nil)
	}

	var doc, text []byte                  // the current document; the current line
	startLine, line := 1, 0               // the current document's first line; the last line read
	separated, lastWasSep := false, false // a separator seen; the last line was one
	for {
		var err error
		text, err = readLine(br, text[:0])
		if len(text) > 0 {
			line++
			if err := checkLine(text, line); err != nil {
				return fn(0, nil, err)
			}
			lastWasSep = bytes.HasPrefix(text, []byte("---"))
			if lastWasSep {
				rest := strings.TrimSpace(string(text[3:]))
				if rest != "" && rest[0] != '#' {
					return fn(index+1, nil, fmt.Errorf("yaml: line %d: a document separator must be alone on its line, found %q", line, truncate(string(text), 40)))
				}
				// Text before the first separator is a document only if
				// it holds more than blank lines and comments.
				if separated || !blank(doc) {
					if err := emit(doc, startLine); err != nil {
						return err
					}
				}
				separated, doc, startLine = true, doc[:0], line+1
			} else if len(doc) <= MaxDocumentBytes {
				doc = append(doc, text...) // past the bound, only its size matters
			}
		}
		switch {
		case err == io.EOF:
		case errors.Is(err, errDocumentTooLarge):
			return fn(index+1, nil, err)
		case err != nil:
			return fn(0, nil, err)
		default:
			continue
		}
		break
	}
	if separated && lastWasSep {
		return nil // the input ends with a separator
	}
	return emit(doc, startLine)
}

var errDocumentTooLarge = fmt.Errorf("%w: document larger than %d MiB", ErrTooLarge, MaxDocumentBytes>>20)

// readLine appends the next line of br, with its newline, to buf.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch {
		case err != bufio.ErrBufferFull:
			return buf, err
		case len(buf) > MaxDocumentBytes:
			return buf, errDocumentTooLarge
		}
	}
}

// checkLine refuses a line of YAML that is not UTF-8 text.
func checkLine(text []byte, line int) error {
	if i := bytes.IndexByte(text, 0); i >= 0 {
		return fmt.Errorf("%w: a NUL byte at line %d, column %d (UTF-16 without a byte-order mark?); save the file as UTF-8", ErrEncoding, line, i+1)
	}
	if i := invalidUTF8(text); i < len(text) {
		return fmt.Errorf("%w: invalid UTF-8 at line %d, column %d; save the file as UTF-8", ErrEncoding, line, i+1)
	}
	return nil
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
	// offsets into the nested value). encoding/json names a map value by
	// the map's path, a field of an embedded struct with the struct's name
	// in front ("typeMeta.kind"), and some number errors one byte past the
	// value.
	for _, off := range []int64{typeErr.Offset, typeErr.Offset - 1} {
		path, keys := jsonPath(raw, off)
		if path == "" || len(keys) == 0 {
			continue
		}
		if namesField(typeErr.Field, keys) || namesField(typeErr.Field, keys[:len(keys)-1]) {
			return path, msg
		}
	}
	return typeErr.Field, msg
}

// namesField reports whether encoding/json's field path names the object
// keys: the same keys, or the same after the name of an embedded struct.
func namesField(field string, keys []string) bool {
	joined := strings.Join(keys, ".")
	return joined != "" && (field == joined || strings.HasSuffix(field, "."+joined) && !strings.Contains(field[:len(field)-len(joined)-1], "."))
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
	dec.UseNumber() // a number out of float64's range, such as 1e400, is still a token
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
