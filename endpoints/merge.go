package endpoints

import (
	"cmp"
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
// never depends on the order of the input (slice names are unique within a
// namespace; should two slices of one group share a name, they keep their
// input order). It returns nil when no slice is returned.
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
			groups = map[types.NamespacedName][]*discovery.EndpointSlice{}
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
//     (kube-proxy keeps whichever it meets first, in map order.)
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

	// Pass 1: the service's port keys and how many endpoints each can hold,
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
	// keys[i].end holds a count so far; turn counts into [start, start)
	// spans of the array, then let pass 2 move end along.
	off := 0
	for i := range keys {
		n := keys[i].end
		keys[i].start, keys[i].end = off, off
		off += n
	}

	// Pass 2: fill the array, parsing each endpoint's address once.
	var all []Endpoint
	if total > 0 {
		all = make([]Endpoint, total)
	}
	var errs []*SliceError
	want4 := family == discovery.AddressTypeIPv4
	var portBuf [4]portSlot
	for _, s := range slices {
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
			e := Endpoint{
				Addr:        addr,
				Ready:       ep.Conditions.Ready == nil || *ep.Conditions.Ready,
				Serving:     ep.Conditions.Serving == nil || *ep.Conditions.Serving,
				Terminating: ep.Conditions.Terminating != nil && *ep.Conditions.Terminating,
				Hints:       ep.Hints,
			}
			if ep.NodeName != nil {
				e.NodeName = *ep.NodeName
				e.Local = nodeName != "" && e.NodeName == nodeName
			}
			for _, p := range ports {
				e.Port = p.num
				all[keys[p.key].end] = e
				keys[p.key].end++
			}
		}
	}

	var out Ports
	for _, k := range keys {
		list := sortDedup(all[k.start:k.end])
		if len(list) == 0 {
			continue
		}
		if out == nil {
			out = make(Ports, len(keys))
		}
		out[k.key] = list[:len(list):len(list)]
	}
	return out, errs
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

// compareSlices orders slices by name, then namespace; nil first.
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
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Namespace, b.Namespace)
}

func slicesByName(s []*discovery.EndpointSlice) bool {
	return slices.IsSortedFunc(s, compareSlices)
}

// sortByName sorts s in place (stable, so equal names keep their order)
// and returns it.
func sortByName(s []*discovery.EndpointSlice) []*discovery.EndpointSlice {
	slices.SortStableFunc(s, compareSlices)
	return s
}

func compareAddrPort(a, b Endpoint) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// sortDedup sorts eps, which is in first-seen order, by address and port,
// and keeps one endpoint per (address, port): the first non-terminating
// one, else the first one. It works in place and returns the prefix kept;
// the rest is cleared so that it holds no pointers.
func sortDedup(eps []Endpoint) []Endpoint {
	if !slices.IsSortedFunc(eps, compareAddrPort) {
		// Stable: equal keys stay in first-seen order.
		slices.SortStableFunc(eps, compareAddrPort)
	}
	w := 0
	for r := 0; r < len(eps); {
		pick, e := r, r+1
		for e < len(eps) && eps[e].Addr == eps[r].Addr && eps[e].Port == eps[r].Port {
			if eps[pick].Terminating && !eps[e].Terminating {
				pick = e
			}
			e++
		}
		eps[w] = eps[pick]
		w++
		r = e
	}
	clear(eps[w:])
	return eps[:w]
}
