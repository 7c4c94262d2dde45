package lbpolicy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/endpoints"
	"github.com/hnslb/hnslb/sourcevip"
)

// Well-known labels and annotations.
const (
	// LabelServiceProxyName marks a Service that another proxy implements.
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	// AnnotationPreserveDestination asks HNS to keep the ingress IP as the
	// destination (UseMux|PreserveDIP), as winkernel does.
	AnnotationPreserveDestination = "preserve-destination"
)

const defaultAffinityTimeout = 10800 // seconds; core/v1's default

// Compute returns the plan for node: the HNS load balancers and endpoints
// that implement services on it, with backends taken from slices.
//
// Compute is pure and deterministic: the same input gives the same Plan,
// whatever the order of services and slices; the inputs are not modified.
// It returns an error only for an invalid node (wrapping ErrInvalidNode,
// with a *FieldError per problem). Problems with single Services or slices
// never fail the computation: they become Diagnostics, and the other
// objects are planned as usual.
//
// From 1,024 Services on, Compute plans on up to GOMAXPROCS goroutines,
// all ended before it returns; the Plan is the same whatever their number.
func Compute(node Node, services []*corev1.Service, endpointSlices []*discovery.EndpointSlice) (Plan, error) {
	return compute(node, services, endpointSlices, 0)
}

// compute is Compute on workers goroutines (0: computeWorkers decides).
// The plan does not depend on workers.
func compute(node Node, services []*corev1.Service, endpointSlices []*discovery.EndpointSlice, workers int) (Plan, error) {
	n, err := node.validate()
	if err != nil {
		return Plan{}, err
	}
	svcs := make([]*corev1.Service, 0, len(services))
	for _, s := range services {
		if s != nil {
			svcs = append(svcs, s)
		}
	}
	if workers <= 0 {
		workers = computeWorkers(len(svcs))
	}
	bySvc := groupSlices(workers, func() map[types.NamespacedName][]*discovery.EndpointSlice {
		return endpoints.ByService(endpointSlices)
	})
	svcs = sortServices(svcs, workers)

	c := &computer{node: n, workers: workers}
	c.backendArena.chunk, c.addrArena.chunk = 1024, 1024 // some hundred load balancers' lists each
	if workers <= 1 {
		// Most Services give one or two load balancers. (Several workers'
		// batches are sized once all are planned.)
		c.lbs = make([]LoadBalancer, 0, 2*len(svcs))
		c.remotes = make([][]netip.Addr, 0, 2*len(svcs))
		c.owners = make([]ownerSpan, 0, len(svcs))
	}
	c.diags = append(c.diags, n.diagnostics...)
	// The source-VIP endpoints come first: nothing may take their IPs.
	for _, fam := range n.families {
		if fam.network.Overlay() {
			// Room for it and an endpoint per ClusterIP.
			c.endpoints = slices.Grow(c.endpoints, 1+len(services))
			c.addEndpoint(fam.network.SourceVIPEndpoint(), "Node "+n.Name)
		}
	}
	c.services(svcs, bySvc(), workers)
	return c.plan(), nil
}

// compareServices orders Services by namespace and name. Copies of one
// Service (an informer never hands over two, but callers may) are ordered
// by UID, resourceVersion and, as a last resort, content, so that which
// copy is planned never depends on the input order.
func compareServices(a, b *corev1.Service) int {
	// Two steps: cmp.Or's arguments are all evaluated, and names almost
	// always differ.
	if c := cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name)); c != 0 {
		return c
	}
	if c := cmp.Or(strings.Compare(string(a.UID), string(b.UID)), strings.Compare(a.ResourceVersion, b.ResourceVersion)); c != 0 {
		return c
	}
	if a == b {
		return 0
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb)
}

// computer accumulates one Compute call's results.
type computer struct {
	node    *node
	workers int            // goroutines Compute may use (0 and 1: this one)
	lbs     []LoadBalancer // candidates, before frontend conflicts are resolved
	// cands points at every candidate, in order: at lbs, or, when several
	// workers planned them, into their batches' lbs. plan makes it.
	cands []*LoadBalancer
	// Per candidate, its backends that need a remote endpoint: nil when
	// all do (most, and then no list is made), empty when none does.
	remotes   [][]netip.Addr
	endpoints []endpointCandidate
	diags     []Diagnostic

	// Backends, remote backends and frontend VIPs are carved from these:
	// Compute makes tens of thousands of short lists.
	backendArena arena[Backend]
	addrArena    arena[netip.Addr]
	owners       []ownerSpan // which Service's candidates start where, for frontendWinner

	// What the Tracker's computer, which plans one Service at a time,
	// reuses: its merger's memory and the Service's "Service ns/name".
	merger     *endpoints.Merger
	objectHint string
}

// serviceObject returns "Service ns/name" for svc: objectHint when it is
// that, else a new string.
func (c *computer) serviceObject(svc *corev1.Service) string {
	h, ns := c.objectHint, len("Service ")+len(svc.Namespace)
	if len(h) == ns+1+len(svc.Name) && h[ns] == '/' && h[len("Service "):ns] == svc.Namespace && h[ns+1:] == svc.Name &&
		h[:len("Service ")] == "Service " {
		return h
	}
	return "Service " + svc.Namespace + "/" + svc.Name
}

// merge merges svcSlices for family, in the merger's memory if any.
func (c *computer) merge(svcSlices []*discovery.EndpointSlice, family discovery.AddressType) (endpoints.Ports, []*endpoints.SliceError) {
	if c.merger != nil {
		return c.merger.Merge(svcSlices, family, c.node.Name)
	}
	return endpoints.Merge(svcSlices, family, c.node.Name)
}

func (c *computer) diag(sev Severity, object string, reason Reason, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	c.diags = append(c.diags, Diagnostic{Severity: sev, Object: object, Reason: reason, Message: msg})
}

// svcContext holds what every port of one Service shares.
type svcContext struct {
	name         string // ns/name
	object       string // "Service ns/name"
	svc          *corev1.Service
	etpLocal     bool
	itpLocal     bool
	preserveDest bool
	distribution DistributionType
	externalIPs  []netip.Addr
	ingressIPs   []netip.Addr
	noHealthLB   bool // healthCheckNodePort is out of range: no HealthCheck load balancer
}

// service plans one Service with its EndpointSlices: for each planned
// family that has a ClusterIP, the load balancers of each port
// (servicePort) and, on Overlay, the ClusterIP's endpoint. Services that
// another proxy implements, ExternalName and headless Services get
// nothing.
func (c *computer) service(svc *corev1.Service, svcSlices []*discovery.EndpointSlice) {
	if _, ok := svc.Labels[LabelServiceProxyName]; ok {
		return // another proxy implements it
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	clusterIPs := svc.Spec.ClusterIPs
	if len(clusterIPs) == 0 && svc.Spec.ClusterIP != "" {
		clusterIPs = []string{svc.Spec.ClusterIP}
	}
	if len(clusterIPs) == 0 || clusterIPs[0] == "" || clusterIPs[0] == corev1.ClusterIPNone {
		return // headless, or not allocated yet
	}

	sc := &svcContext{svc: svc, object: c.serviceObject(svc)}
	sc.name = sc.object[len("Service "):]
	sc.etpLocal = externallyAccessible(svc) && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	sc.itpLocal = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	sc.preserveDest = svc.Annotations[AnnotationPreserveDestination] == "true"
	c.checkService(sc)
	c.sessionAffinity(sc)
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		c.diag(SeverityWarning, sc.object, ReasonSourceRangesIgnored,
			"HNS load balancers cannot filter by source: loadBalancerSourceRanges %v is not enforced on this node",
			svc.Spec.LoadBalancerSourceRanges)
	}
	sc.externalIPs = c.parseIPList(sc.object, "spec.externalIPs", svc.Spec.ExternalIPs)
	sc.ingressIPs = c.ingressIPs(sc)

	// Per-port checks that do not depend on the family, reported once.
	portOK := make([]bool, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		portOK[i] = c.checkPort(sc, i, p)
	}

	vip4, vip6 := c.clusterVIPs(sc, clusterIPs)
	for _, fam := range c.node.families {
		vip := vip4
		if fam.name == IPv6 {
			vip = vip6
		}
		if !vip.IsValid() {
			continue // the Service has no ClusterIP in this family
		}
		if fam.network.Overlay() {
			c.addEndpoint(fam.network.ClusterIPEndpoint(vip), sc.object)
		}
		ports, errs := c.merge(svcSlices, addressType(fam.name))
		for _, e := range errs {
			// The SliceError's text without its "EndpointSlice ns/name: ".
			msg := e.Error()[len("EndpointSlice ")+len(e.Slice.String())+len(": "):]
			reason := ReasonInvalidEndpointSlice
			if e.Kept {
				reason = ReasonNonCanonicalAddress
			}
			c.diag(SeverityWarning, "EndpointSlice "+e.Slice.String(), reason, "%s", msg)
		}
		for i, p := range svc.Spec.Ports {
			if portOK[i] {
				c.servicePort(sc, fam, vip, p, ports)
			}
		}
	}
}

// clusterVIPs returns the first usable ClusterIP of each family, reporting
// the unusable ones.
func (c *computer) clusterVIPs(sc *svcContext, clusterIPs []string) (vip4, vip6 netip.Addr) {
	field := "spec.clusterIPs"
	if len(sc.svc.Spec.ClusterIPs) == 0 {
		field = "spec.clusterIP"
	}
	for i, s := range clusterIPs {
		idx := i
		if len(sc.svc.Spec.ClusterIPs) == 0 {
			idx = -1
		}
		a, ok := c.serviceAddr(sc.object, field, idx, "", s)
		switch {
		case !ok:
		case a.Is4():
			if !vip4.IsValid() {
				vip4 = a
			}
		case !vip6.IsValid():
			vip6 = a
		}
	}
	return vip4, vip6
}

// checkService reports Service fields the API server would have rejected
// and that Compute does not coerce silently (docs/semantics.md §4.1):
//
//   - spec.type other than ClusterIP, NodePort, LoadBalancer or
//     ExternalName: warning; the Service is planned by its fields, as
//     kube-proxy does (a nodePort gives a NodePort load balancer, and
//     externalTrafficPolicy does not apply).
//   - spec.healthCheckNodePort outside 0-65535: error; no HealthCheck load
//     balancer (the cloud load balancer checks a port nothing can answer
//     on; forwarding the node's health port instead would hide that).
func (c *computer) checkService(sc *svcContext) {
	switch t := sc.svc.Spec.Type; t {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, "":
	default:
		c.diag(SeverityWarning, sc.object, ReasonInvalidService,
			"spec.type %q is not ClusterIP, NodePort, LoadBalancer or ExternalName: planned by its fields, as kube-proxy does", t)
	}
	if hc := sc.svc.Spec.HealthCheckNodePort; hc < 0 || hc > 65535 {
		sc.noHealthLB = true
		c.diag(SeverityError, sc.object, ReasonInvalidService,
			"spec.healthCheckNodePort %d is out of range 1-65535: no HealthCheck load balancer", hc)
	}
}

// externallyAccessible is kube-proxy's ServiceExternallyAccessible: only
// then does externalTrafficPolicy apply.
func externallyAccessible(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeClusterIP, "":
		return len(svc.Spec.ExternalIPs) > 0
	}
	return false
}

// sessionAffinity sets the distribution. A value other than None and
// ClientIP gets a warning and is planned as None, as kube-proxy does.
func (c *computer) sessionAffinity(sc *svcContext) {
	switch a := sc.svc.Spec.SessionAffinity; a {
	case corev1.ServiceAffinityClientIP:
	case corev1.ServiceAffinityNone, "":
		return
	default:
		c.diag(SeverityWarning, sc.object, ReasonInvalidService,
			"spec.sessionAffinity %q is not None or ClientIP: planned as None", a)
		return
	}
	if !c.node.caps.SessionAffinity {
		c.diag(SeverityWarning, sc.object, ReasonSessionAffinity,
			"sessionAffinity ClientIP needs HNS 12.0 or later (this node has %s): planned without affinity", c.node.version)
		return
	}
	sc.distribution = DistributionSourceIP
	if cfg := sc.svc.Spec.SessionAffinityConfig; cfg != nil && cfg.ClientIP != nil && cfg.ClientIP.TimeoutSeconds != nil &&
		*cfg.ClientIP.TimeoutSeconds != defaultAffinityTimeout {
		c.diag(SeverityInfo, sc.object, ReasonAffinityTimeout,
			"HNS session affinity has no timeout: timeoutSeconds %d is ignored", *cfg.ClientIP.TimeoutSeconds)
	}
}

// serviceAddr parses the address s of a Service field (field[i]suffix,
// or field when i < 0), following the rules for every address a Service
// gives (docs/semantics.md §4.1):
//
//   - not an IP address (endpoints.ParseAddr): error, not planned;
//   - special-purpose (endpoints.SpecialPurpose: unspecified, loopback,
//     link-local, multicast): error, not planned — the API server rejects
//     them, and HNS would get a load balancer or endpoint for the host's
//     own addresses;
//   - read leniently (leading zeros, IPv4-mapped IPv6): warning
//     NonCanonicalAddress, planned as kube-proxy reads it.
//
// Nothing is formatted unless a diagnostic is made.
func (c *computer) serviceAddr(object, field string, i int, suffix, s string) (netip.Addr, bool) {
	a, normalized, err := endpoints.ParseAddrNormalized(s)
	if err == nil && !normalized && endpoints.SpecialPurpose(a) == "" {
		return a, true // the happy path
	}
	name := field + suffix
	if i >= 0 {
		name = fmt.Sprintf("%s[%d]%s", field, i, suffix)
	}
	if err != nil {
		c.diag(SeverityError, object, ReasonInvalidService, "%s %q is not an IP address: not planned", name, s)
		return netip.Addr{}, false
	}
	if kind := endpoints.SpecialPurpose(a); kind != "" {
		c.diag(SeverityError, object, ReasonInvalidService, "%s %q is a special-purpose address (%s): not planned", name, s, kind)
		return netip.Addr{}, false
	}
	c.diag(SeverityWarning, object, ReasonNonCanonicalAddress,
		"%s %q is read as %s, as kube-proxy does: write it canonically", name, s, a)
	return a, true
}

// parseIPList parses a list of IPs (see serviceAddr), reporting bad ones
// and dropping duplicates. Families are filtered later, per family.
func (c *computer) parseIPList(object, field string, in []string) []netip.Addr {
	var out []netip.Addr
	for i, s := range in {
		a, ok := c.serviceAddr(object, field, i, "", s)
		if !ok {
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func (c *computer) ingressIPs(sc *svcContext) []netip.Addr {
	var out []netip.Addr
	for i, ing := range sc.svc.Status.LoadBalancer.Ingress {
		if ing.IP == "" {
			if ing.Hostname != "" {
				c.diag(SeverityWarning, sc.object, ReasonIngressHostnameOnly,
					"status.loadBalancer.ingress[%d] has hostname %q and no IP: no load balancer for it", i, ing.Hostname)
			}
			continue
		}
		if ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy {
			c.diag(SeverityInfo, sc.object, ReasonIngressIPModeProxy,
				"status.loadBalancer.ingress[%d] %s has ipMode Proxy: the cloud load balancer proxies to node ports, so no load balancer for the IP", i, ing.IP)
			continue
		}
		if ing.IPMode != nil && *ing.IPMode != corev1.LoadBalancerIPModeVIP {
			// kube-proxy skips only Proxy: anything else is a VIP.
			c.diag(SeverityWarning, sc.object, ReasonInvalidService,
				"status.loadBalancer.ingress[%d].ipMode %q is not VIP or Proxy: planned as VIP, as kube-proxy does", i, *ing.IPMode)
		}
		a, ok := c.serviceAddr(sc.object, "status.loadBalancer.ingress", i, ".ip", ing.IP)
		if !ok {
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// portRef names a service port in diagnostics; the string is built only
// when a diagnostic needs it. It holds the object name, not the
// svcContext, so that the context can stay on the stack.
type portRef struct {
	object string // "Service ns/name"
	name   string
}

func (r portRef) String() string { return r.object + ":" + r.name }

// checkPort reports problems of a service port that rule it out entirely.
// A port whose name and protocol repeat an earlier port's is not planned:
// both would take the same endpoints (kube-proxy keys ports by name and
// protocol, and keeps one).
func (c *computer) checkPort(sc *svcContext, i int, p corev1.ServicePort) bool {
	for j, q := range sc.svc.Spec.Ports[:i] {
		if q.Name == p.Name && cmp.Or(q.Protocol, corev1.ProtocolTCP) == cmp.Or(p.Protocol, corev1.ProtocolTCP) {
			c.diag(SeverityError, portRef{sc.object, p.Name}.String(), ReasonInvalidService,
				"spec.ports[%d].name %q repeats spec.ports[%d].name with protocol %s: port %d not planned",
				i, p.Name, j, cmp.Or(p.Protocol, corev1.ProtocolTCP), p.Port)
			return false
		}
	}
	obj := portRef{sc.object, p.Name} // made a string only for a diagnostic
	switch p.Protocol {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, "":
	default:
		c.diag(SeverityWarning, obj.String(), ReasonUnsupportedProtocol,
			"protocol %s is not supported by HNS load balancers (TCP and UDP only): port %d not planned", p.Protocol, p.Port)
		return false
	}
	if p.Port < 1 || p.Port > 65535 {
		c.diag(SeverityError, obj.String(), ReasonInvalidService, "spec.ports[%d].port %d is out of range 1-65535: not planned", i, p.Port)
		return false
	}
	if p.NodePort < 0 || p.NodePort > 65535 {
		c.diag(SeverityError, obj.String(), ReasonInvalidService, "spec.ports[%d].nodePort %d is out of range 1-65535: not planned", i, p.NodePort)
		return false
	}
	return true
}

func protocolOf(p corev1.Protocol) Protocol {
	if p == corev1.ProtocolUDP {
		return ProtocolUDP
	}
	return ProtocolTCP
}

func addressType(f IPFamily) discovery.AddressType {
	if f == IPv6 {
		return discovery.AddressTypeIPv6
	}
	return discovery.AddressTypeIPv4
}

// selection is the backends of one service port for one endpoint set, with
// everything derived from them, shared by the load balancers using the set.
type selection struct {
	internalPort uint16
	backends     []Backend
	remote       []netip.Addr // nil: all backends are remote; empty: none is
	sourceVIP    netip.Addr
}

// servicePort plans the load balancers of one service port in one family:
// ClusterIP, NodePort, one per external IP and one per ingress IP (with
// its HealthCheck load balancer), in that order: compareFrontendClaims
// decides which claims a frontend, this order only between load balancers
// of one port.
func (c *computer) servicePort(sc *svcContext, fam family, vip netip.Addr, p corev1.ServicePort, ports endpoints.Ports) {
	pp := c.newPortPlan(sc, fam, p, ports)

	// DSR is requested by the node for ClusterIP, and by the traffic policy
	// for the external kinds; both need HNS's DSR capability.
	dsrOK := c.node.caps.DSR
	externalDSR := sc.etpLocal
	if externalDSR && !dsrOK {
		c.diag(SeverityWarning, pp.obj.String(), ReasonDSRUnsupported,
			"externalTrafficPolicy Local uses DSR, which HNS %s lacks: external load balancers are planned without DSR", c.node.version)
	}

	c.emit(&pp, KindClusterIP, vip, uint16(p.Port), c.node.EnableDSR && dsrOK, 0, c.backends(&pp, sc.itpLocal))

	externalLocal := sc.etpLocal || sc.preserveDest
	if p.NodePort > 0 {
		c.emit(&pp, KindNodePort, netip.Addr{}, uint16(p.NodePort), externalDSR && dsrOK,
			PortMappingLocalRoutedVIP|PortMappingVipExternalIP, c.backends(&pp, externalLocal))
	}
	for _, ip := range sc.externalIPs {
		if familyOf(ip) == fam.name {
			c.emit(&pp, KindExternalIP, ip, uint16(p.Port), externalDSR && dsrOK, PortMappingVipExternalIP, c.backends(&pp, sc.etpLocal))
		}
	}
	ingressPM := PortMappingVipExternalIP
	if sc.preserveDest {
		ingressPM |= PortMappingUseMux | PortMappingPreserveDIP
	}
	if sc.preserveDest && !sc.etpLocal && !dsrOK {
		c.diag(SeverityWarning, pp.obj.String(), ReasonDSRUnsupported,
			"preserve-destination uses DSR, which HNS %s lacks: ingress load balancers are planned without DSR", c.node.version)
	}
	for _, ip := range sc.ingressIPs {
		if familyOf(ip) != fam.name {
			continue
		}
		c.emit(&pp, KindIngress, ip, uint16(p.Port), (sc.etpLocal || sc.preserveDest) && dsrOK, ingressPM, c.backends(&pp, externalLocal))
		if c.node.ForwardHealthCheckVIP && !sc.noHealthLB {
			c.healthCheck(sc, fam, ip, pp.flags)
		}
	}
	if pp.missing {
		c.diag(SeverityInfo, pp.obj.String(), ReasonNoEndpoints,
			"no usable %s endpoints for some load balancers of this port: they are not planned until endpoints are ready", fam.name)
	}
}

// portPlan is what the load balancers of one service port in one family
// share: the fields they have in common, and the port's cluster and local
// endpoint sets (KEP-1669), whose backends are selected on first use.
type portPlan struct {
	fam     family
	obj     portRef
	base    LoadBalancer // everything but the kind, frontend and backends
	flags   LoadBalancerFlags
	cluster endpointSet
	local   endpointSet
	missing bool // a load balancer was left out for want of backends
}

// endpointSet is one endpoint set of a port and, once selected, its
// backends.
type endpointSet struct {
	endpoints []endpoints.Endpoint
	sel       selection
	selected  bool
}

func (c *computer) newPortPlan(sc *svcContext, fam family, p corev1.ServicePort, ports endpoints.Ports) portPlan {
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	cluster, local := endpoints.Categorize(ports[endpoints.PortKey{Name: p.Name, Protocol: proto}], c.node.topology)
	pp := portPlan{
		fam: fam,
		obj: portRef{sc.object, p.Name},
		base: LoadBalancer{
			Service:          sc.name,
			Port:             p.Name,
			IPFamily:         fam.name,
			Protocol:         protocolOf(proto),
			ExternalPort:     uint16(p.Port),
			DistributionType: sc.distribution,
		},
		cluster: endpointSet{endpoints: cluster},
		local:   endpointSet{endpoints: local},
	}
	if fam.name == IPv6 {
		pp.flags = FlagIPv6
	}
	return pp
}

// backends returns the backends of pp's local or cluster set. (This and
// emit are computer's methods, not portPlan's, so that pp never refers to
// the computer: then neither escapes to the heap.)
func (c *computer) backends(pp *portPlan, local bool) *selection {
	set := &pp.cluster
	if local {
		set = &pp.local
	}
	if !set.selected {
		set.sel, set.selected = c.selectBackends(pp.obj, pp.fam, set.endpoints), true
	}
	return &set.sel
}

// emit plans one load balancer of pp's port, or notes it missing when sel
// has no backends. Without DSR, HNS versions with a backend limit get the
// first backends up to the limit.
func (c *computer) emit(pp *portPlan, kind Kind, frontend netip.Addr, extPort uint16, dsr bool, pmFlags PortMappingFlags, sel *selection) {
	if sel.backends == nil {
		pp.missing = true
		return
	}
	lb := pp.base
	lb.Kind = kind
	lb.FrontendVIPs = []netip.Addr{} // JSON [] for NodePort
	if frontend.IsValid() {
		lb.FrontendVIPs = append(c.addrArena.take(1), frontend)
	}
	lb.ExternalPort = extPort
	lb.InternalPort = sel.internalPort
	lb.Flags = pp.flags
	if dsr {
		lb.Flags |= FlagDSR
	}
	lb.PortMappingFlags = pmFlags
	lb.SourceVIP = sel.sourceVIP
	lb.Backends = sel.backends
	remote := sel.remote
	if limit := c.node.caps.MaxNonDSRBackends; limit > 0 && !dsr && len(lb.Backends) > limit {
		c.diag(SeverityWarning, pp.obj.String(), ReasonTooManyBackends,
			"%s load balancer %s has %d backends; HNS %s takes at most %d without DSR (kubernetes#98680): using the first %d",
			kind, lb.Key(), len(lb.Backends), c.node.version, limit, limit)
		lb.Backends, remote, lb.SourceVIP = truncate(pp.fam, sel, limit)
	}
	c.lbs = append(c.lbs, lb)
	c.remotes = append(c.remotes, remote)
}

// healthCheck plans the load balancer that forwards a cloud load
// balancer's health checks on the ingress IP to the node's health server.
func (c *computer) healthCheck(sc *svcContext, fam family, ingress netip.Addr, lbFlags LoadBalancerFlags) {
	port := c.node.healthzPort
	if hc := sc.svc.Spec.HealthCheckNodePort; hc > 0 && hc <= 65535 {
		port = uint16(hc)
	}
	var pm PortMappingFlags
	if sc.preserveDest {
		pm = PortMappingUseMux | PortMappingPreserveDIP
	}
	lb := LoadBalancer{
		Service:      sc.name,
		Kind:         KindHealthCheck,
		IPFamily:     fam.name,
		FrontendVIPs: append(c.addrArena.take(1), ingress),
		Protocol:     ProtocolTCP, // health checks are HTTP, whatever the service's protocol
		InternalPort: port,
		ExternalPort: port,
		Flags:        lbFlags, // never DSR
		// The host answers: its traffic needs the source VIP like any
		// local backend's.
		PortMappingFlags: pm,
		SourceVIP:        fam.network.SourceVIP(nil),
		Backends:         append(c.backendArena.take(1), Backend{EndpointName: c.node.rootEndpoint}),
	}
	c.lbs = append(c.lbs, lb)
	c.remotes = append(c.remotes, []netip.Addr{}) // allocates nothing
}

// selectBackends turns one endpoint set into a load balancer's backends:
// one internal port (the most common), sorted IPs, the SourceVIP and the
// remote endpoints needed. Its backends are nil when none is usable.
func (c *computer) selectBackends(obj portRef, fam family, set []endpoints.Endpoint) selection {
	if len(set) == 0 {
		return selection{}
	}
	port := set[0].Port
	mixed := false
	for _, e := range set[1:] {
		if e.Port != port {
			mixed = true
			break
		}
	}
	if mixed {
		port = majorityPort(set)
	}
	sel := selection{internalPort: uint16(port)}
	sel.backends = c.backendArena.take(len(set))
	remote := 0
	for _, e := range set {
		if !e.Local {
			remote++
		}
	}
	// When every backend is remote (most sets, on a cluster of many
	// nodes), sel.remote stays nil: the backends say it.
	someLocal := remote < len(set)
	if someLocal {
		sel.remote = c.addrArena.take(remote)
	}
	var dropped []string
	for _, e := range set {
		if e.Port != port {
			dropped = append(dropped, netip.AddrPortFrom(e.Addr, uint16(e.Port)).String())
			continue
		}
		sel.backends = append(sel.backends, Backend{IP: e.Addr})
		if someLocal && !e.Local {
			sel.remote = append(sel.remote, e.Addr)
		}
	}
	if len(dropped) > 0 {
		c.diag(SeverityWarning, obj.String(), ReasonMixedInternalPorts,
			"endpoints disagree on the target port and HNS takes one per load balancer: using %d, skipping %s",
			port, strings.Join(dropped, ", "))
	}
	sel.backends = slices.Clip(sel.backends)
	if someLocal {
		sel.remote = slices.Clip(sel.remote)
		if sel.remote == nil {
			sel.remote = []netip.Addr{} // allocates nothing
		}
		sel.sourceVIP = fam.network.SourceVIP(sel.remote)
	} else {
		sel.sourceVIP = allRemoteSourceVIP(fam.network, sel.backends)
	}
	return sel
}

// allRemoteSourceVIP is network.SourceVIP of backends' IPs, all remote,
// without listing them: the node IP when one forces it, else what
// SourceVIP gives for no remote backend (the source VIP, or none on
// L2Bridge).
func allRemoteSourceVIP(network *sourcevip.Network, backends []Backend) netip.Addr {
	for _, b := range backends {
		if network.ForcesNodeIP(b.IP) {
			return network.NodeIP()
		}
	}
	return network.SourceVIP(nil)
}

// majorityPort returns the port most endpoints use; ties go to the lowest.
func majorityPort(set []endpoints.Endpoint) int32 {
	counts := map[int32]int{}
	for _, e := range set {
		counts[e.Port]++
	}
	best, bestN := int32(0), 0
	for p, n := range counts {
		if n > bestN || (n == bestN && p < best) {
			best, bestN = p, n
		}
	}
	return best
}

// truncate keeps the first limit backends of sel (the rare WS2019 case).
func truncate(fam family, sel *selection, limit int) ([]Backend, []netip.Addr, netip.Addr) {
	backends := sel.backends[:limit:limit]
	if sel.remote == nil { // all remote, and still so
		return backends, nil, allRemoteSourceVIP(fam.network, backends)
	}
	remote := []netip.Addr{}
	for _, r := range sel.remote {
		if slices.ContainsFunc(backends, func(b Backend) bool { return b.IP == r }) {
			remote = append(remote, r)
		}
	}
	return backends, remote, fam.network.SourceVIP(remote)
}

// addEndpoint records an endpoint the plan needs that is not a remote
// backend's: the source VIP's (added first) and the Overlay ClusterIP
// endpoints. Conflicts are resolved in plan: the first one added wins.
func (c *computer) addEndpoint(ep Endpoint, owner string) {
	c.endpoints = append(c.endpoints, endpointCandidate{ep: ep, owner: owner})
}

// plan resolves frontend conflicts and assembles the sorted Plan.
func (c *computer) plan() Plan {
	// lbOrder puts each key's candidates in a run; frontendWinner picks
	// the run's winner (compareFrontendClaims), and the others get
	// frontendConflict's diagnostic.
	// The recorded endpoints do not depend on the winners: they are sorted
	// meanwhile.
	var recorded []endpointCandidate
	waitRecorded := c.concurrently(func() { recorded = c.recordedByIP() })
	if c.cands == nil {
		c.cands = make([]*LoadBalancer, len(c.lbs))
		for i := range c.lbs {
			c.cands[i] = &c.lbs[i]
		}
	}
	order := c.lbOrder()
	lbs := make([]LoadBalancer, 0, len(order))
	won := make([]bool, len(c.cands))
	for r := 0; r < len(order); {
		e := r + 1
		for e < len(order) && order[e].key == order[r].key {
			e++
		}
		w := c.frontendWinner(order[r:e])
		win := c.cands[w]
		won[w] = true
		lbs = append(lbs, *win)
		for _, o := range order[r:e] {
			if o.idx == w {
				continue
			}
			if d, ok := frontendConflict(win, c.cands[o.idx]); ok {
				c.diags = append(c.diags, d)
			}
		}
		r = e
	}
	// The winners' remote backends, in candidate order: there the kinds
	// of one port, which share a slice, are neighbours.
	remotes := make([]remoteView, 0, len(lbs))
	for i, ok := range won {
		if ok {
			remotes = append(remotes, remoteView{ips: c.remotes[i]})
			if c.remotes[i] == nil {
				remotes[len(remotes)-1].backends = c.cands[i].Backends
			}
		}
	}
	waitRecorded()
	eps := c.endpointList(remotes, recorded)

	slices.SortFunc(c.diags, compareDiagnostics)
	diags := slices.CompactFunc(c.diags, func(a, b Diagnostic) bool { return a == b })
	if diags == nil {
		diags = []Diagnostic{} // JSON [], never null
	}
	return Plan{LoadBalancers: lbs, Endpoints: eps, Diagnostics: diags}
}

// endpointList returns the plan's endpoints sorted by IP: the recorded
// ones (source VIP first, then ClusterIP endpoints; recordedByIP) and a remote endpoint
// per remote backend of a planned load balancer. Where several want one
// IP, resolveEndpoint decides: the first recorded one wins, and a
// recorded one wins over the remote backend's.
func (c *computer) endpointList(remotes []remoteView, recorded []endpointCandidate) []Endpoint {
	ips, v4 := remoteBackendIPs(remotes, c.workers > 1 && len(remotes) >= parallelMinRemoteLists)
	// The remote endpoints go into one array with room for the recorded
	// ones, which mergeRecorded then merges in, in place.
	out := make([]Endpoint, 0, len(ips)+len(recorded))
	for _, fam := range c.node.families {
		lo, hi := 0, v4
		if fam.name == IPv6 {
			lo, hi = v4, len(ips)
		}
		out = c.appendRemoteEndpoints(fam.network, out, ips[lo:hi])
	}
	return mergeRecorded(out, recorded, func(group []endpointCandidate, remote *Endpoint) Endpoint {
		var ep Endpoint
		ep, c.diags = resolveEndpoint(c.diags, c.node.Name, group, remote)
		return ep
	})
}
