package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrEncoding is wrapped by the errors about input that is not UTF-8 text.
var ErrEncoding = errors.New("unsupported text encoding")

// textReader returns r as UTF-8 text without a byte-order mark. UTF-16 with
// a BOM is what Windows PowerShell 5.1 writes with `>` (kubectl ... >
// file.yaml): it is converted as it is read. UTF-32 is refused here; UTF-16
// without a BOM and bytes that are not UTF-8 are refused by the document
// readers, with their line: read byte by byte as UTF-8, such input would
// lose the "---" separators and with them every document after the first.
func textReader(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	bom, err := br.Peek(4)
	if err != nil && err != io.EOF && len(bom) == 0 {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(bom, []byte{0x00, 0x00, 0xFE, 0xFF}), bytes.HasPrefix(bom, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return nil, fmt.Errorf("%w: UTF-32 (byte-order mark %X); save the file as UTF-8", ErrEncoding, bom[:4])
	case bytes.HasPrefix(bom, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(bom, []byte{0xFF, 0xFE}):
		_, _ = br.Discard(2)
		return bufio.NewReaderSize(&utf16Reader{r: br, order: binary.LittleEndian, read: 2}, 64<<10), nil
	case bytes.HasPrefix(bom, []byte{0xFE, 0xFF}):
		_, _ = br.Discard(2)
		return bufio.NewReaderSize(&utf16Reader{r: br, order: binary.BigEndian, read: 2}, 64<<10), nil
	}
	return br, nil
}

// utf16Reader converts UTF-16 text (after its byte-order mark) to UTF-8.
type utf16Reader struct {
	r     io.Reader
	order binary.ByteOrder
	read  int64  // bytes read so far, the BOM included, for errors
	in    []byte // bytes read but not yet converted: at most a unit and a half
	out   []byte // UTF-8 not yet returned
	buf   []byte
	err   error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && u.err == nil {
		u.fill()
	}
	if len(u.out) == 0 {
		return 0, u.err
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// fill reads a chunk and converts every complete code point in it.
func (u *utf16Reader) fill() {
	if u.buf == nil {
		u.buf = make([]byte, 32<<10)
	}
	n, err := u.r.Read(u.buf)
	u.read += int64(n)
	u.in = append(u.in, u.buf[:n]...)
	u.out = u.out[:0]
	i := 0
	for ; i+1 < len(u.in); i += 2 {
		r := rune(u.order.Uint16(u.in[i:]))
		if utf16.IsSurrogate(r) {
			if i+3 >= len(u.in) && err == nil {
				break // the pair's second half is still to come
			}
			if i+3 >= len(u.in) || utf16.DecodeRune(r, rune(u.order.Uint16(u.in[i+2:]))) == utf8.RuneError {
				u.err = fmt.Errorf("%w: UTF-16 text with an unpaired surrogate at offset %d", ErrEncoding, u.read-int64(len(u.in)-i))
				return
			}
			r = utf16.DecodeRune(r, rune(u.order.Uint16(u.in[i+2:])))
			i += 2
		}
		u.out = utf8.AppendRune(u.out, r)
	}
	u.in = append(u.in[:0], u.in[i:]...)
	switch {
	case err == io.EOF && len(u.in) > 0:
		u.err = fmt.Errorf("%w: UTF-16 text with an odd number of bytes (%d), cut short?", ErrEncoding, u.read)
	case err != nil:
		u.err = err
	}
}

// invalidUTF8 returns the offset of the first byte that is not valid UTF-8.
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// duplicateKey returns the path of the first object key that occurs twice
// in one object of doc, a valid JSON value, e.g. `spec.clusterIP` or
// `items[2].metadata.name`; "" if none does. encoding/json silently keeps
// the last of duplicate keys, while the YAML reader refuses them: the same
// object must get the same answer in either syntax.
func duplicateKey(doc []byte) string {
	s := dupScanner{data: doc}
	s.value()
	return s.found
}

// dupScanner walks a JSON value that is known to be valid. It keeps the
// path to the current value as a stack, turned into text only when a
// duplicate is found.
type dupScanner struct {
	data  []byte
	pos   int
	path  []pathElem
	found string
}

type pathElem struct {
	key   string
	index int // for an array element, when key is ""
}

func (s *dupScanner) report() {
	var b strings.Builder
	for i, e := range s.path {
		switch {
		case e.key == "":
			fmt.Fprintf(&b, "[%d]", e.index)
		case i > 0:
			b.WriteString("." + e.key)
		default:
			b.WriteString(e.key)
		}
	}
	s.found = b.String()
}

func (s *dupScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *dupScanner) value() {
	s.skipSpace()
	if s.pos >= len(s.data) || s.found != "" {
		return
	}
	switch s.data[s.pos] {
	case '{':
		s.object()
	case '[':
		s.array()
	case '"':
		s.str()
	default: // a number, true, false or null
		for s.pos < len(s.data) && !strings.ContainsRune(",]} \t\n\r", rune(s.data[s.pos])) {
			s.pos++
		}
	}
}

func (s *dupScanner) object() {
	s.pos++ // {
	var seen map[string]struct{}
	for s.found == "" {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] == '}' {
			s.pos++
			return
		}
		if s.data[s.pos] == ',' {
			s.pos++
			continue
		}
		key := unquote(s.str())
		s.path = append(s.path, pathElem{key: key})
		if _, dup := seen[key]; dup {
			s.report()
			return
		}
		if seen == nil {
			seen = map[string]struct{}{}
		}
		seen[key] = struct{}{}
		s.skipSpace()
		s.pos++ // :
		s.value()
		s.path = s.path[:len(s.path)-1]
	}
}

func (s *dupScanner) array() {
	s.pos++ // [
	for i := 0; s.found == ""; {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] == ']' {
			s.pos++
			return
		}
		if s.data[s.pos] == ',' {
			s.pos++
			i++
			continue
		}
		s.path = append(s.path, pathElem{index: i})
		s.value()
		s.path = s.path[:len(s.path)-1]
	}
}

// str consumes a JSON string and returns it with its quotes.
func (s *dupScanner) str() []byte {
	start := s.pos
	s.pos++ // "
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '\\':
			s.pos += 2
			continue
		case '"':
			s.pos++
			return s.data[start:s.pos]
		}
		s.pos++
	}
	return s.data[start:]
}

// unquote returns the text of a quoted JSON string, escapes resolved, so
// that "a" and "\u0061" are the same key.
func unquote(raw []byte) string {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		return string(raw)
	}
	return key
}

// ReadText reads all of r as UTF-8 text, as Decode reads its input: a
// byte-order mark is dropped, UTF-16 with one is converted, and anything
// else that is not UTF-8 is refused with an error wrapping ErrEncoding.
// It is for other readers of what operators collect on Windows nodes.
func ReadText(r io.Reader) ([]byte, error) {
	br, err := textReader(r)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if err := checkLine(line, i+1); err != nil {
			return nil, err
		}
	}
	return data, nil
}
