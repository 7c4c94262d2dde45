package fake

import (
	"context"
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Fault makes Client calls fail as HNS would. Inject it with InjectFault.
type Fault struct {
	// Op is the Client operation that fails; "" means every operation.
	Op hns.Op
	// Code is the error code returned; 0 means E_FAIL (0x80004005,
	// "Unspecified error"). Code 0x7E (CodeModuleNotFound) fails as hcn does
	// on a machine without HNS: no error record.
	Code hns.Code
	// Count is how many of the next matching calls fail; <= 0 means every
	// one until ClearFaults.
	Count int
	// VanishDuringList, for OpListLoadBalancers and OpListEndpoints, fails
	// the list as hcn does when an object is deleted between
	// enumerating the IDs and opening each one: hcnOpenLoadBalancer
	// (hcnOpenEndpoint) returns 0x490, so the whole list fails with a
	// NotFound error (Code is ignored) and never returns a partial list. It
	// has no effect on other operations, which fail with Code as usual.
	VanishDuringList bool
	// Mode says when the fault strikes: instead of the call (the default),
	// after it took effect, or as an answer without the object's ID.
	Mode FaultMode
	// Match, if set, restricts the fault to calls about matching objects.
	// It is called, with the fake's lock held (it must not call the fake),
	// with each subject of the call; the call fails if any matches:
	//   - Get/Update/DeleteLoadBalancer, DeleteEndpoint: the ID (as HNS
	//     holds it if the object exists, else as passed);
	//   - ListLoadBalancers, ListEndpoints: the ID of each object the list
	//     would return (an empty list never matches);
	//   - CreateLoadBalancer: each frontend key in lbpolicy.Key's text form,
	//     e.g. "IPv4/10.96.0.10/TCP/80" ("*" for no VIP);
	//   - CreateEndpoint: each IP address of the endpoint, and its name;
	//   - GetNetworkByName: the name;
	//   - Version: nothing (never matches).
	Match func(id string) bool
}

// FaultMode says when an injected fault strikes.
type FaultMode uint8

const (
	// FailInstead (the default): the call fails with the fault's error
	// and changes nothing.
	FailInstead FaultMode = iota
	// FailAfter: the call runs as if there were no fault, and what it
	// changed stays; then it answers with the fault's error instead of its
	// own answer, as HNS does when it fails after the change took effect,
	// or a call is cut short after HNS acted. A read changes nothing: there
	// it is FailInstead.
	FailAfter
	// AnswerWithoutID: the call runs as if there were no fault and, if it
	// succeeds, answers with its object without the ID (Id ""), breaking
	// the hns.Client contract. Only CreateLoadBalancer, UpdateLoadBalancer
	// and CreateEndpoint answer with an object: a fault in this mode never
	// matches another operation. Code is ignored.
	AnswerWithoutID
)

type activeFault struct {
	Fault
	left int // calls left to fail; <= 0 = unlimited
}

// InjectFault makes the next Client calls matching f fail. Faults are
// tried in the order injected; the first that matches a call decides its
// error and, if counted, is used up by it. A call that a fault fails has
// no effect on the state, unless f.Mode says otherwise.
func (h *HNS) InjectFault(f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, &activeFault{Fault: f, left: f.Count})
}

// ClearFaults removes every injected fault.
func (h *HNS) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

// SetLatency makes every later call of op ("" = every operation without a
// latency of its own) sleep d before it runs. The sleep happens outside the
// fake's lock, so concurrent calls overlap as they do against HNS; a call
// whose context ends first returns ctx.Err() wrapped in an
// *hns.Error (Code 0) without touching the state. d <= 0 removes
// the latency.
func (h *HNS) SetLatency(op hns.Op, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d <= 0 {
		delete(h.latency, op)
		return
	}
	h.latency[op] = d
}

// begin starts a Client call: it counts it, then waits out its latency
// (without the lock). It fails if ctx ends before the call would run —
// including a context already done, since a real call would not be made.
func (h *HNS) begin(ctx context.Context, op hns.Op) error {
	h.mu.Lock()
	h.calls[op]++
	d, ok := h.latency[op]
	if !ok {
		d = h.latency[""]
	}
	h.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return contextError(op, err)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return contextError(op, ctx.Err())
	}
}

// hcnFunc is the HNS function whose failure hcn reports for each Client
// operation.
var hcnFunc = map[hns.Op]string{
	hns.OpListLoadBalancers:  "hcnEnumerateLoadBalancers",
	hns.OpGetLoadBalancer:    "hcnOpenLoadBalancer",
	hns.OpCreateLoadBalancer: "hcnCreateLoadBalancer",
	hns.OpUpdateLoadBalancer: "hcnModifyLoadBalancer",
	hns.OpDeleteLoadBalancer: "hcnDeleteLoadBalancer",
	hns.OpListEndpoints:      "hcnEnumerateEndpoints",
	hns.OpCreateEndpoint:     "hcnCreateEndpoint",
	hns.OpDeleteEndpoint:     "hcnDeleteEndpoint",
	hns.OpGetNetwork:         "hcnEnumerateNetworks",
	hns.OpVersion:            "hnsCall", // hcn's name for vmcompute's HNSCall
}

// openFunc is the per-object open a list makes after enumerating.
var openFunc = map[hns.Op]string{
	hns.OpListLoadBalancers: "hcnOpenLoadBalancer",
	hns.OpListEndpoints:     "hcnOpenEndpoint",
}

// faultHit is what the injected fault a call met does to it; the zero
// value is no fault.
type faultHit struct {
	err   error // the fault's error (FailInstead, FailAfter)
	after bool  // FailAfter: err replaces the answer of a call that ran
	noID  bool  // AnswerWithoutID
}

// before returns the error the call fails with instead of running, or nil.
func (f faultHit) before() error {
	if f.after {
		return nil
	}
	return f.err
}

// answer returns what a call that ran answers, given its own error err.
func (f faultHit) answer(err error) error {
	if f.after {
		return f.err
	}
	return err
}

// answersWithID reports whether the call's object keeps its ID in the
// answer.
func (f faultHit) answersWithID() bool { return !f.noID }

// injected returns the first fault matching a call of op about subjects,
// using it up; the zero faultHit if none matches. Call with h.mu held.
func (h *HNS) injected(op hns.Op, subjects ...string) faultHit {
	for i, f := range h.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		if f.Mode == AnswerWithoutID && !answersObject(op) {
			continue
		}
		if f.Match != nil && !anyMatch(f.Match, subjects) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				h.faults = append(h.faults[:i:i], h.faults[i+1:]...)
			}
		}
		if f.Mode == AnswerWithoutID {
			return faultHit{noID: true}
		}
		return faultHit{err: faultError(op, f.Fault), after: f.Mode == FailAfter && op.Mutating()}
	}
	return faultHit{}
}

// answersObject reports whether a call of op answers with the object it
// made or changed.
func answersObject(op hns.Op) bool {
	return op == hns.OpCreateLoadBalancer || op == hns.OpUpdateLoadBalancer || op == hns.OpCreateEndpoint
}

// faultError is the error fault f gives a call of op.
func faultError(op hns.Op, f Fault) error {
	if open, ok := openFunc[op]; ok && f.VanishDuringList {
		return hcnError(op, open, hns.CodeNotFound, "injected fault: an object vanished during the list")
	}
	code := f.Code
	if code == 0 {
		code = codeFail
	}
	if code == hns.CodeModuleNotFound {
		return moduleNotFound(op, hcnFunc[op])
	}
	return hcnError(op, hcnFunc[op], code, "injected fault")
}

func anyMatch(match func(string) bool, subjects []string) bool {
	for _, s := range subjects {
		if match(s) {
			return true
		}
	}
	return false
}
