package fake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Dump renders the whole state in the style of `hnsdiag list networks`,
// `hnsdiag list loadbalancers` and `hnsdiag list endpoints`, flags
// decoded, deterministically: networks in the order added, load balancers
// by frontend (IPv4 before IPv6, no VIP first, then VIP, protocol, port),
// endpoints by network name, then IP, then name. Each load balancer lists
// its endpoints by IP (or "<name>" for an endpoint without one), sorted,
// and "(missing <id>)" for a reference to an endpoint that no longer
// exists.
//
// Dump prints object IDs, which are random unless SeedIDs was called; use
// DumpStable for golden files and comparisons.
func (h *HNS) Dump() string { return h.dump(true) }

// DumpStable is Dump without any object ID (a dangling reference prints as
// "(missing)"): two fakes holding the same objects under different IDs
// dump the same. Objects that differ only by ID are printed once each, in
// an arbitrary but stable order.
func (h *HNS) DumpStable() string { return h.dump(false) }

func (h *HNS) dump(ids bool) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	h.dumpNetworks(&b, ids)
	h.dumpLoadBalancers(&b, ids)
	h.dumpEndpoints(&b, ids)
	return b.String()
}

// dumpNetworks writes the networks, in the order added. Call with h.mu
// held.
func (h *HNS) dumpNetworks(b *strings.Builder, ids bool) {
	fmt.Fprintf(b, "== Networks (%d) ==\n", len(h.networks))
	for _, n := range h.networks {
		b.WriteString("\n")
		if ids {
			field(b, "ID", n.id)
		}
		field(b, "Name", n.name)
		field(b, "Type", n.typ)
		for _, p := range n.policies {
			field(b, "Policy", string(p.Type)+" "+string(p.Settings))
		}
	}
}

// dumpLoadBalancers writes the load balancers by frontend, then text,
// then ID. Call with h.mu held.
func (h *HNS) dumpLoadBalancers(b *strings.Builder, ids bool) {
	type block struct {
		key  []frontend
		text string
		id   string
	}
	var lbs []block
	for _, e := range h.lbs {
		lb := e.lb
		fs := frontends(&lb)
		slices.SortFunc(fs, frontend.compare)
		lbs = append(lbs, block{key: fs, text: h.lbText(lb, ids), id: idKey(lb.Id)})
	}
	slices.SortFunc(lbs, func(a, b block) int {
		if c := slices.CompareFunc(a.key, b.key, frontend.compare); c != 0 {
			return c
		}
		if c := strings.Compare(a.text, b.text); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	fmt.Fprintf(b, "\n== Load balancers (%d) ==\n", len(lbs))
	for _, lb := range lbs {
		b.WriteString("\n")
		b.WriteString(lb.text)
	}
}

// dumpEndpoints writes the endpoints by network name, IP, name, text,
// then ID. Call with h.mu held.
func (h *HNS) dumpEndpoints(b *strings.Builder, ids bool) {
	type epBlock struct {
		net, ip, name, text, id string
	}
	var eps []epBlock
	for _, ref := range h.eps {
		ep := ref.ep
		net := ""
		if n := h.networkByID(ep.HostComputeNetwork); n != nil {
			net = n.name
		}
		ip := ""
		if len(ep.IpConfigurations) > 0 {
			ip = ep.IpConfigurations[0].IpAddress
		}
		eps = append(eps, epBlock{net: net, ip: ip, name: ep.Name, text: h.epText(*ep, ids), id: idKey(ep.Id)})
	}
	slices.SortFunc(eps, func(a, b epBlock) int {
		if c := strings.Compare(a.net, b.net); c != 0 {
			return c
		}
		if c := compareAddrs(a.ip, b.ip); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := strings.Compare(a.text, b.text); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	fmt.Fprintf(b, "\n== Endpoints (%d) ==\n", len(eps))
	for _, ep := range eps {
		b.WriteString("\n")
		b.WriteString(ep.text)
	}
}

func field(b *strings.Builder, name, value string) {
	fmt.Fprintf(b, "%-14s: %s\n", name, value)
}

// lbText renders one load balancer. Call with h.mu held.
func (h *HNS) lbText(lb hns.HostComputeLoadBalancer, ids bool) string {
	var b strings.Builder
	if ids {
		field(&b, "ID", lb.Id)
	}
	vips := "none (every node IP)"
	if len(lb.FrontendVIPs) > 0 {
		vips = strings.Join(lb.FrontendVIPs, ", ")
	}
	field(&b, "Virtual IPs", vips)
	// The first port mapping in the fields hnsdiag shows; hnslb sends one.
	// Further ones (seeded objects only) on a line each.
	var first hns.LoadBalancerPortMapping
	if len(lb.PortMappings) > 0 {
		first = lb.PortMappings[0]
		field(&b, "Protocol", lbpolicy.Protocol(first.Protocol).String())
		field(&b, "Ports", fmt.Sprintf("%d -> %d", first.ExternalPort, first.InternalPort))
	} else {
		field(&b, "Ports", "none")
	}
	field(&b, "Flags", lbpolicy.LoadBalancerFlags(lb.Flags).String())
	if len(lb.PortMappings) > 0 {
		field(&b, "Port flags", lbpolicy.PortMappingFlags(first.Flags).String())
		field(&b, "Distribution", lbpolicy.DistributionType(first.DistributionType).String())
	}
	for i, pm := range lb.PortMappings[min(1, len(lb.PortMappings)):] {
		field(&b, fmt.Sprintf("Mapping %d", i+2), fmt.Sprintf("%s %d -> %d, port flags %s, distribution %s",
			lbpolicy.Protocol(pm.Protocol), pm.ExternalPort, pm.InternalPort,
			lbpolicy.PortMappingFlags(pm.Flags), lbpolicy.DistributionType(pm.DistributionType)))
	}
	field(&b, "Source VIP", orDash(lb.SourceVIP))
	var backends []string
	for _, id := range lb.HostComputeEndpoints {
		ref, ok := h.eps[idKey(id)]
		ep := ref.ep
		switch {
		case ok:
			backends = append(backends, endpointToken(*ep, ids))
		case ids:
			backends = append(backends, "(missing "+id+")")
		default:
			backends = append(backends, "(missing)")
		}
	}
	slices.SortFunc(backends, compareAddrs)
	field(&b, "Endpoints", orDash(strings.Join(backends, ", ")))
	field(&b, "Schema", fmt.Sprintf("%d.%d", lb.SchemaVersion.Major, lb.SchemaVersion.Minor))
	return b.String()
}

// epText renders one endpoint. Call with h.mu held.
func (h *HNS) epText(ep hns.HostComputeEndpoint, ids bool) string {
	var b strings.Builder
	if ids {
		field(&b, "ID", ep.Id)
	}
	field(&b, "Name", orDash(ep.Name))
	var ips []string
	for _, c := range ep.IpConfigurations {
		ips = append(ips, c.IpAddress)
	}
	field(&b, "IP Address", orDash(strings.Join(ips, ", ")))
	field(&b, "MAC Address", orDash(ep.MacAddress))
	remote := "no (local)"
	if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 {
		remote = "yes"
	}
	field(&b, "Remote", remote)
	pa, _, err := providerAddress(ep)
	if err != nil {
		pa = "(invalid policy)"
	}
	field(&b, "Provider Addr", orDash(pa))
	net := "(unknown)"
	if n := h.networkByID(ep.HostComputeNetwork); n != nil {
		net = n.name + " (" + n.typ + ")"
	} else if ids && ep.HostComputeNetwork != "" {
		net = "(unknown " + ep.HostComputeNetwork + ")"
	}
	field(&b, "Network", net)
	return b.String()
}

// endpointToken names an endpoint in a load balancer's list and in Trace:
// its first IP address, else "<name>", else "<id>" ("<unnamed>" without
// IDs).
func endpointToken(ep hns.HostComputeEndpoint, ids bool) string {
	switch {
	case len(ep.IpConfigurations) > 0 && ep.IpConfigurations[0].IpAddress != "":
		return ep.IpConfigurations[0].IpAddress
	case ep.Name != "":
		return "<" + ep.Name + ">"
	case ids:
		return "<" + ep.Id + ">"
	}
	return "<unnamed>"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
