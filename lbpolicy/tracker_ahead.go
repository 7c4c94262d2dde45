package lbpolicy

import (
	"runtime"
)

// readAhead reads, for a batch of Services about to be planned, the first
// of what planning each one reads: its Service's fields and names, its
// slices' headers, ports and addresses, its previous output's lists. Objects
// that arrived since the last Snapshot are rarely in the CPU's caches,
// and planning reads each through a chain of pointers, one miss after
// the other, Service after Service; read in one tight loop beforehand,
// the batch's misses overlap. It changes nothing.
func readAhead(sts []*serviceState) {
	var sink int
	for _, st := range sts {
		svc := st.svc
		if svc == nil {
			continue
		}
		sink += len(svc.Labels) + len(svc.Annotations) + len(svc.Spec.Ports) + len(svc.Spec.Type)
		sink += firstByte(svc.Name) + firstByte(svc.Namespace) + firstByte(st.object)
		if ips := svc.Spec.ClusterIPs; len(ips) > 0 && ips[0] != "" {
			sink += int(ips[0][0])
		}
		for _, sl := range st.slices {
			sink += len(sl.Endpoints) + len(sl.AddressType) + len(sl.Ports)
			if len(sl.Ports) > 0 && sl.Ports[0].Port != nil {
				sink += int(*sl.Ports[0].Port)
			}
			for i := range sl.Endpoints {
				if a := sl.Endpoints[i].Addresses; len(a) > 0 {
					sink += firstByte(a[0])
				}
			}
		}
		for i := range st.out.lbs {
			if bs := st.out.lbs[i].Backends; len(bs) > 0 {
				sink += len(bs[0].EndpointName)
			}
		}
		if eps := st.out.endpoints; len(eps) > 0 {
			sink += len(eps[0].owner)
		}
	}
	runtime.KeepAlive(sink)
}

func firstByte(s string) int {
	if s == "" {
		return 0
	}
	return int(s[0])
}
