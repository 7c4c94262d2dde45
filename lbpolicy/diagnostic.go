package lbpolicy

import (
	"cmp"
	"strings"
)

// Severity says how much a diagnostic matters.
type Severity string

// The severities. An error means something the user asked for is not
// programmed; a warning that it is programmed differently from what the
// object says; info that something was skipped as designed.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Reason is a stable, machine-readable cause of a diagnostic.
type Reason string

// The reasons Compute reports. They are part of the API: new ones may be
// added, existing ones keep their meaning.
const (
	// Node-level.
	ReasonOverlaySingleStack   Reason = "OverlaySingleStack"   // overlay: only the primary family is planned
	ReasonIPv6Unsupported      Reason = "IPv6Unsupported"      // HNS version lacks IPv6 load balancers
	ReasonDSRUnsupported       Reason = "DSRUnsupported"       // HNS version lacks DSR; planned without it
	ReasonEndpointAddressInUse Reason = "EndpointAddressInUse" // two plan endpoints want one IP
	ReasonInvalidEndpointSlice Reason = "InvalidEndpointSlice" // a slice or one of its addresses is unusable
	ReasonInvalidService       Reason = "InvalidService"       // a Service field is unusable
	ReasonNonCanonicalAddress  Reason = "NonCanonicalAddress"  // an IP read leniently, as kube-proxy does
	ReasonUnsupportedProtocol  Reason = "UnsupportedProtocol"  // not TCP or UDP
	ReasonNoEndpoints          Reason = "NoEndpoints"          // no usable backend: no load balancer
	ReasonMixedInternalPorts   Reason = "MixedInternalPorts"   // backends disagree on the target port
	ReasonFrontendConflict     Reason = "FrontendConflict"     // another Service holds the frontend
	ReasonIngressIPModeProxy   Reason = "IngressIPModeProxy"   // ipMode Proxy: the LB provider proxies
	ReasonIngressHostnameOnly  Reason = "IngressHostnameOnly"  // ingress entry without IP
	ReasonSessionAffinity      Reason = "SessionAffinityUnsupported"
	ReasonAffinityTimeout      Reason = "SessionAffinityTimeoutIgnored"
	ReasonTooManyBackends      Reason = "TooManyBackends" // > 64 non-DSR backends on WS2019
	ReasonSourceRangesIgnored  Reason = "LoadBalancerSourceRangesIgnored"
)

// Diagnostic is something Compute noticed about one object, as data.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	// Object names the object: "Service ns/name", "Service ns/name:port"
	// for one port, "EndpointSlice ns/name" or "Node name".
	Object  string `json:"object"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

// String renders the diagnostic as one log-friendly line.
func (d Diagnostic) String() string {
	return string(d.Severity) + ": " + d.Object + ": " + string(d.Reason) + ": " + d.Message
}

func compareDiagnostics(a, b Diagnostic) int {
	return cmp.Or(
		strings.Compare(a.Object, b.Object),
		strings.Compare(string(a.Reason), string(b.Reason)),
		strings.Compare(a.Message, b.Message),
		strings.Compare(string(a.Severity), string(b.Severity)),
	)
}

// HasErrors reports whether any diagnostic has SeverityError.
func (p *Plan) HasErrors() bool {
	for _, d := range p.Diagnostics {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
