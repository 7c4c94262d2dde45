package lbpolicy

import (
	"net/netip"
	"reflect"
	"slices"
)

// onlyRemoteSubnetsDiffer reports whether a and b, validated nodes, are
// the same but for their remote subnets: what changes on an Overlay node
// whenever another node joins or leaves the cluster.
func onlyRemoteSubnetsDiffer(a, b *node) bool {
	if slices.Equal(a.RemoteSubnets, b.RemoteSubnets) {
		return false
	}
	x, y := a.Node, b.Node
	x.RemoteSubnets, y.RemoteSubnets = nil, nil
	return reflect.DeepEqual(x, y)
}

// setRemoteSubnets makes n, which differs from the Tracker's node only in
// its remote subnets, the node, without re-planning every Service. Remote
// subnets decide two things: the provider address of each remote
// backend's endpoint, and whether a remote backend forces the node IP as
// its load balancer's source VIP (another node's own address, or an
// address in no remote subnet: sourcevip.Network.ForcesNodeIP). So the
// endpoints of remote backends are made again, and only the Services
// with a remote backend whose forcing changed are re-planned. The caller
// holds the lock.
func (t *Tracker) setRemoteSubnets(n *node) {
	old := t.node
	t.node = n
	t.claims.node = n
	for ip, st := range t.claims.ips {
		if st.remotes == 0 {
			continue
		}
		if st.curRemote {
			// The remote backend's own endpoint: only its provider
			// address can change.
			if f := n.familyOf(ip); f != nil && f.network.Overlay() {
				if pa, _ := f.network.ProviderAddress(ip); pa == st.cur.ep.ProviderAddress {
					continue
				}
			}
		}
		st.curRemote = false // made with the old subnets
		t.claims.touchIP(ip)
	}
	var replan []*serviceState
	for _, st := range t.objects.services {
		if forcingChanged(old, n, &st.out) {
			replan = append(replan, st)
		}
	}
	slices.SortFunc(replan, func(a, b *serviceState) int { return compareClaims(a, 0, b, 0) })
	t.replanAll(replan)
	t.claims.settle()
}

// forcingChanged reports whether any of a Service's remote backends
// forces the node IP as source VIP under one node's subnets and not the
// other's.
func forcingChanged(a, b *node, out *serviceOutput) bool {
	for i := range out.lbs {
		rv := out.remotesOf(i)
		for j := range rv.len() {
			ip := rv.at(j)
			fa, fb := a.familyOf(ip), b.familyOf(ip)
			if fa != nil && fb != nil && fa.network.ForcesNodeIP(ip) != fb.network.ForcesNodeIP(ip) {
				return true
			}
		}
	}
	return false
}

// familyOf returns the planned family of ip, nil if none.
func (v *node) familyOf(ip netip.Addr) *family {
	for i := range v.families {
		if (v.families[i].name == IPv4) == ip.Is4() {
			return &v.families[i]
		}
	}
	return nil
}
