package lbpolicy

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// How Compute is made fast, apart from the rules in compute.go: arenas for
// the many short lists, radix sorts of small integer keys instead of
// comparison sorts of large structs, and an in-place merge of the plan's
// endpoints. None of it decides anything; each piece says which ordering
// or rule it reproduces.

// arena hands out slices carved from larger chunks, which saves the
// allocator and the garbage collector work: Compute makes tens of
// thousands of short lists. With chunk 0 every slice is its own
// allocation: the Tracker keeps each Service's output for long, and a
// shared chunk would keep the others' garbage alive.
type arena[T any] struct {
	free  []T
	chunk int
	last  []T // the latest chunk made, for reuse
}

// reuse hands out the latest chunk again from its start, for a computer
// whose lists are all copied out (or dropped) before it plans again.
func (a *arena[T]) reuse() {
	if a.last != nil {
		a.free = a.last
	}
}

// take returns an empty slice with room for n elements. Callers clip it
// once filled, so that appending to it cannot reach the next one.
func (a *arena[T]) take(n int) []T {
	if n > len(a.free) {
		if n >= a.chunk {
			return make([]T, 0, n)
		}
		a.free = make([]T, a.chunk)
		a.last = a.free
	}
	s := a.free[:0:n]
	a.free = a.free[n:]
	return s
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

// keySortKey orders like Key.Compare, for the two families a plan has.
func keySortKey(k Key, idx int) sortKey {
	s := addrSortKey(k.VIP, idx)
	if k.Family == IPv6 {
		s.key[0] |= 4
	}
	s.key[3] = uint64(k.Protocol)<<16 | uint64(k.Port)
	return s
}

// lbOrder returns the candidates' sort keys in Key order, candidates of
// one key in the order they were planned.
func (c *computer) lbOrder() []sortKey {
	order := make([]sortKey, len(c.cands))
	for i, lb := range c.cands {
		order[i] = keySortKey(lb.Key(), i)
	}
	return radixSort(order, len(sortKey{}.key), (*sortKey).word)
}

// recordedByIP returns the recorded endpoints sorted by IP, those of one
// IP in the order recorded.
func (c *computer) recordedByIP() []endpointCandidate {
	order := make([]sortKey, len(c.endpoints))
	for i := range c.endpoints {
		order[i] = addrSortKey(c.endpoints[i].ep.IP, i)
	}
	order = radixSort(order, len(sortKey{}.key), (*sortKey).word)
	recorded := make([]endpointCandidate, len(order))
	for i, k := range order {
		recorded[i] = c.endpoints[k.idx]
	}
	return recorded
}

// remoteBackendIPs returns the distinct IPs in remotes, sorted (IPv4
// first), and how many of them are IPv4. Many load balancers share remote
// backends, so the lists are collected, sorted and deduplicated; IPv4
// addresses sort as integers, which is fast. With two goroutines, each
// does half of the lists, and the halves are merged.
func remoteBackendIPs(remotes []remoteView, parallel bool) ([]netip.Addr, int) {
	var v4 []uint32
	var v6 []netip.Addr
	if parallel {
		half := len(remotes) / 2
		var v4a []uint32
		var v6a []netip.Addr
		wait := goAndWait(func() { v4a, v6a = sortedRemotes(remotes[:half]) })
		v4, v6 = sortedRemotes(remotes[half:])
		wait()
		v4 = mergeDistinct(v4a, v4)
		v6 = slices.Compact(slices.SortedFunc(slices.Values(append(v6a, v6...)), netip.Addr.Compare))
	} else {
		v4, v6 = sortedRemotes(remotes)
	}
	ips := make([]netip.Addr, 0, len(v4)+len(v6))
	for _, x := range v4 {
		ips = append(ips, netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}))
	}
	return append(ips, v6...), len(v4) // IPv4 sorts before IPv6
}

// sortedRemotes returns the distinct IPv4 addresses in remotes, as
// integers, and IPv6 addresses, each sorted.
func sortedRemotes(remotes []remoteView) ([]uint32, []netip.Addr) {
	size := 0
	for _, rs := range remotes {
		size += rs.len() // an upper bound, to allocate once
	}
	v4 := make([]uint32, 0, size)
	var v6 []netip.Addr
	var lastIP *netip.Addr
	var lastBackend *Backend
	lastLen := 0
	for _, rs := range remotes {
		// The kinds of one port share their backends' and remote lists
		// (a truncated one shares the start of its backends).
		n := rs.len()
		switch {
		case n == 0:
			continue
		case rs.backends != nil:
			if &rs.backends[0] == lastBackend && n == lastLen {
				continue
			}
			lastBackend, lastIP, lastLen = &rs.backends[0], nil, n
		default:
			if &rs.ips[0] == lastIP && n == lastLen {
				continue
			}
			lastBackend, lastIP, lastLen = nil, &rs.ips[0], n
		}
		for i := range n {
			if ip := rs.at(i); ip.Is4() {
				b := ip.As4()
				v4 = append(v4, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	v4 = slices.Compact(radixSort(v4, 1, func(x *uint32, _ int) uint64 { return uint64(*x) }))
	slices.SortFunc(v6, netip.Addr.Compare)
	return v4, slices.Compact(v6)
}

// mergeDistinct merges two sorted lists of distinct values into one.
func mergeDistinct(a, b []uint32) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// mergeRecorded merges the recorded endpoints (sorted by IP, see
// recordedByIP) into the remote endpoints out (sorted by IP, distinct),
// in place: out needs room for len(recorded) more. resolve gets each
// group of recorded endpoints that share an IP, with the remote endpoint
// of that IP or nil, and returns the one the plan keeps.
func mergeRecorded(out []Endpoint, recorded []endpointCandidate, resolve func(group []endpointCandidate, remote *Endpoint) Endpoint) []Endpoint {
	r := len(out) - 1 // next remote endpoint, from the back
	out = out[:cap(out)]
	w := len(out) // next free slot is w-1
	for i := len(recorded) - 1; i >= 0; {
		// recorded[first..i] share one IP.
		first := i
		for first > 0 && recorded[first-1].ep.IP == recorded[i].ep.IP {
			first--
		}
		group := recorded[first : i+1]
		i = first - 1
		ip := group[0].ep.IP
		for r >= 0 && ip.Less(out[r].IP) {
			w--
			out[w] = out[r]
			r--
		}
		var remote *Endpoint
		if r >= 0 && out[r].IP == ip {
			remote = &out[r]
			r--
		}
		ep := resolve(group, remote)
		w--
		out[w] = ep
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

// ownerSpan says that the candidates from c.cands[start] on, up to the next
// span's start, are svc's: Compute plans Services one after the other, so
// each one's candidates are contiguous. Only frontend conflicts need a
// candidate's Service (for its creation time), so this is one record per
// Service rather than a field per candidate.
type ownerSpan struct {
	svc   *corev1.Service
	start int
}

// startService notes that svc's candidates begin here.
func (c *computer) startService(svc *corev1.Service) {
	c.owners = append(c.owners, ownerSpan{svc: svc, start: len(c.lbs)})
}

// createdOf returns the creation timestamp of the Service that planned
// candidate i (zero when none was noted: the Tracker plans one Service per
// computer and never asks).
func (c *computer) createdOf(i int) time.Time {
	// The last span starting at or before i; Services that planned
	// nothing start where the next one does, and are skipped.
	j := sort.Search(len(c.owners), func(j int) bool { return c.owners[j].start > i })
	if j == 0 {
		return time.Time{}
	}
	return c.owners[j-1].svc.CreationTimestamp.Time
}

// frontendWinner returns the index in c.cands of the winner among the
// candidates of one key (run, in candidate order): the first in
// compareFrontendClaims's order, ties (one Service's port) going to the
// one planned first, as in the Tracker's compareLBClaims. Almost every run
// has one candidate.
func (c *computer) frontendWinner(run []sortKey) int {
	w := run[0].idx
	if len(run) == 1 {
		return w
	}
	wCreated := c.createdOf(w)
	for _, o := range run[1:] {
		created := c.createdOf(o.idx)
		// run is in candidate order, so a tie keeps the earlier one.
		if compareFrontendClaims(c.cands[o.idx], created, c.cands[w], wCreated) < 0 {
			w, wCreated = o.idx, created
		}
	}
	return w
}

// remoteView is a load balancer's remote backends: ips or, when backends
// is not nil, every backend's IP.
type remoteView struct {
	ips      []netip.Addr
	backends []Backend
}

func (r remoteView) len() int {
	if r.backends != nil {
		return len(r.backends)
	}
	return len(r.ips)
}

func (r remoteView) at(i int) netip.Addr {
	if r.backends != nil {
		return r.backends[i].IP
	}
	return r.ips[i]
}

func (r remoteView) sorted() bool {
	for i := 1; i < r.len(); i++ {
		if r.at(i).Less(r.at(i - 1)) {
			return false
		}
	}
	return true
}
