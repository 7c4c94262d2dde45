//go:build !windows

package hns

import (
	"context"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/lbpolicy"
)

// HCN is the Client that calls the Host Networking Service through hcn
// (github.com/Microsoft/hcsshim/hcn, HCN v2 API, computenetwork.dll).
//
// Every method checks ctx before it calls HNS and not after: hcn's calls
// are synchronous and take no context, so a call that has started runs to
// its end. Bound the time with the Reconciler's concurrency, not with
// deadlines.
//
// Errors are *Error values. hcn's error code becomes Error.Code (the Win32
// code, or the HRESULT when it is not a Win32 one); hcn's not-found errors
// and 0x490 are CodeNotFound; a missing computenetwork.dll or vmcompute.dll
// (or a missing function in them) is CodeModuleNotFound. A panic inside hcn
// (it panics on some DLL failures) is recovered and returned as an error.
//
// HCN performs what it is asked: it does not check HNS's capabilities. In
// particular UpdateLoadBalancer calls HNS even where the update is known
// not to work (HNS 15.4, kubernetes#131466); the Reconciler decides, from
// lbpolicy.Version.Capabilities().Modify, whether to update in place.
//
// An HCN is safe for concurrent use.
//
// This build is not for Windows: NewHCN fails and every method returns
// an *Error with CodeModuleNotFound (IsHNSUnavailable is true), so that
// callers compile everywhere without build tags. Use package fake here.
type HCN struct{}

var _ Client = (*HCN)(nil)

const hcnOnlyOnWindows = "the HNS backend works only on Windows; use package fake elsewhere"

func unavailable(op Op) error {
	return &Error{Op: op, Code: CodeModuleNotFound, Message: hcnOnlyOnWindows}
}

// NewHCN returns the Client that calls HNS on this Windows machine.
//
// It asks HNS for its version, so that a machine without HNS fails here:
// with an *Error for which IsHNSUnavailable is true (no computenetwork.dll
// or vmcompute.dll: Windows without the Containers feature, or Wine). If
// networkName is not empty, it also looks that HNS network up (an *Error
// with IsNotFound if there is none yet: the CNI has not created it; retry
// later) and Network returns it; CreateEndpoint uses it when given no
// network ID.
//
// On other operating systems NewHCN always fails with CodeModuleNotFound.
func NewHCN(networkName string, logger logr.Logger) (*HCN, error) {
	return nil, unavailable(opNewHCN)
}

// Network returns the network NewHCN looked up, or the zero value if it
// was given no name.
//
// In this build (not Windows) it returns the zero value.
func (h *HCN) Network() HostComputeNetwork { return HostComputeNetwork{} }

// ListLoadBalancers returns every load balancer HNS holds. hcn enumerates
// the IDs and then opens each: if one is deleted in between, the whole
// list fails (often with CodeNotFound, which here means "retry", never
// "empty").
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) ListLoadBalancers(context.Context) ([]HostComputeLoadBalancer, error) {
	return nil, unavailable(OpListLoadBalancers)
}

// GetLoadBalancer returns load balancer id.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) GetLoadBalancer(context.Context, string) (*HostComputeLoadBalancer, error) {
	return nil, unavailable(OpGetLoadBalancer)
}

// CreateLoadBalancer creates lb. Its Id is not sent; a zero SchemaVersion
// is sent as 2.0.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) CreateLoadBalancer(context.Context, *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error) {
	return nil, unavailable(OpCreateLoadBalancer)
}

// UpdateLoadBalancer replaces the content of load balancer id with lb
// (hcn's HostComputeLoadBalancer.Update: HcnModifyLoadBalancer). lb's Id is
// not sent; a zero SchemaVersion is sent as 2.0. It does not check that HNS
// supports the update (see HCN).
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) UpdateLoadBalancer(context.Context, string, *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error) {
	return nil, unavailable(OpUpdateLoadBalancer)
}

// DeleteLoadBalancer deletes load balancer id, with one HNS call (no
// lookup first). A missing id is an error with IsNotFound true.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) DeleteLoadBalancer(context.Context, string) error {
	return unavailable(OpDeleteLoadBalancer)
}

// ListEndpoints returns the endpoints on network networkID, or every
// endpoint if networkID is "". As with ListLoadBalancers, an endpoint
// deleted while hcn lists fails the whole list.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) ListEndpoints(context.Context, string) ([]HostComputeEndpoint, error) {
	return nil, unavailable(OpListEndpoints)
}

// CreateEndpoint creates ep on network networkID; if networkID is "", on
// ep.HostComputeNetwork, else on the network NewHCN looked up. ep is sent as
// it is (hcn's HostComputeEndpoint.Create; the RemoteEndpoint flag is
// not added), except that its Id is not sent, HostComputeNetwork is set to
// the network, and a zero SchemaVersion is sent as 2.0.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) CreateEndpoint(context.Context, string, *HostComputeEndpoint) (*HostComputeEndpoint, error) {
	return nil, unavailable(OpCreateEndpoint)
}

// DeleteEndpoint deletes endpoint id, with one HNS call.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) DeleteEndpoint(context.Context, string) error {
	return unavailable(OpDeleteEndpoint)
}

// GetNetworkByName returns the HNS network called name, with its policies
// (the RemoteSubnetRoute policies hnsadapter.NodeFor reads) and address
// spaces.
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) GetNetworkByName(context.Context, string) (*HostComputeNetwork, error) {
	return nil, unavailable(OpGetNetwork)
}

// Version returns the version HNS reports (hcn.GetGlobals; vmcompute.dll's
// HNSCall).
//
// In this build (not Windows) it fails with CodeModuleNotFound.
func (h *HCN) Version(context.Context) (lbpolicy.Version, error) {
	return lbpolicy.Version{}, unavailable(OpVersion)
}
