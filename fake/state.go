package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// State is everything a fake HNS holds, as data: Snapshot takes it,
// DumpJSON writes it, ParseState reads it back and Restore (or Load) seeds
// a fake with it, under the same IDs. Its JSON is HNS's objects exactly as
// the hns schema types marshal them (the field names of hcn's JSON: ID,
// HostComputeEndpoints, SourceVIP, FrontendVIPs, PortMappings, Flags,
// IpConfigurations, MacAddress, Policies, ...), plus the ports the host
// holds:
//
//	{
//	  "Networks": [
//	    {"ID": "…", "Name": "cbr0", "Type": "Overlay",
//	     "Policies": [{"Type": "RemoteSubnetRoute", "Settings": {"DestinationPrefix": "10.244.2.0/24", …}}],
//	     "SchemaVersion": {"Major": 2, "Minor": 0}}
//	  ],
//	  "LoadBalancers": [
//	    {"ID": "…", "HostComputeEndpoints": ["…"], "SourceVIP": "10.244.0.2", "FrontendVIPs": ["10.96.0.10"],
//	     "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}],
//	     "SchemaVersion": {"Major": 2, "Minor": 0}}
//	  ],
//	  "Endpoints": [
//	    {"ID": "…", "Name": "pod-a", "HostComputeNetwork": "…", "IpConfigurations": [{"IpAddress": "10.244.0.11"}],
//	     "MacAddress": "00-15-5D-F4-00-0B", "SchemaVersion": {"Major": 2, "Minor": 0}}
//	  ],
//	  "ReservedPorts": [{"VIP": "192.0.2.10", "Protocol": 6, "Port": 10256}]
//	}
//
// Networks are in the order they were added, load balancers and endpoints
// sorted by ID (case-insensitively), reserved ports in the order reserved;
// an empty list is [], and ReservedPorts is left out when there are none.
// Local and remote endpoints are both Endpoints (Flags 1 marks a remote
// one), so every object the seeding methods or the Client calls made
// survives a round trip.
type State struct {
	Networks      []hns.HostComputeNetwork      `json:"Networks"`
	LoadBalancers []hns.HostComputeLoadBalancer `json:"LoadBalancers"`
	Endpoints     []hns.HostComputeEndpoint     `json:"Endpoints"`
	ReservedPorts []ReservedPort                `json:"ReservedPorts,omitempty"`
}

// ReservedPort is a port the host holds (ReservePort): a load balancer
// with that frontend fails to be created with 0x803B0013.
type ReservedPort struct {
	// VIP is the address; "" (left out of the JSON) is every address.
	VIP string `json:"VIP,omitempty"`
	// Protocol is 6 (TCP) or 17 (UDP).
	Protocol uint32 `json:"Protocol"`
	// Port is the port.
	Port uint16 `json:"Port"`
}

// Snapshot returns a copy of everything h holds. It is not a Client call.
func (h *HNS) Snapshot() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := State{
		Networks:      make([]hns.HostComputeNetwork, 0, len(h.networks)),
		LoadBalancers: h.sortedLBs(),
		Endpoints:     h.sortedEPs(""),
	}
	for _, n := range h.networks {
		s.Networks = append(s.Networks, n.hcn())
	}
	for _, r := range h.reserved {
		s.ReservedPorts = append(s.ReservedPorts, ReservedPort{VIP: r.vip, Protocol: r.protocol, Port: r.port})
	}
	return s
}

// DumpJSON returns Snapshot as indented JSON, ending in a newline: the
// same state always gives the same bytes, and Load reads them back. It
// fails only if an endpoint policy's Settings (seeded, or created on a
// network that does not check them) are not valid JSON.
func (h *HNS) DumpJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h.Snapshot()); err != nil {
		return nil, fmt.Errorf("fake: DumpJSON: %w", err)
	}
	return b.Bytes(), nil
}

// ParseState decodes data, a State as DumpJSON writes it. Fields that a
// State does not have are errors (a misspelt field would otherwise be
// dropped), as is anything after the object. It checks only the JSON;
// Restore checks the state.
func ParseState(data []byte) (State, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s State
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("fake: state: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return State{}, errors.New("fake: state: data after the JSON object")
	}
	return s, nil
}

// Load returns a fake HNS behaving like profile p (as New does) that holds
// the state in data: ParseState, then Restore.
func Load(p hns.Profile, data []byte) (*HNS, error) {
	s, err := ParseState(data)
	if err != nil {
		return nil, err
	}
	h := New(p)
	if err := h.Restore(s); err != nil {
		return nil, err
	}
	return h, nil
}

// Restore replaces everything h holds — networks, load balancers,
// endpoints, reserved ports — with copies of s's, under s's IDs. The
// profile, faults, latency, call counters and log, and the ID generator
// are kept. It is not a Client call.
//
// It first checks that s is a state an HNS could hold, and otherwise
// returns an error naming every object at fault (Networks[0], Endpoints[3]
// "pod-a", ...) and changes nothing:
//   - every object has an ID that is a GUID, and no two objects (of any
//     kind) have the same ID, compared case-insensitively as HNS does;
//   - every endpoint is on a network of s (HNS deletes a network's
//     endpoints with it). The seeding method AddEndpoint does not check
//     this; a state it made otherwise cannot be restored;
//   - a network's SchemaVersion is 2.0, or absent (read as 2.0), and
//     its policies' Settings and its subnets' policies, if any, are
//     valid JSON (stored compacted);
//   - an endpoint policy's Settings, if any, are valid JSON (stored
//     compacted);
//   - a reserved port's VIP is "" or an IP address (stored as
//     ReservePort stores it).
//
// A load balancer may name endpoints that do not exist: HNS keeps such a
// dangling reference when an endpoint is deleted under a load balancer
// (see DeleteEndpoint). The rules HNS applies when it creates an object
// (one port mapping, a free frontend, the version's capabilities, ...)
// are not checked, as the seeding methods do not check them: what another
// agent or an older HNS left behind may break them.
func (h *HNS) Restore(s State) error {
	networks, reserved, err := checkState(&s)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.networks = networks
	h.reserved = reserved
	h.lbs = map[string]*lbEntry{}
	h.eps = map[string]epRef{}
	h.epSlots = epSlots{}
	h.onlyNewIDs = len(networks) == 0 && len(s.LoadBalancers) == 0 && len(s.Endpoints) == 0
	h.epIDsNotKeys = 0
	h.lbsByFrontend = map[frontend]holders{}
	h.sharedFrontends = 0
	h.epsByIP = map[string]holders{}
	h.lbOrder.reset()
	h.epOrder.reset()
	for _, lb := range s.LoadBalancers {
		h.putLB(cloneLB(lb))
	}
	for i := range s.Endpoints {
		h.putEP(&s.Endpoints[i]) // cloned by checkState
	}
	return nil
}

// guidRE matches a GUID as HNS prints it (either case, no braces).
var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// stateCheck collects what is wrong with a State.
type stateCheck struct {
	owner map[string]string // idKey -> the object that has the ID
	errs  []error
}

func (c *stateCheck) fail(object, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("fake: state: %s: %s", object, fmt.Sprintf(format, args...)))
}

// id checks object's ID: set, a GUID, not used by another object.
func (c *stateCheck) id(object, id string) {
	switch other, dup := c.owner[idKey(id)]; {
	case id == "":
		c.fail(object, "no ID")
	case !guidRE.MatchString(id):
		c.fail(object, "ID %q is not a GUID", id)
	case dup:
		c.fail(object, "ID %s is also the ID of %s", id, other)
	default:
		c.owner[idKey(id)] = object
	}
}

// checkState checks s (see Restore) and returns the networks and
// reservations to store; it replaces s.Endpoints with copies whose policy
// settings are compacted.
func checkState(s *State) ([]network, []reservation, error) {
	c := stateCheck{owner: map[string]string{}}
	networks := checkNetworks(&c, s.Networks)
	for i, lb := range s.LoadBalancers {
		c.id(fmt.Sprintf("LoadBalancers[%d]", i), lb.Id)
	}
	s.Endpoints = checkEndpoints(&c, s.Endpoints, networks)
	reserved := checkReservedPorts(&c, s.ReservedPorts)
	if len(c.errs) > 0 {
		return nil, nil, errors.Join(c.errs...)
	}
	return networks, reserved, nil
}

func checkNetworks(c *stateCheck, in []hns.HostComputeNetwork) []network {
	out := make([]network, 0, len(in))
	for i, n := range in {
		object := fmt.Sprintf("Networks[%d] %q", i, n.Name)
		c.id(object, n.Id)
		if v := n.SchemaVersion; v != (hns.SchemaVersion{}) && v != hns.V2SchemaVersion() {
			c.fail(object, "SchemaVersion %d.%d: HNS's v2 networks are 2.0", v.Major, v.Minor)
		}
		policies, err := compactPolicies(n.Policies)
		if err != nil {
			c.fail(object, "%v", err)
		}
		ipams, err := compactIpams(n.Ipams)
		if err != nil {
			c.fail(object, "%v", err)
		}
		out = append(out, network{id: n.Id, name: n.Name, typ: n.Type, policies: policies, ipams: ipams})
	}
	return out
}

// compactIpams returns a copy of in with its subnets' policies compacted,
// or an error naming the first that is not JSON.
func compactIpams(in []hns.Ipam) ([]hns.Ipam, error) {
	out := cloneIpams(in)
	for i := range out {
		for j, sub := range out[i].Subnets {
			for k, p := range sub.Policies {
				var b bytes.Buffer
				if err := json.Compact(&b, p); err != nil {
					return nil, fmt.Errorf("Ipams[%d].Subnets[%d].Policies[%d] are not JSON: %w", i, j, k, err)
				}
				sub.Policies[k] = b.Bytes()
			}
		}
	}
	return out, nil
}

func checkEndpoints(c *stateCheck, in []hns.HostComputeEndpoint, networks []network) []hns.HostComputeEndpoint {
	out := make([]hns.HostComputeEndpoint, 0, len(in))
	for i, ep := range in {
		object := fmt.Sprintf("Endpoints[%d]", i)
		if ep.Name != "" {
			object += fmt.Sprintf(" %q", ep.Name)
		}
		c.id(object, ep.Id)
		if !hasNetwork(networks, ep.HostComputeNetwork) {
			c.fail(object, "HostComputeNetwork %q is not one of the state's networks", ep.HostComputeNetwork)
		}
		ep = cloneEP(ep)
		for j, p := range ep.Policies {
			if len(p.Settings) == 0 {
				continue
			}
			var b bytes.Buffer
			if err := json.Compact(&b, p.Settings); err != nil {
				c.fail(object, "Policies[%d] (%s): Settings are not JSON: %v", j, p.Type, err)
				continue
			}
			ep.Policies[j].Settings = b.Bytes()
		}
		out = append(out, ep)
	}
	return out
}

func hasNetwork(networks []network, id string) bool {
	for _, n := range networks {
		if id != "" && strings.EqualFold(n.id, id) {
			return true
		}
	}
	return false
}

func checkReservedPorts(c *stateCheck, in []ReservedPort) []reservation {
	var out []reservation
	for i, r := range in {
		vip := r.VIP
		if vip != "" {
			a, err := netip.ParseAddr(vip)
			if err != nil {
				c.fail(fmt.Sprintf("ReservedPorts[%d]", i), "VIP %q is not an IP address", vip)
				continue
			}
			vip = a.Unmap().String()
		}
		out = append(out, reservation{vip: vip, protocol: r.Protocol, port: r.Port})
	}
	return out
}
