package fake

import (
	"context"
	"fmt"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The hns.Client methods. Each counts the call, waits out its
// latency, fails if an injected fault matches, and otherwise applies HNS's
// rules; a failed call changes nothing.

// ListLoadBalancers returns copies of every load balancer, sorted by ID.
func (h *HNS) ListLoadBalancers(ctx context.Context) ([]hns.HostComputeLoadBalancer, error) {
	const op = hns.OpListLoadBalancers
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	lbs := h.sortedLBs()
	ids := make([]string, len(lbs))
	for i, lb := range lbs {
		ids[i] = lb.Id
	}
	if err := h.injected(op, ids...); err != nil {
		return nil, err
	}
	return lbs, nil
}

// GetLoadBalancer returns a copy of load balancer id (any case). A missing
// one is hcn's LoadBalancerNotFoundError text with code 0x490.
func (h *HNS) GetLoadBalancer(ctx context.Context, id string) (*hns.HostComputeLoadBalancer, error) {
	const op = hns.OpGetLoadBalancer
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	lb, ok := h.lbs[idKey(id)]
	if err := h.injected(op, subjectID(lb.Id, ok, id)); err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFoundError(op, fmt.Sprintf("LoadBalancer %q not found", id))
	}
	out := cloneLB(lb)
	return &out, nil
}

// CreateLoadBalancer validates lb (see the package documentation), stores
// a copy under a new ID and returns a copy of what it stored. lb.Id is
// ignored.
func (h *HNS) CreateLoadBalancer(ctx context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	const op = hns.OpCreateLoadBalancer
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if lb == nil {
		return nil, hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, "nil load balancer")
	}
	var keys []string
	for _, f := range frontends(lb) {
		keys = append(keys, f.String())
	}
	if err := h.injected(op, keys...); err != nil {
		return nil, err
	}
	stored, err := h.checkLoadBalancer(op, *lb, "")
	if err != nil {
		return nil, err
	}
	stored.Id = h.freshID("")
	h.putLB(stored)
	out := cloneLB(stored)
	return &out, nil
}

// UpdateLoadBalancer replaces the content of load balancer id with lb's,
// keeping the ID. As hcn does, it opens the load balancer first (a missing
// one fails with 0x490 from hcnOpenLoadBalancer), then modifies it: on a
// profile without Modify that fails with 0x80004001; otherwise lb gets the
// same validation as a create (a frontend another load balancer holds:
// 0xB7).
//
// On a SilentUpdate profile (HNS 15.4) the modify "succeeds": it returns lb
// as sent (with the ID), but the stored load balancer keeps its old
// HostComputeEndpoints while its other fields change; GetLoadBalancer and
// ListLoadBalancers show the truth (kubernetes#131466).
func (h *HNS) UpdateLoadBalancer(ctx context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	const op = hns.OpUpdateLoadBalancer
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cur, ok := h.lbs[idKey(id)]
	if err := h.injected(op, subjectID(cur.Id, ok, id)); err != nil {
		return nil, err
	}
	if !ok {
		return nil, hcnError(op, "hcnOpenLoadBalancer", hns.CodeNotFound, "no load balancer "+id)
	}
	if lb == nil {
		return nil, hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, "nil load balancer")
	}
	silent := h.profile.SilentUpdate()
	if !h.profile.Capabilities().Modify && !silent {
		return nil, hcnError(op, hcnFunc[op], hns.CodeNotImplemented,
			fmt.Sprintf("HNS %s cannot modify a load balancer", h.profile.Version))
	}
	stored, err := h.checkLoadBalancer(op, *lb, cur.Id)
	if err != nil {
		return nil, err
	}
	stored.Id = cur.Id
	if silent {
		stored.HostComputeEndpoints = cur.HostComputeEndpoints
		h.putLB(stored)
		out := cloneLB(*lb)
		out.Id = cur.Id
		return &out, nil
	}
	h.putLB(stored)
	out := cloneLB(stored)
	return &out, nil
}

// DeleteLoadBalancer deletes load balancer id; a missing one fails with
// 0x490.
func (h *HNS) DeleteLoadBalancer(ctx context.Context, id string) error {
	const op = hns.OpDeleteLoadBalancer
	if err := h.begin(ctx, op); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cur, ok := h.lbs[idKey(id)]
	if err := h.injected(op, subjectID(cur.Id, ok, id)); err != nil {
		return err
	}
	if !ok {
		return hcnError(op, hcnFunc[op], hns.CodeNotFound, "no load balancer "+id)
	}
	h.deleteLB(id)
	return nil
}

// ListEndpoints returns copies of the endpoints on network networkID ("" =
// every network; an unknown network has none), sorted by ID.
func (h *HNS) ListEndpoints(ctx context.Context, networkID string) ([]hns.HostComputeEndpoint, error) {
	const op = hns.OpListEndpoints
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	eps := h.sortedEPs(networkID)
	ids := make([]string, len(eps))
	for i, ep := range eps {
		ids[i] = ep.Id
	}
	if err := h.injected(op, ids...); err != nil {
		return nil, err
	}
	return eps, nil
}

// CreateEndpoint validates ep (see the package documentation), stores a
// copy on network networkID under a new ID and returns a copy of what it
// stored. An unknown network fails with 0x490 from hcnOpenNetwork, as hcn
// opens the network first.
func (h *HNS) CreateEndpoint(ctx context.Context, networkID string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	const op = hns.OpCreateEndpoint
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ep == nil {
		return nil, hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, "nil endpoint")
	}
	var subjects []string
	for _, c := range ep.IpConfigurations {
		subjects = append(subjects, c.IpAddress)
	}
	if ep.Name != "" {
		subjects = append(subjects, ep.Name)
	}
	if err := h.injected(op, subjects...); err != nil {
		return nil, err
	}
	n := h.networkByID(networkID)
	if n == nil {
		return nil, hcnError(op, "hcnOpenNetwork", hns.CodeNotFound, "no network "+networkID)
	}
	stored, err := h.checkEndpoint(*ep, n)
	if err != nil {
		return nil, err
	}
	stored.Id = h.freshID("")
	h.putEP(stored)
	out := cloneEP(stored)
	return &out, nil
}

// DeleteEndpoint deletes endpoint id; a missing one fails with 0x490.
//
// Deleting an endpoint that load balancers still name succeeds: they keep
// a dangling reference (Dump shows "(missing <id>)", Trace skips it). HNS
// does not protect its callers here either; whoever programs load
// balancers must delete them before their endpoints.
func (h *HNS) DeleteEndpoint(ctx context.Context, id string) error {
	const op = hns.OpDeleteEndpoint
	if err := h.begin(ctx, op); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cur, ok := h.eps[idKey(id)]
	if err := h.injected(op, subjectID(cur.Id, ok, id)); err != nil {
		return err
	}
	if !ok {
		return hcnError(op, hcnFunc[op], hns.CodeNotFound, "no endpoint "+id)
	}
	h.deleteEP(id)
	return nil
}

// GetNetworkByName returns the first network added with exactly that name.
// A missing one is hcn's NetworkNotFoundError text with code 0x490.
func (h *HNS) GetNetworkByName(ctx context.Context, name string) (*hns.HostComputeNetwork, error) {
	const op = hns.OpGetNetwork
	if err := h.begin(ctx, op); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.injected(op, name); err != nil {
		return nil, err
	}
	for _, n := range h.networks {
		if n.name == name {
			out := n.hcn()
			return &out, nil
		}
	}
	return nil, notFoundError(op, fmt.Sprintf("Network name %q not found", name))
}

// Version returns the profile's version.
func (h *HNS) Version(ctx context.Context) (lbpolicy.Version, error) {
	const op = hns.OpVersion
	if err := h.begin(ctx, op); err != nil {
		return lbpolicy.Version{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.injected(op); err != nil {
		return lbpolicy.Version{}, err
	}
	return h.profile.Version, nil
}

// subjectID is the ID a fault's Match sees: the stored spelling when the
// object exists, else the one passed.
func subjectID(stored string, ok bool, passed string) string {
	if ok {
		return stored
	}
	return strings.TrimSpace(passed)
}
