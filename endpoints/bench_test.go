package endpoints_test

import (
	"fmt"
	"net/netip"
	"testing"

	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/endpoints"
)

// benchSlices builds nSlices slices of perSlice endpoints each, with the
// given ports, in reverse name order (so Merge has to sort), a few
// endpoints terminating and some on this node.
func benchSlices(nSlices, perSlice int, p []discovery.EndpointPort, h *discovery.EndpointHints) []*discovery.EndpointSlice {
	var out []*discovery.EndpointSlice
	for s := nSlices - 1; s >= 0; s-- {
		var eps []discovery.Endpoint
		for i := range perSlice {
			// Addresses out of order within the slice too.
			a := netip.AddrFrom4([4]byte{10, 244, byte(s), byte(perSlice - i)})
			opts := []epOpt{onNode(fmt.Sprintf("node-%d", i%20)), hints(h)}
			if i%25 == 3 {
				opts = append(opts, draining())
			}
			eps = append(eps, ep(a.String(), opts...))
		}
		out = append(out, slice(fmt.Sprintf("web-%d", s), v4, p, eps...))
	}
	return out
}

func BenchmarkMergeCategorize(b *testing.B) {
	twoPorts := ports(port("http", tcp, 8080), port("metrics", tcp, 9090))
	cases := []struct {
		name   string
		slices []*discovery.EndpointSlice
		topo   endpoints.Topology
	}{
		// The case the package is sized for.
		{"2x50x2", benchSlices(2, 50, twoPorts, nil), endpoints.Topology{NodeName: "node-1"}},
		{"2x50x2-zone-hints", benchSlices(2, 50, twoPorts, zoneHints("zone-a")),
			endpoints.Topology{NodeName: "node-1", Zone: "zone-a"}},
		// A typical Service: one slice, one port, ten endpoints.
		{"1x10x1", benchSlices(1, 10, http80, nil), endpoints.Topology{NodeName: "node-1"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, errs := endpoints.Merge(c.slices, v4, c.topo.NodeName)
				if errs != nil {
					b.Fatal(errs)
				}
				for _, list := range got {
					endpoints.Categorize(list, c.topo)
				}
			}
		})
	}
}

func BenchmarkParseAddr(b *testing.B) {
	for _, s := range []string{"10.244.1.5", "fd00:10:244::5", "010.244.001.005"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := endpoints.ParseAddr(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkByService groups the slices of 10,000 Services, one each, as
// lbpolicy.Compute does for its benchmark cluster.
func BenchmarkByService(b *testing.B) {
	var in []*discovery.EndpointSlice
	for i := range 10000 {
		s := slice(fmt.Sprintf("svc-%05d-abcde", i), v4, http80)
		s.Namespace = fmt.Sprintf("ns-%02d", i%50)
		s.Labels = map[string]string{discovery.LabelServiceName: fmt.Sprintf("svc-%05d", i)}
		in = append(in, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := endpoints.ByService(in); len(got) != len(in) {
			b.Fatalf("%d groups, want %d", len(got), len(in))
		}
	}
}
