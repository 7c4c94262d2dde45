package hnsadapter

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// ObjectError is a failure to bring one HNS object to the plan's state.
// Err is what HNS said (an *hns.Error: use the hns.Is* predicates), or the
// Reconciler's own finding (use errors.As): a *ConflictError, an
// *InUseError or an *UnsupportedError, for which it made no call, or a
// *MissingIDError, an answer that broke the hns.Client contract. None is
// an *hns.Error.
type ObjectError struct {
	// Object names the object: "LoadBalancer IPv4/10.96.0.10/TCP/80
	// (Service ns/name:port)", or "Endpoint 10.244.2.7".
	Object string
	// Op is the Client operation that failed; for a *ConflictError or an
	// *UnsupportedError, the one the Reconciler did not make.
	Op hns.Op
	// Err is the failure.
	Err error

	// Tried is true when this sync met the failure. It is false when the
	// sync left the object alone because it waits in backoff: Err is then
	// the failure of its last try, in an earlier sync.
	Tried bool
	// Failures counts the object's failures in a row that count towards
	// its backoff, the last one included. Those that do not count are 0:
	// a *ConflictError, an *InUseError, an *UnsupportedError, a
	// *MissingIDError of an endpoint, and a call cut short because ctx
	// ended; the next sync looks at the object again.
	Failures int
	// RetryAt is when the object's backoff ends: no sync tries it before.
	// Zero when the next sync may.
	RetryAt time.Time
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Object, e.Op, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// ConflictError is an object the plan wants that HNS holds under another
// object the Reconciler does not own: a load balancer's frontend (its
// identity key), or an endpoint's IP on the managed network (HNS holds
// one endpoint per IP). It is the Reconciler's own decision, not HNS's:
// it makes no call for the object, since HNS would refuse the create and
// the holder is not its to modify, and it looks again at every sync. The
// holder is another agent's, or was left by a previous run that the plan
// at this run's start did not want (a restart adopts the load balancers
// holding the plan's keys; Options.ClaimNetwork claims more).
type ConflictError struct {
	// Key is the identity key of the plan's load balancer; zero for an
	// endpoint.
	Key lbpolicy.Key
	// IP is the IP of the plan's endpoint; invalid for a load balancer.
	IP netip.Addr
	// Network is the managed network, for an endpoint.
	Network string
	// HolderID is the HNS ID of the object holding the frontend or IP.
	HolderID string
}

func (e *ConflictError) Error() string {
	if e.IP.IsValid() {
		return fmt.Sprintf("hnsadapter: IP %s is held on network %q by endpoint %s, which this reconciler does not own and which differs from the plan's",
			e.IP, e.Network, e.HolderID)
	}
	return fmt.Sprintf("hnsadapter: the frontend %s is held by load balancer %s, which this reconciler does not own "+
		"(another agent's, or one left from before it started: a restart adopts it)", e.Key, e.HolderID)
}

// MissingIDError is a create that HNS answered as done without the new
// object's ID, as no HNS should. The object probably exists, but the
// Reconciler cannot tell which it is, so it owns nothing for it until the
// next sync, a full one: in its list, the object that holds the key (or
// IP) with exactly the content the create sent is the Reconciler's. A
// create answered with an error (other than "already exists") is treated
// the same way, since it may have taken effect.
type MissingIDError struct {
	// Op is the create: hns.OpCreateLoadBalancer or hns.OpCreateEndpoint.
	Op hns.Op
}

func (e *MissingIDError) Error() string {
	what := "object"
	switch e.Op {
	case hns.OpCreateLoadBalancer:
		what = "load balancer"
	case hns.OpCreateEndpoint:
		what = "endpoint"
	}
	return fmt.Sprintf("hnsadapter: HNS answered %s without the %s's ID", e.Op, what)
}

// InUseError is an owned endpoint the plan wants replaced (its IP now
// needs other content: the pod moved to another node) that a load
// balancer the Reconciler does not own references. Like a ConflictError
// it is the Reconciler's own decision: it neither deletes nor replaces the
// endpoint, which would leave the other agent's load balancer with a
// dangling reference; the plan's load balancers using the IP wait,
// untouched, and every sync looks again. It is reported on the endpoint,
// with Op hns.OpDeleteEndpoint, the call not made.
type InUseError struct {
	// IP is the endpoint's IP.
	IP netip.Addr
	// EndpointID is the owned endpoint's HNS ID.
	EndpointID string
	// LoadBalancerID is the HNS ID of a load balancer that references it
	// (the first by ID).
	LoadBalancerID string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("hnsadapter: endpoint %s (%s) cannot be replaced: load balancer %s, which this reconciler does not own, references it",
		e.EndpointID, e.IP, e.LoadBalancerID)
}

func sortErrors(errs []*ObjectError) {
	slices.SortFunc(errs, func(a, b *ObjectError) int {
		return cmp.Or(strings.Compare(a.Object, b.Object), strings.Compare(string(a.Op), string(b.Op)))
	})
}

// UnsupportedError is a plan's load balancer that the backend's HNS
// version cannot hold: HNS would refuse it with 0x57 (invalid parameter)
// at every try. It is the Reconciler's own finding, from
// lbpolicy.Version.Capabilities of the version Client.Version reported:
// it makes no call for the load balancer (an existing one is left as it
// is), reports it at every sync without backoff (Failures 0), and adds a
// diagnostic (ReasonUnsupported). It usually means the plan was computed
// for another HNS version than the host's: build the Node with NodeFor,
// or set lbpolicy.Node.HNSVersion to what Client.Version reports.
type UnsupportedError struct {
	// Feature is what the load balancer asks for: "DSR", "IPv6",
	// "session affinity", or "more than N backends without DSR".
	Feature string
	// Version is the backend's HNS version.
	Version lbpolicy.Version
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("hnsadapter: HNS %s does not support %s, which this load balancer needs: not sent, as HNS would refuse it (0x57); the plan is for another HNS version",
		e.Version, e.Feature)
}
