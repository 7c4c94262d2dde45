package endpoints_test

import (
	"net/netip"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hnslb/hnslb/endpoints"
)

// cmpAddr lets cmp compare netip.Addr, whose fields are unexported.
var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func ptr[T any](v T) *T { return &v }

const (
	v4   = discovery.AddressTypeIPv4
	v6   = discovery.AddressTypeIPv6
	fqdn = discovery.AddressTypeFQDN
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
)

// slice builds an EndpointSlice of Service "web" in namespace "default".
func slice(name string, family discovery.AddressType, ports []discovery.EndpointPort, eps ...discovery.Endpoint) *discovery.EndpointSlice {
	return &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default",
			Name:      name,
			Labels:    map[string]string{discovery.LabelServiceName: "web"},
		},
		AddressType: family,
		Ports:       ports,
		Endpoints:   eps,
	}
}

// port builds a slice port; pass "" for an empty name (not a nil one).
func port(name string, proto corev1.Protocol, n int32) discovery.EndpointPort {
	return discovery.EndpointPort{Name: ptr(name), Protocol: ptr(proto), Port: ptr(n)}
}

func ports(p ...discovery.EndpointPort) []discovery.EndpointPort { return p }

var http80 = ports(port("http", tcp, 80))

type epOpt func(*discovery.Endpoint)

// ep builds a slice endpoint with one address and no conditions set (so
// ready, serving, not terminating).
func ep(addr string, opts ...epOpt) discovery.Endpoint {
	e := discovery.Endpoint{Addresses: []string{addr}}
	for _, o := range opts {
		o(&e)
	}
	return e
}

func ready(b bool) epOpt {
	return func(e *discovery.Endpoint) { e.Conditions.Ready = ptr(b) }
}

func serving(b bool) epOpt {
	return func(e *discovery.Endpoint) { e.Conditions.Serving = ptr(b) }
}

func terminating(b bool) epOpt {
	return func(e *discovery.Endpoint) { e.Conditions.Terminating = ptr(b) }
}

func onNode(n string) epOpt {
	return func(e *discovery.Endpoint) { e.NodeName = ptr(n) }
}

// draining sets the conditions of a terminating endpoint that still serves.
func draining() epOpt {
	return func(e *discovery.Endpoint) {
		ready(false)(e)
		serving(true)(e)
		terminating(true)(e)
	}
}

func hints(h *discovery.EndpointHints) epOpt { return func(e *discovery.Endpoint) { e.Hints = h } }

func zoneHints(zones ...string) *discovery.EndpointHints {
	h := &discovery.EndpointHints{}
	for _, z := range zones {
		h.ForZones = append(h.ForZones, discovery.ForZone{Name: z})
	}
	return h
}

func nodeHints(nodes ...string) *discovery.EndpointHints {
	h := &discovery.EndpointHints{}
	for _, n := range nodes {
		h.ForNodes = append(h.ForNodes, discovery.ForNode{Name: n})
	}
	return h
}

// want builds an expected Endpoint: ready and serving unless opts say
// otherwise.
func want(addr string, portNum int32, opts ...func(*endpoints.Endpoint)) endpoints.Endpoint {
	e := endpoints.Endpoint{Addr: netip.MustParseAddr(addr), Port: portNum, Ready: true, Serving: true}
	for _, o := range opts {
		o(&e)
	}
	return e
}

func wantNode(n string, local bool) func(*endpoints.Endpoint) {
	return func(e *endpoints.Endpoint) { e.NodeName, e.Local = n, local }
}

func wantDraining(e *endpoints.Endpoint) { e.Ready, e.Serving, e.Terminating = false, true, true }

func wantHints(h *discovery.EndpointHints) func(*endpoints.Endpoint) {
	return func(e *endpoints.Endpoint) { e.Hints = h }
}

func deepCopy(in []*discovery.EndpointSlice) []*discovery.EndpointSlice {
	if in == nil {
		return nil
	}
	out := make([]*discovery.EndpointSlice, len(in))
	for i, s := range in {
		out[i] = s.DeepCopy()
	}
	return out
}
