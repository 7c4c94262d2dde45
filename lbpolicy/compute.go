package lbpolicy

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
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
	c := &computer{node: n}
	c.backendArena.chunk, c.addrArena.chunk = 1024, 1024 // some hundred load balancers' lists each
	// Most Services give one or two load balancers.
	c.lbs = make([]LoadBalancer, 0, 2*len(services))
	c.remotes = make([][]netip.Addr, 0, 2*len(services))
	c.diags = append(c.diags, n.diagnostics...)
	// The source-VIP endpoints come first: nothing may take their IPs.
	for _, fam := range n.families {
		if fam.network.Overlay() {
			// Room for it and an endpoint per ClusterIP.
			c.endpoints = slices.Grow(c.endpoints, 1+len(services))
			c.addEndpoint(fam.network.SourceVIPEndpoint(), "Node "+n.Name)
		}
	}

	bySvc := endpoints.ByService(endpointSlices)
	svcs := make([]*corev1.Service, 0, len(services))
	for _, s := range services {
		if s != nil {
			svcs = append(svcs, s)
		}
	}
	slices.SortFunc(svcs, compareServices)
	for i, s := range svcs {
		if i > 0 && s.Namespace == svcs[i-1].Namespace && s.Name == svcs[i-1].Name {
			c.diag(SeverityError, "Service "+s.Namespace+"/"+s.Name, ReasonInvalidService,
				"the Service is given more than once; only one copy (the lowest UID and resourceVersion) is planned")
			continue
		}
		c.service(s, bySvc[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}])
	}
	return c.plan(), nil
}

// compareServices orders Services by namespace and name. Copies of one
// Service (an informer never hands over two, but callers may) are ordered
// by UID, resourceVersion and, as a last resort, content, so that which
// copy is planned never depends on the input order.
func compareServices(a, b *corev1.Service) int {
	if c := cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name),
		strings.Compare(string(a.UID), string(b.UID)), strings.Compare(a.ResourceVersion, b.ResourceVersion)); c != 0 {
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
	node      *node
	lbs       []LoadBalancer // candidates, before frontend conflicts are resolved
	remotes   [][]netip.Addr // per candidate: backends that need a remote endpoint
	endpoints []endpointCandidate
	diags     []Diagnostic

	// Backends, remote backends and frontend VIPs are carved from these:
	// Compute makes tens of thousands of short lists.
	backendArena arena[Backend]
	addrArena    arena[netip.Addr]
}

// arena hands out slices carved from larger chunks, which saves the
// allocator and the garbage collector work. With chunk 0 every slice is
// its own allocation: the Tracker keeps each Service's output for long,
// and a shared chunk would keep the others' garbage alive.
type arena[T any] struct {
	free  []T
	chunk int
}

// take returns an empty slice with room for n elements. Callers clip it
// once filled, so that appending to it cannot reach the next one.
func (a *arena[T]) take(n int) []T {
	if n > len(a.free) {
		if n >= a.chunk {
			return make([]T, 0, n)
		}
		a.free = make([]T, a.chunk)
	}
	s := a.free[:0:n]
	a.free = a.free[n:]
	return s
}

// endpointCandidate remembers who asked for a plan endpoint, to report
// two different endpoints wanting one IP.
type endpointCandidate struct {
	ep    Endpoint
	owner string
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
			c.addEndpoint(fam.network.ClusterIPEndpoint(vip), sc.object)
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

// portRef names a service port in diagnostics; the string is built only
// when a diagnostic needs it.
type portRef struct {
	sc   *svcContext
	name string
}

func (r portRef) String() string { return r.sc.object + ":" + r.name }

// checkPort reports problems of a service port that rule it out entirely.
func (c *computer) checkPort(sc *svcContext, i int, p corev1.ServicePort) bool {
	obj := portRef{sc, p.Name}.String() // only called once per port
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
	obj := portRef{sc, p.Name}
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	eps := ports[endpoints.PortKey{Name: p.Name, Protocol: proto}]
	cluster, local := endpoints.Categorize(eps, c.node.topology)

	var clusterSel, localSel selection
	var clusterDone, localDone bool
	pick := func(useLocal bool) *selection {
		if useLocal {
			if !localDone {
				localSel, localDone = c.selectBackends(obj, fam, local), true
			}
			return &localSel
		}
		if !clusterDone {
			clusterSel, clusterDone = c.selectBackends(obj, fam, cluster), true
		}
		return &clusterSel
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
		if sel.backends == nil {
			missing = true
			return
		}
		lb := base
		lb.Kind = kind
		lb.FrontendVIPs = []netip.Addr{} // JSON [] for NodePort
		if frontend.IsValid() {
			lb.FrontendVIPs = append(c.addrArena.take(1), frontend)
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
			c.diag(SeverityWarning, obj.String(), ReasonTooManyBackends,
				"%s load balancer %s has %d backends; HNS %s takes at most %d without DSR (kubernetes#98680): using the first %d",
				kind, lb.Key(), len(lb.Backends), c.node.version, limit, limit)
			lb.Backends, remote, lb.SourceVIP = truncate(fam, sel, limit)
		}
		c.lbs = append(c.lbs, lb)
		c.remotes = append(c.remotes, remote)
	}

	// DSR is requested by the node for ClusterIP, and by the traffic policy
	// for the external kinds; both need HNS's DSR capability.
	dsrOK := c.node.caps.DSR
	externalDSR := sc.etpLocal
	if externalDSR && !dsrOK {
		c.diag(SeverityWarning, obj.String(), ReasonDSRUnsupported,
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
		c.diag(SeverityWarning, obj.String(), ReasonDSRUnsupported,
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
		c.diag(SeverityInfo, obj.String(), ReasonNoEndpoints,
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
	c.remotes = append(c.remotes, nil)
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
	if remote > 0 {
		sel.remote = c.addrArena.take(remote)
	}
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
		c.diag(SeverityWarning, obj.String(), ReasonMixedInternalPorts,
			"endpoints disagree on the target port and HNS takes one per load balancer: using %d, skipping %s",
			port, strings.Join(dropped, ", "))
	}
	sel.backends, sel.remote = slices.Clip(sel.backends), slices.Clip(sel.remote)
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

// addEndpoint records an endpoint the plan needs that is not a remote
// backend's: the source VIP's (added first) and the Overlay ClusterIP
// endpoints. Conflicts are resolved in plan: the first one added wins.
func (c *computer) addEndpoint(ep Endpoint, owner string) {
	c.endpoints = append(c.endpoints, endpointCandidate{ep: ep, owner: owner})
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

// lbKey is Key in a form that hashes fast (no strings).
type lbKey struct {
	v6    bool
	vip   netip.Addr
	proto Protocol
	port  uint16
}

func keyOf(lb *LoadBalancer) lbKey {
	k := lbKey{v6: lb.IPFamily == IPv6, proto: lb.Protocol, port: lb.ExternalPort}
	if len(lb.FrontendVIPs) > 0 {
		k.vip = lb.FrontendVIPs[0]
	}
	return k
}

// sortKey packs what the plan's load balancers or endpoints are sorted by
// into integers, most significant first:
//
//	[0] the load balancer's family (IPv4 first), then the address's: none, IPv4, IPv6
//	[1], [2] the address, As16 (plan addresses never have a zone)
//	[3] the load balancer's protocol, then external port
//
// and the index of what it sorts. Radix-sorting these pointer-free records
// and then gathering is much cheaper than sorting LoadBalancers or
// endpointCandidates by comparison (whose moves also pay GC write
// barriers).
type sortKey struct {
	key [4]uint64
	idx int
}

func (k *sortKey) word(i int) uint64 { return k.key[i] }

// addrSortKey orders like netip.Addr.Compare (for addresses without a zone).
func addrSortKey(a netip.Addr, idx int) sortKey {
	s := sortKey{idx: idx}
	switch {
	case a.Is4():
		s.key[0] = 1
	case a.Is6():
		s.key[0] = 2
	}
	b := a.As16()
	s.key[1], s.key[2] = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	return s
}

// lbSortKey orders like Key.Compare.
func lbSortKey(lb *LoadBalancer, idx int) sortKey {
	k := keyOf(lb)
	s := addrSortKey(k.vip, idx)
	if k.v6 {
		s.key[0] |= 4
	}
	s.key[3] = uint64(k.proto)<<16 | uint64(k.port)
	return s
}

// plan resolves frontend conflicts and assembles the sorted Plan.
func (c *computer) plan() Plan {
	// Candidates are in (namespace, name) order, ports in spec order; the
	// first one holding a frontend key wins. A stable sort by key puts each
	// key's candidates in a run, in that order: winner first.
	order := make([]sortKey, len(c.lbs))
	for i := range c.lbs {
		order[i] = lbSortKey(&c.lbs[i], i)
	}
	order = radixSort(order, len(sortKey{}.key), (*sortKey).word)
	lbs := make([]LoadBalancer, 0, len(order))
	won := make([]bool, len(c.lbs))
	for r := 0; r < len(order); {
		prev := &c.lbs[order[r].idx]
		won[order[r].idx] = true
		lbs = append(lbs, *prev)
		e := r + 1
		for ; e < len(order) && order[e].key == order[r].key; e++ {
			cand := &c.lbs[order[e].idx]
			if cand.Kind == KindHealthCheck && prev.Kind == KindHealthCheck && sameContent(prev, cand) {
				continue // one health-check LB serves every port and Service on the IP
			}
			c.diag(SeverityError, "Service "+cand.Service+":"+cand.Port, ReasonFrontendConflict,
				"%s frontend %s is already planned for Service %s:%s (%s): this load balancer is not planned",
				cand.Kind, cand.Key(), prev.Service, prev.Port, prev.Kind)
		}
		r = e
	}
	// The winners' remote backends, in candidate order: there the kinds
	// of one port, which share a slice, are neighbours.
	remotes := c.remotes[:0]
	for i, ok := range won {
		if ok {
			remotes = append(remotes, c.remotes[i])
		}
	}
	eps := c.endpointList(remotes)

	slices.SortFunc(c.diags, compareDiagnostics)
	diags := slices.CompactFunc(c.diags, func(a, b Diagnostic) bool { return a == b })
	if diags == nil {
		diags = []Diagnostic{} // JSON [], never null
	}
	return Plan{LoadBalancers: lbs, Endpoints: eps, Diagnostics: diags}
}

// endpointList returns the plan's endpoints sorted by IP: the recorded
// ones (source VIP first, then ClusterIP endpoints) and a remote endpoint
// per remote backend of a planned load balancer. When two want one IP the
// first recorded wins, then the recorded over the remote backend's, and
// a differing loser is reported.
func (c *computer) endpointList(remotes [][]netip.Addr) []Endpoint {
	// Remote backends: many load balancers share them, so collect, sort
	// and deduplicate. IPv4 addresses sort as integers, which is fast.
	size := 0
	for _, rs := range remotes {
		size += len(rs) // an upper bound, to allocate once
	}
	v4 := make([]uint32, 0, size)
	var v6 []netip.Addr
	var last *netip.Addr
	for _, rs := range remotes {
		if len(rs) == 0 || &rs[0] == last {
			continue // the kinds of one port share their backends' slice
		}
		last = &rs[0]
		for _, ip := range rs {
			if ip.Is4() {
				b := ip.As4()
				v4 = append(v4, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	v4 = slices.Compact(radixSort(v4, 1, func(x *uint32, _ int) uint64 { return uint64(*x) }))
	slices.SortFunc(v6, netip.Addr.Compare)
	v6 = slices.Compact(v6)
	ips := make([]netip.Addr, 0, len(v4)+len(v6))
	for _, x := range v4 {
		ips = append(ips, netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}))
	}
	ips = append(ips, v6...) // IPv4 sorts before IPv6

	// The recorded endpoints by IP, in the order recorded among equals.
	order := make([]sortKey, len(c.endpoints))
	for i := range c.endpoints {
		order[i] = addrSortKey(c.endpoints[i].ep.IP, i)
	}
	order = radixSort(order, len(sortKey{}.key), (*sortKey).word)
	recorded := make([]endpointCandidate, len(order))
	for i, k := range order {
		recorded[i] = c.endpoints[k.idx]
	}

	// The remote endpoints go into one array with room for the recorded
	// ones, which are then merged in from the back, in place.
	out := make([]Endpoint, 0, len(ips)+len(recorded))
	for _, fam := range c.node.families {
		lo, hi := 0, len(v4)
		if fam.name == IPv6 {
			lo, hi = len(v4), len(ips)
		}
		out = fam.network.AppendRemoteEndpoints(out, ips[lo:hi])
	}
	r := len(out) - 1 // next remote endpoint, from the back
	out = out[:cap(out)]
	w := len(out) // next free slot is w-1
	for i := len(recorded) - 1; i >= 0; {
		// recorded[first..i] share one IP: the first of them wins.
		first := i
		for first > 0 && recorded[first-1].ep.IP == recorded[i].ep.IP {
			first--
		}
		win := recorded[first]
		for k := first + 1; k <= i; k++ {
			c.endpointConflict(recorded[k], win)
		}
		i = first - 1
		for r >= 0 && win.ep.IP.Less(out[r].IP) {
			w--
			out[w] = out[r]
			r--
		}
		if r >= 0 && out[r].IP == win.ep.IP {
			c.endpointConflict(endpointCandidate{ep: out[r], owner: "a remote backend"}, win)
			r--
		}
		w--
		out[w] = win.ep
	}
	// out[:r+1] are remote endpoints already in place; close the gap.
	n := copy(out[r+1:], out[w:])
	return out[:r+1+n]
}

// radixSort sorts s by the words word gives for each element (word 0 most
// significant), keeping the order of equal elements, and returns s or a
// sorted copy. It is an LSD radix sort that skips the bytes where all
// elements agree: on a plan's 100,000 remote backends or 17,000 load
// balancers several times faster than sorting by comparison.
func radixSort[T any](s []T, words int, word func(*T, int) uint64) []T {
	if len(s) < 2 {
		return s
	}
	tmp := make([]T, len(s))
	for w := words - 1; w >= 0; w-- {
		var differ uint64 // the bits where some element differs from the first
		first := word(&s[0], w)
		for i := range s {
			differ |= word(&s[i], w) ^ first
		}
		for shift := 0; shift < 64; shift += 8 {
			if differ>>shift&0xff == 0 {
				continue
			}
			var start [256]int // where each byte value's run begins
			for i := range s {
				start[word(&s[i], w)>>shift&0xff]++
			}
			sum := 0
			for b, n := range start {
				start[b], sum = sum, sum+n
			}
			for i := range s {
				b := word(&s[i], w) >> shift & 0xff
				tmp[start[b]] = s[i]
				start[b]++
			}
			s, tmp = tmp, s
		}
	}
	return s
}

func (c *computer) endpointConflict(loser, winner endpointCandidate) {
	if loser.ep == winner.ep {
		return
	}
	obj := loser.owner
	if !strings.HasPrefix(obj, "Service ") && !strings.HasPrefix(obj, "Node ") {
		obj = "Node " + c.node.Name
	}
	c.diag(SeverityWarning, obj, ReasonEndpointAddressInUse,
		"HNS endpoint %s is needed as %s (for %s) but is already planned as %s for %s; keeping the latter",
		loser.ep.IP, describeEndpoint(loser.ep), loser.owner, describeEndpoint(winner.ep), winner.owner)
}

// sameContent reports whether two load balancers would be the same HNS
// object (everything but the owning Service and port).
func sameContent(a, b *LoadBalancer) bool {
	return a.Key() == b.Key() && a.InternalPort == b.InternalPort && a.Flags == b.Flags &&
		a.PortMappingFlags == b.PortMappingFlags && a.DistributionType == b.DistributionType &&
		a.SourceVIP == b.SourceVIP && slices.Equal(a.Backends, b.Backends)
}
