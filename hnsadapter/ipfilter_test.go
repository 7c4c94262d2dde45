package hnsadapter

import (
	"net/netip"
	"testing"
)

// TestIPFilter: an IP added is always reported; of IPs not added, few
// are (the filter spares lookups only if it says no to most).
func TestIPFilter(t *testing.T) {
	var f ipFilter
	ip := func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
	}
	v6 := func(i int) netip.Addr {
		return netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i), 14: byte(i >> 8)})
	}
	for i := range 1000 {
		f.add(ip(i))
		f.add(v6(i))
	}
	for i := range 1000 {
		if !f.mayHave(ip(i)) || !f.mayHave(v6(i)) {
			t.Fatalf("IP %d added but not reported", i)
		}
	}
	var false4, false6 int
	for i := 1000; i < 11000; i++ {
		if f.mayHave(ip(i)) {
			false4++
		}
		if f.mayHave(v6(i)) {
			false6++
		}
	}
	// 2,000 of 65,536 bits set: ~3% of the others collide (300).
	t.Logf("of 10,000 IPs not added, %d IPv4 and %d IPv6 reported", false4, false6)
	if false4 > 500 || false6 > 500 {
		t.Errorf("of 10,000 IPs not added, %d IPv4 and %d IPv6 reported", false4, false6)
	}
}
