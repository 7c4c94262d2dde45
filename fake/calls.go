package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Calls counts the Client calls made, by operation.
type Calls map[hns.Op]int

// Mutating returns the number of calls that change HNS (hns.Op.Mutating:
// create, update and delete of load balancers, create and delete of
// endpoints), failed calls included.
func (c Calls) Mutating() int {
	n := 0
	for op, k := range c {
		if op.Mutating() {
			n += k
		}
	}
	return n
}

// Call is one Client call in the fake's call log (CallLog).
type Call struct {
	// Op is the Client method called.
	Op hns.Op
	// IDs are the objects the call was about, as the fake holds them
	// where it holds them (else as passed):
	//   - Get/Update/DeleteLoadBalancer, DeleteEndpoint: the ID passed;
	//   - CreateLoadBalancer: the new ID, if it took effect;
	//   - ListEndpoints: the network ID passed, unless "";
	//   - CreateEndpoint: the network ID passed, then the new ID if it
	//     took effect;
	//   - GetNetworkByName: the network's ID, if found;
	//   - ListLoadBalancers, Version: none.
	IDs []string
	// Code is the HNS code of the call's error: 0 if it succeeded, or if
	// it failed without a code (its context ended).
	Code hns.Code
	// Err is the error the call returned, nil if it succeeded.
	Err error
}

// String renders c on one line, e.g. "DeleteLoadBalancer 5D2E… -> 0x490",
// "CreateLoadBalancer 0A1B… -> ok", "Version -> error" (failed without a
// code).
func (c Call) String() string {
	var b strings.Builder
	b.WriteString(string(c.Op))
	for _, id := range c.IDs {
		b.WriteString(" ")
		b.WriteString(id)
	}
	switch {
	case c.Err == nil:
		b.WriteString(" -> ok")
	case c.Code != 0:
		fmt.Fprintf(&b, " -> 0x%X", uint32(c.Code))
	default:
		b.WriteString(" -> error")
	}
	return b.String()
}

// Calls returns a copy of the call counters: every Client call made since
// New or ResetCalls, including those that failed. A call is counted when
// it starts.
func (h *HNS) Calls() Calls {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := make(Calls, len(h.calls))
	for op, n := range h.calls {
		c[op] = n
	}
	return c
}

// CallLog returns a copy of the call log: every Client call that ended
// since New or ResetCalls, failed ones included, in the order they took
// effect on the fake's state (concurrent calls are serialized by the
// fake's lock; a call whose context ended comes when it gave up).
// Seeding, observation and Trace are not Client calls and are not logged.
func (h *HNS) CallLog() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Call, 0, h.log.n)
	for _, chunk := range h.log.chunks {
		for _, c := range chunk {
			out = append(out, Call{Op: c.op, IDs: slices.Clone(c.ids.list()), Code: c.code, Err: c.err})
		}
	}
	return out
}

// ResetCalls sets every call counter to zero and empties the call log. A
// call running meanwhile may be logged without being counted.
func (h *HNS) ResetCalls() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = Calls{}
	h.log = callLog{}
}

// callLog is the call log, in chunks of logChunk entries: it grows
// without ever copying what it holds, however many calls a scale test
// makes.
type callLog struct {
	chunks [][]logEntry
	n      int // entries
}

const logChunk = 1024

func (l *callLog) add(e logEntry) {
	if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == logChunk {
		l.chunks = append(l.chunks, make([]logEntry, 0, logChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, e)
	l.n++
}

// logEntry is a Call as the log keeps it: without a slice of its own, so
// that logging a call allocates nothing (but the log's growth).
type logEntry struct {
	op   hns.Op
	ids  callIDs
	code hns.Code
	err  error
}

// callIDs are a call's IDs (Call.IDs): a Client call is about at most two
// objects.
type callIDs struct {
	ids [2]string
	n   uint8
}

// set makes ids the call's IDs (the first two of them).
func (c *callIDs) set(ids ...string) { c.n = uint8(copy(c.ids[:], ids)) }

// add appends id to the call's IDs (if there is room; there always is).
func (c *callIDs) add(id string) {
	if int(c.n) < len(c.ids) {
		c.ids[c.n] = id
		c.n++
	}
}

// list returns the IDs, sharing c's array.
func (c *callIDs) list() []string { return c.ids[:c.n] }

// do runs one Client call of op: it counts it and waits out its latency
// (begin), then runs apply with h.mu held, and logs the call with the IDs
// apply left in c (ids, as passed, if it never ran) and its error.
// apply makes the HNS rules' decision; it must change nothing when it
// fails, except when a FailAfter fault fails it after it took effect.
// c is h's (h.cur): the calls are serialized by h.mu, and so it costs no
// allocation.
func (h *HNS) do(ctx context.Context, op hns.Op, ids []string, apply func(c *callIDs) error) error {
	h.mu.Lock()
	if len(h.latency) > 0 || ctx.Err() != nil { // else begin has nothing to wait for
		h.mu.Unlock()
		if err := h.begin(ctx, op); err != nil {
			h.mu.Lock()
			e := logEntry{op: op, err: err}
			e.ids.set(ids...)
			h.record(e)
			h.mu.Unlock()
			return err
		}
		h.mu.Lock()
	} else {
		h.calls[op]++
	}
	defer h.mu.Unlock()
	h.cur = callIDs{}
	h.cur.set(ids...)
	err := apply(&h.cur)
	h.record(logEntry{op: op, ids: h.cur, err: err})
	h.cur = callIDs{}
	return err
}

// record appends e to the call log. Call with h.mu held.
func (h *HNS) record(e logEntry) {
	e.code = hns.CodeOf(e.err)
	h.log.add(e)
}
