package fake_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

func TestCreateLoadBalancerRejects(t *testing.T) {
	tests := []struct {
		name    string
		profile string // default "latest"
		hns     *hns.Profile
		setup   func(n node)
		lb      func(n node) *hns.HostComputeLoadBalancer
		code    hns.Code
		is      func(error) bool
	}{{
		name: "no endpoints",
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("10.96.0.10", 80) },
		code: hns.CodeInvalidReference, is: hns.IsInvalidReference,
	}, {
		name: "unknown endpoint",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			return lb("10.96.0.10", 80, n.pods[0], "8D5C4A3B-0000-4000-8000-000000000000")
		},
		code: hns.CodeInvalidReference, is: hns.IsInvalidReference,
	}, {
		name:  "frontend taken",
		setup: func(n node) { mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0])) },
		lb:    func(n node) *hns.HostComputeLoadBalancer { return lb("10.96.0.10", 80, n.pods[1]) },
		code:  hns.CodeAlreadyExists, is: hns.IsAlreadyExists,
	}, {
		name:  "frontend taken, IPv6 spelled differently",
		setup: func(n node) { mustCreate(t, n.h, v6(lb("fd00::a", 80, n.pods[0]))) },
		lb:    func(n node) *hns.HostComputeLoadBalancer { return v6(lb("FD00:0::000A", 80, n.pods[1])) },
		code:  hns.CodeAlreadyExists, is: hns.IsAlreadyExists,
	}, {
		name: "NodePort frontend taken by a seeded load balancer",
		setup: func(n node) {
			n.h.AddLoadBalancer(*lb("", 30080, n.pods[0]))
		},
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("", 30080, n.pods[1]) },
		code: hns.CodeAlreadyExists, is: hns.IsAlreadyExists,
	}, {
		name:  "VIP:port reserved by the host",
		setup: func(n node) { n.h.ReservePort("192.0.2.10", 6, 10256) },
		lb:    func(n node) *hns.HostComputeLoadBalancer { return lb("192.0.2.10", 10256, n.pods[0]) },
		code:  hns.CodePortAlreadyExists, is: hns.IsPortAlreadyExists,
	}, {
		name:  "port reserved on every address",
		setup: func(n node) { n.h.ReservePort("", 6, 10256) },
		lb:    func(n node) *hns.HostComputeLoadBalancer { return lb("192.0.2.10", 10256, n.pods[0]) },
		code:  hns.CodePortAlreadyExists, is: hns.IsPortAlreadyExists,
	}, {
		name:  "NodePort on a reserved node port",
		setup: func(n node) { n.h.ReservePort("192.168.1.2", 6, 30080) },
		lb:    func(n node) *hns.HostComputeLoadBalancer { return lb("", 30080, n.pods[0]) },
		code:  hns.CodePortAlreadyExists, is: hns.IsPortAlreadyExists,
	}, {
		name: "DSR without DSR support",
		hns:  &hns.Profile{Name: "old", Version: lbpolicy.Version{Major: 10, Minor: 1}},
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.Flags = lbpolicy.FlagDSR
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name:    "IPv6 on WS2019",
		profile: "ws2019",
		lb:      func(n node) *hns.HostComputeLoadBalancer { return v6(lb("fd00::a", 80, n.pods[0])) },
		code:    hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name:    "session affinity on WS2019",
		profile: "ws2019",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.PortMappings[0].DistributionType = lbpolicy.DistributionSourceIP
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name:    "65 backends without DSR on WS2019",
		profile: "ws2019",
		lb:      func(n node) *hns.HostComputeLoadBalancer { return lb("10.96.0.10", 80, pods(n, 65)...) },
		code:    hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "missing SchemaVersion",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.SchemaVersion = hns.SchemaVersion{}
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "SchemaVersion 1.0",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.SchemaVersion = hns.SchemaVersion{Major: 1}
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "no port mapping",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.PortMappings = nil
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "two port mappings",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.PortMappings = append(l.PortMappings, l.PortMappings[0])
			l.PortMappings[1].ExternalPort = 81
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "SCTP",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.PortMappings[0].Protocol = 132
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "VIP not an IP",
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("kubernetes.default", 80, n.pods[0]) },
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "IPv6 VIP without the IPv6 flag",
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("fd00::a", 80, n.pods[0]) },
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "unknown flag",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.Flags = 8
			return l
		},
		code: hns.CodeInvalidParameter, is: hns.IsInvalidParameter,
	}, {
		name: "internal port 0",
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.PortMappings[0].InternalPort = 0
			return l
		},
		code: 0x803B002D,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profile(t, "latest")
			if tt.profile != "" {
				p = profile(t, tt.profile)
			}
			if tt.hns != nil {
				p = *tt.hns
			}
			n := newNodeWith(p, "L2Bridge")
			if tt.setup != nil {
				tt.setup(n)
			}
			req := tt.lb(n)
			before := n.h.DumpStable()
			got, err := n.h.CreateLoadBalancer(t.Context(), req)
			if err == nil {
				t.Fatalf("CreateLoadBalancer succeeded: %+v", got)
			}
			if got != nil {
				t.Errorf("CreateLoadBalancer returned %+v with its error", got)
			}
			checkHCNError(t, err, hns.OpCreateLoadBalancer, "hcnCreateLoadBalancer", tt.code)
			if tt.is != nil && !tt.is(err) {
				t.Errorf("predicate false for %v", err)
			}
			if errors.Unwrap(err) == nil || !strings.HasPrefix(errors.Unwrap(err).Error(), "fake HNS: ") {
				t.Errorf("errors.Unwrap(%v) = %v, want the fake's explanation", err, errors.Unwrap(err))
			}
			if diff := cmp.Diff(before, n.h.DumpStable()); diff != "" {
				t.Errorf("a failed create changed the state (-before +after):\n%s", diff)
			}
		})
	}
}

func TestCreateLoadBalancerAccepts(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		lbs     func(n node) []*hns.HostComputeLoadBalancer
	}{{
		name:    "64 backends without DSR on WS2019",
		profile: "ws2019",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			return []*hns.HostComputeLoadBalancer{lb("10.96.0.10", 80, pods(n, 64)...)}
		},
	}, {
		name:    "65 backends with DSR on WS2019",
		profile: "ws2019",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, pods(n, 65)...)
			l.Flags = lbpolicy.FlagDSR
			return []*hns.HostComputeLoadBalancer{l}
		},
	}, {
		name:    "65 backends without DSR on WS2022",
		profile: "ws2022",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			return []*hns.HostComputeLoadBalancer{lb("10.96.0.10", 80, pods(n, 65)...)}
		},
	}, {
		name:    "IPv6 and session affinity on WS2022",
		profile: "ws2022",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			l := v6(lb("fd00::a", 80, n.pods[0]))
			l.PortMappings[0].DistributionType = lbpolicy.DistributionSourceIP
			return []*hns.HostComputeLoadBalancer{l}
		},
	}, {
		name: "same VIP and port, TCP and UDP",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			udp := lb("10.96.0.10", 53, n.pods[0])
			udp.PortMappings[0].Protocol = 17
			return []*hns.HostComputeLoadBalancer{lb("10.96.0.10", 53, n.pods[0]), udp}
		},
	}, {
		name: "NodePort in both families",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			return []*hns.HostComputeLoadBalancer{lb("", 30080, n.pods[0]), v6(lb("", 30080, n.pods[1]))}
		},
	}, {
		name: "NodePort and a VIP on the same port",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			return []*hns.HostComputeLoadBalancer{lb("", 30080, n.pods[0]), lb("192.0.2.10", 30080, n.pods[1])}
		},
	}, {
		name: "one endpoint in several load balancers",
		lbs: func(n node) []*hns.HostComputeLoadBalancer {
			return []*hns.HostComputeLoadBalancer{lb("10.96.0.10", 80, n.pods[0]), lb("10.96.0.11", 80, n.pods[0])}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := "latest"
			if tt.profile != "" {
				p = tt.profile
			}
			n := newNode(t, p, "L2Bridge")
			for _, l := range tt.lbs(n) {
				got, err := n.h.CreateLoadBalancer(t.Context(), l)
				if err != nil {
					t.Fatalf("CreateLoadBalancer: %v (%v)", err, errors.Unwrap(err))
				}
				want := *l
				want.Id = got.Id
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("created load balancer (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func pods(n node, count int) []string {
	var ids []string
	for i := range count {
		ids = append(ids, n.h.AddLocalEndpoint(n.net, fmt.Sprintf("many-%d", i), fmt.Sprintf("10.245.%d.%d", i/200, i%200+1)))
	}
	return ids
}

func v6(l *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer {
	l.Flags |= lbpolicy.FlagIPv6
	return l
}

func mustCreate(t testing.TB, h *fake.HNS, l *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer {
	t.Helper()
	got, err := h.CreateLoadBalancer(t.Context(), l)
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v (%v)", err, errors.Unwrap(err))
	}
	return got
}
