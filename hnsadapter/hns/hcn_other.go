//go:build !windows

package hns

import (
	"context"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/lbpolicy"
)

// HCN is the Client that calls the Host Networking Service through
// github.com/Microsoft/hcsshim/hcn. It works only on Windows. Elsewhere
// NewHCN always fails and every method returns the same error, so that
// callers compile everywhere without build tags.
type HCN struct{}

var _ Client = (*HCN)(nil)

const hcnOnlyOnWindows = "the HNS backend works only on Windows; use package fake elsewhere"

func unavailable(op Op) error {
	return &Error{Op: op, Code: CodeModuleNotFound, Message: hcnOnlyOnWindows}
}

// NewHCN returns the Client that calls HNS on this Windows machine, for
// the HNS network called networkName ("" = none in particular).
//
// On every other OS it returns an *Error with CodeModuleNotFound
// (IsHNSUnavailable is true): use package fake there.
func NewHCN(networkName string, logger logr.Logger) (*HCN, error) {
	return nil, unavailable(opNewHCN)
}

// Network returns the zero HostComputeNetwork: there is no HNS here.
func (h *HCN) Network() HostComputeNetwork { return HostComputeNetwork{} }

// ListLoadBalancers fails: there is no HNS here.
func (h *HCN) ListLoadBalancers(context.Context) ([]HostComputeLoadBalancer, error) {
	return nil, unavailable(OpListLoadBalancers)
}

// GetLoadBalancer fails: there is no HNS here.
func (h *HCN) GetLoadBalancer(context.Context, string) (*HostComputeLoadBalancer, error) {
	return nil, unavailable(OpGetLoadBalancer)
}

// CreateLoadBalancer fails: there is no HNS here.
func (h *HCN) CreateLoadBalancer(context.Context, *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error) {
	return nil, unavailable(OpCreateLoadBalancer)
}

// UpdateLoadBalancer fails: there is no HNS here.
func (h *HCN) UpdateLoadBalancer(context.Context, string, *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error) {
	return nil, unavailable(OpUpdateLoadBalancer)
}

// DeleteLoadBalancer fails: there is no HNS here.
func (h *HCN) DeleteLoadBalancer(context.Context, string) error {
	return unavailable(OpDeleteLoadBalancer)
}

// ListEndpoints fails: there is no HNS here.
func (h *HCN) ListEndpoints(context.Context, string) ([]HostComputeEndpoint, error) {
	return nil, unavailable(OpListEndpoints)
}

// CreateEndpoint fails: there is no HNS here.
func (h *HCN) CreateEndpoint(context.Context, string, *HostComputeEndpoint) (*HostComputeEndpoint, error) {
	return nil, unavailable(OpCreateEndpoint)
}

// DeleteEndpoint fails: there is no HNS here.
func (h *HCN) DeleteEndpoint(context.Context, string) error {
	return unavailable(OpDeleteEndpoint)
}

// GetNetworkByName fails: there is no HNS here.
func (h *HCN) GetNetworkByName(context.Context, string) (*HostComputeNetwork, error) {
	return nil, unavailable(OpGetNetwork)
}

// Version fails: there is no HNS here.
func (h *HCN) Version(context.Context) (lbpolicy.Version, error) {
	return lbpolicy.Version{}, unavailable(OpVersion)
}
