package endpoints_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/endpoints"
)

const thisNode, thisZone = "node-1", "zone-a"

// Endpoint options for Categorize tests.
var (
	isLocal = wantNode(thisNode, true)
	// gone is a terminating endpoint that no longer serves.
	gone = func(e *endpoints.Endpoint) { e.Ready, e.Serving, e.Terminating = false, false, true }
	// unready is a starting (or failing) endpoint: not ready, not terminating.
	unready = func(e *endpoints.Endpoint) { e.Ready, e.Serving = false, false }
)

func addrs(eps []endpoints.Endpoint) []string {
	if eps == nil {
		return nil
	}
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.Addr.String()
	}
	return out
}

func TestCategorize(t *testing.T) {
	bothHints := func(zone string, nodes ...string) func(*endpoints.Endpoint) {
		h := nodeHints(nodes...)
		h.ForZones = zoneHints(zone).ForZones
		return wantHints(h)
	}
	zoneOnly := func(zones ...string) func(*endpoints.Endpoint) { return wantHints(zoneHints(zones...)) }
	preferNode := endpoints.Topology{NodeName: thisNode, Zone: thisZone, PreferSameNode: true}
	zoneTopo := endpoints.Topology{NodeName: thisNode, Zone: thisZone}

	tests := []struct {
		name        string
		eps         []endpoints.Endpoint
		topo        endpoints.Topology
		wantCluster []string
		wantLocal   []string
	}{
		{
			name: "no endpoints",
			topo: zoneTopo,
		},

		// KEP-1669: a rolling update seen from this node, step by step.
		{
			name: "all ready",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal), want("10.0.0.2", 80), want("10.0.0.3", 80),
			},
			wantCluster: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"},
			wantLocal:   []string{"10.0.0.1"},
		},
		{
			name: "some terminating: ready ones only, in both sets",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal), want("10.0.0.2", 80, isLocal, wantDraining), want("10.0.0.3", 80, wantDraining),
			},
			wantCluster: []string{"10.0.0.1"},
			wantLocal:   []string{"10.0.0.1"},
		},
		{
			name: "all terminating and serving: fall back to them, in both sets",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal, wantDraining), want("10.0.0.2", 80, wantDraining), want("10.0.0.3", 80, wantDraining),
			},
			wantCluster: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"},
			wantLocal:   []string{"10.0.0.1"},
		},
		{
			name: "some terminating endpoints stop serving: only the serving ones",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal, gone), want("10.0.0.2", 80, wantDraining), want("10.0.0.3", 80, gone),
			},
			wantCluster: []string{"10.0.0.2"},
		},
		{
			name: "none serving: no endpoints at all",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal, gone), want("10.0.0.2", 80, gone),
			},
		},
		{
			name: "not ready and not terminating: never a fallback",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal, unready), want("10.0.0.2", 80, unready),
				// Serving without being ready or terminating (an inconsistent object).
				want("10.0.0.3", 80, func(e *endpoints.Endpoint) { e.Ready = false }),
			},
		},

		// Cluster and local are computed independently.
		{
			name: "remote ready, local terminating: cluster has the remote, local the terminating one",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal, wantDraining), want("10.0.0.2", 80),
			},
			wantCluster: []string{"10.0.0.2"},
			wantLocal:   []string{"10.0.0.1"},
		},
		{
			name: "local ready, remote terminating",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal), want("10.0.0.2", 80, wantDraining),
			},
			wantCluster: []string{"10.0.0.1"},
			wantLocal:   []string{"10.0.0.1"},
		},
		{
			name: "no local endpoint",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80), want("10.0.0.2", 80, wantDraining),
			},
			wantCluster: []string{"10.0.0.1"},
		},
		{
			name: "local ready endpoints only, when some local ones terminate",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, isLocal, wantDraining), want("10.0.0.2", 80, isLocal), want("10.0.0.3", 80, isLocal, unready),
			},
			wantCluster: []string{"10.0.0.2"},
			wantLocal:   []string{"10.0.0.2"},
		},

		// Topology (KEP-2433, KEP-4444, KEP-3015): cluster set only.
		{
			name: "zone hints: this zone's endpoints only; local set unfiltered",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-a")),
				want("10.0.0.2", 80, isLocal, zoneOnly("zone-b")),
				want("10.0.0.3", 80, zoneOnly("zone-a", "zone-c")),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.3"},
			wantLocal:   []string{"10.0.0.2"},
		},
		{
			name: "zone hints, no zone for this node: no filtering",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-a")), want("10.0.0.2", 80, zoneOnly("zone-b")),
			},
			topo:        endpoints.Topology{NodeName: thisNode},
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "empty zone hint never matches an unset zone",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("")), want("10.0.0.2", 80, zoneOnly("zone-b")),
			},
			topo:        endpoints.Topology{NodeName: thisNode},
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "zone hints naming other zones only: no filtering",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-b")), want("10.0.0.2", 80, zoneOnly("zone-c")),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "partial hints: one ready endpoint without hints disables topology",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-a")), want("10.0.0.2", 80), want("10.0.0.3", 80, zoneOnly("zone-b")),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"},
		},
		{
			name: "empty hints count as none",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-a")), want("10.0.0.2", 80, wantHints(&discovery.EndpointHints{})),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "non-ready endpoints without hints do not disable topology",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-a")),
				want("10.0.0.2", 80, unready),
				want("10.0.0.3", 80, wantDraining),
				want("10.0.0.4", 80, zoneOnly("zone-b")),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1"},
		},
		{
			name: "serving-terminating fallback ignores topology",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, wantDraining, zoneOnly("zone-b")),
				want("10.0.0.2", 80, wantDraining, zoneOnly("zone-a")),
				want("10.0.0.3", 80, wantDraining),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"},
		},
		{
			name: "node hints, PreferSameNode on: this node's endpoints only",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, bothHints("zone-a", "node-2")),
				want("10.0.0.2", 80, isLocal, bothHints("zone-a", thisNode)),
				want("10.0.0.3", 80, bothHints("zone-b", "node-3")),
			},
			topo:        preferNode,
			wantCluster: []string{"10.0.0.2"},
			wantLocal:   []string{"10.0.0.2"},
		},
		{
			name: "node hints, PreferSameNode off: zone hints apply",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, bothHints("zone-a", "node-2")),
				want("10.0.0.2", 80, isLocal, bothHints("zone-a", thisNode)),
				want("10.0.0.3", 80, bothHints("zone-b", "node-3")),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
			wantLocal:   []string{"10.0.0.2"},
		},
		{
			name: "node hints, none for this node: zone hints apply",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, bothHints("zone-a", "node-2")),
				want("10.0.0.3", 80, bothHints("zone-b", "node-3")),
			},
			topo:        preferNode,
			wantCluster: []string{"10.0.0.1"},
		},
		{
			name: "node hints on some ready endpoints only: zone hints apply",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, zoneOnly("zone-a")),
				want("10.0.0.2", 80, bothHints("zone-a", thisNode)),
				want("10.0.0.3", 80, bothHints("zone-b", "node-3")),
			},
			topo:        preferNode,
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "node hints without zone hints, PreferSameNode off: no filtering",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, wantHints(nodeHints(thisNode))),
				want("10.0.0.2", 80, wantHints(nodeHints("node-2"))),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "node hints without zone hints, PreferSameNode on but no node name: no filtering",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, wantHints(nodeHints(""))),
				want("10.0.0.2", 80, wantHints(nodeHints("node-2"))),
			},
			topo:        endpoints.Topology{Zone: thisZone, PreferSameNode: true},
			wantCluster: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "all hinted endpoints terminating: fallback without topology",
			eps: []endpoints.Endpoint{
				want("10.0.0.1", 80, wantDraining, zoneOnly("zone-a")),
				want("10.0.0.2", 80, gone, zoneOnly("zone-a")),
				want("10.0.0.3", 80, wantDraining, zoneOnly("zone-b")),
			},
			topo:        zoneTopo,
			wantCluster: []string{"10.0.0.1", "10.0.0.3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]endpoints.Endpoint(nil), tt.eps...)
			cluster, local := endpoints.Categorize(tt.eps, tt.topo)
			if diff := cmp.Diff(tt.wantCluster, addrs(cluster)); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLocal, addrs(local)); diff != "" {
				t.Errorf("local (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.eps, cmpAddr); diff != "" {
				t.Errorf("Categorize() modified its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestCategorizeSharesInput(t *testing.T) {
	eps := []endpoints.Endpoint{
		want("10.0.0.1", 80, isLocal), want("10.0.0.2", 80), want("10.0.0.3", 80), want("10.0.0.4", 80, isLocal),
	}
	var cluster, local []endpoints.Endpoint
	allocs := testing.AllocsPerRun(100, func() {
		cluster, local = endpoints.Categorize(eps, endpoints.Topology{NodeName: thisNode, Zone: thisZone})
	})
	if &cluster[0] != &eps[0] || len(cluster) != len(eps) || cap(cluster) != len(eps) {
		t.Errorf("cluster set is not the input itself")
	}
	if got := addrs(local); !cmp.Equal(got, []string{"10.0.0.1", "10.0.0.4"}) {
		t.Errorf("local = %v", got)
	}
	// The two local endpoints are not contiguous: one copy, nothing else.
	if allocs != 1 {
		t.Errorf("Categorize() allocates %v times, want 1", allocs)
	}

	// A contiguous run is returned as a capped subslice: appending to it
	// cannot overwrite the input.
	_, local = endpoints.Categorize(eps[:3], endpoints.Topology{NodeName: thisNode})
	if &local[0] != &eps[0] || cap(local) != 1 {
		t.Errorf("local set is not a capped subslice of the input: len %d cap %d", len(local), cap(local))
	}
	_ = append(local, want("10.9.9.9", 80))
	if eps[1].Addr.String() != "10.0.0.2" {
		t.Errorf("appending to a result overwrote the input")
	}
}
