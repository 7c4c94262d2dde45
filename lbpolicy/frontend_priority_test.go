package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// svcAt is a Service in namespace/name form with its creation time (zero:
// none) and options.
type svcAt struct {
	id      string // "namespace/name"
	created time.Time
	opts    []svcOpt
}

func (s svcAt) build() (*corev1.Service, *discovery.EndpointSlice) {
	namespace, name, _ := strings.Cut(s.id, "/")
	svc := service(name, s.opts...)
	svc.Namespace = namespace
	if !s.created.IsZero() {
		svc.CreationTimestamp = metav1.NewTime(s.created)
	}
	sl := v4slice(name, 8080, ep{ip: "10.244.1.10", node: thisNode})
	sl.Namespace = namespace
	return svc, sl
}

// TestFrontendPriority checks who wins a frontend key that two Services'
// load balancers want (compareFrontendClaims): the kind's rank (ClusterIP
// and NodePort, then Ingress and HealthCheck, then ExternalIP), then the
// older Service, then namespace/name; the loser gets a FrontendConflict
// error naming the winner. Each case runs through Compute and through a
// Tracker fed in both orders, and again after the winner is deleted and
// re-created (so newer).
func TestFrontendPriority(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	tcp := lbpolicy.ProtocolTCP
	cases := []struct {
		name string
		svcs []svcAt
		key  lbpolicy.Key
		// winner and loser as "namespace/name", winner's kind.
		winner, loser string
		kind          lbpolicy.Kind
		// Whether the deleted and re-created winner still wins (rank
		// decides) or loses (age decided).
		winsWhenNewer bool
	}{
		{
			name: "externalIP on a ClusterIP, attacker first by name and older: the ClusterIP wins",
			svcs: []svcAt{
				{id: "aaa/x", created: t0, opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("10.96.0.100")}},
				{id: "default/victim", created: t1, opts: []svcOpt{clusterIPs("10.96.0.100")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("10.96.0.100"), Protocol: tcp, Port: 80},
			winner: "default/victim", loser: "aaa/x", kind: lbpolicy.KindClusterIP, winsWhenNewer: true,
		},
		{
			name: "externalIP on a ClusterIP, attacker last by name: the ClusterIP wins",
			svcs: []svcAt{
				{id: "zzz/x", created: t0, opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("10.96.0.100")}},
				{id: "default/victim", created: t1, opts: []svcOpt{clusterIPs("10.96.0.100")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("10.96.0.100"), Protocol: tcp, Port: 80},
			winner: "default/victim", loser: "zzz/x", kind: lbpolicy.KindClusterIP, winsWhenNewer: true,
		},
		{
			name: "ingress IP against an older external IP: the ingress wins",
			svcs: []svcAt{
				{id: "default/a", created: t0, opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("198.51.100.7")}},
				{id: "default/b", created: t1, opts: []svcOpt{clusterIPs("10.96.0.12"), svcType(corev1.ServiceTypeLoadBalancer), ingress("198.51.100.7")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("198.51.100.7"), Protocol: tcp, Port: 80},
			winner: "default/b", loser: "default/a", kind: lbpolicy.KindIngress, winsWhenNewer: true,
		},
		{
			name: "two external IPs, the older last by name: the older wins",
			svcs: []svcAt{
				{id: "default/a", created: t1, opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("192.0.2.50")}},
				{id: "default/b", created: t0, opts: []svcOpt{clusterIPs("10.96.0.12"), externalIPs("192.0.2.50")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("192.0.2.50"), Protocol: tcp, Port: 80},
			winner: "default/b", loser: "default/a", kind: lbpolicy.KindExternalIP,
		},
		{
			name: "two external IPs, the older first by name: the older wins",
			svcs: []svcAt{
				{id: "default/a", created: t0, opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("192.0.2.50")}},
				{id: "default/b", created: t1, opts: []svcOpt{clusterIPs("10.96.0.12"), externalIPs("192.0.2.50")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("192.0.2.50"), Protocol: tcp, Port: 80},
			winner: "default/a", loser: "default/b", kind: lbpolicy.KindExternalIP,
		},
		{
			name: "equal creation times: namespace, then name (namespace a before a-b, whatever the string a/z says)",
			svcs: []svcAt{
				{id: "a-b/x", created: t0, opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("192.0.2.50")}},
				{id: "a/z", created: t0, opts: []svcOpt{clusterIPs("10.96.0.12"), externalIPs("192.0.2.50")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("192.0.2.50"), Protocol: tcp, Port: 80},
			winner: "a/z", loser: "a-b/x", kind: lbpolicy.KindExternalIP,
		},
		{
			name: "a Service without creationTimestamp counts as the newest",
			svcs: []svcAt{
				{id: "default/a", opts: []svcOpt{clusterIPs("10.96.0.11"), externalIPs("192.0.2.50")}},
				{id: "default/b", created: t1, opts: []svcOpt{clusterIPs("10.96.0.12"), externalIPs("192.0.2.50")}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, VIP: addr("192.0.2.50"), Protocol: tcp, Port: 80},
			winner: "default/b", loser: "default/a", kind: lbpolicy.KindExternalIP,
			// Re-created, b is newer than t1 but still has a timestamp.
			winsWhenNewer: true,
		},
		{
			name: "two NodePorts on one port: the older wins",
			svcs: []svcAt{
				{id: "default/a", created: t1, opts: []svcOpt{clusterIPs("10.96.0.11"), svcType(corev1.ServiceTypeNodePort), ports(tcpPort("http", 80, 30080))}},
				{id: "default/b", created: t0, opts: []svcOpt{clusterIPs("10.96.0.12"), svcType(corev1.ServiceTypeNodePort), ports(tcpPort("http", 81, 30080))}},
			},
			key:    lbpolicy.Key{Family: lbpolicy.IPv4, Protocol: tcp, Port: 30080},
			winner: "default/b", loser: "default/a", kind: lbpolicy.KindNodePort,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node := l2bridge()
			var svcs []*corev1.Service
			var sls []*discovery.EndpointSlice
			for _, s := range tc.svcs {
				svc, sl := s.build()
				svcs = append(svcs, svc)
				sls = append(sls, sl)
			}
			check := func(t *testing.T, p lbpolicy.Plan, winner, loser string) {
				t.Helper()
				var got *lbpolicy.LoadBalancer
				for i := range p.LoadBalancers {
					if p.LoadBalancers[i].Key() == tc.key {
						got = &p.LoadBalancers[i]
					}
				}
				if got == nil || got.Service != winner || got.Kind != tc.kind {
					t.Fatalf("key %s: got %+v, want %s's %s load balancer", tc.key, got, winner, tc.kind)
				}
				var conflicts []lbpolicy.Diagnostic
				for _, d := range p.Diagnostics {
					if d.Reason == lbpolicy.ReasonFrontendConflict {
						conflicts = append(conflicts, d)
					}
				}
				wantMsg := "is already planned for Service " + winner + ":" + got.Port + " (" + string(tc.kind) + ")"
				if len(conflicts) != 1 || conflicts[0].Severity != lbpolicy.SeverityError ||
					!strings.HasPrefix(conflicts[0].Object, "Service "+loser+":") || !strings.Contains(conflicts[0].Message, wantMsg) {
					t.Fatalf("want one FrontendConflict error for %s saying %q, got %+v", loser, wantMsg, conflicts)
				}
			}
			want := mustCompute(t, node, svcs, sls...)
			check(t, want, tc.winner, tc.loser)
			// Compute does not depend on the input order.
			rsvcs, rsls := slices.Clone(svcs), slices.Clone(sls)
			slices.Reverse(rsvcs)
			slices.Reverse(rsls)
			rev := mustCompute(t, node, rsvcs, rsls...)
			sameJSON(t, "Compute with the input reversed", want, rev)

			for _, reverse := range []bool{false, true} {
				tr, err := lbpolicy.NewTracker(node)
				if err != nil {
					t.Fatal(err)
				}
				order := []int{0, 1}
				if reverse {
					order = []int{1, 0}
				}
				for _, i := range order {
					tr.OnServiceAdd(svcs[i])
					tr.OnEndpointSliceAdd(sls[i])
				}
				sameJSON(t, "Tracker", want, tr.Snapshot().Plan())

				// Delete the winner and create it again, now the newest.
				wi := 0
				if svcs[1].Namespace+"/"+svcs[1].Name == tc.winner {
					wi = 1
				}
				tr.OnServiceDelete(svcs[wi].Namespace, svcs[wi].Name)
				without := mustCompute(t, node, []*corev1.Service{svcs[1-wi]}, sls...)
				sameJSON(t, "Tracker after deleting the winner", without, tr.Snapshot().Plan())
				again := svcs[wi].DeepCopy()
				again.CreationTimestamp = metav1.NewTime(t1.Add(time.Hour))
				tr.OnServiceAdd(again)
				others := slices.Clone(svcs)
				others[wi] = again
				recreated := mustCompute(t, node, others, sls...)
				sameJSON(t, "Tracker after re-creating the winner", recreated, tr.Snapshot().Plan())
				if tc.winsWhenNewer {
					check(t, recreated, tc.winner, tc.loser)
				} else {
					check(t, recreated, tc.loser, tc.winner)
				}
			}
		})
	}
}

func sameJSON(t *testing.T, what string, want, got lbpolicy.Plan) {
	t.Helper()
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("%s differs from Compute:\nwant %s\ngot  %s", what, wj, gj)
	}
}
