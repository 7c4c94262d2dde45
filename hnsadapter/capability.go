package hnsadapter

import (
	"fmt"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// ReasonUnsupported: a plan's load balancer asks for what the backend's
// HNS version cannot do (UnsupportedError); it is not sent.
const ReasonUnsupported lbpolicy.Reason = "UnsupportedByHNS"

// unsupportedFeature returns what lb asks for that HNS with caps cannot
// do, or "". The rules are those HNS applies on create and update
// (hns.Client.CreateLoadBalancer): DSR, IPv6, session affinity, and the
// backend limit without DSR.
func unsupportedFeature(lb *hns.HostComputeLoadBalancer, caps lbpolicy.Capabilities) string {
	dsr := lb.Flags&lbpolicy.FlagDSR != 0
	switch {
	case dsr && !caps.DSR:
		return "DSR"
	case lb.Flags&lbpolicy.FlagIPv6 != 0 && !caps.IPv6:
		return "IPv6"
	case !caps.SessionAffinity && len(lb.PortMappings) > 0 && lb.PortMappings[0].DistributionType != lbpolicy.DistributionNone:
		return "session affinity"
	case caps.MaxNonDSRBackends > 0 && !dsr && len(lb.HostComputeEndpoints) > caps.MaxNonDSRBackends:
		return fmt.Sprintf("more than %d backends without DSR", caps.MaxNonDSRBackends)
	}
	return ""
}

// unsupported reports that the backend's HNS lacks feature for the
// plan's load balancer lb with key: the error and a diagnostic, and it
// leaves the key for the next sync to look at again, as for a conflict.
// update says whether the call not made is an update.
func (s *syncRun) unsupported(lb *lbpolicy.LoadBalancer, key lbpolicy.Key, feature string, update bool) {
	op := hns.OpCreateLoadBalancer
	if update {
		op = hns.OpUpdateLoadBalancer
	}
	s.r.objects.markDirty(keyLB(key))
	s.report(&ObjectError{Object: lbObject(key, lb), Op: op, Err: &UnsupportedError{Feature: feature, Version: s.r.version}})
	s.diagnose(lbpolicy.SeverityError, serviceObject(lb), ReasonUnsupported,
		"load balancer %s needs %s, which HNS %s does not support: not sent; plan with Node.HNSVersion %s (NodeFor sets it)",
		key, feature, s.r.version, s.r.version)
}
