package hns

import (
	"context"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Client is what the Reconciler needs from HNS. The Windows implementation
// (NewHCN) calls hcn; package fake is an in-memory HNS for tests. Every
// method takes a context first; errors are *Error values (use the Is*
// predicates), the same from every implementation.
//
// Implementations copy objects in and out: callers may keep and modify
// what they pass and what they get.
type Client interface {
	// ListLoadBalancers returns every load balancer HNS holds. A failure is
	// an error, never an empty list.
	ListLoadBalancers(ctx context.Context) ([]HostComputeLoadBalancer, error)
	// GetLoadBalancer returns one load balancer by ID.
	GetLoadBalancer(ctx context.Context, id string) (*HostComputeLoadBalancer, error)
	// CreateLoadBalancer creates lb (its Id is ignored) and returns it as
	// HNS holds it, with its new ID.
	CreateLoadBalancer(ctx context.Context, lb *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error)
	// UpdateLoadBalancer replaces the content of load balancer id with lb,
	// keeping the ID, and returns it as HNS holds it afterwards.
	UpdateLoadBalancer(ctx context.Context, id string, lb *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error)
	// DeleteLoadBalancer deletes load balancer id.
	DeleteLoadBalancer(ctx context.Context, id string) error

	// ListEndpoints returns the endpoints on network networkID ("" = all).
	ListEndpoints(ctx context.Context, networkID string) ([]HostComputeEndpoint, error)
	// CreateEndpoint creates ep on network networkID.
	CreateEndpoint(ctx context.Context, networkID string, ep *HostComputeEndpoint) (*HostComputeEndpoint, error)
	// DeleteEndpoint deletes endpoint id.
	DeleteEndpoint(ctx context.Context, id string) error

	// GetNetworkByName returns the HNS network called name.
	GetNetworkByName(ctx context.Context, name string) (*HostComputeNetwork, error)
	// Version returns HNS's version, which selects the capability profile.
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
