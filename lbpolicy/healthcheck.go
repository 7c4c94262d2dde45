package lbpolicy

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/endpoints"
)

// HealthCheck is what a Service's health-check server on this node
// answers: a cloud load balancer probes NodePort on every node, and
// kube-proxy answers 200 with the count of the Service's local endpoints
// when there is at least one, 503 otherwise, so that traffic for an
// externalTrafficPolicy Local Service goes only to nodes with a backend.
type HealthCheck struct {
	// Service is the Service's namespace and name.
	Service types.NamespacedName
	// NodePort is spec.healthCheckNodePort, the port to serve on.
	NodePort int32
	// LocalEndpoints counts the Service's ready endpoints on this node.
	LocalEndpoints int
}

// HealthChecks returns the health-check data of the Services that need a
// health-check server on node n, sorted by namespace, then name. It fails,
// like Compute, only for an invalid node. Tracker.HealthChecks gives the
// same for the objects a Tracker holds.
//
// A Service needs one, as kube-proxy decides (it serves
// spec.healthCheckNodePort only for Services its health server syncs),
// when it is of type LoadBalancer with externalTrafficPolicy Local and a
// healthCheckNodePort in 1-65535, and hnslb plans it at all: not another
// proxy's (LabelServiceProxyName), not headless. A Service given twice
// counts once, as in Compute.
//
// LocalEndpoints counts as kube-proxy's service health server does: the
// distinct addresses of the endpoints, over all the Service's ports, that
// are ready (Ready nil or true: a terminating endpoint that still serves
// does not count, so that the cloud load balancer drains the node) and on
// node n (nodeName equal to n.Name). Endpoints are read from the
// EndpointSlices of the node's planned families as Compute reads them
// (endpoints.Merge: the first address of each endpoint, lenient
// addresses normalised, duplicates resolved as documented there). On a
// dual-stack node kube-proxy's per-family proxiers each count their
// family; LocalEndpoints counts both.
func HealthChecks(n Node, svcs []*corev1.Service, endpointSlices []*discovery.EndpointSlice) ([]HealthCheck, error) {
	v, err := n.validate()
	if err != nil {
		return nil, err
	}
	bySvc := endpoints.ByService(endpointSlices)
	sorted := make([]*corev1.Service, 0, len(svcs))
	for _, s := range svcs {
		if s != nil {
			sorted = append(sorted, s)
		}
	}
	slices.SortFunc(sorted, compareServices)
	var out []HealthCheck
	for i, s := range sorted {
		if i > 0 && s.Namespace == sorted[i-1].Namespace && s.Name == sorted[i-1].Name {
			continue // as Compute: the first copy only
		}
		key := types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
		if hc, ok := v.healthCheck(s, bySvc[key]); ok {
			out = append(out, hc)
		}
	}
	return out, nil
}

// needsHealthCheck is kube-proxy's rule (apiservice.NeedsHealthCheck) with
// hnslb's: a LoadBalancer Service with externalTrafficPolicy Local, a
// usable healthCheckNodePort, and planned at all.
func needsHealthCheck(svc *corev1.Service) bool {
	if _, ok := svc.Labels[LabelServiceProxyName]; ok {
		return false
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		return false
	}
	if hc := svc.Spec.HealthCheckNodePort; hc < 1 || hc > 65535 {
		return false
	}
	ip := svc.Spec.ClusterIP
	if len(svc.Spec.ClusterIPs) > 0 {
		ip = svc.Spec.ClusterIPs[0]
	}
	return ip != "" && ip != corev1.ClusterIPNone
}

// healthCheck returns svc's health-check data with its slices (sorted by
// name), and whether svc needs a health-check server.
func (v *node) healthCheck(svc *corev1.Service, svcSlices []*discovery.EndpointSlice) (HealthCheck, bool) {
	if !needsHealthCheck(svc) {
		return HealthCheck{}, false
	}
	local := map[netip.Addr]struct{}{}
	for _, fam := range v.families {
		ports, _ := endpoints.Merge(svcSlices, addressType(fam.name), v.Name)
		for _, eps := range ports {
			for _, e := range eps {
				if e.Ready && e.Local {
					local[e.Addr] = struct{}{}
				}
			}
		}
	}
	return HealthCheck{
		Service:        types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name},
		NodePort:       svc.Spec.HealthCheckNodePort,
		LocalEndpoints: len(local),
	}, true
}

func compareHealthChecks(a, b HealthCheck) int {
	return cmp.Or(strings.Compare(a.Service.Namespace, b.Service.Namespace), strings.Compare(a.Service.Name, b.Service.Name))
}
