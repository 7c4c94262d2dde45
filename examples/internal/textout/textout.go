// Package textout holds what the example programs' table writers share.
package textout

import (
	"io"
	"strings"
)

// Writer passes writes on to W until one fails, then fails every later
// write with that error, so that a table writer can make many writes and
// check Err once at the end.
type Writer struct {
	W   io.Writer
	Err error
}

func (e *Writer) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	e.Err = err
	return n, err
}

// Wrap joins items with ", " into lines of at most width bytes (an item
// longer than width gets a line of its own).
func Wrap(items []string, width int) []string {
	var lines []string
	var cur strings.Builder
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		if cur.Len() > 0 && cur.Len()+1+len(it) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(it)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
