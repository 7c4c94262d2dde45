package hns

import (
	"context"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Client is what the Reconciler needs from HNS. The Windows implementation
// (NewHCN) calls hcn; package fake is an in-memory HNS for tests. Both keep
// the contract written here, method by method; what an implementation adds
// (HCN's network fallback, the fake's seeding and faults) is on its own
// methods.
//
// # Rules for every method
//
// Errors: every error is an *Error whose Op is the method's Op. Match it by
// predicate (IsNotFound, IsAlreadyExists, ...), never by text. Code is HNS's
// code; it is 0 when HNS gave none: the call was not made (ctx ended), the
// arguments were refused before HNS saw them, or the implementation failed
// (e.g. a recovered panic). On any machine without HNS every method fails
// with IsHNSUnavailable. A failed call has changed nothing, except where a
// method says otherwise.
//
// Objects: IDs are GUIDs, compared case-insensitively. Implementations copy
// objects in and out: a caller may keep and modify what it passed and what
// it got, and an implementation never keeps a caller's slices.
//
// Answers: a successful Get, Create or Update returns a non-nil object with
// its ID. An answer without an ID (nil, or Id "") is a contract violation
// that callers must not trust as an object: the Reconciler reports it as an
// error and finds the object by listing. A successful list is the whole
// list; a list that cannot be completed is an error, never a short or
// empty list.
//
// Context: ctx is checked before the call. A call whose ctx has ended is
// not made and returns an *Error with Code 0 wrapping ctx.Err()
// (errors.Is(err, context.Canceled) holds). A call that has started may run
// to its end whatever ctx does (hcn's calls take no context), so bound time
// with concurrency limits rather than deadlines.
//
// Concurrency: implementations are safe for concurrent use. HNS orders
// concurrent calls as it likes: two creates of one frontend let one win
// (the other gets IsAlreadyExists), and a list running beside a delete may
// fail with IsNotFound.
type Client interface {
	// ListLoadBalancers returns every load balancer HNS holds, each with
	// its ID. HNS enumerates the IDs and then opens each: a load balancer
	// deleted in between fails the whole list, usually with IsNotFound,
	// which here means "list again", never "none".
	ListLoadBalancers(ctx context.Context) ([]HostComputeLoadBalancer, error)

	// GetLoadBalancer returns load balancer id as HNS holds it now. A
	// missing id fails with IsNotFound.
	GetLoadBalancer(ctx context.Context, id string) (*HostComputeLoadBalancer, error)

	// CreateLoadBalancer creates lb (its Id is ignored: HNS chooses the ID)
	// and returns it as HNS holds it, with its new ID. It fails with
	//   - IsInvalidParameter: lb is malformed (SchemaVersion other than
	//     2.0, not one port mapping, unknown flags, an address that is not
	//     an IP of the family the IPv6 flag says) or asks for what this HNS
	//     version cannot do (DSR, IPv6, session affinity, more non-DSR
	//     endpoints than Capabilities().MaxNonDSRBackends);
	//   - IsInvalidReference: lb names no endpoint, or one that does not
	//     exist;
	//   - IsAlreadyExists: another load balancer holds one of lb's
	//     frontends (IPv6 flag, VIP or none, protocol, external port);
	//   - IsPortAlreadyExists: the host holds one of lb's frontends.
	CreateLoadBalancer(ctx context.Context, lb *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error)

	// UpdateLoadBalancer replaces the content of load balancer id with lb
	// (lb's Id is ignored), keeping the ID, and returns it as HNS answered.
	// A missing id fails with IsNotFound; an HNS that cannot update load
	// balancers (Capabilities().Modify false) with IsNotImplemented;
	// otherwise lb is checked as CreateLoadBalancer checks it, a frontend
	// counting as taken only when another load balancer holds it.
	//
	// The answer is HNS's word, not proof: HNS 15.4 (Profile.SilentUpdate)
	// answers success with lb as sent but keeps the old endpoints
	// (kubernetes#131466). Read the load balancer back (GetLoadBalancer)
	// where that matters. A failed update may leave either content.
	UpdateLoadBalancer(ctx context.Context, id string, lb *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error)

	// DeleteLoadBalancer deletes load balancer id, with one HNS call. A
	// missing id fails with IsNotFound, which a caller that wanted it gone
	// may take as done.
	DeleteLoadBalancer(ctx context.Context, id string) error

	// ListEndpoints returns the endpoints on network networkID, or on every
	// network if networkID is "", each with its ID. An unknown network has
	// no endpoints (an empty list, no error). As with ListLoadBalancers, an
	// endpoint deleted during the list fails the whole list (IsNotFound).
	ListEndpoints(ctx context.Context, networkID string) ([]HostComputeEndpoint, error)

	// CreateEndpoint creates ep (its Id is ignored) on network networkID
	// and returns it as HNS holds it, with its new ID and network. It fails
	// with IsNotFound if the network does not exist; IsInvalidParameter if
	// ep is malformed (SchemaVersion other than 2.0, no or unparsable IP
	// address or MAC, a remote endpoint without a MAC, or without a
	// ProviderAddress policy on an Overlay network); IsAlreadyExists if
	// another endpoint on the network holds one of its IP addresses.
	// Implementations may give networkID "" a meaning of their own (HCN
	// uses ep.HostComputeNetwork, then its own network); the fake has no
	// network "" and fails with IsNotFound.
	CreateEndpoint(ctx context.Context, networkID string, ep *HostComputeEndpoint) (*HostComputeEndpoint, error)

	// DeleteEndpoint deletes endpoint id, with one HNS call. A missing id
	// fails with IsNotFound. Load balancers that name the endpoint are not
	// checked: they keep a dangling reference (HNS allows it), so delete
	// them first.
	DeleteEndpoint(ctx context.Context, id string) error

	// GetNetworkByName returns the HNS network called name (the exact
	// name). A missing one fails with IsNotFound: the CNI has not created
	// it yet.
	GetNetworkByName(ctx context.Context, name string) (*HostComputeNetwork, error)

	// Version returns HNS's version, which selects the capability profile
	// (lbpolicy.Version.Capabilities, ProfileFor).
	Version(ctx context.Context) (lbpolicy.Version, error)
}

// Op names a Client method, in errors and call counts.
type Op string

// The Client operations.
const (
	OpListLoadBalancers  Op = "ListLoadBalancers"
	OpGetLoadBalancer    Op = "GetLoadBalancer"
	OpCreateLoadBalancer Op = "CreateLoadBalancer"
	OpUpdateLoadBalancer Op = "UpdateLoadBalancer"
	OpDeleteLoadBalancer Op = "DeleteLoadBalancer"
	OpListEndpoints      Op = "ListEndpoints"
	OpCreateEndpoint     Op = "CreateEndpoint"
	OpDeleteEndpoint     Op = "DeleteEndpoint"
	OpGetNetwork         Op = "GetNetworkByName"
	OpVersion            Op = "Version"
)

// Ops returns every Client operation, in the order of their declaration.
func Ops() []Op {
	return []Op{OpListLoadBalancers, OpGetLoadBalancer, OpCreateLoadBalancer, OpUpdateLoadBalancer,
		OpDeleteLoadBalancer, OpListEndpoints, OpCreateEndpoint, OpDeleteEndpoint, OpGetNetwork, OpVersion}
}

// Mutating reports whether o is a call that changes what HNS holds: the
// create, update and delete of load balancers and the create and delete of
// endpoints. Lists, gets and Version are not; nor is any Op not listed
// above.
func (o Op) Mutating() bool {
	switch o {
	case OpCreateLoadBalancer, OpUpdateLoadBalancer, OpDeleteLoadBalancer,
		OpCreateEndpoint, OpDeleteEndpoint:
		return true
	}
	return false
}
