package lbpolicy

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// The rules for two candidates that want one frontend key or one endpoint
// IP, and the wording of their diagnostics. Compute applies them to the
// whole candidate list at once (computer.plan), the Tracker to the claims
// on one key or IP at a time, so that both always agree.

// frontendRank is the first thing that decides between two different load
// balancers on one frontend key: who may write the address. ClusterIPs and
// NodePorts are allocated uniquely by the API server (rank 0); ingress IPs
// are written to status by privileged controllers, and a HealthCheck load
// balancer is on an ingress IP (rank 1); external IPs can be set by any
// user who may create a Service (rank 2, the CVE-2020-8554 class,
// kubernetes#97076). Lower ranks win.
func frontendRank(k Kind) int {
	switch k {
	case KindClusterIP, KindNodePort:
		return 0
	case KindIngress, KindHealthCheck:
		return 1
	case KindExternalIP:
		return 2
	}
	return 3
}

// compareCreation orders Services' creation timestamps, older first. A
// zero timestamp (an object not from the API server) sorts last, as the
// newest, so that a real object always wins over it. Only the wall clock
// counts (seconds, then nanoseconds), never a monotonic reading.
func compareCreation(a, b time.Time) int {
	if az, bz := a.IsZero(), b.IsZero(); az || bz {
		switch {
		case az && bz:
			return 0
		case az:
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.Unix(), b.Unix()), cmp.Compare(a.Nanosecond(), b.Nanosecond()))
}

// compareFrontendClaims orders two candidate load balancers on one
// frontend key, the winner first: by frontendRank; within one rank the
// older claim, by the owning Service's creation timestamp
// (compareCreation), then the Service's namespace and name, then the port
// name. So a new Service never takes an existing Service's frontend. It
// returns 0 only for two candidates of one Service and port (an ingress
// load balancer and its HealthCheck, say): the caller then keeps the order
// in which the Service planned them. Compute (computer.frontendWinner) and
// the Tracker (compareLBClaims) both order by it.
func compareFrontendClaims(a *LoadBalancer, aCreated time.Time, b *LoadBalancer, bCreated time.Time) int {
	if c := cmp.Compare(frontendRank(a.Kind), frontendRank(b.Kind)); c != 0 {
		return c
	}
	if c := compareCreation(aCreated, bCreated); c != 0 {
		return c
	}
	if a.Service != b.Service {
		// "namespace/name": namespaces hold no '/', so the first one
		// splits them.
		ans, an, _ := strings.Cut(a.Service, "/")
		bns, bn, _ := strings.Cut(b.Service, "/")
		if c := cmp.Or(strings.Compare(ans, bns), strings.Compare(an, bn)); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Port, b.Port)
}

// frontendConflict returns the diagnostic for loser, a candidate load
// balancer whose frontend key winner holds (the key's first candidate in
// compareFrontendClaims's order). It returns false when there is nothing
// to report: identical HealthCheck load balancers are one load balancer,
// shared by every port and Service on the ingress IP.
func frontendConflict(winner, loser *LoadBalancer) (Diagnostic, bool) {
	if !conflicts(winner, loser) {
		return Diagnostic{}, false
	}
	return Diagnostic{
		Severity: SeverityError,
		Object:   "Service " + loser.Service + ":" + loser.Port,
		Reason:   ReasonFrontendConflict,
		Message:  string(appendConflictMessage(nil, winner, loser)),
	}, true
}

// conflicts reports whether loser gets frontendConflict's diagnostic.
func conflicts(winner, loser *LoadBalancer) bool {
	return loser.Kind != KindHealthCheck || winner.Kind != KindHealthCheck || !equalContent(winner, loser)
}

// appendConflictMessage appends frontendConflict's message: "<kind>
// frontend <key> is already planned for Service <ns/name>:<port>
// (<kind>): this load balancer is not planned".
func appendConflictMessage(b []byte, winner, loser *LoadBalancer) []byte {
	b = append(b, loser.Kind...)
	b = append(b, " frontend "...)
	b = loser.Key().append(b)
	b = append(b, " is already planned for Service "...)
	b = append(b, winner.Service...)
	b = append(b, ':')
	b = append(b, winner.Port...)
	b = append(b, " ("...)
	b = append(b, winner.Kind...)
	return append(b, "): this load balancer is not planned"...)
}

// isConflict reports whether d is frontendConflict's diagnostic for
// winner and loser, without making it: buf is scratch room for the
// message, returned for reuse.
func isConflict(d *Diagnostic, winner, loser *LoadBalancer, buf []byte) (bool, []byte) {
	obj, ok := strings.CutPrefix(d.Object, "Service ")
	if !ok || d.Severity != SeverityError || d.Reason != ReasonFrontendConflict {
		return false, buf
	}
	n := len(loser.Service)
	if len(obj) != n+1+len(loser.Port) || obj[:n] != loser.Service || obj[n] != ':' || obj[n+1:] != loser.Port {
		return false, buf
	}
	buf = appendConflictMessage(buf[:0], winner, loser)
	return string(buf) == d.Message, buf
}

// endpointCandidate remembers who asked for a plan endpoint, to report
// two different endpoints wanting one IP.
type endpointCandidate struct {
	ep    Endpoint
	owner string
}

// resolveEndpoint is the rule for one IP that several endpoints want: the
// recorded ones, in the order recorded (the node's source-VIP endpoint,
// then Services' ClusterIP endpoints by namespace and name; at least one),
// and, when remote is not nil, a remote backend's. The first recorded one
// wins, and each other one that differs from it is reported in diags.
func resolveEndpoint(diags []Diagnostic, nodeName string, recorded []endpointCandidate, remote *Endpoint) (Endpoint, []Diagnostic) {
	win := recorded[0]
	for _, loser := range recorded[1:] {
		diags = appendEndpointConflict(diags, nodeName, loser, win)
	}
	if remote != nil {
		diags = appendEndpointConflict(diags, nodeName, endpointCandidate{ep: *remote, owner: "a remote backend"}, win)
	}
	return win.ep, diags
}

func appendEndpointConflict(diags []Diagnostic, nodeName string, loser, winner endpointCandidate) []Diagnostic {
	if loser.ep == winner.ep {
		return diags
	}
	obj := loser.owner
	if !strings.HasPrefix(obj, "Service ") && !strings.HasPrefix(obj, "Node ") {
		obj = "Node " + nodeName
	}
	return append(diags, Diagnostic{
		Severity: SeverityWarning,
		Object:   obj,
		Reason:   ReasonEndpointAddressInUse,
		Message: fmt.Sprintf("HNS endpoint %s is needed as %s (for %s) but is already planned as %s for %s; keeping the latter",
			loser.ep.IP, describeEndpoint(loser.ep), loser.owner, describeEndpoint(winner.ep), winner.owner),
	})
}

func describeEndpoint(ep Endpoint) string {
	if !ep.Remote {
		return "a local endpoint (MAC " + ep.MACAddress + ")"
	}
	if ep.ProviderAddress.IsValid() {
		return "a remote endpoint (MAC " + ep.MACAddress + ", PA " + ep.ProviderAddress.String() + ")"
	}
	return "a remote endpoint (MAC " + ep.MACAddress + ")"
}
