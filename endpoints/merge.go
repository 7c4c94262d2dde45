package endpoints

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"runtime"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// SliceError reports an EndpointSlice, or one address in it, that Merge
// skipped or, when Kept is set, used but finds suspicious.
type SliceError struct {
	Slice   types.NamespacedName // the EndpointSlice
	Address string               // the offending address, "" for the whole slice
	// Field is the address's field, "endpoints[i].addresses[0]", or the
	// slice's ("addressType", which Reason then names too); "" when not
	// known.
	Field  string
	Reason string // what is wrong, for people
	// Kept says the address was used anyway: it was normalised the way
	// kube-proxy does (leading zeros, IPv4-mapped IPv6).
	Kept bool
}

// Error names the slice, the address if any, and the reason, e.g.
//
//	EndpointSlice default/web-abc: address "10.0.0.300" skipped: not an IP address
//	EndpointSlice default/web-abc: endpoints[2].addresses[0] "127.0.0.1" skipped: special-purpose address (loopback)
func (e *SliceError) Error() string {
	s := "EndpointSlice " + e.Slice.Namespace + "/" + e.Slice.Name + ": "
	if e.Address != "" {
		what := "address"
		if e.Field != "" {
			what = e.Field
		}
		s += what + " " + strconv.Quote(e.Address)
		if e.Kept {
			s += ": "
		} else {
			s += " skipped: "
		}
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
//     address type are ignored; FQDN slices always are. A slice whose
//     addressType is not IPv4, IPv6 or FQDN is skipped with a SliceError
//     (Field "addressType").
//   - An address that is special-purpose (see SpecialPurpose) is skipped
//     with a SliceError; one read leniently (see ParseAddrNormalized) is
//     used, with a SliceError whose Kept is set.
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
	return merge(nil, slices, family, nodeName)
}

// A Merger merges like Merge, reusing its memory from one call to the
// next: for a caller that merges one Service after another and is done
// with each result before the next. The Ports a call returns, and their
// lists, are valid until the next call. The zero Merger is ready to use;
// it is not safe for concurrent use.
type Merger struct {
	all   []Endpoint
	ports Ports
	st    []staged
}

// Merge is Merge, in m's memory.
func (m *Merger) Merge(slices []*discovery.EndpointSlice, family discovery.AddressType, nodeName string) (Ports, []*SliceError) {
	return merge(m, slices, family, nodeName)
}

// merge is Merge, in m's memory when m is not nil.
func merge(m *Merger, slices []*discovery.EndpointSlice, family discovery.AddressType, nodeName string) (Ports, []*SliceError) {
	if family != discovery.AddressTypeIPv4 && family != discovery.AddressTypeIPv6 {
		return nil, nil
	}
	if !slicesByName(slices) {
		slices = sortByName(append([]*discovery.EndpointSlice(nil), slices...))
	}
	// Merge works on small pointer-free records in one pre-sized array,
	// each port key's in a span of its own: sorting those is much cheaper
	// than sorting Endpoints, whose pointers make every move pay GC write
	// barriers. The buffers keep small Services off the heap.
	var keyBuf [4]keySpan
	var find keyFinder
	keys, total := portSpans(&find, keyBuf[:0], slices, family)
	var stBuf [64]staged
	var st []staged
	switch {
	case total <= len(stBuf):
		st = stBuf[:total]
	case m != nil:
		if cap(m.st) < total {
			m.st = make([]staged, total)
		}
		st = m.st[:total]
	default:
		st = make([]staged, total)
	}
	keys, errs := stage(&find, st, keys, slices, family)
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
	var all []Endpoint
	var out Ports
	if m != nil {
		if cap(m.all) < n {
			m.all = make([]Endpoint, n)
		}
		if m.ports == nil {
			m.ports = make(Ports, nonEmpty)
		}
		clear(m.ports)
		all, out = m.all[:n], m.ports
	} else {
		all, out = make([]Endpoint, n), make(Ports, nonEmpty)
	}
	buildPorts(all, out, st, keys, slices, family == discovery.AddressTypeIPv4, nodeName)
	return out, errs
}

// portSpans returns the Service's port keys, appended to keys, each with
// an empty span [start, start) of an array with room for every (endpoint,
// port) pair the slices of family may give it, and the array's size.
func portSpans(find *keyFinder, keys []keySpan, slices []*discovery.EndpointSlice, family discovery.AddressType) ([]keySpan, int) {
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
			keys, ki = find.key(keys, k)
			keys[ki].end += len(s.Endpoints) // a count, for now
			total += len(s.Endpoints)
		}
	}
	off := 0
	for i := range keys {
		n := keys[i].end
		keys[i].start, keys[i].end = off, off
		off += n
	}
	return keys, total
}

// stage records every usable (endpoint, port) pair of the slices of
// family in st, extending each port key's span, parses each endpoint's
// address once, and reports what it skips.
func stage(find *keyFinder, st []staged, keys []keySpan, slices []*discovery.EndpointSlice, family discovery.AddressType) ([]keySpan, []*SliceError) {
	var errs []*SliceError
	want4 := family == discovery.AddressTypeIPv4
	var portBuf [4]portSlot
	for si, s := range slices {
		if s == nil || s.AddressType != family {
			if s != nil && !knownAddressType(s.AddressType) {
				errs = append(errs, &SliceError{Slice: sliceName(s), Field: "addressType",
					Reason: "addressType " + strconv.Quote(string(s.AddressType)) + " is not IPv4, IPv6 or FQDN: the slice is skipped"})
			}
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
				keys, ki = find.key(keys, k)
				ports = append(ports, portSlot{key: ki, num: num})
			}
		}
		if len(ports) == 0 {
			continue
		}
		for lo := 0; lo < len(s.Endpoints); lo += readAhead {
			var ahead endpointsAhead
			ahead.read(s.Endpoints[lo:min(lo+readAhead, len(s.Endpoints))])
			for j := range ahead.n {
				if !ahead.has[j] {
					continue
				}
				i := lo + j
				addr, normalized, reason := parseAddr(ahead.addr[j])
				if reason == "" && addr.Is4() != want4 {
					reason = "IPv4 address in an IPv6 EndpointSlice"
					if want4 {
						reason = "IPv6 address in an IPv4 EndpointSlice"
					}
				}
				if reason == "" {
					if kind := SpecialPurpose(addr); kind != "" {
						reason = "special-purpose address (" + kind + "), never a backend"
					}
				}
				if reason != "" {
					errs = append(errs, &SliceError{Slice: sliceName(s), Address: ahead.addr[j], Field: addressField(i), Reason: reason})
					continue
				}
				if normalized {
					errs = append(errs, &SliceError{Slice: sliceName(s), Address: ahead.addr[j], Field: addressField(i),
						Reason: "read as " + addr.String() + " (kube-proxy's lenient parsing): write it canonically", Kept: true})
				}
				a := addr.As16()
				r := staged{
					hi:    binary.BigEndian.Uint64(a[:8]),
					lo:    binary.BigEndian.Uint64(a[8:]),
					term:  ahead.term[j],
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
	}
	return keys, errs
}

// buildPorts makes the Endpoints of the records kept in st, in all (as
// many as are kept), a list per non-empty port key in out (empty).
func buildPorts(all []Endpoint, out Ports, st []staged, keys []keySpan, slices []*discovery.EndpointSlice, want4 bool, nodeName string) {
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
			e.NodeName, e.Local = "", false // all may be a Merger's, reused
			if ep.NodeName != nil {
				e.NodeName = *ep.NodeName
				e.Local = nodeName != "" && e.NodeName == nodeName
			}
		}
		out[k.key] = list
		w += len(list)
	}
}

// readAhead is how many endpoints stage reads ahead (endpointsAhead).
const readAhead = 32

// endpointsAhead is what stage reads of up to readAhead endpoints, read in
// one tight loop before any is parsed. A slice that just arrived is rarely
// in the CPU's caches, and each endpoint's address sits behind two
// pointers: read one endpoint at a time, between parses, the misses come
// one after the other; read ahead, the CPU waits for many at once.
type endpointsAhead struct {
	n    int
	addr [readAhead]string // the first address
	has  [readAhead]bool   // whether the endpoint has an address
	term [readAhead]bool   // Terminating != nil && *Terminating
}

// read reads eps (at most readAhead) into a.
func (a *endpointsAhead) read(eps []discovery.Endpoint) {
	a.n = len(eps)
	var first byte
	for j := range eps {
		ep := &eps[j]
		if len(ep.Addresses) > 0 {
			s := ep.Addresses[0]
			a.addr[j], a.has[j] = s, true
			if s != "" {
				first |= s[0] // loads the address's bytes too
			}
		}
		a.term[j] = ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
	}
	runtime.KeepAlive(first)
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

// keyFinder finds port keys in a Service's key list. Services have few
// ports, so a linear search beats a map; past manyKeys keys it indexes
// them, so that a Service with thousands of ports stays linear.
type keyFinder struct {
	index map[PortKey]int
}

const manyKeys = 16

// key returns keys, with k added if it was missing, and the index of k.
func (f *keyFinder) key(keys []keySpan, k PortKey) ([]keySpan, int) {
	if f.index == nil && len(keys) < manyKeys {
		for i := range keys {
			if keys[i].key == k {
				return keys, i
			}
		}
		return append(keys, keySpan{key: k}), len(keys)
	}
	if f.index == nil {
		f.index = make(map[PortKey]int, 2*len(keys))
		for i := range keys {
			f.index[keys[i].key] = i
		}
	}
	if i, ok := f.index[k]; ok {
		return keys, i
	}
	f.index[k] = len(keys)
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

func knownAddressType(t discovery.AddressType) bool {
	return t == discovery.AddressTypeIPv4 || t == discovery.AddressTypeIPv6 || t == discovery.AddressTypeFQDN
}

func addressField(i int) string {
	return "endpoints[" + strconv.Itoa(i) + "].addresses[0]"
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
