package lbpolicy_test

import (
	"slices"
	"testing"

	"github.com/hnslb/hnslb/lbpolicy"
)

// BenchmarkTrackerSetNode: node changes on the loaded 10,000-Service
// Tracker, each op one change and a Snapshot (ops alternate between the
// change and back). "pa-moved": a remote node's provider address changes;
// "node-left": a remote node's subnet goes (its pods now force the node
// IP as source VIP); "zone": a change of anything else, which re-plans
// every Service (the cost of every node change before remote subnets were
// told apart).
//
//	go test -run '^$' -bench 'TrackerSetNode' -benchmem ./lbpolicy/
func BenchmarkTrackerSetNode(b *testing.B) {
	f := loadFixture(b)
	base := f.node
	for _, bc := range []struct {
		name   string
		change func(n *lbpolicy.Node)
	}{
		{"pa-moved", func(n *lbpolicy.Node) {
			n.RemoteSubnets = slices.Clone(n.RemoteSubnets)
			n.RemoteSubnets[4].ProviderAddress = "10.0.99.99"
		}},
		{"node-left", func(n *lbpolicy.Node) { n.RemoteSubnets = slices.Delete(slices.Clone(n.RemoteSubnets), 2, 3) }},
		{"zone", func(n *lbpolicy.Node) { n.Zone = "zone-b" }},
	} {
		changed := base
		bc.change(&changed)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				n := changed
				if i%2 == 1 {
					n = base
				}
				if err := f.tr.SetNode(n); err != nil {
					b.Fatal(err)
				}
				f.tr.Snapshot()
			}
			if b.N%2 == 1 { // leave the fixture as found
				if err := f.tr.SetNode(base); err != nil {
					b.Fatal(err)
				}
				f.tr.Snapshot()
			}
		})
	}
}
