package hnsadapter

import (
	"cmp"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Reasons of the diagnostics a Sync reports, beside those of lbpolicy.
const (
	// ReasonLocalEndpointMissing: a backend is neither a local HNS endpoint
	// on the network nor an endpoint of the plan; it is left out of its
	// load balancer. The CNI usually creates the pod's endpoint moments
	// later.
	ReasonLocalEndpointMissing lbpolicy.Reason = "LocalEndpointMissing"
	// ReasonNoHNSEndpoints: none of a load balancer's backends has an HNS
	// endpoint. HNS rejects such a load balancer, so it is not sent; one
	// already in HNS is left as it is.
	ReasonNoHNSEndpoints lbpolicy.Reason = "NoHNSEndpoints"
	// ReasonDuplicateKey: the plan holds two load balancers with one
	// identity key; the first is applied.
	ReasonDuplicateKey lbpolicy.Reason = "DuplicateKey"
	// ReasonDanglingReference: a load balancer the Reconciler does not own
	// references an endpoint it deleted since its last full list. A sync
	// of changes does not list load balancers, so it cannot see one made
	// after that list; the full sync that finds the reference reports it,
	// once. Whoever owns the load balancer must update it.
	ReasonDanglingReference lbpolicy.Reason = "DanglingReference"
	// ReasonHNSVersionMismatch: the Snapshot's plan was made for another
	// HNS version than the one the Reconciler talks to (Node.HNSVersion
	// unset means the newest). What that HNS cannot hold is not sent
	// (ReasonUnsupported); set Node.HNSVersion from the host
	// (hnsadapter.NodeFor does) to plan what it can.
	ReasonHNSVersionMismatch lbpolicy.Reason = "HNSVersionMismatch"
)

// Result says what one Sync did.
type Result struct {
	// Full is true when the sync listed HNS and compared the whole plan;
	// false for a sync of changes (SyncChanges) that looked only at them.
	Full bool
	// Calls counts the Client calls this sync made, by operation, failed
	// ones included.
	Calls map[hns.Op]int
	// Created counts load balancers created for a key HNS did not hold
	// (new, or deleted out of band). Updated counts load balancers brought
	// to the plan's content, in place or by delete and create (Calls tells
	// which). Deleted counts owned load balancers the plan no longer
	// wants. Adopted counts load balancers taken into ownership: at
	// start-up, and found by a full sync's list after a create HNS
	// answered with an error or without the ID.
	Created, Updated, Deleted, Adopted int
	// EndpointsCreated and EndpointsDeleted count HNS endpoints.
	EndpointsCreated, EndpointsDeleted int
	// Errors are every per-object failure outstanding after this sync,
	// sorted by object: those the sync met (ObjectError.Tried), and those
	// of the objects it left alone because they wait in backoff after an
	// earlier failure (not Tried: Err is that failure, RetryAt says when
	// the backoff ends). Each object is retried by later syncs, with
	// exponential backoff where its failures count towards it
	// (ObjectError.Failures). An object that no longer needs a call (it
	// left the plan, say) drops out.
	Errors []*ObjectError
	// Pending counts objects that needed a change but were skipped: in
	// backoff after an earlier failure (each also in Errors, not Tried),
	// or load balancers waiting for an endpoint that could not be created
	// this sync (that endpoint's failure, if it had one, is in Errors).
	Pending int
	// Diagnostics are what the sync noticed about the plan against HNS,
	// e.g. a local backend without HNS endpoint (LocalEndpointMissing).
	// A sync of changes reports only about what it looked at.
	Diagnostics []lbpolicy.Diagnostic
}

// MutatingCalls returns the number of calls that change HNS: creates,
// updates and deletes (hns.Op.Mutating).
func (r *Result) MutatingCalls() int {
	n := 0
	for op, c := range r.Calls {
		if op.Mutating() {
			n += c
		}
	}
	return n
}

func sortDiagnostics(ds []lbpolicy.Diagnostic) {
	slices.SortFunc(ds, func(a, b lbpolicy.Diagnostic) int {
		return cmp.Or(
			strings.Compare(a.Object, b.Object),
			strings.Compare(string(a.Reason), string(b.Reason)),
			strings.Compare(a.Message, b.Message),
		)
	})
}
