package fake

import (
	"bytes"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// HNS is an in-memory Host Networking Service. It implements
// hns.Client with HNS's rules (see the package documentation) and
// is safe for concurrent use. Create one with New (or Load); the zero HNS
// is not usable.
type HNS struct {
	mu      sync.Mutex
	profile hns.Profile
	caps    lbpolicy.Capabilities // profile's, kept: a create or an update reads them
	rng     *rand.ChaCha8         // GUIDs; never the global source

	networks []network           // creation order
	lbs      map[string]*lbEntry // by idKey; never changed in place
	eps      map[string]epRef    // by idKey; an endpoint stored is never changed in place
	epSlots  epSlots             // of eps
	refSeed  maphash.Seed        // of refHash; never changes
	reserved []reservation

	// onlyNewIDs: every object stored has an ID newID made from h.rng's
	// current stream, so a new one cannot be taken (it would take two equal
	// 122-bit random values) and freshID skips its lookups. Seeding an ID,
	// Restore and SeedIDs over objects clear it.
	onlyNewIDs bool

	// epIDsNotKeys counts the endpoints whose ID is not their key (a
	// seeded lower-case ID): while there are none, a key found is the ID.
	epIDsNotKeys int

	// Indexes of lbs and eps (index.go): change those only through the
	// functions there (putLB, replaceLB, dropLB, putEP, dropEP, ...).
	lbsByFrontend map[frontend]holders // ID keys
	// sharedFrontends counts the frontends more than one load balancer
	// holds (seeded ones): while there are none, an update that keeps its
	// frontends cannot clash.
	sharedFrontends int
	epsByIP         map[string]holders // ID keys, by normAddr of the IP
	lbOrder         idOrder[hns.HostComputeLoadBalancer]
	epOrder         idOrder[hns.HostComputeEndpoint]

	faults  []*activeFault
	latency map[hns.Op]time.Duration // "" = every op
	calls   Calls
	log     callLog
	cur     callIDs // the IDs of the call running (do)
}

var _ hns.Client = (*HNS)(nil)

type network struct {
	id, name, typ string
	policies      []hns.NetworkPolicy // Settings compacted
	ipams         []hns.Ipam
}

// reservation is a port the host holds (ReservePort).
type reservation struct {
	vip      string // normalized; "" = every address
	protocol uint32
	port     uint16
}

// New returns an empty HNS behaving like profile p: p.Version is what
// Version reports and selects the capabilities Create and Update enforce;
// p.SilentUpdate() selects the 15.4 update bug. Use hns.ProfileNamed
// ("ws2019", "ws2022", "ws2025", "latest") or hns.ProfileFor.
//
// Object IDs are random GUIDs (upper case, as HNS prints them); SeedIDs
// makes them reproducible.
func New(p hns.Profile) *HNS {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (Go 1.24)
	return &HNS{
		profile: p,
		caps:    p.Capabilities(),
		rng:     rand.NewChaCha8(seed),
		lbs:     map[string]*lbEntry{},
		eps:     map[string]epRef{},
		refSeed: maphash.MakeSeed(),
		latency: map[hns.Op]time.Duration{},
		calls:   Calls{},

		onlyNewIDs: true,

		lbsByFrontend: map[frontend]holders{},
		epsByIP:       map[string]holders{},
	}
}

// Profile returns the profile the fake was created with.
func (h *HNS) Profile() hns.Profile {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.profile
}

// SeedIDs makes the GUIDs of the objects created from now on a function of
// seed and the order of creation, for reproducible dumps (Dump) and
// failures. Tests that do not print IDs should not need it.
func (h *HNS) SeedIDs(seed uint64) {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rng = rand.NewChaCha8(s)
	// The new stream may repeat IDs stored (the same seed again).
	h.onlyNewIDs = len(h.networks) == 0 && len(h.lbs) == 0 && len(h.eps) == 0
}

// newID returns a random version-4 GUID. Call with h.mu held.
func (h *HNS) newID() string {
	var b [16]byte
	_, _ = h.rng.Read(b[:])
	b[6] = b[6]&0x0F | 0x40
	b[8] = b[8]&0x3F | 0x80
	const hex = "0123456789ABCDEF"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0xF]
		j += 2
	}
	return string(out[:])
}

// idKey is the map key of an object ID: HNS IDs are GUIDs, so their case
// does not matter. An ID already in upper case, as the fake makes them, is
// its own key: every call looks up IDs, so the check reads eight bytes at
// a time while they are all below '`' (no lower-case letter, nothing
// beyond ASCII), the bytes of a GUID in upper case, and the rest one by
// one. Few instructions per ID also let the CPU fetch the next ID from
// memory while it checks this one (a load balancer's references).
func idKey(id string) string {
	i := 0
	for ; i+8 <= len(id); i += 8 {
		// Adding 0x20 sets the top bit of a byte from 0x60 to 0x7F; one
		// from 0x80 has it already; one below 0x60 gets none, nor carries.
		if w := load64(id[i:]); (w|(w+0x2020202020202020))&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(id); i++ {
		if c := id[i]; 'a' <= c && c <= 'z' || c >= utf8.RuneSelf {
			return strings.ToUpper(id)
		}
	}
	return id
}

// load64 returns s's first eight bytes as a little-endian word (one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// freshID returns id if set and unused, or a new GUID. It panics when id
// is already taken: seeding a duplicate is a bug in the test. Call with
// h.mu held.
func (h *HNS) freshID(id string) string {
	if id == "" {
		for {
			id = h.newID()
			if h.onlyNewIDs || !h.idTaken(id) {
				return id
			}
		}
	}
	if h.idTaken(id) {
		panic(fmt.Sprintf("fake: object ID %s already exists", id))
	}
	h.onlyNewIDs = false // the stream may make id later
	return id
}

// idTaken reports whether a network, load balancer or endpoint has ID id.
// Call with h.mu held.
func (h *HNS) idTaken(id string) bool {
	_, lb := h.lbs[idKey(id)]
	_, ep := h.eps[idKey(id)]
	return lb || ep || h.networkByID(id) != nil
}

func (h *HNS) networkByID(id string) *network {
	for i := range h.networks {
		if strings.EqualFold(h.networks[i].id, id) {
			return &h.networks[i]
		}
	}
	return nil
}

// Seeding. These methods set up the state a test starts from. They are not
// Client calls: they are not counted, and faults and latency do not apply.
// They panic on input that could not exist in HNS (a bug in the test).

// AddNetwork adds an HNS network of type networkType ("Overlay",
// "L2Bridge") and returns its ID.
func (h *HNS) AddNetwork(name, networkType string) (id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id = h.freshID("")
	h.networks = append(h.networks, network{id: id, name: name, typ: networkType})
	return id
}

// AddLocalEndpoint adds an endpoint the CNI owns on network networkID — a
// pod's, or the host's root endpoint (e.g. name "cbr0") — and returns its
// ID. Its MAC is derived from ip (or name) in the Hyper-V range
// 00-15-5D-xx-xx-xx. ip may be "" for an endpoint a test only refers to by
// name; the fake then shows it as "<name>". Like the other seeding methods
// it checks no HNS rule (an IP another endpoint holds is accepted); it
// panics if the network does not exist or ip is not an IP address.
func (h *HNS) AddLocalEndpoint(networkID, name, ip string) (id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.networkByID(networkID)
	if n == nil {
		panic(fmt.Sprintf("fake: AddLocalEndpoint %q: no network %s", name, networkID))
	}
	ep := hns.HostComputeEndpoint{
		Name:               name,
		HostComputeNetwork: n.id,
		MacAddress:         localMAC(ip, name),
		SchemaVersion:      hns.V2SchemaVersion(),
	}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			panic(fmt.Sprintf("fake: AddLocalEndpoint %q: %v", name, err))
		}
		ep.IpConfigurations = []hns.IpConfig{{IpAddress: a.String()}}
	}
	ep.Id = h.freshID("")
	h.putEP(&ep)
	return ep.Id
}

// localMAC derives a Hyper-V MAC (00-15-5D-xx-xx-xx) from the last three
// bytes of ip, or from a hash of name when ip is not an IP address.
func localMAC(ip, name string) string {
	var tail []byte
	if a, err := netip.ParseAddr(ip); err == nil {
		b := a.AsSlice()
		tail = b[len(b)-3:]
	} else {
		f := fnv.New32a()
		_, _ = f.Write([]byte(name))
		tail = f.Sum(nil)[1:]
	}
	return fmt.Sprintf("00-15-5D-%02X-%02X-%02X", tail[0], tail[1], tail[2])
}

// AddLoadBalancer stores lb as it is, without validation — an object
// another agent created, or one left from an earlier run — and returns its
// ID: lb.Id if set (it panics if that ID exists), else a new GUID.
func (h *HNS) AddLoadBalancer(lb hns.HostComputeLoadBalancer) (id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lb = cloneLB(lb)
	lb.Id = h.freshID(lb.Id)
	h.putLB(lb)
	return lb.Id
}

// AddEndpoint stores ep as it is, without validation — e.g. another agent's
// remote endpoint — and returns its ID: ep.Id if set (it panics if that ID
// exists), else a new GUID.
func (h *HNS) AddEndpoint(ep hns.HostComputeEndpoint) (id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ep = cloneEP(ep)
	ep.Id = h.freshID(ep.Id)
	h.putEP(&ep)
	return ep.Id
}

// RemoveLoadBalancer deletes load balancer id out of band (drift) and
// reports whether it existed.
func (h *HNS) RemoveLoadBalancer(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deleteLB(id)
}

// RemoveEndpoint deletes endpoint id out of band and reports whether it
// existed. Load balancers naming it keep a dangling reference.
func (h *HNS) RemoveEndpoint(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deleteEP(id)
}

// SetNetworkPolicies replaces the policies of network networkID with
// copies of policies, as the CNI does when it adds or removes a node's
// RemoteSubnetRoute policy (hns.NetworkPolicyRemoteSubnetRoute); no
// policies clears them. GetNetworkByName, Snapshot and DumpJSON show them.
// It panics if the network does not exist or a policy's Settings are not
// JSON.
func (h *HNS) SetNetworkPolicies(networkID string, policies ...hns.NetworkPolicy) {
	ps, err := compactPolicies(policies)
	if err != nil {
		panic(fmt.Sprintf("fake: SetNetworkPolicies %s: %v", networkID, err))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.networkByID(networkID)
	if n == nil {
		panic(fmt.Sprintf("fake: SetNetworkPolicies: no network %s", networkID))
	}
	n.policies = ps
}

// ReservePort makes the host hold vip:port for protocol (6 TCP, 17 UDP),
// as a process bound to it or an excluded port range does: creating a load
// balancer with that frontend then fails with 0x803B0013. vip "" reserves
// the port on every address (a wildcard bind, like kube-proxy's healthz
// server on 0.0.0.0:10256); a NodePort load balancer (no frontend VIP)
// clashes with every reservation of its protocol and port in its family.
// It panics if vip is neither "" nor an IP address.
func (h *HNS) ReservePort(vip string, protocol uint32, port uint16) {
	if vip != "" {
		a, err := netip.ParseAddr(vip)
		if err != nil {
			panic(fmt.Sprintf("fake: ReservePort: %v", err))
		}
		vip = a.Unmap().String()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserved = append(h.reserved, reservation{vip: vip, protocol: protocol, port: port})
}

// Observation. These methods read the state directly; they are not Client
// calls and are not counted.

// LoadBalancers returns copies of every load balancer, sorted by ID.
func (h *HNS) LoadBalancers() []hns.HostComputeLoadBalancer {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sortedLBs()
}

// Endpoints returns copies of every endpoint, sorted by ID.
func (h *HNS) Endpoints() []hns.HostComputeEndpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sortedEPs("")
}

// Networks returns every network, in the order they were added.
func (h *HNS) Networks() []hns.HostComputeNetwork {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]hns.HostComputeNetwork, 0, len(h.networks))
	for _, n := range h.networks {
		out = append(out, n.hcn())
	}
	return out
}

func (n network) hcn() hns.HostComputeNetwork {
	return hns.HostComputeNetwork{
		Id: n.id, Name: n.name, Type: n.typ,
		Policies: clonePolicies(n.policies), Ipams: cloneIpams(n.ipams),
		SchemaVersion: hns.V2SchemaVersion(),
	}
}

// sortedLBs returns copies of the load balancers sorted by ID. Call with
// h.mu held.
func (h *HNS) sortedLBs() []hns.HostComputeLoadBalancer {
	all := h.lbOrder.values(len(h.lbs), h.getLB, copyLBs)
	out := append(make([]hns.HostComputeLoadBalancer, 0, len(all)), all...)
	copyLBs(out)
	return out
}

// sortedEPs returns copies of the endpoints on networkID ("" = all) sorted
// by ID. Call with h.mu held.
func (h *HNS) sortedEPs(networkID string) []hns.HostComputeEndpoint {
	all := h.epOrder.values(len(h.eps), h.getEP, copyEPs)
	n := 0
	for i := range all {
		if onNetwork(&all[i], networkID) {
			n++
		}
	}
	var out []hns.HostComputeEndpoint
	if n == len(all) { // one network, the usual case: one copy
		out = append(make([]hns.HostComputeEndpoint, 0, n), all...)
	} else {
		out = make([]hns.HostComputeEndpoint, 0, n)
		for i := range all {
			if onNetwork(&all[i], networkID) {
				out = append(out, all[i])
			}
		}
	}
	copyEPs(out)
	return out
}

// onNetwork reports whether ep is on network id ("" = any).
func onNetwork(ep *hns.HostComputeEndpoint, id string) bool {
	return id == "" || ep.HostComputeNetwork == id || strings.EqualFold(ep.HostComputeNetwork, id)
}

// copyLBs makes lbs deep copies: it replaces their slices by copies cut
// from one backing array per field, each with its own capacity, so that a
// list of many objects costs a few allocations and an append to one copy
// never reaches another.
func copyLBs(lbs []hns.HostComputeLoadBalancer) {
	var nIDs, nVIPs, nPMs int
	for i := range lbs {
		nIDs += len(lbs[i].HostComputeEndpoints)
		nVIPs += len(lbs[i].FrontendVIPs)
		nPMs += len(lbs[i].PortMappings)
	}
	ids := make([]string, 0, nIDs)
	vips := make([]string, 0, nVIPs)
	pms := make([]hns.LoadBalancerPortMapping, 0, nPMs)
	for i := range lbs {
		lb := &lbs[i]
		lb.HostComputeEndpoints, ids = cut(ids, lb.HostComputeEndpoints)
		lb.FrontendVIPs, vips = cut(vips, lb.FrontendVIPs)
		lb.PortMappings, pms = cut(pms, lb.PortMappings)
	}
}

// copyEPs makes eps deep copies, as copyLBs does for load balancers.
func copyEPs(eps []hns.HostComputeEndpoint) {
	var nPols, nCfgs, nBytes int
	for i := range eps {
		nPols += len(eps[i].Policies)
		nCfgs += len(eps[i].IpConfigurations)
		for _, p := range eps[i].Policies {
			nBytes += len(p.Settings)
		}
	}
	pols := make([]hns.EndpointPolicy, 0, nPols)
	cfgs := make([]hns.IpConfig, 0, nCfgs)
	settings := make([]byte, 0, nBytes)
	for i := range eps {
		ep := &eps[i]
		if ep.Policies != nil {
			start := len(pols)
			for _, p := range ep.Policies {
				p.Settings, settings = cut(settings, p.Settings)
				pols = append(pols, p)
			}
			ep.Policies = pols[start:len(pols):len(pols)]
		}
		ep.IpConfigurations, cfgs = cut(cfgs, ep.IpConfigurations)
	}
}

// cut appends src to arena, which has room for it, and returns the copy
// (nil for nil, as slices.Clone) with no room beyond it, and the arena.
func cut[T any](arena, src []T) (dst, rest []T) {
	if src == nil {
		return nil, arena
	}
	start := len(arena)
	arena = append(arena, src...)
	return arena[start:len(arena):len(arena)], arena
}

// cloneLB returns a deep copy of lb.
func cloneLB(lb hns.HostComputeLoadBalancer) hns.HostComputeLoadBalancer {
	lb.HostComputeEndpoints = slices.Clone(lb.HostComputeEndpoints)
	lb.FrontendVIPs = slices.Clone(lb.FrontendVIPs)
	lb.PortMappings = slices.Clone(lb.PortMappings)
	return lb
}

// clonePolicies returns a deep copy of ps (nil stays nil).
func clonePolicies(ps []hns.NetworkPolicy) []hns.NetworkPolicy {
	if ps == nil {
		return nil
	}
	out := make([]hns.NetworkPolicy, len(ps))
	for i, p := range ps {
		out[i] = hns.NetworkPolicy{Type: p.Type, Settings: slices.Clone(p.Settings)}
	}
	return out
}

// compactPolicies returns a copy of ps with each Settings compacted, or
// an error naming the first whose Settings are not JSON.
func compactPolicies(ps []hns.NetworkPolicy) ([]hns.NetworkPolicy, error) {
	out := clonePolicies(ps)
	for i, p := range out {
		if len(p.Settings) == 0 {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, p.Settings); err != nil {
			return nil, fmt.Errorf("Policies[%d] (%s): Settings are not JSON: %w", i, p.Type, err)
		}
		out[i].Settings = b.Bytes()
	}
	return out, nil
}

// cloneIpams returns a deep copy of in (nil stays nil).
func cloneIpams(in []hns.Ipam) []hns.Ipam {
	if in == nil {
		return nil
	}
	out := make([]hns.Ipam, len(in))
	for i, ipam := range in {
		out[i] = hns.Ipam{Type: ipam.Type}
		if ipam.Subnets == nil {
			continue
		}
		out[i].Subnets = make([]hns.Subnet, len(ipam.Subnets))
		for j, s := range ipam.Subnets {
			sub := hns.Subnet{IpAddressPrefix: s.IpAddressPrefix, Routes: slices.Clone(s.Routes)}
			if s.Policies != nil {
				sub.Policies = make([]json.RawMessage, len(s.Policies))
				for k, p := range s.Policies {
					sub.Policies[k] = slices.Clone(p)
				}
			}
			out[i].Subnets[j] = sub
		}
	}
	return out
}

// cloneEP returns a deep copy of ep.
func cloneEP(ep hns.HostComputeEndpoint) hns.HostComputeEndpoint {
	if ep.Policies != nil {
		ps := make([]hns.EndpointPolicy, len(ep.Policies))
		for i, p := range ep.Policies {
			ps[i] = hns.EndpointPolicy{Type: p.Type, Settings: slices.Clone(p.Settings)}
		}
		ep.Policies = ps
	}
	ep.IpConfigurations = slices.Clone(ep.IpConfigurations)
	return ep
}
