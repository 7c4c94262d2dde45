package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrEncoding is wrapped by the errors about input that is not UTF-8 text.
var ErrEncoding = errors.New("unsupported text encoding")

// toUTF8 returns data as UTF-8 without a byte-order mark. UTF-16 with a BOM
// is what Windows PowerShell 5.1 writes with `>` (kubectl ... > file.yaml):
// it is converted. UTF-16 without a BOM, UTF-32, and bytes that are not
// valid UTF-8 are refused, never guessed at: read byte by byte as UTF-8,
// such input would lose the "---" separators and with them every document
// after the first.
func toUTF8(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0x00, 0x00, 0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return nil, fmt.Errorf("%w: UTF-32 (byte-order mark %X); save the file as UTF-8", ErrEncoding, data[:4])
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return fromUTF16(data[2:], binary.LittleEndian)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return fromUTF16(data[2:], binary.BigEndian)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, fmt.Errorf("%w: a NUL byte at offset %d (UTF-16 without a byte-order mark?); save the file as UTF-8", ErrEncoding, i)
	}
	if !utf8.Valid(data) {
		line, col := position(data, int64(invalidUTF8(data)))
		return nil, fmt.Errorf("%w: invalid UTF-8 at line %d, column %d; save the file as UTF-8", ErrEncoding, line, col)
	}
	return data, nil
}

// fromUTF16 decodes UTF-16 text (after its byte-order mark) to UTF-8.
func fromUTF16(data []byte, order binary.ByteOrder) ([]byte, error) {
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("%w: UTF-16 text with an odd number of bytes (%d), cut short?", ErrEncoding, len(data)+2)
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	out := make([]byte, 0, len(units)+len(units)/4)
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		switch {
		case utf16.IsSurrogate(r) && i+1 < len(units) && utf16.DecodeRune(r, rune(units[i+1])) != utf8.RuneError:
			r = utf16.DecodeRune(r, rune(units[i+1]))
			i++
		case utf16.IsSurrogate(r):
			return nil, fmt.Errorf("%w: UTF-16 text with an unpaired surrogate at offset %d", ErrEncoding, 2+2*i)
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
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
