package lbpolicy

import (
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/endpoints"
)

// planner plans one Service at a time for a Tracker, in memory it reuses:
// its computer's lists and arenas are scratch, and keep copies out only
// what the Service's output holds, sharing what did not change with the
// previous output. Guarded by the Tracker's lock.
type planner struct {
	c      computer
	merger endpoints.Merger
	// Per load balancer of the output being kept: where its backends,
	// remote backends and frontend VIPs come from (listSource).
	backends, remotes, vips []int
}

// plan plans svc's Service alone and returns its output, sharing old's
// lists where they are equal.
func (p *planner) plan(n *node, st *serviceState, old *serviceOutput) serviceOutput {
	c := &p.c
	c.node, c.merger, c.objectHint = n, &p.merger, st.object
	c.lbs, c.remotes, c.endpoints, c.diags = c.lbs[:0], c.remotes[:0], c.endpoints[:0], c.diags[:0]
	if c.backendArena.chunk == 0 {
		c.backendArena.chunk, c.addrArena.chunk = 256, 64
	}
	c.backendArena.reuse()
	c.addrArena.reuse()
	c.service(st.svc, st.slices)
	out := p.keep(old)
	// Nothing of the scratch lists may outlive the next plan: drop what
	// they point to (strings of diagnostics, slices' hints).
	clear(c.lbs)
	clear(c.remotes)
	clear(c.endpoints)
	clear(c.diags)
	return out
}

// keep returns the computer's output in memory of its own: old's lists
// where they are equal, else one array per kind of list. It drops remote
// backend lists that repeat all the backends (the computer makes none
// where every endpoint is remote; where some are dropped for their port,
// it may).
func (p *planner) keep(old *serviceOutput) serviceOutput {
	c := &p.c
	out := serviceOutput{diags: old.diags, endpoints: old.endpoints}
	if !slices.Equal(c.diags, old.diags) {
		out.diags = cloneOrNil(c.diags)
	}
	if !slices.Equal(c.endpoints, old.endpoints) {
		out.endpoints = cloneOrNil(c.endpoints)
	}
	remotes := c.remotes
	all := true
	for i, rs := range remotes {
		if len(rs) > 0 && sameIPs(rs, c.lbs[i].Backends) {
			remotes[i] = nil
		}
		all = all && remotes[i] == nil
	}
	if all {
		remotes = nil
	}
	if sameOutputLBs(c.lbs, remotes, old) {
		out.lbs, out.remotes = old.lbs, old.remotes
		return out
	}
	if len(c.lbs) > 0 {
		out.lbs, out.remotes = p.keepLBs(old, remotes)
	}
	return out
}

// keepLBs returns the computer's load balancers, with remote backend lists
// remotes, in memory of their own but for the lists they share with old.
func (p *planner) keepLBs(old *serviceOutput, remotes [][]netip.Addr) ([]LoadBalancer, [][]netip.Addr) {
	c := &p.c
	lbs := make([]LoadBalancer, len(c.lbs))
	copy(lbs, c.lbs)
	var keptRemotes [][]netip.Addr
	if remotes != nil {
		keptRemotes = make([][]netip.Addr, len(c.lbs))
	}
	nb, na := p.sources(old, remotes)
	backendMem := make([]Backend, 0, nb)
	addrMem := make([]netip.Addr, 0, na)
	for i := range lbs {
		lb := &lbs[i]
		lb.Backends, backendMem = keepList(lb.Backends, p.backends[i], backendMem, func(j int) []Backend {
			if j < 0 {
				return old.lbs[i].Backends
			}
			return lbs[j].Backends
		})
		lb.FrontendVIPs, addrMem = keepList(lb.FrontendVIPs, p.vips[i], addrMem, func(j int) []netip.Addr {
			if j < 0 {
				return old.lbs[i].FrontendVIPs
			}
			return lbs[j].FrontendVIPs
		})
		if remotes != nil && remotes[i] != nil {
			keptRemotes[i], addrMem = keepList(remotes[i], p.remotes[i], addrMem, func(j int) []netip.Addr {
				if j < 0 {
					return old.remotesList(i)
				}
				return keptRemotes[j]
			})
		}
	}
	return lbs, keptRemotes
}

// sources decides where keepLBs takes each list from (listSource) and
// returns how many backends and addresses it copies.
func (p *planner) sources(old *serviceOutput, remotes [][]netip.Addr) (nb, na int) {
	c := &p.c
	p.backends, p.remotes, p.vips = p.backends[:0], p.remotes[:0], p.vips[:0]
	for i := range c.lbs {
		var oldLB *LoadBalancer
		var oldRemotes []netip.Addr
		hasOld := i < len(old.lbs)
		if hasOld {
			oldLB = &old.lbs[i]
			oldRemotes = old.remotesList(i)
		}
		b := listSource(c.lbs, i, hasOld, func(lb *LoadBalancer) []Backend { return lb.Backends }, func() []Backend { return oldLB.Backends })
		v := listSource(c.lbs, i, hasOld, func(lb *LoadBalancer) []netip.Addr { return lb.FrontendVIPs }, func() []netip.Addr { return oldLB.FrontendVIPs })
		r := sourceOld
		if remotes != nil {
			r = listSourceIn(remotes, i, hasOld && old.remotes != nil, oldRemotes)
		}
		p.backends, p.vips, p.remotes = append(p.backends, b), append(p.vips, v), append(p.remotes, r)
		if b == sourceCopy {
			nb += len(c.lbs[i].Backends)
		}
		if v == sourceCopy {
			na += len(c.lbs[i].FrontendVIPs)
		}
		if r == sourceCopy {
			na += len(remotes[i])
		}
	}
	return nb, na
}

// Where keep takes a list from: the old output's list at the same index
// (sourceOld), a copy carved from the output's own array (sourceCopy), or,
// when >= 0, the list kept for an earlier load balancer that shared the
// same scratch list (the kinds of one port share their backends).
const (
	sourceOld  = -2
	sourceCopy = -1
)

// listSource returns where lbs[i]'s list (get) is kept from; old gives the
// old output's list at i, when hasOld.
func listSource[T comparable](lbs []LoadBalancer, i int, hasOld bool, get func(*LoadBalancer) []T, old func() []T) int {
	l := get(&lbs[i])
	if len(l) == 0 || hasOld && slices.Equal(l, old()) {
		return sourceOld
	}
	for j := i - 1; j >= max(0, i-8); j-- {
		if e := get(&lbs[j]); len(e) == len(l) && &e[0] == &l[0] {
			return j
		}
	}
	return sourceCopy
}

// listSourceIn is listSource for the remote backend lists.
func listSourceIn(lists [][]netip.Addr, i int, hasOld bool, old []netip.Addr) int {
	l := lists[i]
	if len(l) == 0 || hasOld && old != nil && slices.Equal(l, old) {
		return sourceOld
	}
	for j := i - 1; j >= max(0, i-8); j-- {
		if e := lists[j]; len(e) == len(l) && &e[0] == &l[0] {
			return j
		}
	}
	return sourceCopy
}

// keepList returns l kept from src: l itself when empty (it points at no
// scratch memory), at(-1) for the old list, at(j) for an earlier one, or
// a copy appended to mem, and what is left of mem.
func keepList[T any](l []T, src int, mem []T, at func(int) []T) ([]T, []T) {
	switch {
	case l == nil:
		return nil, mem
	case len(l) == 0:
		return []T{}, mem // allocates nothing, and points at no scratch memory
	case src == sourceOld:
		return at(-1), mem
	case src >= 0:
		return at(src), mem
	}
	n := len(mem)
	mem = append(mem, l...)
	return mem[n:len(mem):len(mem)], mem
}

// remotesList returns load balancer i's remote backend list as kept: nil
// when they are all its backends.
func (o *serviceOutput) remotesList(i int) []netip.Addr {
	if o.remotes == nil {
		return nil
	}
	return o.remotes[i]
}

// sameOutputLBs reports whether the load balancers lbs, with remote
// backend lists remotes, are old's.
func sameOutputLBs(lbs []LoadBalancer, remotes [][]netip.Addr, old *serviceOutput) bool {
	if len(lbs) != len(old.lbs) || (remotes == nil) != (old.remotes == nil) {
		return false
	}
	for i := range lbs {
		if !equalLoadBalancers(&lbs[i], &old.lbs[i]) || (lbs[i].FrontendVIPs == nil) != (old.lbs[i].FrontendVIPs == nil) {
			return false
		}
		if remotes != nil && !sameRemotes(remotes[i], old.remotes[i]) {
			return false
		}
	}
	return true
}

// sameRemotes compares two kept remote backend lists, nil (all the
// backends) apart from empty (none).
func sameRemotes(a, b []netip.Addr) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

// cloneOrNil returns a copy of s, nil when s is empty.
func cloneOrNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
