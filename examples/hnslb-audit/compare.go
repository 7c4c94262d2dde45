package main

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The status of a load balancer or an endpoint in the audit.
const (
	statusMatch     = "match"     // HNS holds what the plan says
	statusMissing   = "missing"   // planned, not in HNS
	statusExtra     = "extra"     // in HNS, not planned
	statusDifferent = "different" // in both, with different content
)

// Reasons of the audit's own diagnostics, beside the plan's.
const (
	// ReasonNetworkNotInDump: the node's network is not among the dump's
	// networks; endpoints of every network are compared.
	ReasonNetworkNotInDump lbpolicy.Reason = "NetworkNotInDump"
	// ReasonNoNetwork: the node names no network, or the dump lists none;
	// endpoints of every network are compared.
	ReasonNoNetwork lbpolicy.Reason = "NoNetwork"
)

// difference is one field where the plan and HNS disagree. One side is ""
// when it has nothing there: a backend only one side has, or every field of
// a load balancer only one side has.
type difference struct {
	Field   string `json:"field"`
	Planned string `json:"planned"`
	HNS     string `json:"hns"`
}

// lbReport is the audit of one load-balancer key.
type lbReport struct {
	Key     string `json:"key"`     // "IPv4/10.96.0.10/TCP/80"; "" for an HNS load balancer without a key
	Service string `json:"service"` // "namespace/name": the plan's, or for an extra one the Service it looks like
	Port    string `json:"port"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	HNSID   string `json:"hnsID"` // "" when missing
	Hint    string `json:"hint"`  // for extra: whether it looks like a Service's, or foreign
	// Differences are empty for match; every field for missing and extra.
	Differences []difference `json:"differences"`

	key   lbpolicy.Key // for sorting
	keyed bool
}

// endpointReport is the audit of one HNS endpoint the plan wants, or of a
// remote endpoint HNS holds that the plan does not want.
type endpointReport struct {
	IP          string       `json:"ip"`
	Status      string       `json:"status"`
	HNSID       string       `json:"hnsID"`
	Hint        string       `json:"hint"`
	Differences []difference `json:"differences"`

	addr netip.Addr // for sorting
}

// report is the whole audit, as -o json prints it.
type report struct {
	LoadBalancers []lbReport            `json:"loadBalancers"`
	Endpoints     []endpointReport      `json:"endpoints"`
	Diagnostics   []lbpolicy.Diagnostic `json:"diagnostics"`

	node             string // the node's name, for the table
	network          string // what the endpoints were taken from
	hnsLBs, hnsEPs   int    // what HNS holds: load balancers, endpoints on the network
	planLBs, planEPs int
}

// differs reports whether anything is not a match.
func (r *report) differs() bool {
	for _, lb := range r.LoadBalancers {
		if lb.Status != statusMatch {
			return true
		}
	}
	for _, ep := range r.Endpoints {
		if ep.Status != statusMatch {
			return true
		}
	}
	return false
}

// audit compares one plan with one dump.
type audit struct {
	plan    *lbpolicy.Plan
	node    lbpolicy.Node
	cluster *clusterIndex
	cidrs   []netip.Prefix // the Service CIDRs, if given

	all         map[string]*hns.HostComputeEndpoint // every endpoint of the dump, by idKey
	onNetwork   []*hns.HostComputeEndpoint          // those on the node's network, by ID
	localByIP   map[netip.Addr][]*hns.HostComputeEndpoint
	remoteByIP  map[netip.Addr][]*hns.HostComputeEndpoint
	localByName map[string][]*hns.HostComputeEndpoint
	usedBy      map[string]int // idKey of an endpoint: how many HNS load balancers name it

	rep report
}

// compare audits dump against plan, which was computed for node from the
// cluster that idx indexes. cidrs are the cluster's Service CIDRs (may be
// empty), which help tell a deleted Service's load balancer from a foreign
// one.
func compare(plan *lbpolicy.Plan, node lbpolicy.Node, idx *clusterIndex, cidrs []netip.Prefix, dump *Dump) report {
	a := &audit{plan: plan, node: node, cluster: idx, cidrs: cidrs}
	a.index(dump)
	a.rep.LoadBalancers = a.loadBalancers(dump.LoadBalancers)
	a.rep.Endpoints = a.endpoints()
	a.rep.Diagnostics = append(slices.Clone(plan.Diagnostics), a.rep.Diagnostics...)
	slices.SortStableFunc(a.rep.Diagnostics, func(x, y lbpolicy.Diagnostic) int {
		return cmp.Or(strings.Compare(x.Object, y.Object), strings.Compare(string(x.Reason), string(y.Reason)))
	})
	a.rep.Diagnostics = orEmpty(a.rep.Diagnostics)
	a.rep.node = node.Name
	a.rep.hnsLBs, a.rep.hnsEPs = len(dump.LoadBalancers), len(a.onNetwork)
	a.rep.planLBs, a.rep.planEPs = len(plan.LoadBalancers), len(plan.Endpoints)
	return a.rep
}

func (a *audit) diagnose(severity lbpolicy.Severity, object string, reason lbpolicy.Reason, format string, args ...any) {
	a.rep.Diagnostics = append(a.rep.Diagnostics, lbpolicy.Diagnostic{
		Severity: severity, Object: object, Reason: reason, Message: fmt.Sprintf(format, args...),
	})
}

// index finds the node's network in the dump and indexes the endpoints:
// every one by ID (load balancers may name any), those on the network by
// IP and name, as the Reconciler sees them.
func (a *audit) index(dump *Dump) {
	networkID := a.network(dump)
	a.all = map[string]*hns.HostComputeEndpoint{}
	a.localByIP = map[netip.Addr][]*hns.HostComputeEndpoint{}
	a.remoteByIP = map[netip.Addr][]*hns.HostComputeEndpoint{}
	a.localByName = map[string][]*hns.HostComputeEndpoint{}
	a.usedBy = map[string]int{}
	eps := slices.Clone(dump.Endpoints)
	slices.SortFunc(eps, func(x, y hns.HostComputeEndpoint) int { return compareIDs(x.Id, y.Id) })
	for i := range eps {
		ep := &eps[i]
		a.all[idKey(ep.Id)] = ep
		if networkID != "" && !strings.EqualFold(ep.HostComputeNetwork, networkID) {
			continue
		}
		a.onNetwork = append(a.onNetwork, ep)
		ip, ok := endpointIP(ep)
		switch {
		case isRemote(ep) && ok:
			a.remoteByIP[ip] = append(a.remoteByIP[ip], ep)
		case !isRemote(ep):
			if ok {
				a.localByIP[ip] = append(a.localByIP[ip], ep)
			}
			if ep.Name != "" {
				a.localByName[ep.Name] = append(a.localByName[ep.Name], ep)
			}
		}
	}
	for _, lb := range dump.LoadBalancers {
		for _, id := range idSet(lb.HostComputeEndpoints) {
			a.usedBy[id]++
		}
	}
}

// network returns the ID of the node's network in the dump, or "" to
// compare the endpoints of every network, saying why in a diagnostic.
func (a *audit) network(dump *Dump) string {
	name := a.node.NetworkName
	node := "Node " + a.node.Name
	switch {
	case name == "":
		a.diagnose(lbpolicy.SeverityWarning, node, ReasonNoNetwork, "the node names no networkName: the endpoints of every network in the dump are compared")
		a.rep.network = "every network"
		return ""
	case len(dump.Networks) == 0:
		a.diagnose(lbpolicy.SeverityInfo, "HNS dump", ReasonNoNetwork, "the dump lists no network: its endpoints are taken to be on network %q", name)
		a.rep.network = "network " + name + " (assumed: the dump lists no network)"
		return ""
	}
	var names []string
	for _, n := range dump.Networks {
		if n.Name == name {
			a.rep.network = fmt.Sprintf("%s network %s (ID %s)", orDefault(n.Type, "HNS"), n.Name, n.Id)
			return n.Id
		}
		names = append(names, fmt.Sprintf("%q", n.Name))
	}
	a.diagnose(lbpolicy.SeverityWarning, node, ReasonNetworkNotInDump,
		"network %q is not in the dump (it has %s): the endpoints of every network are compared", name, strings.Join(names, ", "))
	a.rep.network = "every network (" + name + " is not in the dump)"
	return ""
}

// loadBalancers audits every key the plan or HNS has, in key order, the
// HNS load balancers without a key last.
func (a *audit) loadBalancers(lbs []hns.HostComputeLoadBalancer) []lbReport {
	lbs = slices.Clone(lbs)
	slices.SortFunc(lbs, func(x, y hns.HostComputeLoadBalancer) int { return compareIDs(x.Id, y.Id) })
	var out []lbReport
	inHNS := map[lbpolicy.Key]*hns.HostComputeLoadBalancer{}
	for i := range lbs {
		lb := &lbs[i]
		key, ok := hnsadapter.LoadBalancerKey(lb)
		switch {
		case !ok:
			out = append(out, a.extra(lbpolicy.Key{}, false, lb))
		case inHNS[key] != nil:
			r := a.extra(key, true, lb)
			r.Hint = fmt.Sprintf("a second HNS load balancer with the key of %s", inHNS[key].Id)
			out = append(out, r)
		default:
			inHNS[key] = lb
		}
	}
	planned := map[lbpolicy.Key]bool{}
	for i := range a.plan.LoadBalancers {
		p := &a.plan.LoadBalancers[i]
		key := p.Key()
		if planned[key] {
			continue // Compute never plans a key twice
		}
		planned[key] = true
		out = append(out, a.planned(key, p, inHNS[key]))
	}
	for key, lb := range inHNS {
		if !planned[key] {
			out = append(out, a.extra(key, true, lb))
		}
	}
	slices.SortFunc(out, func(x, y lbReport) int {
		switch {
		case x.keyed != y.keyed:
			if x.keyed {
				return -1
			}
			return 1
		case x.keyed:
			return x.key.Compare(y.key)
		}
		return compareIDs(x.HNSID, y.HNSID)
	})
	return orEmpty(out)
}

// planned audits a planned load balancer against HNS's (nil: none).
func (a *audit) planned(key lbpolicy.Key, p *lbpolicy.LoadBalancer, h *hns.HostComputeLoadBalancer) lbReport {
	r := lbReport{
		Key: key.String(), Service: p.Service, Port: p.Port, Kind: string(p.Kind),
		Differences: a.lbDifferences(p, h), key: key, keyed: true,
	}
	r.Status = statusOf(h != nil, len(r.Differences))
	if h != nil {
		r.HNSID = h.Id
	}
	return r
}

// extra audits an HNS load balancer the plan does not want.
func (a *audit) extra(key lbpolicy.Key, keyed bool, h *hns.HostComputeLoadBalancer) lbReport {
	r := lbReport{Status: statusExtra, HNSID: h.Id, Differences: a.lbDifferences(nil, h), key: key, keyed: keyed}
	if keyed {
		r.Key = key.String()
	}
	r.Service, r.Kind, r.Hint = a.guess(key, keyed, h)
	return r
}

// guess says whether an extra load balancer looks like a Service's — its
// VIP or node port is one of the cluster's Services', or its VIP is in a
// Service CIDR, or its node port in the default NodePort range — or
// foreign. service and kind are those of the Service it looks like.
func (a *audit) guess(key lbpolicy.Key, keyed bool, h *hns.HostComputeLoadBalancer) (service, kind, hint string) {
	const deleted = "but no Service of the cluster has it (a deleted Service's?)"
	var roles []role
	var what string
	switch {
	case !keyed && len(h.PortMappings) == 0:
		return "", "", "foreign: no port mapping, so no Service frontend"
	case !keyed && len(h.FrontendVIPs) > 0:
		return "", "", fmt.Sprintf("foreign: frontend VIP %q is not an IP address", h.FrontendVIPs[0])
	case !keyed:
		return "", "", "foreign: it has no identity key"
	case key.VIP.IsValid():
		roles = a.cluster.vips[key.VIP]
		if len(roles) == 0 {
			for _, p := range a.cidrs {
				if p.Contains(key.VIP) {
					return "", "", fmt.Sprintf("a Service's: %s is in the Service CIDR %s, %s", key.VIP, p, deleted)
				}
			}
			return "", "", fmt.Sprintf("foreign: %s is no Service IP of the cluster (clusterIP, externalIP or load-balancer ingress IP)", key.VIP)
		}
		what = fmt.Sprintf("%s is a %s of %s", key.VIP, roles[0].kind, servicesOf(roles))
	default:
		roles = a.cluster.ports[key.Port]
		switch {
		case len(roles) == 0 && key.Port >= 30000 && key.Port <= 32767:
			return "", "", fmt.Sprintf("a Service's: node port %d is in the default NodePort range 30000-32767, %s", key.Port, deleted)
		case len(roles) == 0:
			return "", "", fmt.Sprintf("foreign: no Service of the cluster has node port %d", key.Port)
		}
		what = fmt.Sprintf("%d is a %s port of %s", key.Port, roles[0].kind, servicesOf(roles))
	}
	return roles[0].service, string(roles[0].kind), fmt.Sprintf("a Service's: %s, but the plan has no load balancer for %s port %d%s",
		what, key.Protocol, key.Port, a.diagnosed(roles))
}

// diagnosed points at the plan's diagnostics about the Services of roles.
func (a *audit) diagnosed(roles []role) string {
	for _, d := range a.plan.Diagnostics {
		for _, r := range roles {
			if object := "Service " + r.service; d.Object == object || strings.HasPrefix(d.Object, object+":") {
				return "; see the plan's diagnostics about " + d.Object
			}
		}
	}
	return ""
}

// endpoints audits the endpoints the plan wants (the Reconciler creates
// them: remote endpoints and, on Overlay, the source-VIP endpoint) and the
// remote endpoints HNS holds on the network that the plan does not want.
// Local endpoints are the CNI's: only those the plan wants are audited.
func (a *audit) endpoints() []endpointReport {
	var out []endpointReport
	wanted := map[*hns.HostComputeEndpoint]bool{}
	for i := range a.plan.Endpoints {
		p := &a.plan.Endpoints[i]
		ip := p.IP.Unmap()
		local, remote := first(a.localByIP[ip]), first(a.remoteByIP[ip])
		r := endpointReport{IP: ip.String(), addr: ip}
		h := remote
		if !p.Remote || remote == nil {
			h = cmp.Or(local, remote)
		}
		r.Differences = endpointDifferences(p, h)
		if p.Remote && remote == nil && local != nil {
			// The Reconciler creates no remote endpoint where the CNI has
			// a local one (kubernetes#138000): that is a match.
			r.Hint = "a local endpoint has this IP and serves in place of the planned remote one"
			r.Differences = []difference{}
		}
		r.Status = statusOf(h != nil, len(r.Differences))
		if h != nil {
			r.HNSID = h.Id
			wanted[h] = true
		}
		out = append(out, r)
	}
	for _, ep := range a.onNetwork {
		if isRemote(ep) && !wanted[ep] {
			out = append(out, a.extraEndpoint(ep))
		}
	}
	slices.SortFunc(out, func(x, y endpointReport) int {
		return cmp.Or(x.addr.Compare(y.addr), strings.Compare(x.IP, y.IP), compareIDs(x.HNSID, y.HNSID))
	})
	return orEmpty(out)
}

func (a *audit) extraEndpoint(ep *hns.HostComputeEndpoint) endpointReport {
	r := endpointReport{Status: statusExtra, HNSID: ep.Id, Differences: endpointDifferences(nil, ep)}
	if ip, ok := endpointIP(ep); ok {
		r.IP, r.addr = ip.String(), ip
	} else if len(ep.IpConfigurations) > 0 {
		r.IP = ep.IpConfigurations[0].IpAddress
	}
	switch n := a.usedBy[idKey(ep.Id)]; n {
	case 0:
		r.Hint = "no HNS load balancer uses it"
	case 1:
		r.Hint = "a backend of 1 HNS load balancer"
	default:
		r.Hint = fmt.Sprintf("a backend of %d HNS load balancers", n)
	}
	return r
}

func first[T any](list []*T) *T {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// statusOf is the status of a planned object: missing when HNS does not
// hold it, different when a field differs, else match.
func statusOf(inHNS bool, differences int) string {
	switch {
	case !inHNS:
		return statusMissing
	case differences > 0:
		return statusDifferent
	default:
		return statusMatch
	}
}
