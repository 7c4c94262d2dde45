package hnsadapter

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// This file converts between the plan and HNS objects: the HNS load
// balancer and endpoint a plan entry stands for, the identity key of an HNS
// load balancer, and when two HNS objects are the same.

// LoadBalancerKey returns the identity key of an HNS load balancer: its
// family (the IPv6 flag), first frontend VIP (none for NodePort), protocol
// and external port. It equals lbpolicy.LoadBalancer.Key of the plan entry
// the load balancer was made from. ok is false when lb has no port mapping
// or an unparsable frontend VIP: such a load balancer matches no plan entry.
func LoadBalancerKey(lb *hns.HostComputeLoadBalancer) (key lbpolicy.Key, ok bool) {
	if len(lb.PortMappings) == 0 {
		return key, false
	}
	key.Family = lbpolicy.IPv4
	if lb.Flags&lbpolicy.FlagIPv6 != 0 {
		key.Family = lbpolicy.IPv6
	}
	if len(lb.FrontendVIPs) > 0 {
		vip, err := netip.ParseAddr(lb.FrontendVIPs[0])
		if err != nil {
			return key, false
		}
		key.VIP = vip.Unmap()
	}
	key.Protocol = lbpolicy.Protocol(lb.PortMappings[0].Protocol)
	key.Port = lb.PortMappings[0].ExternalPort
	return key, true
}

// desiredLoadBalancer is the HNS load balancer for lb with the given
// endpoint IDs (sorted by the caller).
func desiredLoadBalancer(lb *lbpolicy.LoadBalancer, endpointIDs []string) *hns.HostComputeLoadBalancer {
	// One allocation for the load balancer, its usual single port
	// mapping and frontend VIP, and a few endpoint IDs: a sync makes one
	// per load balancer.
	a := &struct {
		lb   hns.HostComputeLoadBalancer
		pm   [1]hns.LoadBalancerPortMapping
		vips [1]string
		ids  [16]string
	}{}
	if len(endpointIDs) <= len(a.ids) {
		endpointIDs = append(a.ids[:0:len(a.ids)], endpointIDs...)
	} else {
		endpointIDs = slices.Clone(endpointIDs)
	}
	a.lb.SourceVIP, a.lb.FrontendVIPs = addrTexts(lb.SourceVIP, lb.FrontendVIPs, a.vips[:0])
	a.pm[0] = hns.LoadBalancerPortMapping{
		Protocol:         uint32(lb.Protocol),
		InternalPort:     lb.InternalPort,
		ExternalPort:     lb.ExternalPort,
		DistributionType: lbpolicy.DistributionType(lb.DistributionType),
		Flags:            lbpolicy.PortMappingFlags(lb.PortMappingFlags),
	}
	a.lb.HostComputeEndpoints = endpointIDs
	a.lb.PortMappings = a.pm[:]
	a.lb.SchemaVersion = hns.V2SchemaVersion()
	a.lb.Flags = lbpolicy.LoadBalancerFlags(lb.Flags)
	return &a.lb
}

// addrTexts returns the text of src ("" if invalid) and, appended to
// vips (nil if none), those of frontends, all cut from one string: one
// allocation for all of a load balancer's addresses.
func addrTexts(src netip.Addr, frontends []netip.Addr, vips []string) (string, []string) {
	b := make([]byte, 0, 128) // on the stack: only its string copy escapes
	if src.IsValid() {
		b = src.AppendTo(b)
	}
	srcEnd := len(b)
	ends := make([]int, 0, 8) // where each frontend's text ends
	for _, v := range frontends {
		b = v.AppendTo(b)
		ends = append(ends, len(b))
	}
	all := string(b)
	at := srcEnd
	for _, end := range ends {
		vips = append(vips, all[at:end])
		at = end
	}
	if len(vips) == 0 {
		vips = nil
	}
	return all[:srcEnd], vips
}

// sameLoadBalancer reports whether a and b have the same content: all but
// the ID, with endpoint IDs compared as sets, case-insensitively, and
// addresses compared as addresses. SchemaVersion is not compared: it says
// how an object was sent, not what it is.
func sameLoadBalancer(a, b *hns.HostComputeLoadBalancer) bool {
	return a.Flags == b.Flags &&
		slices.Equal(a.PortMappings, b.PortMappings) &&
		sameAddr(a.SourceVIP, b.SourceVIP) &&
		slices.EqualFunc(a.FrontendVIPs, b.FrontendVIPs, sameAddr) &&
		sameIDSet(a.HostComputeEndpoints, b.HostComputeEndpoints)
}

// matchesLoadBalancer reports whether held is the same load balancer
// (sameLoadBalancer) as desiredLoadBalancer(lb, endpointIDs), without
// building that: a full sync compares every load balancer, and most
// match.
func matchesLoadBalancer(held *hns.HostComputeLoadBalancer, lb *lbpolicy.LoadBalancer, endpointIDs []string) bool {
	return matchesLoadBalancerFields(held, lb) && sameIDSet(held.HostComputeEndpoints, endpointIDs)
}

// matchesLoadBalancerFields is matchesLoadBalancer but for the endpoints.
func matchesLoadBalancerFields(held *hns.HostComputeLoadBalancer, lb *lbpolicy.LoadBalancer) bool {
	pm := hns.LoadBalancerPortMapping{
		Protocol:         uint32(lb.Protocol),
		InternalPort:     lb.InternalPort,
		ExternalPort:     lb.ExternalPort,
		DistributionType: lbpolicy.DistributionType(lb.DistributionType),
		Flags:            lbpolicy.PortMappingFlags(lb.PortMappingFlags),
	}
	if held.Flags != lbpolicy.LoadBalancerFlags(lb.Flags) || len(held.PortMappings) != 1 || held.PortMappings[0] != pm ||
		len(held.FrontendVIPs) != len(lb.FrontendVIPs) {
		return false
	}
	if lb.SourceVIP.IsValid() != (held.SourceVIP != "") || lb.SourceVIP.IsValid() && !isAddr(held.SourceVIP, lb.SourceVIP) {
		return false
	}
	for i, v := range lb.FrontendVIPs {
		if !isAddr(held.FrontendVIPs[i], v) {
			return false
		}
	}
	return true
}

// isAddr reports sameAddr(s, a.String()) without building the string.
func isAddr(s string, a netip.Addr) bool {
	if !a.IsValid() {
		return s == a.String()
	}
	p, err := netip.ParseAddr(s)
	return err == nil && p.Unmap() == a.Unmap()
}

func sameAddr(a, b string) bool {
	if a == b {
		return true
	}
	pa, errA := netip.ParseAddr(a)
	pb, errB := netip.ParseAddr(b)
	return errA == nil && errB == nil && pa.Unmap() == pb.Unmap()
}

// sameIDSet compares two lists of HNS IDs as sets, case-insensitively.
func sameIDSet(a, b []string) bool {
	if len(a) == len(b) && slices.EqualFunc(a, b, sameIDFold) {
		return true // the usual case: HNS kept the order it was sent
	}
	if len(a) <= 16 && len(b) <= 16 {
		return subsetOf(a, b) && subsetOf(b, a) // short lists: no allocation
	}
	return slices.Equal(idSet(a), idSet(b))
}

// sameIDFold is strings.EqualFold, which first compares equal strings
// as Go does: the very same string (an ID HNS answered with, sent back)
// then needs no read of its bytes, each a cache miss.
func sameIDFold(a, b string) bool { return a == b || strings.EqualFold(a, b) }

// subsetOf reports whether every ID of a is in b, case-insensitively.
func subsetOf(a, b []string) bool {
	for _, id := range a {
		if !slices.ContainsFunc(b, func(x string) bool { return strings.EqualFold(x, id) }) {
			return false
		}
	}
	return true
}

// idKey is the form of an HNS ID used as a map key: HNS IDs are GUIDs,
// whose case does not matter. Upper case, as HNS spells them, so that the
// usual ID costs no allocation.
func idKey(id string) string { return strings.ToUpper(id) }

// idSet returns ids in idKey form, sorted and without duplicates.
func idSet(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = idKey(id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// desiredEndpoint is the HNS endpoint for a plan endpoint.
func desiredEndpoint(ep *lbpolicy.Endpoint, networkID string) *hns.HostComputeEndpoint {
	// One allocation for the endpoint, its IP configuration, policy and
	// the policy's settings.
	a := &struct {
		ep       hns.HostComputeEndpoint
		ipc      [1]hns.IpConfig
		policy   [1]hns.EndpointPolicy
		settings [len(paSettingsPrefix+paSettingsSuffix) + len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")]byte
	}{}
	a.ipc[0].IpAddress = ep.IP.String()
	a.ep.HostComputeNetwork = networkID
	a.ep.IpConfigurations = a.ipc[:]
	a.ep.MacAddress = ep.MACAddress
	a.ep.SchemaVersion = hns.V2SchemaVersion()
	if ep.Remote {
		a.ep.Flags = hns.EndpointFlagsRemoteEndpoint
	}
	if ep.ProviderAddress.IsValid() {
		a.policy[0] = hns.EndpointPolicy{Type: hns.EndpointPolicyProviderAddress, Settings: appendPASettings(a.settings[:0], ep.ProviderAddress)}
		a.ep.Policies = a.policy[:]
	}
	return &a.ep
}

const paSettingsPrefix, paSettingsSuffix = `{"ProviderAddress":"`, `"}`

// appendPASettings appends the JSON of a ProviderAddress policy's
// settings for pa to b, as json.Marshal of
// hns.ProviderAddressEndpointPolicySetting writes it
// (TestProviderAddressSettings), written by hand: an address needs no
// escaping, and a sync makes one per remote endpoint.
func appendPASettings(b []byte, pa netip.Addr) json.RawMessage {
	b = append(b, paSettingsPrefix...)
	b = pa.AppendTo(b)
	return append(b, paSettingsSuffix...)
}

func isRemote(ep *hns.HostComputeEndpoint) bool { return ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 }

// endpointIP returns the endpoint's address: its first IP configuration.
func endpointIP(ep *hns.HostComputeEndpoint) (netip.Addr, bool) {
	if len(ep.IpConfigurations) == 0 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(ep.IpConfigurations[0].IpAddress)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// providerAddress returns the endpoint's ProviderAddress policy, if any.
func providerAddress(ep *hns.HostComputeEndpoint) netip.Addr {
	for _, p := range ep.Policies {
		if p.Type != hns.EndpointPolicyProviderAddress {
			continue
		}
		var s hns.ProviderAddressEndpointPolicySetting
		if json.Unmarshal(p.Settings, &s) != nil {
			continue
		}
		if pa, err := netip.ParseAddr(s.ProviderAddress); err == nil {
			return pa.Unmap()
		}
	}
	return netip.Addr{}
}

// matchesEndpoint reports whether HNS endpoint ep is the plan's endpoint
// want: same IP, remote flag, MAC (ignoring case and separators) and
// provider address.
func matchesEndpoint(ep *hns.HostComputeEndpoint, want *lbpolicy.Endpoint) bool {
	ip, ok := endpointIP(ep)
	return ok && ip == want.IP.Unmap() &&
		isRemote(ep) == want.Remote &&
		(strings.EqualFold(ep.MacAddress, want.MACAddress) || normalMAC(ep.MacAddress) == normalMAC(want.MACAddress)) &&
		hasProviderAddress(ep, want.ProviderAddress.Unmap())
}

// sameRemote is matchesEndpoint for a remote endpoint ep the view holds
// under want's IP: the IP and flag are known to match.
func sameRemote(ep *hns.HostComputeEndpoint, want *lbpolicy.Endpoint) bool {
	return want.Remote &&
		(ep.MacAddress == want.MACAddress || strings.EqualFold(ep.MacAddress, want.MACAddress) ||
			normalMAC(ep.MacAddress) == normalMAC(want.MACAddress)) &&
		hasProviderAddress(ep, want.ProviderAddress.Unmap())
}

// hasProviderAddress reports whether pa (zero: none) is ep's provider
// address. The settings are compared as sent before being parsed: a
// resync of thousands of endpoints then parses no JSON.
func hasProviderAddress(ep *hns.HostComputeEndpoint, pa netip.Addr) bool {
	if len(ep.Policies) == 1 && ep.Policies[0].Type == hns.EndpointPolicyProviderAddress && pa.IsValid() {
		var buf [64]byte
		if string(ep.Policies[0].Settings) == string(appendPASettings(buf[:0], pa)) {
			return true
		}
	}
	return providerAddress(ep) == pa
}

var macSeparators = strings.NewReplacer("-", "", ":", "")

func normalMAC(mac string) string { return strings.ToLower(macSeparators.Replace(mac)) }
