package textout_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/examples/internal/textout"
)

// failSecond accepts one write, then fails; it counts the calls.
type failSecond struct{ calls int }

func (f *failSecond) Write(p []byte) (int, error) {
	f.calls++
	if f.calls > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriterKeepsFirstError(t *testing.T) {
	dst := &failSecond{}
	w := &textout.Writer{W: dst}
	fmt.Fprint(w, "one")
	if w.Err != nil {
		t.Fatalf("after the first write: %v", w.Err)
	}
	fmt.Fprint(w, "two")
	fmt.Fprint(w, "three")
	if w.Err == nil || w.Err.Error() != "disk full" {
		t.Errorf("Err = %v, want disk full", w.Err)
	}
	if dst.calls != 2 {
		t.Errorf("%d writes reached the destination, want 2: none after the failure", dst.calls)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		items []string
		width int
		want  []string
	}{
		{items: nil, width: 10, want: nil},
		{items: []string{"a", "b", "c"}, width: 10, want: []string{"a, b, c"}},
		{items: []string{"aaaa", "bbbb", "cccc"}, width: 10, want: []string{"aaaa,", "bbbb, cccc"}},
		{items: []string{"a-very-long-item", "b"}, width: 5, want: []string{"a-very-long-item,", "b"}},
	}
	for _, tt := range tests {
		if got := textout.Wrap(tt.items, tt.width); !cmp.Equal(got, tt.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.items, tt.width, got, tt.want)
		}
	}
}
