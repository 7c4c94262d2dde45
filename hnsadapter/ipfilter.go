package hnsadapter

import "net/netip"

// ipFilter is a set of IPs that may hold others: a bit per hash of the
// IP, 8 KB, which stays in the cache where a map of 1,000 IPs would not.
// A sync of changes asks it, for each of the backends of the load
// balancers it changes (16,000 at 1,000 events), whether a per-sync map
// may have the IP, and looks in the map only then: most do not.
type ipFilter [1 << 10]uint64

// syncFilters are a sync's filters: of the IPs it resolved
// (syncRun.endpoints) and of those its change set names (changeScope).
type syncFilters struct{ endpoints, named ipFilter }

func (f *ipFilter) add(ip netip.Addr) {
	h := filterHash(ip)
	f[h>>6] |= 1 << (h & 63)
}

// mayHave reports false if ip was never added.
func (f *ipFilter) mayHave(ip netip.Addr) bool {
	h := filterHash(ip)
	return f[h>>6]&(1<<(h&63)) != 0
}

// filterHash is 16 bits of ip's hash, mixed again: IPs that differ in
// few bits (pods of one node) spread over the filter.
func filterHash(ip netip.Addr) uint64 {
	h := ipHash(ip)
	h ^= h >> 29
	return (h * 0x94d049bb133111eb) >> 48
}
