package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Origin says where a traced flow comes from.
type Origin int

// The origins of a flow. The zero Origin is invalid, so that a Flow must
// say where it comes from.
const (
	// FromPod is a pod on this node.
	FromPod Origin = iota + 1
	// FromNode is the host itself (its root or management vNIC).
	FromNode
	// FromOutside is a client off the node, arriving at a node IP or a VIP.
	FromOutside
)

// String returns the origin's name.
func (o Origin) String() string {
	switch o {
	case FromPod:
		return "FromPod"
	case FromNode:
		return "FromNode"
	case FromOutside:
		return "FromOutside"
	}
	return fmt.Sprintf("Origin(%d)", int(o))
}

// Flow is the first packet of a connection, as Trace sees it.
type Flow struct {
	// Origin is where the client is.
	Origin Origin
	// Source is the client's IP address (optional; if set it must be an IP
	// address of Destination's family).
	Source string
	// Protocol is 6 (TCP) or 17 (UDP).
	Protocol uint32
	// Destination is the IP address the client sends to.
	Destination string
	// Port is the destination port.
	Port uint16
	// NodeIPs are this node's IP addresses, one per family: the addresses a
	// NodePort load balancer answers on, and the SNAT source of an
	// L2Bridge load balancer.
	NodeIPs []string
}

// String renders the flow for errors, e.g. "TCP 10.96.0.10:80 from pod".
func (f Flow) String() string {
	dst := f.Destination
	if a, err := netip.ParseAddr(dst); err == nil && a.Is6() {
		dst = "[" + dst + "]"
	}
	return fmt.Sprintf("%s %s:%d from %s", lbpolicy.Protocol(f.Protocol), dst, f.Port,
		strings.ToLower(strings.TrimPrefix(f.Origin.String(), "From")))
}

// TraceResult is what HNS would do with a flow.
type TraceResult struct {
	// LoadBalancerID is the load balancer that answers.
	LoadBalancerID string
	// Backends are the endpoints that may answer, by IP address ("<name>"
	// for an endpoint without one), sorted (IPs by value first).
	Backends []string
	// Local are the Backends that are local endpoints (not remote).
	Local []string
	// Missing are endpoint IDs the load balancer names that no longer
	// exist (deleted under it); no traffic goes there.
	Missing []string
	// InternalPort is the port the backends receive on.
	InternalPort uint16
	// DSR reports direct server return: replies bypass the load balancer.
	DSR bool
	// SNATSource is the source address the backends see; "" means the
	// client's own address is preserved.
	SNATSource string
}

// Errors Trace wraps.
var (
	// ErrNoRoute: no load balancer answers the flow (HNS would not
	// intercept it).
	ErrNoRoute = errors.New("no load balancer answers")
	// ErrAmbiguousRoute: several load balancers answer the flow, which
	// HNS's create rules prevent; only seeded objects (AddLoadBalancer)
	// can get here.
	ErrAmbiguousRoute = errors.New("several load balancers answer")
)

// Trace says which load balancer answers flow f and what happens to it.
// The model is deliberately simple; real HNS (VFP rules per port) is more
// subtle where noted.
//
// Matching: a load balancer answers when one of its port mappings has f's
// protocol and port, its IPv6 flag matches Destination's family, and
//   - it has a frontend VIP equal to Destination (ClusterIP, ExternalIP,
//     ingress IP, health check), from any origin; or
//   - it has no frontend VIP (NodePort) and Destination is one of
//     f.NodeIPs; from FromNode only if the port mapping has
//     LocalRoutedVIP (without it, HNS does not intercept the host's own
//     traffic to its node IP).
//
// A VIP match wins over a NodePort match (an ExternalIP equal to a node
// IP). None ⇒ an error wrapping ErrNoRoute; several of one kind ⇒
// ErrAmbiguousRoute. Real HNS is more subtle: it does not check whether a
// client outside the node could route to a ClusterIP at all, nor model ILB,
// UseMux and PreserveDIP, nor the health-check port forwarding.
//
// Result: Backends are the load balancer's endpoints that exist; DSR is
// the load balancer's DSR flag. SNATSource: with DSR, "" (the client IP is
// preserved); else the load balancer's SourceVIP (Overlay); else, with no
// SourceVIP (L2Bridge), the first of f.NodeIPs in Destination's family.
// Real HNS decides SNAT in VFP rules, per flow, with more cases than these.
//
// Trace is not a Client call: it is not counted, and faults and latency
// do not apply.
func (h *HNS) Trace(f Flow) (TraceResult, error) {
	dst, err := f.check()
	if err != nil {
		return TraceResult{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	lb, pm, err := h.answering(f, dst)
	if err != nil {
		return TraceResult{}, err
	}
	r := TraceResult{
		LoadBalancerID: lb.Id,
		InternalPort:   pm.InternalPort,
		DSR:            lb.Flags&lbpolicy.FlagDSR != 0,
	}
	h.addBackends(&r, lb)
	switch {
	case r.DSR:
	case lb.SourceVIP != "":
		r.SNATSource = lb.SourceVIP
	default:
		r.SNATSource = f.nodeIP(dst.Is6())
	}
	return r, nil
}

// check validates f and returns its destination, unmapped.
func (f Flow) check() (netip.Addr, error) {
	if f.Origin < FromPod || f.Origin > FromOutside {
		return netip.Addr{}, fmt.Errorf("fake: trace: flow origin %v is not FromPod, FromNode or FromOutside", f.Origin)
	}
	dst, err := netip.ParseAddr(f.Destination)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("fake: trace: destination: %w", err)
	}
	dst = dst.Unmap()
	if f.Source != "" {
		src, err := netip.ParseAddr(f.Source)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("fake: trace: source: %w", err)
		}
		if src.Unmap().Is6() != dst.Is6() {
			return netip.Addr{}, fmt.Errorf("fake: trace: source %s and destination %s are of different families", f.Source, f.Destination)
		}
	}
	return dst, nil
}

// toNode reports whether dst is one of f.NodeIPs.
func (f Flow) toNode(dst netip.Addr) bool {
	for _, n := range f.NodeIPs {
		if a, err := netip.ParseAddr(n); err == nil && a.Unmap() == dst {
			return true
		}
	}
	return false
}

// nodeIP returns the first of f.NodeIPs of the family v6 says, or "".
func (f Flow) nodeIP(v6 bool) string {
	for _, n := range f.NodeIPs {
		if a, err := netip.ParseAddr(n); err == nil && a.Unmap().Is6() == v6 {
			return a.Unmap().String()
		}
	}
	return ""
}

// answering returns the load balancer that answers f (sent to dst) and
// the port mapping that matched, or an error wrapping ErrNoRoute or
// ErrAmbiguousRoute. Call with h.mu held.
func (h *HNS) answering(f Flow, dst netip.Addr) (hns.HostComputeLoadBalancer, hns.LoadBalancerPortMapping, error) {
	toNode := f.toNode(dst)
	var byVIP, byNode []hns.HostComputeLoadBalancer
	var pmOf = map[string]hns.LoadBalancerPortMapping{}
	// The stored objects themselves, read only: what Trace returns holds
	// none of their slices.
	for _, lb := range h.lbOrder.values(len(h.lbs), h.getLB, copyLBs) {
		if (lb.Flags&lbpolicy.FlagIPv6 != 0) != dst.Is6() {
			continue
		}
		pm, viaVIP, ok := matchFlow(lb, f, dst, toNode)
		switch {
		case !ok:
			continue
		case viaVIP:
			byVIP = append(byVIP, lb)
		default:
			byNode = append(byNode, lb)
		}
		pmOf[lb.Id] = pm
	}
	matches := byVIP
	if len(matches) == 0 {
		matches = byNode
	}
	switch len(matches) {
	case 0:
		return hns.HostComputeLoadBalancer{}, hns.LoadBalancerPortMapping{}, fmt.Errorf("fake: trace %s: %w", f, ErrNoRoute)
	case 1:
		return matches[0], pmOf[matches[0].Id], nil
	}
	ids := make([]string, len(matches))
	for i, lb := range matches {
		ids[i] = lb.Id
	}
	return hns.HostComputeLoadBalancer{}, hns.LoadBalancerPortMapping{},
		fmt.Errorf("fake: trace %s: %w: %s", f, ErrAmbiguousRoute, strings.Join(ids, ", "))
}

// matchFlow returns the first port mapping of lb that answers f (sent to
// dst; toNode: dst is a node IP), whether it answers by VIP (else as a
// NodePort), and whether one does.
func matchFlow(lb hns.HostComputeLoadBalancer, f Flow, dst netip.Addr, toNode bool) (hns.LoadBalancerPortMapping, bool, bool) {
	for _, pm := range lb.PortMappings {
		if pm.Protocol != f.Protocol || pm.ExternalPort != f.Port {
			continue
		}
		if len(lb.FrontendVIPs) > 0 {
			if slices.ContainsFunc(lb.FrontendVIPs, func(v string) bool { return normAddr(v) == dst.String() }) {
				return pm, true, true
			}
			continue
		}
		if toNode && (f.Origin != FromNode || pm.Flags&lbpolicy.PortMappingLocalRoutedVIP != 0) {
			return pm, false, true
		}
	}
	return hns.LoadBalancerPortMapping{}, false, false
}

// addBackends fills r's Backends, Local and Missing from lb's endpoint
// references. Call with h.mu held.
func (h *HNS) addBackends(r *TraceResult, lb hns.HostComputeLoadBalancer) {
	for _, id := range lb.HostComputeEndpoints {
		ref, ok := h.eps[idKey(id)]
		ep := ref.ep
		if !ok {
			r.Missing = append(r.Missing, id)
			continue
		}
		tok := endpointToken(*ep, true)
		r.Backends = append(r.Backends, tok)
		if ep.Flags&hns.EndpointFlagsRemoteEndpoint == 0 {
			r.Local = append(r.Local, tok)
		}
	}
	slices.SortFunc(r.Backends, compareAddrs)
	slices.SortFunc(r.Local, compareAddrs)
	slices.Sort(r.Missing)
}
