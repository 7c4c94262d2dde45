package hnsadapter

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// TestSameBackendIDs: sameBackendIDs compares as sets, case-insensitively,
// whatever the order and repeats of either list, and says the same when
// told that held is in key order.
func TestSameBackendIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	id := func() string {
		s := fmt.Sprintf("0000000%d-AAAA-BBBB-CCCC-DDDDDDDDDDDD", rng.IntN(8))
		if rng.IntN(6) == 0 {
			s = strings.ToLower(s)
		}
		return s
	}
	for round := range 3000 {
		var held, ids []string
		for range rng.IntN(6) {
			held = append(held, id())
		}
		if rng.IntN(2) == 0 {
			slices.Sort(held)
			held = slices.Compact(held)
		}
		switch rng.IntN(3) {
		case 0: // a permutation of held, maybe with a repeat
			ids = slices.Clone(held)
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			if len(ids) > 1 && rng.IntN(3) == 0 {
				ids[0] = ids[1]
			}
		default:
			for range rng.IntN(6) {
				ids = append(ids, id())
			}
		}
		want := slices.Equal(idSet(held), idSet(ids))
		if got := sameBackendIDs(held, slices.Clone(ids), false); got != want {
			t.Fatalf("round %d: sameBackendIDs(%q, %q) = %v, want %v", round, held, ids, got, want)
		}
		if inKeyOrder(held) {
			if got := sameBackendIDs(held, slices.Clone(ids), true); got != want {
				t.Fatalf("round %d: sameBackendIDs(%q, %q), held in key order = %v, want %v", round, held, ids, got, want)
			}
		}
	}
}

// TestIPTable: an ipTable finds every IP it was filled with, at its
// index, and no other.
func TestIPTable(t *testing.T) {
	var tab ipTable
	for _, n := range []int{0, 1, 3, 100, 5000} {
		var uses []wantUse
		for i := range n {
			uses = append(uses, wantUse{ip: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})})
			if i%3 == 0 {
				uses = append(uses, wantUse{ip: netip.AddrFrom16([16]byte{0xfd, 15: byte(i), 14: byte(i >> 8), 13: byte(i >> 16)})})
			}
		}
		tab.fill(uses)
		for i := range uses {
			if got := tab.find(uses, uses[i].ip); got != &uses[i] {
				t.Fatalf("n=%d: find(%s) = %p, want %p", n, uses[i].ip, got, &uses[i])
			}
		}
		for _, ip := range []netip.Addr{netip.MustParseAddr("10.255.0.1"), netip.MustParseAddr("::ffff:10.0.0.1"), {}} {
			if got := tab.find(uses, ip); got != nil {
				t.Fatalf("n=%d: find(%s) = %v, want none", n, ip, *got)
			}
		}
	}
}

// TestParseIPv4: parseIPv4 accepts what netip.ParseAddr parses as an IPv4
// address, with the same result, and nothing else.
func TestParseIPv4(t *testing.T) {
	for _, s := range []string{"10.0.0.1", "0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3.04", "1.2.3.0",
		"256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "", "::1", "::ffff:1.2.3.4", "1.2.3.4%eth0",
		"1.2.3.1000", "a.b.c.d", "1.2.3.-4", "1.2.3.4 ", "00.0.0.0"} {
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Is4()
		got, ok := parseIPv4([]byte(s))
		if ok != wantOK || ok && got != want {
			t.Errorf("parseIPv4(%q) = %v, %v; netip.ParseAddr: %v, %v", s, got, ok, want, err)
		}
	}
}

// TestSameEndpoints: sameEndpoints is true only for the endpoints of
// held, in any order, never for an unknown (nil) one; when held repeats
// none, it is true for every such permutation.
func TestSameEndpoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	pool := make([]hns.HostComputeEndpoint, 5)
	pick := func() *hns.HostComputeEndpoint {
		if rng.IntN(10) == 0 {
			return nil
		}
		return &pool[rng.IntN(len(pool))]
	}
	for round := range 3000 {
		var held, eps []*hns.HostComputeEndpoint
		for range rng.IntN(6) {
			held = append(held, pick())
		}
		if rng.IntN(2) == 0 {
			eps = slices.Clone(held)
			rng.Shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
		} else {
			for range rng.IntN(6) {
				eps = append(eps, pick())
			}
		}
		// The reference: the same multiset, without nil.
		count := map[*hns.HostComputeEndpoint]int{}
		for _, ep := range held {
			count[ep]++
		}
		repeats := len(count) < len(held)
		want := len(held) == len(eps)
		for _, ep := range eps {
			if count[ep]--; ep == nil || count[ep] < 0 {
				want = false
			}
		}
		if got := sameEndpoints(held, eps); got && !want || !repeats && got != want {
			t.Fatalf("round %d: sameEndpoints(%v, %v) = %v, want %v", round, held, eps, got, want)
		}
	}
}

// TestResolveHeld: a view's load balancers resolve their endpoints the
// second time in a row they come with the same list of endpoints, to that
// list's endpoints (nil for an ID not listed).
func TestResolveHeld(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	lbs, eps := randomLists(rng)
	lbs[0].HostComputeEndpoints = append(lbs[0].HostComputeEndpoints, "EP-NOT-LISTED")
	v := newView(lbs, eps)
	k := v.byKeySorted()
	if k.resolve(v) {
		t.Fatal("resolved at the first sight of the list")
	}
	if !k.resolve(v) {
		t.Fatal("not resolved at the second sight of the list")
	}
	for i := range k.all {
		got := k.eps[k.epsAt[i]:k.epsAt[i+1]]
		want := mapSlice(k.all[i].lb.HostComputeEndpoints, func(id string) *hns.HostComputeEndpoint { return v.eps[idKey(id)] })
		if !slices.Equal(got, want) {
			t.Fatalf("load balancer %s: resolved %v, want %v", k.all[i].id, got, want)
		}
	}
	l2, e2 := cloneLists(lbs, eps)
	v2 := newView(l2, e2) // another list of endpoints
	if k.resolve(v2) {
		t.Fatal("resolved at the first sight of another list")
	}
}
