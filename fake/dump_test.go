package fake_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./fake -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if the change is intended:\n%s", path, diff)
	}
}

// dumpCluster is newCluster plus another agent's objects, seeded as found.
func dumpCluster(t testing.TB, seed uint64) cluster {
	c := newCluster(t, seed)
	other := c.h.AddNetwork("nat", "NAT")
	foreignEP := c.h.AddEndpoint(hns.HostComputeEndpoint{
		Name: "other-agent", HostComputeNetwork: other,
		IpConfigurations: []hns.IpConfig{{IpAddress: "172.16.0.5"}}, MacAddress: "00-15-5D-10-00-05",
	})
	c.h.AddLoadBalancer(hns.HostComputeLoadBalancer{
		HostComputeEndpoints: []string{foreignEP},
		FrontendVIPs:         []string{"172.16.0.100"},
		PortMappings: []hns.LoadBalancerPortMapping{
			{Protocol: 17, InternalPort: 53, ExternalPort: 53, DistributionType: lbpolicy.DistributionSourceIPProtocol},
			{Protocol: 6, InternalPort: 53, ExternalPort: 53, Flags: lbpolicy.PortMappingILB},
		},
	})
	return c
}

func TestDumpGolden(t *testing.T) {
	c := dumpCluster(t, 42)
	golden(t, "dump.golden", c.h.Dump())
	golden(t, "dump_stable.golden", c.h.DumpStable())
}

func TestDumpIsDeterministic(t *testing.T) {
	a := dumpCluster(t, 42)
	b := dumpCluster(t, 42)
	if diff := cmp.Diff(a.h.Dump(), b.h.Dump()); diff != "" {
		t.Errorf("Dump differs between two fakes with the same seed:\n%s", diff)
	}
	c := dumpCluster(t, 0) // random IDs
	if a.h.Dump() == c.h.Dump() {
		t.Errorf("Dump is the same with random IDs: it should print them")
	}
	if diff := cmp.Diff(a.h.DumpStable(), c.h.DumpStable()); diff != "" {
		t.Errorf("DumpStable depends on the IDs:\n%s", diff)
	}
	for range 20 { // map order
		if got := c.h.DumpStable(); got != a.h.DumpStable() {
			t.Fatalf("DumpStable is not stable")
		}
	}
}
