package gencluster_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/internal/gencluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The same seed gives the same cluster, and the cluster plans on its node
// with local endpoints exactly where LocalIPs says.
func TestClusterDeterministicAndPlannable(t *testing.T) {
	shape := gencluster.Shape{Services: 200, Endpoints: 2000, Nodes: 10, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	s1, e1 := gencluster.Cluster(shape, 3)
	s2, e2 := gencluster.Cluster(shape, 3)
	if diff := cmp.Diff(s1, s2); diff != "" {
		t.Fatalf("services differ for one seed:\n%s", diff)
	}
	if diff := cmp.Diff(e1, e2); diff != "" {
		t.Fatalf("slices differ for one seed:\n%s", diff)
	}
	if len(s1) != shape.Services {
		t.Fatalf("got %d services, want %d", len(s1), shape.Services)
	}
	plan, err := lbpolicy.Compute(gencluster.Node(shape), s1, e1)
	if err != nil {
		t.Fatal(err)
	}
	locals := gencluster.LocalIPs(e1)
	if len(locals) == 0 {
		t.Fatal("no local endpoints")
	}
	recorded := map[string]bool{}
	for _, ep := range plan.Endpoints {
		recorded[ep.IP.String()] = true
	}
	for _, ip := range locals {
		if recorded[ip] {
			t.Errorf("local pod %s has a plan endpoint; the CNI makes local ones", ip)
		}
	}
}
