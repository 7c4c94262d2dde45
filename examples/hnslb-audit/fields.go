package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// This file holds the one field list of the comparison: each field's value
// on either side, as text in one normal form, so that equal text is equal
// content and the same text is what the report shows.

// lbFields are the content fields of a load balancer, in report order:
// everything but the ID, the schema version (how the object was sent, not
// what it is) and the identity key (family, first VIP, protocol, external
// port), which matched. Backends are compared apart, one by one.
var lbFields = []string{"frontendVIPs", "internalPort", "flags", "portMappingFlags", "distributionType", "sourceVIP"}

// plannedValues returns the values of lbFields for a planned load balancer.
func plannedValues(p *lbpolicy.LoadBalancer) []string {
	vips := make([]string, len(p.FrontendVIPs))
	for i, v := range p.FrontendVIPs {
		vips[i] = v.Unmap().String()
	}
	sourceVIP := ""
	if p.SourceVIP.IsValid() {
		sourceVIP = p.SourceVIP.Unmap().String()
	}
	return []string{
		strings.Join(vips, ", "),
		strconv.Itoa(int(p.InternalPort)),
		decoded(uint32(p.Flags), p.Flags),
		decoded(uint32(p.PortMappingFlags), p.PortMappingFlags),
		decoded(uint32(p.DistributionType), p.DistributionType),
		sourceVIP,
	}
}

// hnsValues returns the values of lbFields for an HNS load balancer. The
// port-mapping fields are those of its first port mapping ("" without
// one), which the key was taken from.
func hnsValues(h *hns.HostComputeLoadBalancer) []string {
	vips := make([]string, len(h.FrontendVIPs))
	for i, v := range h.FrontendVIPs {
		vips[i] = address(v)
	}
	values := []string{strings.Join(vips, ", "), "", decoded(uint32(h.Flags), h.Flags), "", "", address(h.SourceVIP)}
	if len(h.PortMappings) > 0 {
		pm := h.PortMappings[0]
		values[1] = strconv.Itoa(int(pm.InternalPort))
		values[3] = decoded(uint32(pm.Flags), pm.Flags)
		values[4] = decoded(uint32(pm.DistributionType), pm.DistributionType)
	}
	return values
}

// lbDifferences lists the fields where a planned load balancer and HNS's
// differ; either may be nil (then every field the other has differs).
func (a *audit) lbDifferences(p *lbpolicy.LoadBalancer, h *hns.HostComputeLoadBalancer) []difference {
	planned := make([]string, len(lbFields))
	inHNS := make([]string, len(lbFields))
	if p != nil {
		planned = plannedValues(p)
	}
	if h != nil {
		inHNS = hnsValues(h)
	}
	out := []difference{}
	for i, field := range lbFields {
		if planned[i] != inHNS[i] {
			out = append(out, difference{Field: field, Planned: planned[i], HNS: inHNS[i]})
		}
	}
	if h != nil && len(h.PortMappings) != 1 {
		n := ""
		if p != nil {
			n = "1"
		}
		out = append(out, difference{Field: "portMappings", Planned: n, HNS: strconv.Itoa(len(h.PortMappings))})
	}
	return append(out, a.backendDifferences(p, h)...)
}

// backend is one backend of one side, for the comparison.
type backend struct {
	id   string     // idKey of its HNS endpoint; "" if none
	addr netip.Addr // for sorting
	text string
}

// backendDifferences lists the backends only one side has. A planned
// backend is resolved to its HNS endpoint as the Reconciler resolves it (a
// local endpoint with its IP, else a remote one; <name> by the local
// endpoint's name) and compared with HNS's by endpoint ID. HNS's are shown
// through the dump's endpoints; an ID naming no endpoint is dangling.
func (a *audit) backendDifferences(p *lbpolicy.LoadBalancer, h *hns.HostComputeLoadBalancer) []difference {
	var planned, inHNS []backend
	plannedIDs := map[string]bool{}
	if p != nil {
		for _, b := range p.Backends {
			pb := backend{addr: b.IP.Unmap(), text: a.describeBackend(b)}
			if ep := a.resolve(b); ep != nil {
				pb.id = idKey(ep.Id)
				plannedIDs[pb.id] = true
			} else {
				pb.text += " (no HNS endpoint)"
			}
			planned = append(planned, pb)
		}
	}
	hnsIDs := map[string]bool{}
	if h != nil {
		for _, id := range idSet(h.HostComputeEndpoints) {
			hnsIDs[id] = true
			if plannedIDs[id] {
				continue
			}
			hb := backend{id: id, text: "endpoint " + id + " (dangling: HNS has no such endpoint)"}
			if ep := a.all[id]; ep != nil {
				hb.addr, _ = endpointIP(ep)
				hb.text = a.describeEndpoint(ep)
			}
			inHNS = append(inHNS, hb)
		}
	}
	planned = slices.DeleteFunc(planned, func(b backend) bool { return b.id != "" && hnsIDs[b.id] })
	return backendRows(planned, inHNS)
}

// backendRows makes one difference per backend, sorted by address. Where
// both sides show the same text for different endpoints (two endpoints
// with one IP), the endpoint IDs tell them apart.
func backendRows(planned, inHNS []backend) []difference {
	texts := map[string]int{}
	for _, b := range append(slices.Clone(planned), inHNS...) {
		texts[b.text]++
	}
	type row struct {
		b       backend
		planned bool
	}
	var rows []row
	for _, b := range planned {
		rows = append(rows, row{b, true})
	}
	for _, b := range inHNS {
		rows = append(rows, row{b, false})
	}
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(x.b.addr.Compare(y.b.addr), strings.Compare(x.b.text, y.b.text), strings.Compare(x.b.id, y.b.id))
	})
	out := make([]difference, 0, len(rows))
	for _, r := range rows {
		text := r.b.text
		if texts[text] > 1 && r.b.id != "" {
			text += " [endpoint " + r.b.id + "]"
		}
		d := difference{Field: "backends", HNS: text}
		if r.planned {
			d = difference{Field: "backends", Planned: text}
		}
		out = append(out, d)
	}
	return out
}

// resolve returns the HNS endpoint on the network a planned backend
// stands for, as the Reconciler chooses it, or nil.
func (a *audit) resolve(b lbpolicy.Backend) *hns.HostComputeEndpoint {
	if b.EndpointName != "" {
		return first(a.localByName[b.EndpointName])
	}
	ip := b.IP.Unmap()
	return cmp.Or(first(a.localByIP[ip]), first(a.remoteByIP[ip]))
}

func (a *audit) describeBackend(b lbpolicy.Backend) string {
	if b.EndpointName != "" {
		return b.String() + " (root endpoint)"
	}
	return a.cluster.describe(b.IP.Unmap())
}

// describeEndpoint names an HNS endpoint: its IP (with what the cluster
// knows of it), else "<name>", else its ID.
func (a *audit) describeEndpoint(ep *hns.HostComputeEndpoint) string {
	if ip, ok := endpointIP(ep); ok {
		if text := a.cluster.describe(ip); text != ip.String() {
			return text
		}
		return ip.String() + " (in no EndpointSlice)"
	}
	if ep.Name != "" {
		return "<" + ep.Name + ">"
	}
	return "endpoint " + ep.Id
}

// endpointFields are the fields of an endpoint the audit compares, beside
// its IP, which matched.
var endpointFields = []string{"remote", "macAddress", "providerAddress"}

// endpointDifferences lists the fields where a planned endpoint and HNS's
// differ; either may be nil.
func endpointDifferences(p *lbpolicy.Endpoint, h *hns.HostComputeEndpoint) []difference {
	planned := make([]string, len(endpointFields))
	inHNS := make([]string, len(endpointFields))
	if p != nil {
		planned = []string{yesNo(p.Remote), normalMAC(p.MACAddress), ""}
		if p.ProviderAddress.IsValid() {
			planned[2] = p.ProviderAddress.Unmap().String()
		}
	}
	if h != nil {
		inHNS = []string{yesNo(isRemote(h)), normalMAC(h.MacAddress), providerAddress(h)}
	}
	out := []difference{}
	for i, field := range endpointFields {
		if planned[i] != inHNS[i] {
			out = append(out, difference{Field: field, Planned: planned[i], HNS: inHNS[i]})
		}
	}
	return out
}

// decoded renders an HNS number and its meaning: "18 LocalRoutedVIP|VipExternalIP".
func decoded(n uint32, s fmt.Stringer) string {
	name := s.String()
	if name == strconv.FormatUint(uint64(n), 10) {
		name = "(unknown)"
	}
	return fmt.Sprintf("%d %s", n, name)
}

// address returns an address in normal form, or the text as HNS gave it
// (quoted) when it is not an address.
func address(s string) string {
	if s == "" {
		return ""
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().String()
	}
	return strconv.Quote(s)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// normalMAC writes a MAC address as HNS's plan does: lower case, '-'
// between bytes.
func normalMAC(mac string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(mac), ":", "-"))
}

func isRemote(ep *hns.HostComputeEndpoint) bool {
	return ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0
}

// endpointIP returns the endpoint's address: its first IP configuration,
// as the Reconciler reads it.
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

// providerAddress returns the endpoint's ProviderAddress policy, in normal
// form, or "" without one.
func providerAddress(ep *hns.HostComputeEndpoint) string {
	for _, p := range ep.Policies {
		if p.Type != hns.EndpointPolicyProviderAddress {
			continue
		}
		var s hns.ProviderAddressEndpointPolicySetting
		if err := json.Unmarshal(p.Settings, &s); err != nil {
			return "(unreadable ProviderAddress policy)"
		}
		return address(s.ProviderAddress)
	}
	return ""
}

// idKey is the form of an HNS ID used as a map key: HNS IDs are GUIDs,
// whose case does not matter.
func idKey(id string) string { return strings.ToUpper(id) }

// idSet returns ids in idKey form, sorted, without duplicates.
func idSet(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = idKey(id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
