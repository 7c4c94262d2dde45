package fake

import (
	"fmt"
	"hash/maphash"
	"net/netip"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Requests. A create or an update checks what it was sent against the
// rules that need no state, and copies it, before it takes the fake's
// lock (prepareLB, prepareEP): the profile is fixed at New, so these
// checks read nothing that changes, and concurrent callers wait for the
// lock only while another call looks up and changes the state. The call
// still decides under the lock, in HNS's order: a missing object or an
// injected fault comes before what the request breaks.

// lbRequest is a load balancer sent to CreateLoadBalancer or
// UpdateLoadBalancer, as prepareLB left it.
type lbRequest struct {
	err  error     // the first rule needing no state that it breaks, or nil
	sent []string  // its endpoint references as sent
	c    *lbCopies // the copies to store and answer, if err is nil
	// keyed: the stored copy's references are ID keys, their hashes set
	// (a create). An update leaves them as sent until resolve, which
	// skips those it finds in the load balancer updated.
	keyed bool
}

// lbCopies holds the entry to store and the answer of a create or an
// update. The stored entry keeps the answer's memory, a few hundred
// bytes, for as long as it is stored.
type lbCopies struct {
	entry  lbEntry
	answer hns.HostComputeLoadBalancer
	pms    [2]hns.LoadBalancerPortMapping // [0] the stored one's, [1] the answer's
}

// smallLBCopies and usualLBCopies hold lbCopies with room for the
// slices of a load balancer of up to 4 (10) references and one VIP: its
// reference caches and the strings of both copies (references and VIPs),
// so that a create or an update costs one allocation. Their sizes, 592
// and 880 bytes, are just under size classes of the runtime's (640, 896).
type smallLBCopies struct {
	lbCopies
	refs [4]refCache
	strs [10]string
}

type usualLBCopies struct {
	lbCopies
	refs [10]refCache
	strs [22]string
}

// prepareLB checks lb, sent with op, against the rules that need no state
// (checkLBRequest) and, if it passes, copies it (newLBCopies).
func (h *HNS) prepareLB(op hns.Op, lb *hns.HostComputeLoadBalancer) lbRequest {
	if err := h.checkLBRequest(op, lb); err != nil {
		return lbRequest{err: err}
	}
	keyed := op != hns.OpUpdateLoadBalancer
	return lbRequest{sent: lb.HostComputeEndpoints, c: h.newLBCopies(lb, keyed), keyed: keyed}
}

// checkLBRequest applies to lb the rules that need no state, in HNS's
// order: a nil lb; for an update, whether this version can modify a load
// balancer; then the request as a document, what this HNS version can
// do, the addresses, the internal port, and at least one endpoint
// reference. Those needing state (which endpoints exist, which frontends
// are held) come after them (checkLB).
func (h *HNS) checkLBRequest(op hns.Op, lb *hns.HostComputeLoadBalancer) error {
	if lb == nil {
		return hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, "nil load balancer")
	}
	if op == hns.OpUpdateLoadBalancer && !h.caps.Modify && !h.profile.SilentUpdate() {
		return hcnError(op, hcnFunc[op], hns.CodeNotImplemented,
			fmt.Sprintf("HNS %s cannot modify a load balancer", h.profile.Version))
	}
	if err := checkLBDocument(op, lb); err != nil {
		return err
	}
	if err := h.checkLBCapabilities(op, lb); err != nil {
		return err
	}
	if err := checkLBAddresses(op, lb); err != nil {
		return err
	}
	if lb.PortMappings[0].InternalPort == 0 {
		return hcnError(op, hcnFunc[op], codeInvalidInternalPort, "InternalPort is 0")
	}
	if len(lb.HostComputeEndpoints) == 0 {
		return hcnError(op, hcnFunc[op], hns.CodeInvalidReference, "no HostComputeEndpoints")
	}
	return nil
}

// newLBCopies copies lb twice: the entry to store, whose endpoint
// references are ID keys (keyed; else as sent) until resolve spells them
// as the endpoints' IDs, and the answer, whose references resolve sets.
// lb has one port mapping (checkLBDocument). The copies share no memory
// that either can reach (each slice is capped at its length), so the
// caller may change the answer, or append to its slices, without
// touching the stored one.
func (h *HNS) newLBCopies(lb *hns.HostComputeLoadBalancer, keyed bool) *lbCopies {
	n, v := len(lb.HostComputeEndpoints), len(lb.FrontendVIPs)
	c, refs, strs := allocLBCopies(n, 2*(n+v)) // strs: the stored copy's refs and VIPs, then the answer's
	c.entry.lb, c.answer, c.entry.refs = *lb, *lb, refs
	copy(strs, lb.HostComputeEndpoints)
	if keyed {
		for i, id := range lb.HostComputeEndpoints {
			strs[i] = idKey(id)
			refs[i].hash = h.refHash(strs[i])
		}
	}
	copy(strs[n:], lb.FrontendVIPs)
	copy(strs[2*n+v:], lb.FrontendVIPs)
	c.pms[0], c.pms[1] = lb.PortMappings[0], lb.PortMappings[0]
	s, a := &c.entry.lb, &c.answer
	s.HostComputeEndpoints, s.PortMappings = strs[:n:n], c.pms[0:1:1]
	a.HostComputeEndpoints, a.PortMappings = strs[n+v:2*n+v:2*n+v], c.pms[1:2:2]
	if lb.FrontendVIPs != nil {
		s.FrontendVIPs, a.FrontendVIPs = strs[n:n+v:n+v], strs[2*n+v:]
	}
	c.entry.index()
	return c
}

// allocLBCopies returns new copies with room for refs reference caches
// and strs strings: in one allocation when they fit (smallLBCopies,
// usualLBCopies).
func allocLBCopies(refs, strs int) (*lbCopies, []refCache, []string) {
	switch {
	case refs <= len(smallLBCopies{}.refs) && strs <= len(smallLBCopies{}.strs):
		x := new(smallLBCopies)
		return &x.lbCopies, x.refs[:refs:refs], x.strs[:strs:strs]
	case refs <= len(usualLBCopies{}.refs) && strs <= len(usualLBCopies{}.strs):
		x := new(usualLBCopies)
		return &x.lbCopies, x.refs[:refs:refs], x.strs[:strs:strs]
	}
	return new(lbCopies), make([]refCache, refs), make([]string, strs)
}

// refHash is the hash of an endpoint's ID key k by which a load balancer
// finds what its reference to k resolved to (lbEntry.cached).
func (h *HNS) refHash(k string) uint64 { return maphash.String(h.refSeed, k) }

// epRequest is an endpoint sent to CreateEndpoint, as prepareEP left it.
type epRequest struct {
	err error
	// stored is the copy to store: its IP addresses normalized, its MAC
	// set; the call sets its network and ID.
	stored *hns.HostComputeEndpoint
	spare  *epCopy // room for the answer beside stored; nil if ep is of an unusual shape
}

// prepareEP checks ep against the rules that need no state
// (checkEPRequest) and, if it passes, copies it as HNS would store it.
func prepareEP(ep *hns.HostComputeEndpoint) epRequest {
	if err := checkEPRequest(ep); err != nil {
		return epRequest{err: err}
	}
	var r epRequest
	if usualShape(ep) { // both copies in one allocation
		pair := new([2]epCopy)
		r.stored, r.spare = pair[0].set(ep), &pair[1]
	} else {
		r.stored = copyEP(ep)
	}
	for i, c := range r.stored.IpConfigurations {
		r.stored.IpConfigurations[i].IpAddress = normAddr(c.IpAddress)
	}
	if r.stored.MacAddress == "" {
		r.stored.MacAddress = localMAC(r.stored.IpConfigurations[0].IpAddress, ep.Name)
	}
	return r
}

// answer returns a copy of the stored endpoint, for the call's answer.
func (r epRequest) answer() *hns.HostComputeEndpoint {
	if r.spare != nil {
		return r.spare.set(r.stored)
	}
	return copyEP(r.stored)
}

// checkEPRequest applies to ep the rules that need no state, in HNS's
// order: a nil ep, the SchemaVersion, the IP addresses, the MAC. Those
// needing its network and the other endpoints come after them (checkEP).
func checkEPRequest(ep *hns.HostComputeEndpoint) error {
	const op = hns.OpCreateEndpoint
	invalid := func(format string, args ...any) error {
		return hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, fmt.Sprintf(format, args...))
	}
	if ep == nil {
		return invalid("nil endpoint")
	}
	if ep.SchemaVersion != hns.V2SchemaVersion() {
		return invalid("SchemaVersion %d.%d: want 2.0", ep.SchemaVersion.Major, ep.SchemaVersion.Minor)
	}
	if len(ep.IpConfigurations) == 0 {
		return invalid("no IpConfigurations (the fake does no IP address management)")
	}
	for _, c := range ep.IpConfigurations {
		if plainIPv4(c.IpAddress) {
			continue
		}
		if _, err := netip.ParseAddr(c.IpAddress); err != nil {
			return invalid("IpAddress %q is not an IP address", c.IpAddress)
		}
	}
	switch {
	case ep.MacAddress != "":
		if err := checkMAC(ep.MacAddress); err != nil {
			return invalid("MacAddress %q: %v", ep.MacAddress, err)
		}
	case ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0:
		return invalid("a remote endpoint needs a MacAddress")
	}
	return nil
}
