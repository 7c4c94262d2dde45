package fake_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// The objects of testdata/scenarios/service-churn/before.json, by the IDs
// the file gives them.
const (
	churnNet       = "11111111-1111-4111-8111-111111111111"
	churnRoot      = "E0000000-0000-4000-8000-000000000000"
	churnWebA      = "E0000000-0000-4000-8000-00000000000A"
	churnWebB      = "E0000000-0000-4000-8000-00000000000B"
	churnRemote    = "E0000000-0000-4000-8000-000000000105"
	churnClusterIP = "B0000000-0000-4000-8000-000000000001"
	churnNodePort  = "B0000000-0000-4000-8000-000000000002"
)

// TestScenarios: a state loaded from testdata/scenarios/NAME/before.json,
// the calls of the story, then HNS's state (after.json) and the call log
// (calls.golden) compared with their golden files (-update rewrites them).
func TestScenarios(t *testing.T) {
	tests := []struct {
		name    string // the directory of after.json and calls.golden
		before  string // the dump the story starts from
		profile string
		// calls tells the story; its checks are those the log cannot show.
		calls func(t *testing.T, ctx context.Context, h *fake.HNS)
	}{{
		name:    "service-churn",
		before:  "service-churn/before.json",
		profile: "ws2022",
		calls: func(t *testing.T, ctx context.Context, h *fake.HNS) {
			// web-b goes away under the ClusterIP load balancer: HNS lets it.
			mustOK(t, h.DeleteEndpoint(ctx, churnWebB))
			// The ClusterIP's frontend is held; ws2022 cannot update.
			_, err := h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, churnWebA))
			mustFail(t, err, hns.IsAlreadyExists)
			_, err = h.UpdateLoadBalancer(ctx, churnClusterIP, lb("10.96.0.10", 80, churnWebA))
			mustFail(t, err, hns.IsNotImplemented)
			// So: delete, then create, first naming the gone endpoint.
			mustOK(t, h.DeleteLoadBalancer(ctx, churnClusterIP))
			_, err = h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, churnWebA, churnWebB))
			mustFail(t, err, hns.IsInvalidReference)
			_, err = h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, churnWebA, strings.ToLower(churnRemote)))
			mustOK(t, err)
			// A remote endpoint on web-b's IP, which is free again.
			_, err = h.CreateEndpoint(ctx, churnNet, remoteEP("10.244.0.12", "192.168.1.3"))
			mustOK(t, err)
			// A NodePort on the port the host holds on every address.
			_, err = h.CreateLoadBalancer(ctx, lb("", 10256, churnWebA))
			mustFail(t, err, hns.IsPortAlreadyExists)
			mustFail(t, h.DeleteEndpoint(ctx, churnWebB), hns.IsNotFound)
		},
	}, {
		name:    "ws2025-silent-update",
		before:  "service-churn/before.json",
		profile: "ws2025",
		calls: func(t *testing.T, ctx context.Context, h *fake.HNS) {
			got, err := h.UpdateLoadBalancer(ctx, churnNodePort, withPMFlags(lb("", 30080, churnWebB), lbpolicy.PortMappingLocalRoutedVIP|lbpolicy.PortMappingVipExternalIP))
			mustOK(t, err)
			if !cmp.Equal(got.HostComputeEndpoints, []string{churnWebB}) {
				t.Errorf("the update answered %v, want the endpoints as sent", got.HostComputeEndpoints)
			}
			now, err := h.GetLoadBalancer(ctx, churnNodePort)
			mustOK(t, err)
			if !cmp.Equal(now.HostComputeEndpoints, []string{churnWebA}) {
				t.Errorf("HNS 15.4 holds %v, want the old endpoints", now.HostComputeEndpoints)
			}
			mustOK(t, h.DeleteEndpoint(ctx, churnRoot))
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("scenarios", tt.name)
			before, err := os.ReadFile(filepath.Join("testdata", "scenarios", tt.before))
			if err != nil {
				t.Fatal(err)
			}
			h := load(t, tt.profile, before)
			h.SeedIDs(1) // the IDs of the objects the story creates
			if again := load(t, tt.profile, dumpJSON(t, h)); !cmp.Equal(dumpJSON(t, again), dumpJSON(t, h)) {
				t.Fatalf("before.json does not survive a round trip:\n%s", cmp.Diff(dumpJSON(t, h), dumpJSON(t, again)))
			}

			tt.calls(t, t.Context(), h)

			var log strings.Builder
			for _, c := range h.CallLog() {
				log.WriteString(c.String() + "\n")
			}
			golden(t, filepath.Join(dir, "after.json"), string(dumpJSON(t, h)))
			golden(t, filepath.Join(dir, "calls.golden"), log.String())
			if err := h.IndexError(); err != nil {
				t.Error(err)
			}
		})
	}
}

func withPMFlags(l *hns.HostComputeLoadBalancer, f lbpolicy.PortMappingFlags) *hns.HostComputeLoadBalancer {
	l.PortMappings[0].Flags = f
	return l
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustFail(t *testing.T, err error, is func(error) bool) {
	t.Helper()
	if err == nil || !is(err) {
		t.Fatalf("error %v is not the one expected", err)
	}
}
