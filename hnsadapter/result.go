package hnsadapter

import (
	"cmp"
	"fmt"
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
	// wants. Adopted counts load balancers taken into ownership at
	// start-up.
	Created, Updated, Deleted, Adopted int
	// EndpointsCreated and EndpointsDeleted count HNS endpoints.
	EndpointsCreated, EndpointsDeleted int
	// Errors are this sync's per-object failures, sorted by object. Each
	// is retried with backoff on later syncs.
	Errors []*ObjectError
	// Pending counts objects that needed a change but were skipped: in
	// backoff after an earlier failure, or load balancers waiting for an
	// endpoint that could not be created.
	Pending int
	// Diagnostics are what the sync noticed about the plan against HNS,
	// e.g. a local backend without HNS endpoint (LocalEndpointMissing).
	// A sync of changes reports only about what it looked at.
	Diagnostics []lbpolicy.Diagnostic
}

// MutatingCalls returns the number of create, update and delete calls.
func (r *Result) MutatingCalls() int {
	return r.Calls[hns.OpCreateLoadBalancer] + r.Calls[hns.OpUpdateLoadBalancer] + r.Calls[hns.OpDeleteLoadBalancer] +
		r.Calls[hns.OpCreateEndpoint] + r.Calls[hns.OpDeleteEndpoint]
}

// ObjectError is a failure to bring one HNS object to the plan's state.
type ObjectError struct {
	// Object names the object: "LoadBalancer IPv4/10.96.0.10/TCP/80
	// (Service ns/name:port)", or "Endpoint 10.244.2.7".
	Object string
	// Op is the Client operation that failed.
	Op hns.Op
	// Err is the failure, usually an *Error.
	Err error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Object, e.Op, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

func sortErrors(errs []*ObjectError) {
	slices.SortFunc(errs, func(a, b *ObjectError) int {
		return cmp.Or(strings.Compare(a.Object, b.Object), strings.Compare(string(a.Op), string(b.Op)))
	})
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
