package endpoints

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// SliceError reports an EndpointSlice, or one address in it, that Merge
// skipped.
type SliceError struct {
	Slice   types.NamespacedName // the EndpointSlice
	Address string               // the offending address, "" for the whole slice
	Reason  string               // what is wrong, for people
}

// Error names the slice, the address if any, and the reason, e.g.
//
//	EndpointSlice default/web-abc: address "10.0.0.300" skipped: not an IP address
func (e *SliceError) Error() string {
	s := "EndpointSlice " + e.Slice.Namespace + "/" + e.Slice.Name + ": "
	if e.Address != "" {
		s += "address " + strconv.Quote(e.Address) + " skipped: "
	}
	return s + e.Reason
}

// ByService groups slices by the Service named in their
// kubernetes.io/service-name label (discovery.LabelServiceName), in the
// slice's namespace, each group sorted by slice name. Nil slices and slices
// without the label, or with an empty one, are not returned. The result
// never depends on the order of the input (copies of one slice are ordered
// by UID, resourceVersion, then content). It returns nil when no slice is
// returned.
func ByService(slices []*discovery.EndpointSlice) map[types.NamespacedName][]*discovery.EndpointSlice {
	var groups map[types.NamespacedName][]*discovery.EndpointSlice
	for _, s := range slices {
		if s == nil {
			continue
		}
		svc := s.Labels[discovery.LabelServiceName]
		if svc == "" {
			continue
		}
		if groups == nil {
			// At most one group per slice: no rehashing as it grows.
			groups = make(map[types.NamespacedName][]*discovery.EndpointSlice, len(slices))
		}
		key := types.NamespacedName{Namespace: s.Namespace, Name: svc}
		groups[key] = append(groups[key], s)
	}
	for _, g := range groups {
		if !slicesByName(g) {
			sortByName(g)
		}
	}
	return groups
}

// Merge merges the EndpointSlices of one Service for one address family
// (discovery.AddressTypeIPv4 or discovery.AddressTypeIPv6; any other family
// gives no endpoints), following kube-proxy's endpointslicecache.go. The
// result never depends on the order of slices, and the input is never
// modified.
//
//   - Slices are taken in name order. Nil slices and slices of another
//     address type are ignored; FQDN slices always are.
//   - Ports are keyed by name and protocol; a nil name is "" and a nil
//     protocol is TCP (the API server's defaults). A port without a number,
//     or with one outside 1-65535, is skipped with a SliceError.
//   - An endpoint without addresses is ignored. Only its first address is
//     used: if it is not an IP address (see ParseAddr) or not of the
//     family, the endpoint is skipped with one SliceError, whatever the
//     number of ports.
//   - Conditions: Ready = Ready == nil || *Ready, Serving = Serving == nil ||
//     *Serving, Terminating = Terminating != nil && *Terminating. Local is
//     true when nodeName is not empty and equals the endpoint's nodeName.
//     Hints point into the input slice.
//   - Duplicates: within one port, endpoints with the same address and port
//     number (from one slice or several) are one endpoint: the first
//     non-terminating one, or the first one if all are terminating, where
//     "first" is in slice name order, then endpoint order within the slice.
//     (kube-proxy keeps the first it meets, in map order, unless a later
//     one is local; hnslb's rule keeps traffic off a draining duplicate and
//     does not depend on map order.)
//
// Each list in Ports is sorted by address, then port number, and is not
// empty. Ports is nil when no endpoint remains. The lists share one
// backing array, each capped at its length so an append to one cannot
// overwrite another. SliceErrors come in slice order.
func Merge(slices []*discovery.EndpointSlice, family discovery.AddressType, nodeName string) (Ports, []*SliceError) {
	if family != discovery.AddressTypeIPv4 && family != discovery.AddressTypeIPv6 {
		return nil, nil
	}
	if !slicesByName(slices) {
		slices = sortByName(append([]*discovery.EndpointSlice(nil), slices...))
	}

	// Pass 1: the service's port keys and how many endpoints each may get,
	// so that pass 2 fills one pre-sized array.
	var keyBuf [4]keySpan
	keys := keyBuf[:0]
	total := 0
	for _, s := range slices {
		if s == nil || s.AddressType != family || len(s.Endpoints) == 0 {
			continue
		}
		for i := range s.Ports {
			k, _, reason := portOf(&s.Ports[i])
			if reason != "" {
				continue
			}
			var ki int
			keys, ki = findKey(keys, k)
			keys[ki].end += len(s.Endpoints)
			total += len(s.Endpoints)
		}
	}
	// keys[i].end holds a count; turn counts into empty spans
	// [start, start) of the array, which pass 2 extends.
	off := 0
	for i := range keys {
		n := keys[i].end
		keys[i].start, keys[i].end = off, off
		off += n
	}

	// Pass 2: stage every (endpoint, port) as a small pointer-free record,
	// parsing each endpoint's address once. Sorting these is much cheaper
	// than sorting Endpoints, whose pointers make every move pay GC write
	// barriers.
	var stBuf [64]staged
	var st []staged
	if total <= len(stBuf) {
		st = stBuf[:total]
	} else {
		st = make([]staged, total)
	}
	var errs []*SliceError
	want4 := family == discovery.AddressTypeIPv4
	var portBuf [4]portSlot
	for si, s := range slices {
		if s == nil || s.AddressType != family {
			continue
		}
		ports := portBuf[:0]
		for i := range s.Ports {
			k, num, reason := portOf(&s.Ports[i])
			if reason != "" {
				errs = append(errs, &SliceError{Slice: sliceName(s), Reason: reason})
				continue
			}
			if len(s.Endpoints) > 0 {
				var ki int
				keys, ki = findKey(keys, k)
				ports = append(ports, portSlot{key: ki, num: num})
			}
		}
		if len(ports) == 0 {
			continue
		}
		for i := range s.Endpoints {
			ep := &s.Endpoints[i]
			if len(ep.Addresses) == 0 {
				continue
			}
			addr, reason := parseAddr(ep.Addresses[0])
			if reason == "" && addr.Is4() != want4 {
				if want4 {
					reason = "IPv6 address in an IPv4 EndpointSlice"
				} else {
					reason = "IPv4 address in an IPv6 EndpointSlice"
				}
			}
			if reason != "" {
				errs = append(errs, &SliceError{Slice: sliceName(s), Address: ep.Addresses[0], Reason: reason})
				continue
			}
			a := addr.As16()
			r := staged{
				hi:    binary.BigEndian.Uint64(a[:8]),
				lo:    binary.BigEndian.Uint64(a[8:]),
				term:  ep.Conditions.Terminating != nil && *ep.Conditions.Terminating,
				slice: uint32(si),
				ep:    uint32(i),
			}
			for _, p := range ports {
				r.port = p.num
				st[keys[p.key].end] = r
				keys[p.key].end++
			}
		}
	}

	// Sort and deduplicate each port's records in place.
	n, nonEmpty := 0, 0
	for i := range keys {
		kept := sortDedup(st[keys[i].start:keys[i].end])
		keys[i].end = keys[i].start + len(kept)
		n += len(kept)
		if len(kept) > 0 {
			nonEmpty++
		}
	}
	if n == 0 {
		return nil, errs
	}

	// Build the Endpoints, all in one array.
	all := make([]Endpoint, n)
	out := make(Ports, nonEmpty)
	w := 0
	for _, k := range keys {
		if k.end == k.start {
			continue
		}
		list := all[w : w+k.end-k.start : w+k.end-k.start]
		for j, r := range st[k.start:k.end] {
			ep := &slices[r.slice].Endpoints[r.ep]
			e := &list[j]
			e.Addr = r.addr(want4)
			e.Port = r.port
			e.Ready = ep.Conditions.Ready == nil || *ep.Conditions.Ready
			e.Serving = ep.Conditions.Serving == nil || *ep.Conditions.Serving
			e.Terminating = r.term
			e.Hints = ep.Hints
			if ep.NodeName != nil {
				e.NodeName = *ep.NodeName
				e.Local = nodeName != "" && e.NodeName == nodeName
			}
		}
		out[k.key] = list
		w += len(list)
	}
	return out, errs
}

// staged is one (endpoint, port) pair while Merge sorts and deduplicates.
// Its order (address, port, then slice and endpoint index, which is
// first-seen order) is total, so sorting needs no stability.
type staged struct {
	hi, lo uint64 // the address, As16
	port   int32
	term   bool
	slice  uint32 // index in the name-ordered slices
	ep     uint32 // index in the slice's Endpoints
}

func (r *staged) addr(want4 bool) netip.Addr {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], r.hi)
	binary.BigEndian.PutUint64(a[8:], r.lo)
	if want4 {
		return netip.AddrFrom4([4]byte(a[12:]))
	}
	return netip.AddrFrom16(a)
}

func compareStaged(a, b staged) int {
	switch {
	case a.hi != b.hi:
		return cmp.Compare(a.hi, b.hi)
	case a.lo != b.lo:
		return cmp.Compare(a.lo, b.lo)
	case a.port != b.port:
		return cmp.Compare(a.port, b.port)
	case a.slice != b.slice:
		return cmp.Compare(a.slice, b.slice)
	}
	return cmp.Compare(a.ep, b.ep)
}

// sortDedup sorts rs and keeps one record per (address, port): the first
// non-terminating one, else the first one. It works in place and returns
// the prefix kept.
func sortDedup(rs []staged) []staged {
	if !slices.IsSortedFunc(rs, compareStaged) {
		slices.SortFunc(rs, compareStaged)
	}
	w := 0
	for r := 0; r < len(rs); {
		pick, e := r, r+1
		for e < len(rs) && rs[e].hi == rs[r].hi && rs[e].lo == rs[r].lo && rs[e].port == rs[r].port {
			if rs[pick].term && !rs[e].term {
				pick = e
			}
			e++
		}
		rs[w] = rs[pick]
		w++
		r = e
	}
	return rs[:w]
}

// keySpan is one port key of a service and its part all[start:end] of
// Merge's endpoint array.
type keySpan struct {
	key        PortKey
	start, end int
}

// portSlot is one valid port of one slice: its key's index and its number.
type portSlot struct {
	key int
	num int32
}

// findKey returns keys, with k added if it was missing, and the index of k.
// Services have few ports, so a linear search beats a map.
func findKey(keys []keySpan, k PortKey) ([]keySpan, int) {
	for i := range keys {
		if keys[i].key == k {
			return keys, i
		}
	}
	return append(keys, keySpan{key: k}), len(keys)
}

// portOf returns the key and number of a slice port, or a reason to skip it.
func portOf(p *discovery.EndpointPort) (PortKey, int32, string) {
	k := PortKey{Protocol: corev1.ProtocolTCP}
	if p.Name != nil {
		k.Name = *p.Name
	}
	if p.Protocol != nil {
		k.Protocol = *p.Protocol
	}
	if p.Port == nil {
		return k, 0, "port " + strconv.Quote(k.Name) + "/" + string(k.Protocol) + " skipped: it has no port number"
	}
	if n := *p.Port; n < 1 || n > 65535 {
		return k, 0, "port " + strconv.Quote(k.Name) + "/" + string(k.Protocol) + " skipped: port number " +
			strconv.Itoa(int(n)) + " is outside 1-65535"
	}
	return k, *p.Port, ""
}

func sliceName(s *discovery.EndpointSlice) types.NamespacedName {
	return types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
}

// compareSlices orders slices by name, then namespace; nil first. Copies
// of one slice (an informer never hands over two, but callers may) are
// ordered by UID, resourceVersion and, as a last resort, content, so that
// the merge never depends on the input order.
func compareSlices(a, b *discovery.EndpointSlice) int {
	switch {
	case a == nil || b == nil:
		if a == b {
			return 0
		}
		if a == nil {
			return -1
		}
		return 1
	}
	if c := cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.UID, b.UID), cmp.Compare(a.ResourceVersion, b.ResourceVersion)); c != 0 || a == b {
		return c
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb)
}

func slicesByName(s []*discovery.EndpointSlice) bool {
	return slices.IsSortedFunc(s, compareSlices)
}

// sortByName sorts s in place and returns it.
func sortByName(s []*discovery.EndpointSlice) []*discovery.EndpointSlice {
	slices.SortStableFunc(s, compareSlices)
	return s
}
