package hnsstub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hnslb/hnslb/fake"
)

// AddrEnv is the environment variable the stand-in DLLs read the server's
// address (host:port) from, at each call.
const AddrEnv = "HNSLB_STUB_ADDR"

// Limits on what a request may hold.
const (
	maxHeader    = 512
	maxString    = 64 << 20
	connDeadline = 2 * time.Minute
)

// Server answers the stand-in DLLs' calls from a fake HNS. Start one with
// Start; it is safe for concurrent use (hcn calls arrive concurrently when
// the Reconciler runs several at once).
type Server struct {
	h      *fake.HNS
	ln     net.Listener
	ctx    context.Context // ends with Close: a fake call sleeping out its latency returns
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	handles map[uint64]*object
	next    uint64
	calls   []Call
}

// Call is one function call the server answered.
type Call struct {
	// Fn is the DLL export, e.g. "HcnOpenLoadBalancer".
	Fn string
	// HRESULT is what it returned.
	HRESULT uint32
}

func (c Call) String() string { return fmt.Sprintf("%s=0x%08X", c.Fn, c.HRESULT) }

// Start serves h on a new loopback port. Close the Server when done.
func Start(h *fake.HNS) (*Server, error) {
	if h == nil {
		return nil, errors.New("hnsstub: Start: nil fake HNS")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("hnsstub: listening on loopback: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{h: h, ln: ln, ctx: ctx, cancel: cancel, handles: map[uint64]*object{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns the address to put in AddrEnv.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for the calls in progress.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("hnsstub: closing the listener: %w", err)
	}
	return nil
}

// Calls returns the calls answered since Start or ResetCalls, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the calls answered so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// OpenHandles returns how many handles are open: hcn closes every handle
// it opens on its success paths (it leaks some when a call fails).
func (s *Server) OpenHandles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.handles)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// serve answers the one request on c. A request that cannot be read gets
// an E_INVALIDARG answer, which the DLL returns to hcn.
func (s *Server) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(connDeadline))
	req, err := readRequest(bufio.NewReader(c))
	var a answer
	if err != nil {
		req.fn = "(malformed request)"
		a = failure(eInvalidArg, "hnsstub: "+err.Error())
	} else {
		a = s.dispatch(&req)
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Fn: req.fn, HRESULT: a.hr})
	s.mu.Unlock()
	w := bufio.NewWriter(c)
	if err := writeAnswer(w, a); err == nil {
		_ = w.Flush()
	}
}

// request is one function call from a DLL.
type request struct {
	fn     string
	id     string // the GUID argument, upper case; "" if none
	handle uint64
	str    [3]*string
}

// answer is what the function returns.
type answer struct {
	hr     uint32
	handle uint64
	out    *string
	result *string
}

func readRequest(r *bufio.Reader) (request, error) {
	var req request
	line, err := r.ReadSlice('\n')
	if err != nil {
		return req, fmt.Errorf("reading the request header: %w", err)
	}
	if len(line) > maxHeader {
		return req, fmt.Errorf("request header of %d bytes", len(line))
	}
	f := strings.Fields(string(line))
	if len(f) != 6 {
		return req, fmt.Errorf("request header %q: want 6 fields", line)
	}
	req.fn = f[0]
	if f[1] != "-" {
		req.id = strings.ToUpper(f[1])
	}
	if req.handle, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return req, fmt.Errorf("request header %q: handle: %w", line, err)
	}
	for i := range req.str {
		n, err := strconv.Atoi(f[3+i])
		if err != nil || n < -1 || n > maxString {
			return req, fmt.Errorf("request header %q: bad length %q", line, f[3+i])
		}
		if n < 0 {
			continue
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return req, fmt.Errorf("reading string %d of %s: %w", i, req.fn, err)
		}
		str := string(b)
		req.str[i] = &str
	}
	return req, nil
}

func writeAnswer(w io.Writer, a answer) error {
	length := func(s *string) int {
		if s == nil {
			return -1
		}
		return len(*s)
	}
	if _, err := fmt.Fprintf(w, "%08X %d %d %d\n", a.hr, a.handle, length(a.out), length(a.result)); err != nil {
		return err
	}
	for _, s := range []*string{a.out, a.result} {
		if s != nil {
			if _, err := io.WriteString(w, *s); err != nil {
				return err
			}
		}
	}
	return nil
}
