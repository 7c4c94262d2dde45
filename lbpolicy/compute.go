package lbpolicy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/endpoints"
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
func Compute(node Node, services []*corev1.Service, endpointSlices []*discovery.EndpointSlice) (Plan, error) {
	n, err := node.validate()
	if err != nil {
		return Plan{}, err
	}
	c := &computer{node: n, endpoints: map[netip.Addr]endpointCandidate{}}
	c.diags = append(c.diags, n.diagnostics...)
	// The source-VIP endpoints come first: nothing may take their IPs.
	for _, fam := range n.families {
		if fam.network.Overlay() {
			c.addEndpoint(fam.network.SourceVIPEndpoint(), "Node "+n.Name, false)
		}
	}

	bySvc := endpoints.ByService(endpointSlices)
	svcs := make([]*corev1.Service, 0, len(services))
	for _, s := range services {
		if s != nil {
			svcs = append(svcs, s)
		}
	}
	slices.SortStableFunc(svcs, func(a, b *corev1.Service) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	for i, s := range svcs {
		if i > 0 && s.Namespace == svcs[i-1].Namespace && s.Name == svcs[i-1].Name {
			c.diag(SeverityError, "Service "+s.Namespace+"/"+s.Name, ReasonInvalidService,
				"the Service is given twice; only the first copy is planned")
			continue
		}
		c.service(s, bySvc[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}])
	}
	return c.plan(), nil
}

// computer accumulates one Compute call's results.
type computer struct {
	node      *node
	lbs       []candidate
	endpoints map[netip.Addr]endpointCandidate
	diags     []Diagnostic
}

// candidate is a load balancer before frontend conflicts are resolved.
type candidate struct {
	lb     LoadBalancer
	remote []netip.Addr // backends that need a remote endpoint
}

// endpointCandidate remembers who asked for a plan endpoint, to report
// two different endpoints wanting one IP.
type endpointCandidate struct {
	ep      Endpoint
	owner   string
	backend bool // a remote backend's endpoint
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
}

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

	sc := &svcContext{
		name: svc.Namespace + "/" + svc.Name,
		svc:  svc,
	}
	sc.object = "Service " + sc.name
	sc.etpLocal = externallyAccessible(svc) && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	sc.itpLocal = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	sc.preserveDest = svc.Annotations[AnnotationPreserveDestination] == "true"
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

	for _, fam := range c.node.families {
		var vip netip.Addr
		for i, s := range clusterIPs {
			a, err := endpoints.ParseAddr(s)
			if err != nil {
				if fam.name == c.node.families[0].name {
					c.diag(SeverityError, sc.object, ReasonInvalidService, "spec.clusterIPs[%d] %q is not an IP address", i, s)
				}
				continue
			}
			if familyOf(a) == fam.name {
				vip = a
				break
			}
		}
		if !vip.IsValid() {
			continue // the Service has no ClusterIP in this family
		}
		if fam.network.Overlay() {
			c.addEndpoint(fam.network.ClusterIPEndpoint(vip), sc.object, false)
		}
		ports, errs := endpoints.Merge(svcSlices, addressType(fam.name), c.node.Name)
		for _, e := range errs {
			msg := e.Reason
			if e.Address != "" {
				msg = fmt.Sprintf("address %q skipped: %s", e.Address, e.Reason)
			}
			c.diag(SeverityWarning, "EndpointSlice "+e.Slice.String(), ReasonInvalidEndpointSlice, "%s", msg)
		}
		for i, p := range svc.Spec.Ports {
			if portOK[i] {
				c.servicePort(sc, fam, vip, p, ports)
			}
		}
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

func (c *computer) sessionAffinity(sc *svcContext) {
	if sc.svc.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
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

// parseIPList parses a list of IPs, reporting bad ones and dropping
// duplicates. Families are filtered later, per family.
func (c *computer) parseIPList(object, field string, in []string) []netip.Addr {
	var out []netip.Addr
	for i, s := range in {
		a, err := endpoints.ParseAddr(s)
		if err != nil {
			c.diag(SeverityError, object, ReasonInvalidService, "%s[%d] %q is not an IP address: not planned", field, i, s)
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
		a, err := endpoints.ParseAddr(ing.IP)
		if err != nil {
			c.diag(SeverityError, sc.object, ReasonInvalidService, "status.loadBalancer.ingress[%d].ip %q is not an IP address: not planned", i, ing.IP)
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func portObject(sc *svcContext, p corev1.ServicePort) string {
	return sc.object + ":" + p.Name
}

// checkPort reports problems of a service port that rule it out entirely.
func (c *computer) checkPort(sc *svcContext, i int, p corev1.ServicePort) bool {
	obj := portObject(sc, p)
	switch p.Protocol {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, "":
	default:
		c.diag(SeverityWarning, obj, ReasonUnsupportedProtocol,
			"protocol %s is not supported by HNS load balancers (TCP and UDP only): port %d not planned", p.Protocol, p.Port)
		return false
	}
	if p.Port < 1 || p.Port > 65535 {
		c.diag(SeverityError, obj, ReasonInvalidService, "spec.ports[%d].port %d is out of range 1-65535: not planned", i, p.Port)
		return false
	}
	if p.NodePort < 0 || p.NodePort > 65535 {
		c.diag(SeverityError, obj, ReasonInvalidService, "spec.ports[%d].nodePort %d is out of range 1-65535: not planned", i, p.NodePort)
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
	remote       []netip.Addr
	sourceVIP    netip.Addr
}

func (c *computer) servicePort(sc *svcContext, fam family, vip netip.Addr, p corev1.ServicePort, ports endpoints.Ports) {
	obj := portObject(sc, p)
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	eps := ports[endpoints.PortKey{Name: p.Name, Protocol: proto}]
	cluster, local := endpoints.Categorize(eps, c.node.topology)

	var clusterSel, localSel *selection
	var clusterDone, localDone bool
	pick := func(useLocal bool) *selection {
		if useLocal {
			if !localDone {
				localSel, localDone = c.selectBackends(obj, fam, local), true
			}
			return localSel
		}
		if !clusterDone {
			clusterSel, clusterDone = c.selectBackends(obj, fam, cluster), true
		}
		return clusterSel
	}

	var lbFlags LoadBalancerFlags
	if fam.name == IPv6 {
		lbFlags = FlagIPv6
	}
	base := LoadBalancer{
		Service:          sc.name,
		Port:             p.Name,
		IPFamily:         fam.name,
		Protocol:         protocolOf(proto),
		ExternalPort:     uint16(p.Port),
		DistributionType: sc.distribution,
	}
	missing := false
	emit := func(kind Kind, frontend netip.Addr, extPort uint16, dsr bool, pmFlags PortMappingFlags, sel *selection) {
		if sel == nil {
			missing = true
			return
		}
		lb := base
		lb.Kind = kind
		lb.FrontendVIPs = []netip.Addr{} // JSON [] for NodePort
		if frontend.IsValid() {
			lb.FrontendVIPs = []netip.Addr{frontend}
		}
		lb.ExternalPort = extPort
		lb.InternalPort = sel.internalPort
		lb.Flags = lbFlags
		if dsr {
			lb.Flags |= FlagDSR
		}
		lb.PortMappingFlags = pmFlags
		lb.SourceVIP = sel.sourceVIP
		lb.Backends = sel.backends
		remote := sel.remote
		if limit := c.node.caps.MaxNonDSRBackends; limit > 0 && !dsr && len(lb.Backends) > limit {
			c.diag(SeverityWarning, obj, ReasonTooManyBackends,
				"%s load balancer %s has %d backends; HNS %s takes at most %d without DSR (kubernetes#98680): using the first %d",
				kind, lb.Key(), len(lb.Backends), c.node.version, limit, limit)
			lb.Backends, remote, lb.SourceVIP = truncate(fam, sel, limit)
		}
		c.lbs = append(c.lbs, candidate{lb: lb, remote: remote})
	}

	// DSR is requested by the node for ClusterIP, and by the traffic policy
	// for the external kinds; both need HNS's DSR capability.
	dsrOK := c.node.caps.DSR
	externalDSR := sc.etpLocal
	if externalDSR && !dsrOK {
		c.diag(SeverityWarning, obj, ReasonDSRUnsupported,
			"externalTrafficPolicy Local uses DSR, which HNS %s lacks: external load balancers are planned without DSR", c.node.version)
	}

	emit(KindClusterIP, vip, uint16(p.Port), c.node.EnableDSR && dsrOK, 0, pick(sc.itpLocal))

	externalLocal := sc.etpLocal || sc.preserveDest
	if p.NodePort > 0 {
		emit(KindNodePort, netip.Addr{}, uint16(p.NodePort), externalDSR && dsrOK,
			PortMappingLocalRoutedVIP|PortMappingVipExternalIP, pick(externalLocal))
	}
	for _, ip := range sc.externalIPs {
		if familyOf(ip) == fam.name {
			emit(KindExternalIP, ip, uint16(p.Port), externalDSR && dsrOK, PortMappingVipExternalIP, pick(sc.etpLocal))
		}
	}
	ingressPM := PortMappingVipExternalIP
	if sc.preserveDest {
		ingressPM |= PortMappingUseMux | PortMappingPreserveDIP
	}
	if sc.preserveDest && !sc.etpLocal && !dsrOK {
		c.diag(SeverityWarning, obj, ReasonDSRUnsupported,
			"preserve-destination uses DSR, which HNS %s lacks: ingress load balancers are planned without DSR", c.node.version)
	}
	for _, ip := range sc.ingressIPs {
		if familyOf(ip) != fam.name {
			continue
		}
		emit(KindIngress, ip, uint16(p.Port), (sc.etpLocal || sc.preserveDest) && dsrOK, ingressPM, pick(externalLocal))
		if c.node.ForwardHealthCheckVIP {
			c.healthCheck(sc, fam, ip, lbFlags)
		}
	}
	if missing {
		c.diag(SeverityInfo, obj, ReasonNoEndpoints,
			"no usable %s endpoints for some load balancers of this port: they are not planned until endpoints are ready", fam.name)
	}
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
		FrontendVIPs: []netip.Addr{ingress},
		Protocol:     ProtocolTCP, // health checks are HTTP, whatever the service's protocol
		InternalPort: port,
		ExternalPort: port,
		Flags:        lbFlags, // never DSR
		// The host answers: its traffic needs the source VIP like any
		// local backend's.
		PortMappingFlags: pm,
		SourceVIP:        fam.network.SourceVIP(nil),
		Backends:         []Backend{{EndpointName: c.node.rootEndpoint}},
	}
	c.lbs = append(c.lbs, candidate{lb: lb})
}

// selectBackends turns one endpoint set into a load balancer's backends:
// one internal port (the most common), sorted IPs, the SourceVIP and the
// remote endpoints needed. It returns nil when no backend is usable.
func (c *computer) selectBackends(obj string, fam family, set []endpoints.Endpoint) *selection {
	if len(set) == 0 {
		return nil
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
	sel := &selection{internalPort: uint16(port)}
	sel.backends = make([]Backend, 0, len(set))
	var dropped []string
	for _, e := range set {
		if e.Port != port {
			dropped = append(dropped, netip.AddrPortFrom(e.Addr, uint16(e.Port)).String())
			continue
		}
		sel.backends = append(sel.backends, Backend{IP: e.Addr})
		if !e.Local {
			sel.remote = append(sel.remote, e.Addr)
		}
	}
	if len(dropped) > 0 {
		c.diag(SeverityWarning, obj, ReasonMixedInternalPorts,
			"endpoints disagree on the target port and HNS takes one per load balancer: using %d, skipping %s",
			port, strings.Join(dropped, ", "))
	}
	sel.sourceVIP = fam.network.SourceVIP(sel.remote)
	return sel
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
	var remote []netip.Addr
	for _, r := range sel.remote {
		if slices.ContainsFunc(backends, func(b Backend) bool { return b.IP == r }) {
			remote = append(remote, r)
		}
	}
	return backends, remote, fam.network.SourceVIP(remote)
}

func (c *computer) addEndpoint(ep Endpoint, owner string, backend bool) {
	if prev, ok := c.endpoints[ep.IP]; ok {
		if prev.ep != ep {
			c.diag(SeverityWarning, owner, ReasonEndpointAddressInUse,
				"HNS endpoint %s is needed as %s but is already planned as %s for %s; keeping the first",
				ep.IP, describeEndpoint(ep), describeEndpoint(prev.ep), prev.owner)
		}
		return
	}
	c.endpoints[ep.IP] = endpointCandidate{ep: ep, owner: owner, backend: backend}
}

func describeEndpoint(ep Endpoint) string {
	if !ep.Remote {
		return "a local endpoint (MAC " + ep.MACAddress + ")"
	}
	if ep.ProviderAddress.IsValid() {
		return "a remote endpoint (MAC " + ep.MACAddress + ", PA " + ep.ProviderAddress.String() + ")"
	}
	return "a remote endpoint (MAC " + ep.MACAddress + ")"
}

// plan resolves frontend conflicts and assembles the sorted Plan.
func (c *computer) plan() Plan {
	// Candidates are in (namespace, name) order, ports in spec order; the
	// first one holding a frontend key wins.
	winners := make(map[Key]int, len(c.lbs))
	lbs := make([]LoadBalancer, 0, len(c.lbs))
	var remotes [][]netip.Addr
	for _, cand := range c.lbs {
		k := cand.lb.Key()
		if i, taken := winners[k]; taken {
			prev := &lbs[i]
			if cand.lb.Kind == KindHealthCheck && prev.Kind == KindHealthCheck && sameContent(prev, &cand.lb) {
				continue // one health-check LB serves every port and Service on the IP
			}
			c.diag(SeverityError, "Service "+cand.lb.Service+":"+cand.lb.Port, ReasonFrontendConflict,
				"%s frontend %s is already planned for Service %s:%s (%s): this load balancer is not planned",
				cand.lb.Kind, k, prev.Service, prev.Port, prev.Kind)
			continue
		}
		winners[k] = len(lbs)
		lbs = append(lbs, cand.lb)
		remotes = append(remotes, cand.remote)
	}
	for i, rs := range remotes {
		fam := c.familyNamed(lbs[i].IPFamily)
		for _, ip := range rs {
			if prev, ok := c.endpoints[ip]; ok && prev.backend {
				continue // fast path: most backends serve several LBs
			}
			c.addEndpoint(fam.network.RemoteEndpoint(ip), "Service "+lbs[i].Service, true)
		}
	}
	slices.SortFunc(lbs, func(a, b LoadBalancer) int { return a.Key().Compare(b.Key()) })

	eps := make([]Endpoint, 0, len(c.endpoints))
	for _, e := range c.endpoints {
		eps = append(eps, e.ep)
	}
	slices.SortFunc(eps, func(a, b Endpoint) int { return a.IP.Compare(b.IP) })

	slices.SortFunc(c.diags, compareDiagnostics)
	diags := slices.CompactFunc(c.diags, func(a, b Diagnostic) bool { return a == b })
	if diags == nil {
		diags = []Diagnostic{} // JSON [], never null
	}
	return Plan{LoadBalancers: lbs, Endpoints: eps, Diagnostics: diags}
}

func (c *computer) familyNamed(f IPFamily) family {
	for _, fam := range c.node.families {
		if fam.name == f {
			return fam
		}
	}
	return c.node.families[0] // unreachable: every LB is of a planned family
}

// sameContent reports whether two load balancers would be the same HNS
// object (everything but the owning Service and port).
func sameContent(a, b *LoadBalancer) bool {
	return a.Key() == b.Key() && a.InternalPort == b.InternalPort && a.Flags == b.Flags &&
		a.PortMappingFlags == b.PortMappingFlags && a.DistributionType == b.DistributionType &&
		a.SourceVIP == b.SourceVIP && slices.Equal(a.Backends, b.Backends)
}
