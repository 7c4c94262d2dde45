package fake

import (
	"net/netip"
	"slices"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Structured views. Like LoadBalancers and Endpoints, these read the state
// directly; they are not Client calls and are not counted. The maps and
// objects are copies.

// LoadBalancersByKey returns copies of the load balancers grouped by
// identity key, each group sorted by ID. A load balancer's key is that of
// hnsadapter.LoadBalancerKey (its IPv6 flag, first frontend VIP or none,
// protocol and external port), so a plan's lbpolicy.LoadBalancer.Key
// finds what HNS holds for it. More than one load balancer under a key is
// a conflict (another agent's, or a leftover). A load balancer without a
// key (no port mapping, or a frontend VIP that is not an IP address) is
// left out: find it with LoadBalancers.
func (h *HNS) LoadBalancersByKey() map[lbpolicy.Key][]hns.HostComputeLoadBalancer {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[lbpolicy.Key][]hns.HostComputeLoadBalancer{}
	for _, lb := range h.sortedLBs() {
		if k, ok := loadBalancerKey(&lb); ok {
			out[k] = append(out[k], lb)
		}
	}
	return out
}

// loadBalancerKey is hnsadapter.LoadBalancerKey (a test checks they
// agree); fake does not import the Reconciler's package.
func loadBalancerKey(lb *hns.HostComputeLoadBalancer) (lbpolicy.Key, bool) {
	if len(lb.PortMappings) == 0 {
		return lbpolicy.Key{}, false
	}
	k := lbpolicy.Key{Family: lbpolicy.IPv4, Protocol: lbpolicy.Protocol(lb.PortMappings[0].Protocol), Port: lb.PortMappings[0].ExternalPort}
	if lb.Flags&lbpolicy.FlagIPv6 != 0 {
		k.Family = lbpolicy.IPv6
	}
	if len(lb.FrontendVIPs) > 0 {
		vip, err := netip.ParseAddr(lb.FrontendVIPs[0])
		if err != nil {
			return lbpolicy.Key{}, false
		}
		k.VIP = vip.Unmap()
	}
	return k, true
}

// EndpointsByIP returns copies of the endpoints on network networkID ("" =
// every network) grouped by IP address, each group sorted by ID. An
// endpoint with several addresses is under each; IPv4-mapped IPv6
// addresses are unmapped, and addresses that are not IP addresses (or an
// endpoint without any) are left out. On one network HNS holds at most
// one endpoint per IP; a longer group is a state the seeding methods made.
func (h *HNS) EndpointsByIP(networkID string) map[netip.Addr][]hns.HostComputeEndpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[netip.Addr][]hns.HostComputeEndpoint{}
	for _, ep := range h.sortedEPs(networkID) {
		var seen []netip.Addr
		for _, c := range ep.IpConfigurations {
			a, err := netip.ParseAddr(c.IpAddress)
			if err != nil || slices.Contains(seen, a.Unmap()) {
				continue
			}
			seen = append(seen, a.Unmap())
			out[a.Unmap()] = append(out[a.Unmap()], cloneEP(ep))
		}
	}
	return out // each group in ID order, as sortedEPs is
}
