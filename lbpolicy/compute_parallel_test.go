package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/lbpolicy"
)

// TestComputeWorkers checks that the plan does not depend on how many
// goroutines Compute plans on: the benchmarks' cluster, with copies of
// Services and frontend and endpoint conflicts between Services far apart
// in the order (so in different batches), planned on 1 to 5 workers and
// by Compute itself, gives one plan, byte for byte.
func TestComputeWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("plans 10,000 Services several times")
	}
	svcs, sls := genCluster(benchShape, 3)
	moreSvcs, moreSls := colliders(svcs, sls)
	svcs, sls = append(svcs, moreSvcs...), append(sls, moreSls...)
	for _, node := range []lbpolicy.Node{genNode(benchShape), dualStack(l2bridge())} {
		t.Run(string(node.NetworkType), func(t *testing.T) {
			want := planJSON(t, func() (lbpolicy.Plan, error) { return lbpolicy.ComputeWorkers(node, svcs, sls, 1) })
			checkCollisions(t, want)
			for _, workers := range []int{2, 3, 5, 0} {
				got := planJSON(t, func() (lbpolicy.Plan, error) { return lbpolicy.ComputeWorkers(node, svcs, sls, workers) })
				if !bytes.Equal(want, got) {
					t.Errorf("%d workers (0: Compute's choice) changed the plan:\n%s", workers, jsonDiff(want, got))
				}
			}
			got := planJSON(t, func() (lbpolicy.Plan, error) { return lbpolicy.Compute(node, svcs, sls) })
			if !bytes.Equal(want, got) {
				t.Errorf("Compute differs from one worker:\n%s", jsonDiff(want, got))
			}
		})
	}
}

// colliders returns, for every 97th Service, a copy of it (another UID)
// and two Services in the last namespace, with a copy of its slice: one
// whose ClusterIP is a backend of a Service far away and whose external
// IP is the first one's ClusterIP, and an older one that takes that
// ClusterIP. That is duplicate Services, and endpoint and frontend
// conflicts between Services planned in different batches, decided by
// kind and by age.
func colliders(svcs []*corev1.Service, sls []*discovery.EndpointSlice) ([]*corev1.Service, []*discovery.EndpointSlice) {
	byName := map[types.NamespacedName]*discovery.EndpointSlice{}
	for _, sl := range sls {
		byName[types.NamespacedName{Namespace: sl.Namespace, Name: sl.Labels[discovery.LabelServiceName]}] = sl
	}
	sliceOf := func(s *corev1.Service) *discovery.EndpointSlice {
		return byName[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}]
	}
	var outSvcs []*corev1.Service
	var outSls []*discovery.EndpointSlice
	for i := 0; i < len(svcs); i += 97 {
		dup := svcs[i].DeepCopy()
		dup.UID = types.UID(fmt.Sprintf("dup-%d", i))
		outSvcs = append(outSvcs, dup)

		far := sliceOf(svcs[(i+len(svcs)/2)%len(svcs)])
		c := svcs[i].DeepCopy()
		c.Namespace, c.Name = "zz-colliders", fmt.Sprintf("c-%05d", i)
		c.Spec.Type = corev1.ServiceTypeClusterIP
		c.Spec.ClusterIP = far.Endpoints[0].Addresses[0]
		c.Spec.ClusterIPs = []string{c.Spec.ClusterIP}
		c.Spec.ExternalIPs = []string{svcs[i].Spec.ClusterIP}
		c.Spec.Ports = c.Spec.Ports[:1]
		c.Spec.Ports[0].NodePort = 0
		c.Spec.ExternalTrafficPolicy, c.Spec.HealthCheckNodePort = "", 0
		c.Status = corev1.ServiceStatus{}
		outSvcs = append(outSvcs, c)
		sl := sliceOf(svcs[i]).DeepCopy()
		sl.Namespace, sl.Name, sl.Labels = c.Namespace, c.Name+"-abcde", map[string]string{discovery.LabelServiceName: c.Name}
		outSls = append(outSls, sl)

		// An older Service on the same ClusterIP, which wins it.
		old := c.DeepCopy()
		old.Name = fmt.Sprintf("d-%05d", i)
		old.CreationTimestamp = metav1.Unix(int64(1600000000+i), 0)
		old.Spec.ClusterIP, old.Spec.ClusterIPs, old.Spec.ExternalIPs = svcs[i].Spec.ClusterIP, svcs[i].Spec.ClusterIPs[:1], nil
		outSvcs = append(outSvcs, old)
		sl = sl.DeepCopy()
		sl.Name, sl.Labels = old.Name+"-abcde", map[string]string{discovery.LabelServiceName: old.Name}
		outSls = append(outSls, sl)
	}
	return outSvcs, outSls
}

func planJSON(t *testing.T, compute func() (lbpolicy.Plan, error)) []byte {
	t.Helper()
	p, err := compute()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCollisions makes sure that the colliders collided: the test is
// about batches that disagree.
func checkCollisions(t *testing.T, planJSON []byte) {
	t.Helper()
	var p lbpolicy.Plan
	if err := json.Unmarshal(planJSON, &p); err != nil {
		t.Fatal(err)
	}
	var copies, frontends, endpoints int
	for _, d := range p.Diagnostics {
		switch {
		case strings.Contains(d.Message, "given more than once"):
			copies++
		case d.Reason == lbpolicy.ReasonFrontendConflict:
			frontends++
		case d.Reason == lbpolicy.ReasonEndpointAddressInUse:
			endpoints++
		}
	}
	// The L2Bridge node plans no ClusterIP endpoints, so no endpoint
	// conflicts.
	if copies < 100 || frontends < 100 || endpoints < 100 && p.Endpoints[0].ProviderAddress.IsValid() {
		t.Fatalf("%d copies, %d frontend and %d endpoint conflicts reported, want 100 of each", copies, frontends, endpoints)
	}
}
