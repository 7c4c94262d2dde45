// Package textout holds what the example programs' table writers share.
package textout

import "io"

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
