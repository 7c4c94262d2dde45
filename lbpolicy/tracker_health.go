package lbpolicy

import "slices"

// HealthChecks returns the health-check data of the Services the Tracker
// holds that need a health-check server on its node: exactly what the
// function HealthChecks returns for the Tracker's Node, Services and
// EndpointSlices (see there for which Services and how endpoints count).
// A proxy serves each on its NodePort (200 when LocalEndpoints > 0, else
// 503, as kube-proxy does), and calls it again after each Snapshot.
//
// Cost: a pass over the Services held, plus merging the EndpointSlices of
// those that need a health check; it does not build a plan. With 10,000
// Services (81 of them ETP Local) it takes about 0.4 ms
// (BenchmarkTrackerHealthChecks).
func (t *Tracker) HealthChecks() []HealthCheck {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []HealthCheck
	for _, st := range t.objects.services {
		if st.svc == nil {
			continue
		}
		if hc, ok := t.node.healthCheck(st.svc, st.slices); ok {
			out = append(out, hc)
		}
	}
	slices.SortFunc(out, compareHealthChecks)
	return out
}
