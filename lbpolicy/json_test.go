package lbpolicy_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// TestPlanJSONSchema pins the stable JSON schema of the Plan (examples/hnslb-plan -o json): every key
// present, lists never null, addresses as strings.
func TestPlanJSONSchema(t *testing.T) {
	p := mustCompute(t, with(l2bridge(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true }),
		[]*corev1.Service{
			service("web", svcType(corev1.ServiceTypeLoadBalancer), ports(tcpPort("http", 80, 30080)), ingress("198.51.100.7")),
			service("sctp", clusterIPs("10.96.0.20"), ports(corev1.ServicePort{Name: "s", Protocol: corev1.ProtocolSCTP, Port: 9})),
		},
		v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode}, ep{ip: "10.244.2.20", node: "win-2"}))
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	keys := map[string][]string{
		"loadBalancers": {"service", "port", "kind", "ipFamily", "frontendVIPs", "protocol", "internalPort", "externalPort",
			"flags", "portMappingFlags", "distributionType", "sourceVIP", "backends"},
		"endpoints":   {"ip", "remote", "macAddress", "providerAddress"},
		"diagnostics": {"severity", "object", "reason", "message"},
	}
	for list, want := range keys {
		if len(doc[list]) == 0 {
			t.Fatalf("%s is empty in %s", list, raw)
		}
		for _, obj := range doc[list] {
			var got []string
			for k := range obj {
				got = append(got, k)
			}
			if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
				t.Errorf("%s keys (-want +got):\n%s", list, diff)
			}
		}
	}
	np := doc["loadBalancers"][0]
	if np["kind"] != "NodePort" || np["frontendVIPs"] == nil || len(np["frontendVIPs"].([]any)) != 0 || np["sourceVIP"] != "" {
		t.Errorf("NodePort LB: want frontendVIPs [] and sourceVIP \"\", got %v", np)
	}
	// And back: the schema round-trips into the same Plan.
	var back lbpolicy.Plan
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back, addrCmp); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	empty, _ := json.Marshal(mustCompute(t, l2bridge(), nil))
	if string(empty) != `{"loadBalancers":[],"endpoints":[],"diagnostics":[]}` {
		t.Errorf("empty plan: %s", empty)
	}
}
