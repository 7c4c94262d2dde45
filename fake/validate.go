package fake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// frontend is one (family, VIP, protocol, port) a load balancer answers
// on: HNS lets only one load balancer hold each.
type frontend struct {
	ipv6     bool
	vip      string // normalized; "" = every node IP (NodePort)
	protocol uint32
	port     uint16
}

// String renders f as lbpolicy.Key does: "IPv4/10.96.0.10/TCP/80".
func (f frontend) String() string {
	fam, vip := "IPv4", f.vip
	if f.ipv6 {
		fam = "IPv6"
	}
	if vip == "" {
		vip = "*"
	}
	return fmt.Sprintf("%s/%s/%s/%d", fam, vip, lbpolicy.Protocol(f.protocol), f.port)
}

// compare orders frontends as lbpolicy.Key.Compare orders keys.
func (f frontend) compare(o frontend) int {
	if f.ipv6 != o.ipv6 {
		if f.ipv6 {
			return 1
		}
		return -1
	}
	if c := compareAddrs(f.vip, o.vip); c != 0 {
		return c
	}
	if c := cmp.Compare(f.protocol, o.protocol); c != 0 {
		return c
	}
	return cmp.Compare(f.port, o.port)
}

// compareAddrs orders "" first, then IP addresses by value, then anything
// else as text.
func compareAddrs(a, b string) int {
	if a == "" || b == "" {
		return strings.Compare(a, b)
	}
	pa, ea := netip.ParseAddr(a)
	pb, eb := netip.ParseAddr(b)
	switch {
	case ea == nil && eb == nil:
		return pa.Compare(pb)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// normAddr returns the canonical text of an IP address, or s lower-cased if
// it is not one.
func normAddr(s string) string {
	if plainIPv4(s) { // canonical already, and found without parsing
		return s
	}
	if a, err := netip.ParseAddr(s); err == nil {
		// Most addresses come in canonical form: return s itself then,
		// without allocating a new string.
		var buf [64]byte
		if string(a.Unmap().AppendTo(buf[:0])) == s {
			return s
		}
		return a.Unmap().String()
	}
	return strings.ToLower(s)
}

// frontends returns every frontend lb holds: one per port mapping and VIP
// (or one per port mapping without VIPs).
func frontends(lb *hns.HostComputeLoadBalancer) []frontend { return appendFrontends(nil, lb) }

// appendFrontends appends lb's frontends (see frontends) to out: with out
// an array on the caller's stack, it allocates nothing for a load
// balancer HNS would create.
func appendFrontends(out []frontend, lb *hns.HostComputeLoadBalancer) []frontend {
	v6 := lb.Flags&lbpolicy.FlagIPv6 != 0
	for _, pm := range lb.PortMappings {
		if len(lb.FrontendVIPs) == 0 {
			out = append(out, frontend{ipv6: v6, protocol: pm.Protocol, port: pm.ExternalPort})
		}
		for _, vip := range lb.FrontendVIPs {
			out = append(out, frontend{ipv6: v6, vip: normAddr(vip), protocol: pm.Protocol, port: pm.ExternalPort})
		}
	}
	return out
}

// blocks reports whether reservation r makes frontend f fail.
func (r reservation) blocks(f frontend) bool {
	if r.protocol != f.protocol || r.port != f.port {
		return false
	}
	switch {
	case r.vip == "":
		return true
	case f.vip == "":
		return netip.MustParseAddr(r.vip).Is6() == f.ipv6
	}
	return r.vip == f.vip
}

const (
	allLBFlags = lbpolicy.FlagDSR | lbpolicy.FlagIPv6
	allPMFlags = lbpolicy.PortMappingILB | lbpolicy.PortMappingLocalRoutedVIP |
		lbpolicy.PortMappingUseMux | lbpolicy.PortMappingPreserveDIP |
		lbpolicy.PortMappingVipExternalIP
)

// checkLB applies to r, a request to store as load balancer self (an ID
// key; "" for a create) in place of cur (nil for a create), the rules that
// need state, after those that need none (r.err): the endpoint
// references, then the frontends. It spells the references as the
// endpoints' IDs (resolve). Call with h.mu held.
func (h *HNS) checkLB(op hns.Op, r lbRequest, self string, cur *lbEntry) error {
	if r.err != nil {
		return r.err
	}
	if err := h.resolve(op, r, cur); err != nil {
		return err
	}
	var held []frontend
	if cur != nil {
		held = cur.fronts
	}
	return h.checkFrontends(op, r.c.entry.fronts, self, held)
}

// invalidParameter is HNS's 0x57 for op, with the fake's reason.
func invalidParameter(op hns.Op, format string, args ...any) error {
	return hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, fmt.Sprintf(format, args...))
}

// checkLBDocument checks lb as a request: schema version, one port mapping
// of TCP or UDP, known flags and distribution.
func checkLBDocument(op hns.Op, lb *hns.HostComputeLoadBalancer) error {
	if lb.SchemaVersion != hns.V2SchemaVersion() {
		return invalidParameter(op, "SchemaVersion %d.%d: want 2.0", lb.SchemaVersion.Major, lb.SchemaVersion.Minor)
	}
	if len(lb.PortMappings) != 1 {
		return invalidParameter(op, "%d port mappings: want exactly one", len(lb.PortMappings))
	}
	pm := lb.PortMappings[0]
	if pm.Protocol != 6 && pm.Protocol != 17 {
		return invalidParameter(op, "protocol %d: want TCP (6) or UDP (17)", pm.Protocol)
	}
	if lb.Flags&^allLBFlags != 0 {
		return invalidParameter(op, "unknown load balancer flags 0x%x", uint32(lb.Flags&^allLBFlags))
	}
	if pm.Flags&^allPMFlags != 0 {
		return invalidParameter(op, "unknown port mapping flags 0x%x", uint32(pm.Flags&^allPMFlags))
	}
	if pm.DistributionType > lbpolicy.DistributionSourceIP {
		return invalidParameter(op, "unknown distribution type %d", pm.DistributionType)
	}
	return nil
}

// checkLBCapabilities checks that this HNS version can do what lb asks:
// DSR, IPv6, session affinity, and the backend limit without DSR. lb has
// passed checkLBDocument.
func (h *HNS) checkLBCapabilities(op hns.Op, lb *hns.HostComputeLoadBalancer) error {
	caps := h.caps
	pm := lb.PortMappings[0]
	dsr := lb.Flags&lbpolicy.FlagDSR != 0
	v6 := lb.Flags&lbpolicy.FlagIPv6 != 0
	if dsr && !caps.DSR {
		return invalidParameter(op, "DSR needs HNS with DSR support; this is %s", h.profile.Version)
	}
	if v6 && !caps.IPv6 {
		return invalidParameter(op, "IPv6 needs HNS 11.10 or later; this is %s", h.profile.Version)
	}
	if pm.DistributionType != lbpolicy.DistributionNone && !caps.SessionAffinity {
		return invalidParameter(op, "distribution %s needs HNS 12.0 or later; this is %s",
			lbpolicy.DistributionType(pm.DistributionType), h.profile.Version)
	}
	if limit := caps.MaxNonDSRBackends; limit > 0 && !dsr && len(lb.HostComputeEndpoints) > limit {
		return invalidParameter(op, "%d endpoints on a load balancer without DSR: HNS %s allows %d",
			len(lb.HostComputeEndpoints), h.profile.Version, limit)
	}
	return nil
}

// checkLBAddresses checks that the frontend VIPs and the SourceVIP are IP
// addresses of the family the IPv6 flag says.
func checkLBAddresses(op hns.Op, lb *hns.HostComputeLoadBalancer) error {
	v6 := lb.Flags&lbpolicy.FlagIPv6 != 0
	for _, vip := range lb.FrontendVIPs {
		if !v6 && plainIPv4(vip) {
			continue
		}
		a, err := netip.ParseAddr(vip)
		if err != nil {
			return invalidParameter(op, "frontend VIP %q is not an IP address", vip)
		}
		if a.Unmap().Is6() != v6 {
			return invalidParameter(op, "frontend VIP %s does not match the IPv6 flag (%v)", vip, v6)
		}
	}
	if lb.SourceVIP != "" && (v6 || !plainIPv4(lb.SourceVIP)) {
		a, err := netip.ParseAddr(lb.SourceVIP)
		if err != nil {
			return invalidParameter(op, "SourceVIP %q is not an IP address", lb.SourceVIP)
		}
		if a.Unmap().Is6() != v6 {
			return invalidParameter(op, "SourceVIP %s does not match the IPv6 flag (%v)", lb.SourceVIP, v6)
		}
	}
	return nil
}

// resolve spells the stored copy's endpoint references as the endpoints'
// IDs, and the answer's as the stored ones, or fails with 0x803B001C
// naming the first that is missing; it notes what each resolved to
// (lbEntry.refs). A reference cur (the load balancer updated, or nil)
// already resolved to an endpoint still stored is not looked up again:
// one sent as the very string cur holds (lbEntry.same), as a caller sends
// back the IDs the fake gave it, is not even read. Call with h.mu held.
func (h *HNS) resolve(op hns.Op, r lbRequest, cur *lbEntry) error {
	e := &r.c.entry
	refs := e.lb.HostComputeEndpoints
	for i, sent := range r.sent {
		c := &e.refs[i]
		if j := cur.same(i, sent, &h.epSlots); j >= 0 {
			*c = cur.refs[j] // and refs[i] is sent, the endpoint's ID
			continue
		}
		if slot, gen, ok := h.epSlots.byString(sent); ok {
			// An update leaves its hash 0: one that sends another string
			// for it looks it up (cached needs the hash).
			c.slot, c.gen, refs[i] = slot, gen, sent // the endpoint's ID
			continue
		}
		if !r.keyed {
			refs[i] = idKey(sent)
			c.hash = h.refHash(refs[i])
		}
		k := refs[i]
		spell := k != sent || h.epIDsNotKeys > 0 // else k is the endpoint's ID
		if j := cur.cached(i, c.hash, k, &h.epSlots); j >= 0 {
			c.slot, c.gen = cur.refs[j].slot, cur.refs[j].gen
			if spell {
				refs[i] = cur.lb.HostComputeEndpoints[j] // spelled as the endpoint's ID
			}
			continue
		}
		ref, ok := h.eps[k]
		if !ok {
			return hcnError(op, hcnFunc[op], hns.CodeInvalidReference, "no endpoint "+sent)
		}
		c.slot, c.gen = ref.slot, h.epSlots.gen(ref.slot)
		if spell {
			refs[i] = ref.ep.Id // else not read: a cache miss at scale
		}
	}
	copy(r.c.answer.HostComputeEndpoints, refs)
	return nil
}

// checkFrontends fails with 0xB7 if another load balancer than self (an
// ID key, or "") holds one of the frontends mine, else with 0x803B0013 if
// the host reserved one that self does not already hold (held). Call
// with h.mu held.
func (h *HNS) checkFrontends(op hns.Op, mine []frontend, self string, held []frontend) error {
	if h.sharedFrontends == 0 && slices.Equal(mine, held) {
		return nil // self alone holds them: no lookup (the usual update)
	}
	fn := hcnFunc[op]
	if other, ok := h.frontendHolder(mine, self); ok {
		// Name the first of the holder's frontends that lb asks for.
		for _, f := range other.fronts {
			if slices.Contains(mine, f) {
				return hcnError(op, fn, hns.CodeAlreadyExists,
					fmt.Sprintf("frontend %s is held by load balancer %s", f, other.lb.Id))
			}
		}
	}
	for _, m := range mine {
		if slices.Contains(held, m) {
			continue
		}
		for _, r := range h.reserved {
			if r.blocks(m) {
				return hcnError(op, fn, hns.CodePortAlreadyExists,
					fmt.Sprintf("frontend %s: the host holds the port", m))
			}
		}
	}
	return nil
}

// checkEP applies to r, a request to create an endpoint on network n, the
// rules that need state, after those that need none (r.err): the
// ProviderAddress policy a remote endpoint on an Overlay network needs,
// then the IP addresses other endpoints on n hold. Call with h.mu held.
func (h *HNS) checkEP(r epRequest, n *network) error {
	const op = hns.OpCreateEndpoint
	if r.err != nil {
		return r.err
	}
	ep := r.stored
	if ep.Flags&hns.EndpointFlagsRemoteEndpoint != 0 && strings.EqualFold(n.typ, "Overlay") {
		if err := checkProviderAddress(ep, n); err != nil {
			return hcnError(op, hcnFunc[op], hns.CodeInvalidParameter, err.Error())
		}
	}
	for _, c := range ep.IpConfigurations { // normalized by prepareEP
		hs := h.epsByIP[c.IpAddress]
		for i := range hs.len() {
			if other := h.eps[hs.at(i)].ep; strings.EqualFold(other.HostComputeNetwork, n.id) {
				return hcnError(op, hcnFunc[op], hns.CodeAlreadyExists,
					fmt.Sprintf("IP %s is held by endpoint %s on network %q", c.IpAddress, other.Id, n.name))
			}
		}
	}
	return nil
}

// checkMAC is net.ParseMAC's check, without its allocation for the form
// HNS prints (xx-xx-xx-xx-xx-xx) and the colon form.
func checkMAC(s string) error {
	if len(s) == 17 && (s[2] == '-' || s[2] == ':') {
		ok := true
		for i := 0; i < len(s) && ok; i++ {
			switch c := s[i]; {
			case i%3 == 2:
				ok = c == s[2]
			default:
				ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
			}
		}
		if ok {
			return nil
		}
	}
	_, err := net.ParseMAC(s)
	return err
}

// checkProviderAddress checks the ProviderAddress policy a remote endpoint
// on Overlay network n needs.
func checkProviderAddress(ep *hns.HostComputeEndpoint, n *network) error {
	pa, ok, err := providerAddressBytes(ep)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("a remote endpoint on Overlay network %q needs a ProviderAddress policy", n.name)
	}
	if plainIPv4(pa) {
		return nil
	}
	if _, err := netip.ParseAddr(string(pa)); err != nil {
		return fmt.Errorf("ProviderAddress %q is not an IP address", pa)
	}
	return nil
}

// plainIPv4 reports whether b is an IPv4 address in dotted decimal
// without leading zeros: one netip.ParseAddr accepts and String spells
// the same. It costs a fraction of ParseAddr, and from a []byte it needs
// no copy to a string. It is false for anything else, which ParseAddr
// then reads.
func plainIPv4[T string | []byte](b T) bool {
	fields, val, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || fields == 4 {
				return false
			}
			fields, val, digits = fields+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || digits > 0 && val == 0 {
			return false // not a digit, or a leading zero
		}
		val, digits = val*10+int(c-'0'), digits+1
		if val > 255 {
			return false
		}
	}
	return fields == 4
}

// epCopy holds a copy of an endpoint of the usual shape (usualShape) with
// its slices, in one allocation.
type epCopy struct {
	ep     hns.HostComputeEndpoint
	policy [1]hns.EndpointPolicy
	cfg    [1]hns.IpConfig
	// settings has room for a ProviderAddress policy's (an address of up
	// to 34 characters): at 56 bytes a create's pair of copies (prepareEP)
	// is 512 bytes, the largest object the runtime allocates without a
	// header.
	settings [56]byte
}

// usualShape reports whether ep fits an epCopy: at most one policy, with
// short settings, and one IP configuration.
func usualShape(ep *hns.HostComputeEndpoint) bool {
	return len(ep.Policies) <= 1 && len(ep.IpConfigurations) <= 1 &&
		(len(ep.Policies) == 0 || len(ep.Policies[0].Settings) <= len(epCopy{}.settings))
}

// set makes c a deep copy of ep, which has the usual shape, and returns
// it. Each slice is capped at its length, so that an append to it never
// reaches another.
func (c *epCopy) set(ep *hns.HostComputeEndpoint) *hns.HostComputeEndpoint {
	c.ep = *ep
	if ep.Policies != nil {
		c.ep.Policies = c.policy[:len(ep.Policies):len(ep.Policies)]
		if len(ep.Policies) == 1 {
			p := ep.Policies[0]
			if p.Settings != nil {
				p.Settings = c.settings[:copy(c.settings[:], p.Settings):len(p.Settings)]
			}
			c.policy[0] = p
		}
	}
	if ep.IpConfigurations != nil {
		c.ep.IpConfigurations = c.cfg[:copy(c.cfg[:], ep.IpConfigurations):len(ep.IpConfigurations)]
	}
	return &c.ep
}

// copyEP returns a deep copy of ep: in one allocation (epCopy) if ep has
// the usual shape, else as cloneEP makes it.
func copyEP(ep *hns.HostComputeEndpoint) *hns.HostComputeEndpoint {
	if !usualShape(ep) {
		out := cloneEP(*ep)
		return &out
	}
	return new(epCopy).set(ep)
}

// frontendHolder returns a load balancer other than self (an ID key, or
// "" for none) that holds one of the frontends fs, and whether there is
// one. Call with h.mu held.
func (h *HNS) frontendHolder(fs []frontend, self string) (*lbEntry, bool) {
	for _, f := range fs {
		hs := h.lbsByFrontend[f]
		for i := range hs.len() {
			if k := hs.at(i); k != self { // no ID is ""
				return h.lbs[k], true
			}
		}
	}
	return nil, false
}

// providerAddress returns the ProviderAddress policy's address, whether
// ep has such a policy, and an error if its settings do not parse.
func providerAddress(ep hns.HostComputeEndpoint) (string, bool, error) {
	pa, ok, err := providerAddressBytes(&ep)
	return string(pa), ok, err
}

// providerAddressBytes is providerAddress, without a copy of the address
// when the settings are plain (plainProviderAddress).
func providerAddressBytes(ep *hns.HostComputeEndpoint) ([]byte, bool, error) {
	for _, p := range ep.Policies {
		if p.Type != hns.EndpointPolicyProviderAddress {
			continue
		}
		if pa, ok := plainProviderAddress(p.Settings); ok {
			return pa, true, nil
		}
		var s hns.ProviderAddressEndpointPolicySetting
		if err := json.Unmarshal(p.Settings, &s); err != nil {
			return nil, true, fmt.Errorf("ProviderAddress policy settings: %v", err)
		}
		return []byte(s.ProviderAddress), true, nil
	}
	return nil, false, nil
}

// plainProviderAddress reads settings of the form {"ProviderAddress":"A"}
// (what hnsadapter and hcn's own helpers send), where A holds only the
// characters of an address (letters, digits, '.', ':', '%', '-', '_'),
// without a JSON decoder or a copy; ok is false for any other form, which
// json.Unmarshal then reads.
func plainProviderAddress(settings []byte) (pa []byte, ok bool) {
	const prefix, suffix = `{"ProviderAddress":"`, `"}`
	s := settings
	if len(s) < len(prefix)+len(suffix) || string(s[:len(prefix)]) != prefix || string(s[len(s)-len(suffix):]) != suffix {
		return nil, false
	}
	pa = s[len(prefix) : len(s)-len(suffix)]
	for _, c := range pa {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == ':', c == '%', c == '-', c == '_':
		default:
			return nil, false
		}
	}
	return pa, true
}
