//go:build windows

package hns

// This is the only file that imports hcn. kube-proxy now takes the same
// package from github.com/Microsoft/hnslib/hcn (same API): switching is a
// change of the import path below.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	hcn "github.com/Microsoft/hcsshim/hcn"
	"github.com/go-logr/logr"
	"golang.org/x/sys/windows"

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
type HCN struct {
	network HostComputeNetwork
	log     logr.Logger
}

var _ Client = (*HCN)(nil)

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
	h := &HCN{log: logger}
	ctx := context.Background()
	v, err := h.Version(ctx)
	if err != nil {
		return nil, err
	}
	if networkName != "" {
		nw, err := h.GetNetworkByName(ctx, networkName)
		if err != nil {
			return nil, err
		}
		h.network = *nw
	}
	logger.V(2).Info("HNS backend ready", "hnsVersion", v.String(), "network", h.network.Name, "networkID", h.network.Id)
	return h, nil
}

// Network returns the network NewHCN looked up, or the zero value if it
// was given no name.
func (h *HCN) Network() HostComputeNetwork { return h.network }

// ListLoadBalancers returns every load balancer HNS holds. hcn enumerates
// the IDs and then opens each: if one is deleted in between, the whole
// list fails (often with CodeNotFound, which here means "retry", never
// "empty").
func (h *HCN) ListLoadBalancers(ctx context.Context) ([]HostComputeLoadBalancer, error) {
	return call(h, ctx, OpListLoadBalancers, "", func() ([]HostComputeLoadBalancer, error) {
		return loadBalancersFromHCN(hcn.ListLoadBalancers())
	})
}

// GetLoadBalancer returns load balancer id.
func (h *HCN) GetLoadBalancer(ctx context.Context, id string) (*HostComputeLoadBalancer, error) {
	return call(h, ctx, OpGetLoadBalancer, id, func() (*HostComputeLoadBalancer, error) {
		return loadBalancerFromHCN(hcn.GetLoadBalancerByID(id))
	})
}

// CreateLoadBalancer creates lb. Its Id is not sent; a zero SchemaVersion
// is sent as 2.0.
func (h *HCN) CreateLoadBalancer(ctx context.Context, lb *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error) {
	out, err := call(h, ctx, OpCreateLoadBalancer, "", func() (*HostComputeLoadBalancer, error) {
		return loadBalancerFromHCN(loadBalancerRequest(lb).Create())
	})
	if err == nil {
		h.log.V(4).Info("created load balancer", "id", out.Id, "frontendVIPs", out.FrontendVIPs)
	}
	return out, err
}

// UpdateLoadBalancer replaces the content of load balancer id with lb
// (hcn's HostComputeLoadBalancer.Update: HcnModifyLoadBalancer). lb's Id is
// not sent; a zero SchemaVersion is sent as 2.0. It does not check that HNS
// supports the update (see HCN).
func (h *HCN) UpdateLoadBalancer(ctx context.Context, id string, lb *HostComputeLoadBalancer) (*HostComputeLoadBalancer, error) {
	out, err := call(h, ctx, OpUpdateLoadBalancer, id, func() (*HostComputeLoadBalancer, error) {
		return loadBalancerFromHCN(loadBalancerRequest(lb).Update(id))
	})
	if err == nil {
		h.log.V(4).Info("updated load balancer", "id", id)
	}
	return out, err
}

// DeleteLoadBalancer deletes load balancer id, with one HNS call (no
// lookup first). A missing id is an error with IsNotFound true.
func (h *HCN) DeleteLoadBalancer(ctx context.Context, id string) error {
	_, err := call(h, ctx, OpDeleteLoadBalancer, id, func() (struct{}, error) {
		return none((&hcn.HostComputeLoadBalancer{Id: id}).Delete())
	})
	if err == nil {
		h.log.V(4).Info("deleted load balancer", "id", id)
	}
	return err
}

// ListEndpoints returns the endpoints on network networkID, or every
// endpoint if networkID is "". As with ListLoadBalancers, an endpoint
// deleted while hcn lists fails the whole list.
func (h *HCN) ListEndpoints(ctx context.Context, networkID string) ([]HostComputeEndpoint, error) {
	return call(h, ctx, OpListEndpoints, networkID, func() ([]HostComputeEndpoint, error) {
		if networkID == "" {
			return endpointsFromHCN(hcn.ListEndpoints())
		}
		return endpointsFromHCN(hcn.ListEndpointsOfNetwork(networkID))
	})
}

// CreateEndpoint creates ep on network networkID; if networkID is "", on
// ep.HostComputeNetwork, else on the network NewHCN looked up. ep is sent as
// it is (hcn's HostComputeEndpoint.Create; the RemoteEndpoint flag is
// not added), except that its Id is not sent, HostComputeNetwork is set to
// the network, and a zero SchemaVersion is sent as 2.0.
func (h *HCN) CreateEndpoint(ctx context.Context, networkID string, ep *HostComputeEndpoint) (*HostComputeEndpoint, error) {
	nw := networkID
	if nw == "" {
		nw = ep.HostComputeNetwork
	}
	if nw == "" {
		nw = h.network.Id
	}
	if nw == "" {
		return nil, &Error{Op: OpCreateEndpoint, Message: "no network: pass a network ID, set the endpoint's HostComputeNetwork, or give NewHCN a network name"}
	}
	if ep.HostComputeNetwork != "" && !strings.EqualFold(ep.HostComputeNetwork, nw) {
		return nil, &Error{Op: OpCreateEndpoint, Message: fmt.Sprintf("endpoint %s names network %s, but network %s was asked for", ep.Name, ep.HostComputeNetwork, nw)}
	}
	out, err := call(h, ctx, OpCreateEndpoint, nw, func() (*HostComputeEndpoint, error) {
		req := toHCNEndpoint(ep)
		req.Id = ""
		req.HostComputeNetwork = nw
		defaultSchema(&req.SchemaVersion)
		return endpointFromHCN(req.Create())
	})
	if err == nil {
		h.log.V(4).Info("created endpoint", "id", out.Id, "network", nw)
	}
	return out, err
}

// DeleteEndpoint deletes endpoint id, with one HNS call.
func (h *HCN) DeleteEndpoint(ctx context.Context, id string) error {
	_, err := call(h, ctx, OpDeleteEndpoint, id, func() (struct{}, error) {
		return none((&hcn.HostComputeEndpoint{Id: id}).Delete())
	})
	if err == nil {
		h.log.V(4).Info("deleted endpoint", "id", id)
	}
	return err
}

// GetNetworkByName returns the HNS network called name, with its policies
// (the RemoteSubnetRoute policies hnsadapter.NodeFor reads) and address
// spaces.
func (h *HCN) GetNetworkByName(ctx context.Context, name string) (*HostComputeNetwork, error) {
	return call(h, ctx, OpGetNetwork, name, func() (*HostComputeNetwork, error) {
		return networkFromHCN(hcn.GetNetworkByName(name))
	})
}

// Version returns the version HNS reports (hcn.GetGlobals; vmcompute.dll's
// HNSCall).
func (h *HCN) Version(ctx context.Context) (lbpolicy.Version, error) {
	return call(h, ctx, OpVersion, "", func() (lbpolicy.Version, error) {
		return versionFromHCN(hcn.GetGlobals())
	})
}

// call makes one hcn call, fn, for op on object id, and is the only place
// that does: it checks ctx first (an ended ctx: fn is not called, an *Error
// with Code 0 wrapping ctx.Err(), nothing logged), turns fn's error into an
// *Error (hcnError), recovers a panic in fn (panicError; logged with its
// stack), and logs every call it made at V(5). On any error the result is
// T's zero value.
func call[T any](h *HCN, ctx context.Context, op Op, id string, fn func() (T, error)) (out T, err error) {
	if cerr := ctx.Err(); cerr != nil {
		return out, &Error{Op: op, Message: "not called: " + cerr.Error(), Err: cerr}
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			var zero T
			out, err = zero, panicError(op, r)
			h.log.Error(err, "hcn panicked", "op", op, "id", id, "stack", string(debug.Stack()))
		}
		h.log.V(5).Info("HNS call", "op", op, "id", id, "duration", time.Since(start), "err", err)
	}()
	got, ferr := fn()
	if ferr != nil {
		var zero T
		return zero, hcnError(op, ferr)
	}
	return got, nil
}

// none adapts an hcn call that answers only an error to call.
func none(err error) (struct{}, error) { return struct{}{}, err }

// errGenFailure is hcn's code for an error without an Errno.
const errGenFailure Code = 0x1F // ERROR_GEN_FAILURE

// The loader's errors.
const (
	errModNotFound  = syscall.Errno(0x7E) // ERROR_MOD_NOT_FOUND
	errProcNotFound = syscall.Errno(0x7F) // ERROR_PROC_NOT_FOUND
)

// hcnError maps an error from hcn to an *Error.
//
// hcn keeps the code in an unexported field of *hcn.HcnError, which
// hcn.CheckErrorWithCode can only compare with codes known in advance. The
// code is the one hcn derives (hcserror.Win32FromError): the syscall.Errno
// of the failed call, which the generated syscall code has already reduced
// to the Win32 code for Win32-facility HRESULTs. HcnError embeds hcn's
// internal *hcserror.HcsError, whose exported Err field holds that Errno;
// hnsCall (Version) returns the HcsError bare, reached by reflection. Only
// if there is no Errno is the code parsed from the message's "(0x…)".
//
// A DLL that fails to load is the Errno 0x7E itself (CodeModuleNotFound, as
// it comes). A DLL that lacks a function hcn needs is a *windows.DLLError
// (which hcn reports as 0x1F, ERROR_GEN_FAILURE, or panics on): also
// CodeModuleNotFound, since HNS cannot be used through hcn either way.
func hcnError(op Op, err error) *Error {
	e := &Error{Op: op, Message: err.Error(), Err: err}
	cause, fromHNS := hnsCause(err)
	switch {
	case isDLLError(err) || isDLLError(cause):
		e.Code = CodeModuleNotFound
	case fromHNS:
		e.Code = win32Code(cause, e.Message)
		e.Record = errorRecord(e.Message)
	case isNotFound(err):
		e.Code = CodeNotFound
	}
	return e
}

// hnsCause returns the Errno (or other error) an HNS call failed with, and
// whether err came from an HNS call at all.
func hnsCause(err error) (error, bool) {
	var he *hcn.HcnError
	if errors.As(err, &he) {
		if he.HcsError == nil {
			return nil, true
		}
		return he.Err, true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if cause, ok := hcsErrorCause(e); ok {
			return cause, true
		}
	}
	return nil, false
}

// hcsErrorCause returns the Err field of hcn's internal *hcserror.HcsError.
func hcsErrorCause(err error) (error, bool) {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	t := v.Type().Elem()
	if t.Kind() != reflect.Struct || t.Name() != "HcsError" || !strings.HasSuffix(t.PkgPath(), "/internal/hcserror") {
		return nil, false
	}
	f := v.Elem().FieldByName("Err")
	if !f.IsValid() || !f.CanInterface() {
		return nil, false
	}
	cause, _ := f.Interface().(error)
	return cause, true
}

func isDLLError(err error) bool {
	if err == nil {
		return false
	}
	var we *windows.DLLError
	var se *syscall.DLLError
	return errors.As(err, &we) || errors.As(err, &se)
}

// isNotFound reports hcn's own not-found errors (raised when a lookup by
// name or ID finds nothing). hcn.IsNotFoundError sees only unwrapped ones.
func isNotFound(err error) bool {
	if hcn.IsNotFoundError(err) {
		return true
	}
	var (
		nw hcn.NetworkNotFoundError
		ep hcn.EndpointNotFoundError
		lb hcn.LoadBalancerNotFoundError
	)
	return errors.As(err, &nw) || errors.As(err, &ep) || errors.As(err, &lb)
}

// hcnCodeRE matches the code in hcn's "<func> failed in Win32: <text> (0x<code>) <record>".
var hcnCodeRE = regexp.MustCompile(`\(0x([0-9a-fA-F]{1,8})\)`)

func win32Code(cause error, msg string) Code {
	var errno syscall.Errno
	if cause != nil && errors.As(cause, &errno) {
		return Code(uint32(errno))
	}
	if m := hcnCodeRE.FindStringSubmatch(msg[failedIn(msg):]); m != nil {
		if c, err := strconv.ParseUint(m[1], 16, 32); err == nil {
			return Code(c)
		}
	}
	return errGenFailure
}

// failedIn returns where the part of an hcn message after "failed in
// Win32:" starts (0 if there is none).
func failedIn(msg string) int {
	const marker = "failed in Win32:"
	if i := strings.Index(msg, marker); i >= 0 {
		return i + len(marker)
	}
	return 0
}

// errorRecord returns HNS's error record: what hcn appends to its message
// after the code, usually JSON ({"Success":false,"Error":…,"ErrorCode":…}).
func errorRecord(msg string) string {
	start := failedIn(msg)
	if start == 0 {
		return ""
	}
	m := hcnCodeRE.FindStringIndex(msg[start:])
	if m == nil {
		return ""
	}
	return strings.TrimSpace(msg[start+m[1]:])
}

// panicError turns a panic inside hcn into an *Error. hcn can panic when
// computenetwork.dll or vmcompute.dll cannot be loaded or lacks a function:
// a lazy proc's Addr or Call panics with the Errno (0x7E) or the
// *windows.DLLError, and since hcsshim v0.11.7 hcn's own error constructor
// panics on a *windows.DLLError (a type assertion). Those are
// CodeModuleNotFound. Any other panic is a bug, reported with Code 0 (and
// its stack in the log).
func panicError(op Op, r any) *Error {
	perr, _ := r.(error)
	var errno syscall.Errno
	loader := perr != nil && errors.As(perr, &errno) && (errno == errModNotFound || errno == errProcNotFound)
	if loader || isDLLError(perr) || isDLLAssertion(perr) {
		return &Error{
			Op:      op,
			Code:    CodeModuleNotFound,
			Message: fmt.Sprintf("HNS is not available here: computenetwork.dll or vmcompute.dll, or a function hcn needs in it, is missing (hcn panicked: %v)", r),
			Err:     perr,
		}
	}
	return &Error{Op: op, Message: fmt.Sprintf("hcn panicked: %v", r), Err: perr}
}

func isDLLAssertion(err error) bool {
	var re runtime.Error
	return errors.As(err, &re) && strings.Contains(re.Error(), "DLLError")
}

func defaultSchema(v *hcn.SchemaVersion) {
	if *v == (hcn.SchemaVersion{}) {
		s := V2SchemaVersion()
		*v = hcn.SchemaVersion{Major: s.Major, Minor: s.Minor}
	}
}

// The answer conversions take hcn's (answer, error) pair as it comes, so
// that a method's hcn call reads as one line: a non-nil error passes
// through, an answer is converted. Lists are never nil on success.

func loadBalancerFromHCN(lb *hcn.HostComputeLoadBalancer, err error) (*HostComputeLoadBalancer, error) {
	if err != nil {
		return nil, err
	}
	out := fromHCNLoadBalancer(lb)
	return &out, nil
}

func loadBalancersFromHCN(lbs []hcn.HostComputeLoadBalancer, err error) ([]HostComputeLoadBalancer, error) {
	if err != nil {
		return nil, err
	}
	out := make([]HostComputeLoadBalancer, 0, len(lbs))
	for i := range lbs {
		out = append(out, fromHCNLoadBalancer(&lbs[i]))
	}
	return out, nil
}

func endpointFromHCN(ep *hcn.HostComputeEndpoint, err error) (*HostComputeEndpoint, error) {
	if err != nil {
		return nil, err
	}
	out := fromHCNEndpoint(ep)
	return &out, nil
}

func endpointsFromHCN(eps []hcn.HostComputeEndpoint, err error) ([]HostComputeEndpoint, error) {
	if err != nil {
		return nil, err
	}
	out := make([]HostComputeEndpoint, 0, len(eps))
	for i := range eps {
		out = append(out, fromHCNEndpoint(&eps[i]))
	}
	return out, nil
}

func networkFromHCN(nw *hcn.HostComputeNetwork, err error) (*HostComputeNetwork, error) {
	if err != nil {
		return nil, err
	}
	out := fromHCNNetwork(nw)
	return &out, nil
}

// versionFromHCN returns the version in hcn.GetGlobals' answer; a negative
// component is an error.
func versionFromHCN(g *hcn.Globals, err error) (lbpolicy.Version, error) {
	if err != nil {
		return lbpolicy.Version{}, err
	}
	if g.Version.Major < 0 || g.Version.Minor < 0 {
		return lbpolicy.Version{}, fmt.Errorf("HNS reported version %d.%d", g.Version.Major, g.Version.Minor)
	}
	return lbpolicy.Version{Major: uint32(g.Version.Major), Minor: uint32(g.Version.Minor)}, nil
}

// loadBalancerRequest is lb as CreateLoadBalancer and UpdateLoadBalancer
// send it: without its Id, a zero SchemaVersion as 2.0.
func loadBalancerRequest(lb *HostComputeLoadBalancer) *hcn.HostComputeLoadBalancer {
	req := toHCNLoadBalancer(lb)
	req.Id = ""
	defaultSchema(&req.SchemaVersion)
	return req
}

// The conversions below copy field by field. hcn's flag "constants" are
// package variables, so values are cast numerically, never looked up.

func toHCNLoadBalancer(lb *HostComputeLoadBalancer) *hcn.HostComputeLoadBalancer {
	out := &hcn.HostComputeLoadBalancer{
		Id:                   lb.Id,
		HostComputeEndpoints: slices.Clone(lb.HostComputeEndpoints),
		SourceVIP:            lb.SourceVIP,
		FrontendVIPs:         slices.Clone(lb.FrontendVIPs),
		SchemaVersion:        hcn.SchemaVersion{Major: lb.SchemaVersion.Major, Minor: lb.SchemaVersion.Minor},
		Flags:                hcn.LoadBalancerFlags(uint32(lb.Flags)),
	}
	if lb.PortMappings != nil {
		out.PortMappings = make([]hcn.LoadBalancerPortMapping, len(lb.PortMappings))
		for i, pm := range lb.PortMappings {
			out.PortMappings[i] = hcn.LoadBalancerPortMapping{
				Protocol:         pm.Protocol,
				InternalPort:     pm.InternalPort,
				ExternalPort:     pm.ExternalPort,
				DistributionType: hcn.LoadBalancerDistribution(uint32(pm.DistributionType)),
				Flags:            hcn.LoadBalancerPortMappingFlags(uint32(pm.Flags)),
			}
		}
	}
	return out
}

func fromHCNLoadBalancer(lb *hcn.HostComputeLoadBalancer) HostComputeLoadBalancer {
	out := HostComputeLoadBalancer{
		Id:                   lb.Id,
		HostComputeEndpoints: slices.Clone(lb.HostComputeEndpoints),
		SourceVIP:            lb.SourceVIP,
		FrontendVIPs:         slices.Clone(lb.FrontendVIPs),
		SchemaVersion:        SchemaVersion{Major: lb.SchemaVersion.Major, Minor: lb.SchemaVersion.Minor},
		Flags:                lbpolicy.LoadBalancerFlags(uint32(lb.Flags)),
	}
	if lb.PortMappings != nil {
		out.PortMappings = make([]LoadBalancerPortMapping, len(lb.PortMappings))
		for i, pm := range lb.PortMappings {
			out.PortMappings[i] = LoadBalancerPortMapping{
				Protocol:         pm.Protocol,
				InternalPort:     pm.InternalPort,
				ExternalPort:     pm.ExternalPort,
				DistributionType: lbpolicy.DistributionType(uint32(pm.DistributionType)),
				Flags:            lbpolicy.PortMappingFlags(uint32(pm.Flags)),
			}
		}
	}
	return out
}

// toHCNEndpoint converts ep. hcn's fields that the neutral type lacks (Dns,
// Routes, Health, HostComputeNamespace) stay zero; hcn marshals the zero Dns
// and Health as empty objects, which HNS reads as absent.
func toHCNEndpoint(ep *HostComputeEndpoint) *hcn.HostComputeEndpoint {
	out := &hcn.HostComputeEndpoint{
		Id:                 ep.Id,
		Name:               ep.Name,
		HostComputeNetwork: ep.HostComputeNetwork,
		MacAddress:         ep.MacAddress,
		Flags:              hcn.EndpointFlags(uint32(ep.Flags)),
		SchemaVersion:      hcn.SchemaVersion{Major: ep.SchemaVersion.Major, Minor: ep.SchemaVersion.Minor},
	}
	if ep.Policies != nil {
		out.Policies = make([]hcn.EndpointPolicy, len(ep.Policies))
		for i, p := range ep.Policies {
			out.Policies[i] = hcn.EndpointPolicy{Type: hcn.EndpointPolicyType(string(p.Type)), Settings: slices.Clone(p.Settings)}
		}
	}
	if ep.IpConfigurations != nil {
		out.IpConfigurations = make([]hcn.IpConfig, len(ep.IpConfigurations))
		for i, c := range ep.IpConfigurations {
			out.IpConfigurations[i] = hcn.IpConfig{IpAddress: c.IpAddress, PrefixLength: c.PrefixLength}
		}
	}
	return out
}

// fromHCNEndpoint converts ep, dropping what the neutral type lacks.
func fromHCNEndpoint(ep *hcn.HostComputeEndpoint) HostComputeEndpoint {
	out := HostComputeEndpoint{
		Id:                 ep.Id,
		Name:               ep.Name,
		HostComputeNetwork: ep.HostComputeNetwork,
		MacAddress:         ep.MacAddress,
		Flags:              EndpointFlags(uint32(ep.Flags)),
		SchemaVersion:      SchemaVersion{Major: ep.SchemaVersion.Major, Minor: ep.SchemaVersion.Minor},
	}
	if ep.Policies != nil {
		out.Policies = make([]EndpointPolicy, len(ep.Policies))
		for i, p := range ep.Policies {
			out.Policies[i] = EndpointPolicy{Type: EndpointPolicyType(string(p.Type)), Settings: slices.Clone(p.Settings)}
		}
	}
	if ep.IpConfigurations != nil {
		out.IpConfigurations = make([]IpConfig, len(ep.IpConfigurations))
		for i, c := range ep.IpConfigurations {
			out.IpConfigurations[i] = IpConfig{IpAddress: c.IpAddress, PrefixLength: c.PrefixLength}
		}
	}
	return out
}

// fromHCNNetwork converts nw, keeping its policies and address spaces
// (NodeFor reads the RemoteSubnetRoute policies) and dropping what the
// neutral type lacks (MacPool, Dns, Flags, Health).
func fromHCNNetwork(nw *hcn.HostComputeNetwork) HostComputeNetwork {
	out := HostComputeNetwork{
		Id:            nw.Id,
		Name:          nw.Name,
		Type:          string(nw.Type),
		SchemaVersion: SchemaVersion{Major: nw.SchemaVersion.Major, Minor: nw.SchemaVersion.Minor},
	}
	if nw.Policies != nil {
		out.Policies = make([]NetworkPolicy, len(nw.Policies))
		for i, p := range nw.Policies {
			out.Policies[i] = NetworkPolicy{Type: NetworkPolicyType(string(p.Type)), Settings: slices.Clone(p.Settings)}
		}
	}
	if nw.Ipams != nil {
		out.Ipams = make([]Ipam, len(nw.Ipams))
		for i, ipam := range nw.Ipams {
			out.Ipams[i] = Ipam{Type: ipam.Type, Subnets: fromHCNSubnets(ipam.Subnets)}
		}
	}
	return out
}

func fromHCNSubnets(in []hcn.Subnet) []Subnet {
	if in == nil {
		return nil
	}
	out := make([]Subnet, len(in))
	for i, s := range in {
		out[i].IpAddressPrefix = s.IpAddressPrefix
		if s.Policies != nil {
			out[i].Policies = make([]json.RawMessage, len(s.Policies))
			for j, p := range s.Policies {
				out[i].Policies[j] = slices.Clone(p)
			}
		}
		if s.Routes != nil {
			out[i].Routes = make([]Route, len(s.Routes))
			for j, r := range s.Routes {
				out[i].Routes[j] = Route{NextHop: r.NextHop, DestinationPrefix: r.DestinationPrefix, Metric: r.Metric}
			}
		}
	}
	return out
}
