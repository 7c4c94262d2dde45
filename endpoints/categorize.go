package endpoints

// Categorize splits one service port's endpoints into the cluster and local
// sets, with the semantics of kube-proxy's CategorizeEndpoints
// (pkg/proxy/topology.go) and KEP-1669. Both sets are always computed,
// independently of each other:
//
//   - cluster: the ready endpoints, filtered by topology (below). If there
//     are none, every endpoint that is serving and terminating, with
//     topology ignored (a best effort to let connections drain rather than
//     drop them). Used for traffic policy Cluster.
//
//   - local: the ready endpoints with Local set. If there are none, the
//     local endpoints that are serving and terminating. Topology never
//     applies. Used for traffic policy Local.
//
// Either set is nil when empty: an endpoint that is neither ready nor
// serving-and-terminating is never used.
//
// Topology comes from the endpoints' hints, which the EndpointSlice
// controller derives from the Service's trafficDistribution (and the
// topology-aware-routing annotation). Only ready endpoints are looked at:
//
//   - PreferSameNode: if t.PreferSameNode is set, t.NodeName is not empty,
//     every ready endpoint has node hints (ForNodes) and at least one names
//     t.NodeName, the cluster set is the ready endpoints whose node hints
//     name t.NodeName.
//   - Otherwise PreferSameZone: if t.Zone is not empty, every ready endpoint
//     has zone hints (ForZones) and at least one names t.Zone, the cluster
//     set is the ready endpoints whose zone hints name t.Zone.
//   - Otherwise no topology: every ready endpoint.
//
// So a single ready endpoint without hints, or hints that all name other
// nodes or zones, turn topology off rather than leave this node without
// endpoints.
//
// Both results keep the order of eps. They may share eps's backing array
// (when a set is a contiguous run of eps, commonly all of it, no copy is
// made), capped at their length: callers must not modify their elements.
// Categorize never modifies eps.
func Categorize(eps []Endpoint, t Topology) (cluster, local []Endpoint) {
	if len(eps) == 0 {
		return nil, nil
	}

	mode := topologyModeOf(eps, t)
	switch mode {
	case topologyNone:
		cluster = filter(eps, isReady)
	case topologyNode:
		cluster = filterHinted(eps, t.NodeName, nodeHinted)
	case topologyZone:
		cluster = filterHinted(eps, t.Zone, zoneHinted)
	}
	if cluster == nil {
		cluster = filter(eps, isServingTerminating)
	}

	local = filter(eps, isLocalReady)
	if local == nil {
		local = filter(eps, isLocalServingTerminating)
	}
	return cluster, local
}

type topologyMode int

const (
	topologyNone topologyMode = iota
	topologyNode              // PreferSameNode
	topologyZone              // PreferSameZone
)

// topologyModeOf is kube-proxy's topologyModeFromHints.
func topologyModeOf(eps []Endpoint, t Topology) topologyMode {
	useNode := t.PreferSameNode && t.NodeName != ""
	useZone := t.Zone != ""
	if !useNode && !useZone {
		return topologyNone
	}
	hasReady := false
	allNodeHints, hasNode := true, false
	allZoneHints, hasZone := true, false
	for i := range eps {
		e := &eps[i]
		if !e.Ready {
			continue
		}
		hasReady = true
		if e.Hints == nil || len(e.Hints.ForNodes) == 0 {
			allNodeHints = false
		} else if !hasNode && useNode && nodeHinted(e, t.NodeName) {
			hasNode = true
		}
		if e.Hints == nil || len(e.Hints.ForZones) == 0 {
			allZoneHints = false
		} else if !hasZone && useZone && zoneHinted(e, t.Zone) {
			hasZone = true
		}
		if !(useNode && allNodeHints) && !(useZone && allZoneHints) {
			return topologyNone
		}
	}
	switch {
	case !hasReady:
		return topologyNone
	case useNode && allNodeHints && hasNode:
		return topologyNode
	case useZone && allZoneHints && hasZone:
		return topologyZone
	}
	return topologyNone
}

func nodeHinted(e *Endpoint, node string) bool {
	if e.Hints == nil {
		return false
	}
	for _, h := range e.Hints.ForNodes {
		if h.Name == node {
			return true
		}
	}
	return false
}

func zoneHinted(e *Endpoint, zone string) bool {
	if e.Hints == nil {
		return false
	}
	for _, h := range e.Hints.ForZones {
		if h.Name == zone {
			return true
		}
	}
	return false
}

func isReady(e *Endpoint) bool { return e.Ready }

func isServingTerminating(e *Endpoint) bool { return e.Serving && e.Terminating }

func isLocalReady(e *Endpoint) bool { return e.Local && e.Ready }

func isLocalServingTerminating(e *Endpoint) bool { return e.Local && e.Serving && e.Terminating }

// filter returns the endpoints of eps that keep accepts, in order: nil if
// none, a capped subslice of eps if they are contiguous, else a new slice.
func filter(eps []Endpoint, keep func(*Endpoint) bool) []Endpoint {
	first, last, n := -1, -1, 0
	for i := range eps {
		if keep(&eps[i]) {
			if first < 0 {
				first = i
			}
			last = i
			n++
		}
	}
	switch {
	case n == 0:
		return nil
	case n == last-first+1:
		return eps[first : last+1 : last+1]
	}
	out := make([]Endpoint, 0, n)
	for i := first; i <= last; i++ {
		if keep(&eps[i]) {
			out = append(out, eps[i])
		}
	}
	return out
}

// filterHinted is filter for ready endpoints hinted for name.
func filterHinted(eps []Endpoint, name string, hinted func(*Endpoint, string) bool) []Endpoint {
	return filter(eps, func(e *Endpoint) bool { return e.Ready && hinted(e, name) })
}
