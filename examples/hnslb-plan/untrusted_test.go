package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUntrustedFields checks, on -o json, that every field of
// testdata/clusters/untrusted.yaml that the API server would reject gets
// a diagnostic naming its object and field.
func TestUntrustedFields(t *testing.T) {
	got := runWith(t, "", "-f", clustersDir+"untrusted.yaml", "-o", "json")
	if got.code != exitPlanErrors {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", got.code, exitPlanErrors, got.stderr)
	}
	var out struct {
		Diagnostics []struct{ Severity, Object, Reason, Message string }
	}
	if err := json.Unmarshal([]byte(got.stdout), &out); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	for _, want := range []struct{ object, field string }{
		{"Service default/bogus", "spec.type"},
		{"Service default/bogus", "spec.sessionAffinity"},
		{"Service default/bogus", "spec.healthCheckNodePort"},
		{"Service default/bogus", "status.loadBalancer.ingress[0].ipMode"},
		{"Service default/bogus", "status.loadBalancer.ingress[1].ip"},
		{"Service default/bogus", "spec.externalIPs[0]"},
		{"Service default/bogus", "spec.externalIPs[1]"},
		{"Service default/bogus", "spec.clusterIP"},
		{"Service default/bogus:http", "spec.ports[1].name"},
		{"Service default/loopback", "spec.clusterIP"},
		{"EndpointSlice default/bogus-a", "endpoints[0].addresses[0]"},
		{"EndpointSlice default/bogus-a", "endpoints[1].addresses[0]"},
		{"EndpointSlice default/bogus-a", "endpoints[2].addresses[0]"},
		{"EndpointSlice default/bogus-a", "endpoints[3].addresses[0]"},
		{"EndpointSlice default/bogus-a", "endpoints[4].addresses[0]"},
		{"EndpointSlice default/bogus-b", "addressType"},
	} {
		found := false
		for _, d := range out.Diagnostics {
			if d.Object == want.object && strings.HasPrefix(d.Message, want.field+" ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no diagnostic on %s naming %s", want.object, want.field)
		}
	}
}
