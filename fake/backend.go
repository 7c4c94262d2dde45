package fake

import (
	"context"
	"fmt"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The hns.Client methods. Each runs through do: it counts the call, waits
// out its latency, fails if an injected fault matches, otherwise applies
// HNS's rules, and logs the call; a failed call changes nothing (unless a
// FailAfter fault failed it after it took effect).

// ListLoadBalancers returns copies of every load balancer, sorted by ID.
func (h *HNS) ListLoadBalancers(ctx context.Context) ([]hns.HostComputeLoadBalancer, error) {
	const op = hns.OpListLoadBalancers
	var out []hns.HostComputeLoadBalancer
	err := h.do(ctx, op, nil, func(*callIDs) error {
		lbs := h.sortedLBs()
		if err := h.injected(op, h.listSubjects(len(lbs), func(i int) string { return lbs[i].Id })...).err; err != nil {
			return err
		}
		out = lbs
		return nil
	})
	return out, err
}

// GetLoadBalancer returns a copy of load balancer id (any case). A missing
// one is hcn's LoadBalancerNotFoundError text with code 0x490.
func (h *HNS) GetLoadBalancer(ctx context.Context, id string) (*hns.HostComputeLoadBalancer, error) {
	const op = hns.OpGetLoadBalancer
	var out *hns.HostComputeLoadBalancer
	k := idKey(id)
	err := h.do(ctx, op, []string{id}, func(c *callIDs) error {
		e, ok := h.lbs[k]
		c.set(subjectID(e.id(), ok, id))
		if err := h.injected(op, c.list()...).err; err != nil {
			return err
		}
		if !ok {
			return notFoundError(op, fmt.Sprintf("LoadBalancer %q not found", id))
		}
		got := cloneLB(e.lb)
		out = &got
		return nil
	})
	return out, err
}

// CreateLoadBalancer validates lb (see the package documentation), stores
// a copy under a new ID and returns a copy of what it stored. lb.Id is
// ignored.
func (h *HNS) CreateLoadBalancer(ctx context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	const op = hns.OpCreateLoadBalancer
	var out *hns.HostComputeLoadBalancer
	r := h.prepareLB(op, lb) // before the lock
	err := h.do(ctx, op, nil, func(c *callIDs) error {
		if lb == nil {
			return r.err
		}
		var keys []string
		if len(h.faults) > 0 { // what a fault may match, only when one may
			for _, f := range frontends(lb) {
				keys = append(keys, f.String())
			}
		}
		f := h.injected(op, keys...)
		if err := f.before(); err != nil {
			return err
		}
		if err := h.checkLB(op, r, "", nil); err != nil {
			return f.answer(err)
		}
		stored := &r.c.entry
		stored.lb.Id = h.freshID("")
		h.replaceLB(idKey(stored.lb.Id), stored, nil)
		c.set(stored.lb.Id)
		if err := f.answer(nil); err != nil {
			return err
		}
		got := &r.c.answer
		got.Id = stored.lb.Id
		if !f.answersWithID() {
			got.Id = ""
		}
		out = got
		return nil
	})
	return out, err
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
	var out *hns.HostComputeLoadBalancer
	k, r := idKey(id), h.prepareLB(op, lb) // before the lock
	err := h.do(ctx, op, []string{id}, func(c *callIDs) error {
		cur, ok := h.lbs[k]
		c.set(subjectID(cur.id(), ok, id))
		f := h.injected(op, c.list()...)
		if err := f.before(); err != nil {
			return err
		}
		if !ok {
			return f.answer(hcnError(op, "hcnOpenLoadBalancer", hns.CodeNotFound, "no load balancer "+id))
		}
		got, err := h.updateLoadBalancer(k, cur, lb, r)
		if err = f.answer(err); err != nil {
			return err
		}
		if !f.answersWithID() {
			got.Id = ""
		}
		out = got
		return nil
	})
	return out, err
}

// updateLoadBalancer applies r, the update of cur (stored under ID key k)
// to lb, once cur is found, and returns the answer. Call with h.mu held.
func (h *HNS) updateLoadBalancer(k string, cur *lbEntry, lb *hns.HostComputeLoadBalancer, r lbRequest) (*hns.HostComputeLoadBalancer, error) {
	if err := h.checkLB(hns.OpUpdateLoadBalancer, r, k, cur); err != nil {
		return nil, err
	}
	stored := &r.c.entry
	stored.lb.Id = cur.lb.Id
	if h.profile.SilentUpdate() {
		stored.lb.HostComputeEndpoints, stored.refs = cur.lb.HostComputeEndpoints, cur.refs
		h.replaceLB(k, stored, cur.fronts)
		sent := cloneLB(*lb)
		sent.Id = cur.lb.Id
		return &sent, nil
	}
	h.replaceLB(k, stored, cur.fronts)
	r.c.answer.Id = cur.lb.Id
	return &r.c.answer, nil
}

// DeleteLoadBalancer deletes load balancer id; a missing one fails with
// 0x490.
func (h *HNS) DeleteLoadBalancer(ctx context.Context, id string) error {
	const op = hns.OpDeleteLoadBalancer
	k := idKey(id)
	return h.do(ctx, op, []string{id}, func(c *callIDs) error {
		cur, ok := h.lbs[k]
		c.set(subjectID(cur.id(), ok, id))
		f := h.injected(op, c.list()...)
		if err := f.before(); err != nil {
			return err
		}
		if !ok {
			return f.answer(hcnError(op, hcnFunc[op], hns.CodeNotFound, "no load balancer "+id))
		}
		h.dropLB(k, cur)
		return f.answer(nil)
	})
}

// ListEndpoints returns copies of the endpoints on network networkID ("" =
// every network; an unknown network has none), sorted by ID.
func (h *HNS) ListEndpoints(ctx context.Context, networkID string) ([]hns.HostComputeEndpoint, error) {
	const op = hns.OpListEndpoints
	var out []hns.HostComputeEndpoint
	err := h.do(ctx, op, nonEmpty(networkID), func(*callIDs) error {
		eps := h.sortedEPs(networkID)
		if err := h.injected(op, h.listSubjects(len(eps), func(i int) string { return eps[i].Id })...).err; err != nil {
			return err
		}
		out = eps
		return nil
	})
	return out, err
}

// CreateEndpoint validates ep (see the package documentation), stores a
// copy on network networkID under a new ID and returns a copy of what it
// stored. An unknown network fails with 0x490 from hcnOpenNetwork, as hcn
// opens the network first.
func (h *HNS) CreateEndpoint(ctx context.Context, networkID string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	const op = hns.OpCreateEndpoint
	var answered, withID bool
	r := prepareEP(ep) // before the lock
	err := h.do(ctx, op, []string{networkID}, func(c *callIDs) error {
		if ep == nil {
			return r.err
		}
		var subjects []string
		if len(h.faults) > 0 { // what a fault may match, only when one may
			for _, cfg := range ep.IpConfigurations {
				subjects = append(subjects, cfg.IpAddress)
			}
			if ep.Name != "" {
				subjects = append(subjects, ep.Name)
			}
		}
		f := h.injected(op, subjects...)
		if err := f.before(); err != nil {
			return err
		}
		n := h.networkByID(networkID)
		if n == nil {
			return f.answer(hcnError(op, "hcnOpenNetwork", hns.CodeNotFound, "no network "+networkID))
		}
		c.set(n.id) // and the new endpoint's
		if err := h.checkEP(r, n); err != nil {
			return f.answer(err)
		}
		stored := r.stored
		stored.HostComputeNetwork = n.id
		stored.Id = h.freshID("")
		h.putEP(stored)
		c.add(stored.Id)
		if err := f.answer(nil); err != nil {
			return err
		}
		answered, withID = true, f.answersWithID()
		return nil
	})
	if !answered {
		return nil, err
	}
	// The answer is copied once the lock is let go: a stored endpoint
	// is never changed in place, so this call's still holds what it
	// stored.
	out := r.answer()
	if !withID {
		out.Id = ""
	}
	return out, err
}

// DeleteEndpoint deletes endpoint id; a missing one fails with 0x490.
//
// Deleting an endpoint that load balancers still name succeeds: they keep
// a dangling reference (Dump shows "(missing <id>)", Trace skips it). HNS
// does not protect its callers here either; whoever programs load
// balancers must delete them before their endpoints.
func (h *HNS) DeleteEndpoint(ctx context.Context, id string) error {
	const op = hns.OpDeleteEndpoint
	k := idKey(id)
	return h.do(ctx, op, []string{id}, func(c *callIDs) error {
		cur, ok := h.eps[k]
		c.set(subjectID(epID(cur.ep), ok, id))
		f := h.injected(op, c.list()...)
		if err := f.before(); err != nil {
			return err
		}
		if !ok {
			return f.answer(hcnError(op, hcnFunc[op], hns.CodeNotFound, "no endpoint "+id))
		}
		h.dropEP(k, cur)
		return f.answer(nil)
	})
}

// GetNetworkByName returns the first network added with exactly that name.
// A missing one is hcn's NetworkNotFoundError text with code 0x490.
func (h *HNS) GetNetworkByName(ctx context.Context, name string) (*hns.HostComputeNetwork, error) {
	const op = hns.OpGetNetwork
	var out *hns.HostComputeNetwork
	err := h.do(ctx, op, nil, func(c *callIDs) error {
		if err := h.injected(op, name).err; err != nil {
			return err
		}
		for _, n := range h.networks {
			if n.name == name {
				got := n.hcn()
				c.set(n.id)
				out = &got
				return nil
			}
		}
		return notFoundError(op, fmt.Sprintf("Network name %q not found", name))
	})
	return out, err
}

// Version returns the profile's version.
func (h *HNS) Version(ctx context.Context) (lbpolicy.Version, error) {
	const op = hns.OpVersion
	var out lbpolicy.Version
	err := h.do(ctx, op, nil, func(*callIDs) error {
		if err := h.injected(op).err; err != nil {
			return err
		}
		out = h.profile.Version
		return nil
	})
	return out, err
}

// nonEmpty returns []string{id}, or nil for "".
func nonEmpty(id string) []string {
	if id == "" {
		return nil
	}
	return []string{id}
}

// id returns e's ID, "" for none (nil).
func (e *lbEntry) id() string {
	if e == nil {
		return ""
	}
	return e.lb.Id
}

// epID returns ep's ID, "" for none (nil).
func epID(ep *hns.HostComputeEndpoint) string {
	if ep == nil {
		return ""
	}
	return ep.Id
}

// subjectID is the ID a fault's Match sees: the stored spelling when the
// object exists, else the one passed.
func subjectID(stored string, ok bool, passed string) string {
	if ok {
		return stored
	}
	return strings.TrimSpace(passed)
}

// listSubjects returns the IDs of a list's n objects (id(i) of each): the
// subjects a fault may match. Without faults there is nothing to match,
// and nothing is allocated.
func (h *HNS) listSubjects(n int, id func(i int) string) []string {
	if len(h.faults) == 0 {
		return nil
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = id(i)
	}
	return ids
}
