package endpoints_test

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/endpoints"
)

// byteReader hands out fuzzed choices; once the bytes run out, every
// choice is 0.
type byteReader []byte

func (r *byteReader) pick(n int) int {
	if len(*r) == 0 {
		return 0
	}
	c := (*r)[0]
	*r = (*r)[1:]
	return int(c) % n
}

func (r *byteReader) boolPtr() *bool {
	switch r.pick(3) {
	case 1:
		return ptr(true)
	case 2:
		return ptr(false)
	}
	return nil
}

// fuzzAddrs are the addresses that always take part, beside the fuzzed
// ones: valid, sloppy, of either family, and invalid.
var fuzzAddrs = []string{
	"10.0.0.1", "010.000.000.001", "10.0.0.2", "::ffff:10.0.0.3", "fd00::1", "FD00::0001", "fd00::2",
	"fe80::1%eth0", "10.0.0.0/24", "", "example.com", "10.0.0.300",
}

// Few addresses per family, so that duplicates are common.
var (
	fuzzAddrs4 = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}
	fuzzAddrs6 = []string{"fd00::1", "fd00::2", "fd00::3", "fd00::4"}
)

// fuzzSlices builds up to four EndpointSlices of one Service, with unique
// names in a fuzzed order, from data. pool holds odd addresses, used now
// and then; most addresses are valid for the slice.
func fuzzSlices(data []byte, pool []string, node, zone string) []*discovery.EndpointSlice {
	r := byteReader(data)
	names := []string{"web-a", "web-b", "web-c", "web-d"}
	for i := len(names) - 1; i > 0; i-- {
		j := r.pick(i + 1)
		names[i], names[j] = names[j], names[i]
	}
	out := make([]*discovery.EndpointSlice, 1+r.pick(4))
	for i := range out {
		if r.pick(10) == 9 {
			continue // a nil slice
		}
		s := &discovery.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: "default",
				Name:      names[i],
				Labels:    map[string]string{discovery.LabelServiceName: "web"},
			},
			AddressType: []discovery.AddressType{v4, v4, v6, v6, fqdn}[r.pick(5)],
		}
		good := fuzzAddrs4
		if s.AddressType == v6 {
			good = fuzzAddrs6
		}
		for range []int{1, 1, 1, 2, 3, 0}[r.pick(6)] {
			p := discovery.EndpointPort{}
			switch r.pick(4) {
			case 1:
				p.Name = ptr("")
			case 2:
				p.Name = ptr("http")
			case 3:
				p.Name = ptr("dns")
			}
			switch r.pick(3) {
			case 1:
				p.Protocol = ptr(corev1.ProtocolTCP)
			case 2:
				p.Protocol = ptr(corev1.ProtocolUDP)
			}
			if n := r.pick(10); n < 9 {
				p.Port = ptr([]int32{80, 80, 80, 8080, 8080, 53, 0, 70000, -1}[n])
			}
			s.Ports = append(s.Ports, p)
		}
		for range r.pick(10) {
			e := discovery.Endpoint{}
			for range []int{1, 1, 1, 2, 0}[r.pick(5)] {
				if r.pick(4) == 3 {
					e.Addresses = append(e.Addresses, pool[r.pick(len(pool))])
				} else {
					e.Addresses = append(e.Addresses, good[r.pick(len(good))])
				}
			}
			e.Conditions = discovery.EndpointConditions{Ready: r.boolPtr(), Serving: r.boolPtr(), Terminating: r.boolPtr()}
			switch r.pick(4) {
			case 1:
				e.NodeName = ptr("")
			case 2:
				e.NodeName = ptr(node)
			case 3:
				e.NodeName = ptr("other-node")
			}
			switch r.pick(6) {
			case 1:
				e.Hints = &discovery.EndpointHints{}
			case 2:
				e.Hints = zoneHints(zone)
			case 3:
				e.Hints = zoneHints("other-zone")
			case 4:
				e.Hints = nodeHints(node)
				e.Hints.ForZones = zoneHints(zone).ForZones
			case 5:
				e.Hints = nodeHints("other-node", node)
			}
			s.Endpoints = append(s.Endpoints, e)
		}
		out[i] = s
	}
	return out
}

func FuzzMergeCategorize(f *testing.F) {
	f.Add([]byte{}, "", "", "", false)
	f.Add([]byte("\x01\x02\x03\x00\x01\x02\x01\x02\x02\x05\x01\x00\x01\x01\x00\x02\x02\x03\x04\x01"), "10.1.1.1,fd00::9", "node-1", "zone-a", true)
	f.Add([]byte("\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0"), "010.0.0.1", "node-1", "zone-a", false)
	f.Add([]byte(strings.Repeat("\x03\x07\x02\x09\x05", 40)), "10.0.0.1,10.0.0.1, 10.0.0.1", "node-1", "", true)
	f.Fuzz(func(t *testing.T, data []byte, extraAddrs, node, zone string, preferSameNode bool) {
		pool := append(slices.Clone(fuzzAddrs), strings.Split(extraAddrs, ",")...)
		in := fuzzSlices(data, pool, node, zone)
		before := deepCopy(in)
		topo := endpoints.Topology{NodeName: node, Zone: zone, PreferSameNode: preferSameNode}

		for _, family := range []discovery.AddressType{v4, v6} {
			// The first addresses of the family's slices' endpoints.
			inputAddrs := map[netip.Addr]bool{}
			for _, s := range in {
				if s == nil || s.AddressType != family {
					continue
				}
				for _, e := range s.Endpoints {
					if len(e.Addresses) > 0 {
						if a, err := endpoints.ParseAddr(e.Addresses[0]); err == nil {
							inputAddrs[a] = true
						}
					}
				}
			}

			got, errs := endpoints.Merge(in, family, node)
			if !reflect.DeepEqual(before, in) {
				diff := cmp.Diff(before, in)
				t.Fatalf("Merge() modified its input (-before +after):\n%s", diff)
			}
			if got != nil && len(got) == 0 {
				t.Errorf("Merge() returned an empty, non-nil map")
			}
			for _, e := range errs {
				if e.Slice.Name == "" || e.Reason == "" {
					t.Errorf("SliceError without slice or reason: %+v", e)
				}
			}
			for key, list := range got {
				if len(list) == 0 {
					t.Errorf("%v: empty list", key)
				}
				for i, e := range list {
					if e.Addr.Is4() != (family == v4) || e.Addr.Is4In6() || e.Addr.Zone() != "" {
						t.Errorf("%v: %v is not a plain %s address", key, e.Addr, family)
					}
					if kind := endpoints.SpecialPurpose(e.Addr); kind != "" {
						t.Errorf("%v: %v is a special-purpose (%s) address", key, e.Addr, kind)
					}
					if !inputAddrs[e.Addr] {
						t.Errorf("%v: %v was not a first address in the input", key, e.Addr)
					}
					if e.Port < 1 || e.Port > 65535 {
						t.Errorf("%v: port %d", key, e.Port)
					}
					if e.Local != (node != "" && e.NodeName == node) {
						t.Errorf("%v: %v Local = %v, NodeName %q, node %q", key, e.Addr, e.Local, e.NodeName, node)
					}
					if i > 0 {
						p := list[i-1]
						if c := p.Addr.Compare(e.Addr); c > 0 || c == 0 && p.Port >= e.Port {
							t.Errorf("%v: %v:%d after %v:%d: not sorted or a duplicate", key, e.Addr, e.Port, p.Addr, p.Port)
						}
					}
				}

				listCopy := slices.Clone(list)
				cluster, local := endpoints.Categorize(list, topo)
				if !slices.Equal(listCopy, list) {
					t.Fatalf("Categorize() modified its input:\n%s", cmp.Diff(listCopy, list, cmpAddr))
				}
				checkSubset(t, "cluster", cluster, list)
				checkSubset(t, "local", local, list)
				for _, e := range local {
					if !e.Local {
						t.Errorf("%v: local set holds %v, which is not local", key, e.Addr)
					}
				}
				// KEP-1669: ready endpoints first; serving-terminating only
				// when the set has no ready endpoint.
				for name, set := range map[string][]endpoints.Endpoint{"cluster": cluster, "local": local} {
					ready := slices.ContainsFunc(set, func(e endpoints.Endpoint) bool { return e.Ready })
					for _, e := range set {
						if ready && !e.Ready || !ready && !(e.Serving && e.Terminating) {
							t.Errorf("%v: %s set mixes %+v with ready=%v", key, name, e, ready)
						}
					}
				}
				usable := slices.ContainsFunc(list, func(e endpoints.Endpoint) bool {
					return e.Ready || e.Serving && e.Terminating
				})
				if (cluster != nil) != usable {
					t.Errorf("%v: cluster set has %d endpoints; usable endpoints exist: %v", key, len(cluster), usable)
				}
			}

			reversed := slices.Clone(in)
			slices.Reverse(reversed)
			got2, errs2 := endpoints.Merge(reversed, family, node)
			if diff := cmp.Diff(got, got2, cmpAddr); diff != "" {
				t.Errorf("Merge() depends on slice order (-in order +reversed):\n%s", diff)
			}
			if diff := cmp.Diff(errs, errs2); diff != "" {
				t.Errorf("Merge() errors depend on slice order (-in order +reversed):\n%s", diff)
			}
		}
	})
}

// checkSubset checks that sub is an ordered subsequence of list.
func checkSubset(t *testing.T, name string, sub, list []endpoints.Endpoint) {
	t.Helper()
	j := 0
	for _, e := range sub {
		for j < len(list) && list[j] != e {
			j++
		}
		if j == len(list) {
			t.Errorf("%s set: %v:%d is not in the input, or out of order", name, e.Addr, e.Port)
			return
		}
		j++
	}
}
