package fake_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// indexEnv is the state of one TestIndexFollowsChanges scenario: a node
// and the IDs of the objects its steps made, by label.
type indexEnv struct {
	n   node
	ids map[string]string
}

// indexStep is one call of a scenario and what it must return: success
// (code 0), or an error with code — for 0xB7, naming the object labelled
// heldBy in the fake's explanation.
type indexStep struct {
	what   string
	do     func(t *testing.T, e indexEnv) error
	code   hns.Code
	heldBy string
}

func (s indexStep) fails(code hns.Code) indexStep { s.code = code; return s }

// taken is s failing with 0xB7 because of the object labelled by.
func (s indexStep) taken(by string) indexStep {
	s.code, s.heldBy = hns.CodeAlreadyExists, by
	return s
}

func lbVIPs(port uint16, ep string, vips ...string) *hns.HostComputeLoadBalancer {
	l := lb("", port, ep)
	l.FrontendVIPs = vips
	for _, v := range vips {
		if strings.Contains(v, ":") {
			l.Flags |= lbpolicy.FlagIPv6
		}
	}
	return l
}

// createLB creates a load balancer on vips (none: NodePort) and port,
// labelled label.
func createLB(label string, port uint16, vips ...string) indexStep {
	return indexStep{what: fmt.Sprintf("create %s %v:%d", label, vips, port), do: func(t *testing.T, e indexEnv) error {
		got, err := e.n.h.CreateLoadBalancer(t.Context(), lbVIPs(port, e.n.pods[0], vips...))
		if err == nil {
			e.ids[label] = got.Id
		}
		return err
	}}
}

// updateLB moves load balancer label to vips and port, with another backend.
func updateLB(label string, port uint16, vips ...string) indexStep {
	return indexStep{what: fmt.Sprintf("update %s to %v:%d", label, vips, port), do: func(t *testing.T, e indexEnv) error {
		_, err := e.n.h.UpdateLoadBalancer(t.Context(), e.ids[label], lbVIPs(port, e.n.pods[1], vips...))
		return err
	}}
}

// deleteLB deletes load balancer label, by its ID in lower case.
func deleteLB(label string) indexStep {
	return indexStep{what: "delete " + label, do: func(t *testing.T, e indexEnv) error {
		return e.n.h.DeleteLoadBalancer(t.Context(), strings.ToLower(e.ids[label]))
	}}
}

// seedLB adds a load balancer without validation (AddLoadBalancer).
func seedLB(label string, port uint16, vips ...string) indexStep {
	return indexStep{what: fmt.Sprintf("seed %s %v:%d", label, vips, port), do: func(t *testing.T, e indexEnv) error {
		e.ids[label] = e.n.h.AddLoadBalancer(*lbVIPs(port, e.n.pods[0], vips...))
		return nil
	}}
}

// removeLB removes load balancer label out of band (RemoveLoadBalancer).
func removeLB(label string) indexStep {
	return indexStep{what: "remove " + label, do: func(t *testing.T, e indexEnv) error {
		if !e.n.h.RemoveLoadBalancer(e.ids[label]) {
			return errors.New("RemoveLoadBalancer: no such load balancer")
		}
		return nil
	}}
}

func reservePort(vip string, port uint16) indexStep {
	return indexStep{what: fmt.Sprintf("reserve %q:%d", vip, port), do: func(t *testing.T, e indexEnv) error {
		e.n.h.ReservePort(vip, 6, port)
		return nil
	}}
}

// createEP creates a remote endpoint labelled label with ip on network
// netID(e) (default: the node's network).
func createEP(label, ip string, netID func(e indexEnv) string) indexStep {
	return indexStep{what: fmt.Sprintf("create endpoint %s %s", label, ip), do: func(t *testing.T, e indexEnv) error {
		id := e.n.net
		if netID != nil {
			id = netID(e)
		}
		got, err := e.n.h.CreateEndpoint(t.Context(), id, remoteEP(ip, "192.168.1.3"))
		if err == nil {
			e.ids[label] = got.Id
		}
		return err
	}}
}

func deleteEP(label string) indexStep {
	return indexStep{what: "delete endpoint " + label, do: func(t *testing.T, e indexEnv) error {
		return e.n.h.DeleteEndpoint(t.Context(), strings.ToLower(e.ids[label]))
	}}
}

func removeEP(label string) indexStep {
	return indexStep{what: "remove endpoint " + label, do: func(t *testing.T, e indexEnv) error {
		if !e.n.h.RemoveEndpoint(e.ids[label]) {
			return errors.New("RemoveEndpoint: no such endpoint")
		}
		return nil
	}}
}

// seedLocalEP adds a local endpoint as the CNI would (AddLocalEndpoint).
func seedLocalEP(label, ip string) indexStep {
	return indexStep{what: fmt.Sprintf("seed local endpoint %s %s", label, ip), do: func(t *testing.T, e indexEnv) error {
		e.ids[label] = e.n.h.AddLocalEndpoint(e.n.net, label, ip)
		return nil
	}}
}

// seedEP adds a remote endpoint without validation (AddEndpoint).
func seedEP(label, ip string) indexStep {
	return indexStep{what: fmt.Sprintf("seed endpoint %s %s", label, ip), do: func(t *testing.T, e indexEnv) error {
		ep := remoteEP(ip, "192.168.1.3")
		ep.HostComputeNetwork = e.n.net
		e.ids[label] = e.n.h.AddEndpoint(*ep)
		return nil
	}}
}

// TestIndexFollowsChanges: whether a frontend (or an endpoint's IP) is
// taken follows every change to the load balancers (endpoints): create,
// update, delete, seeding and out-of-band removal.
func TestIndexFollowsChanges(t *testing.T) {
	const v1, v2, v3 = "10.96.0.10", "10.96.0.11", "10.96.0.12"
	net2 := func(e indexEnv) string { return e.ids["net2"] }
	tests := []struct {
		name    string
		profile string // default "latest"
		steps   []indexStep
	}{{
		name:  "delete frees the frontend",
		steps: []indexStep{createLB("a", 80, v1), createLB("b", 80, v1).taken("a"), deleteLB("a"), createLB("c", 80, v1)},
	}, {
		name:  "delete frees a NodePort frontend",
		steps: []indexStep{createLB("a", 30080), createLB("b", 30080).taken("a"), deleteLB("a"), createLB("c", 30080)},
	}, {
		name:  "RemoveLoadBalancer frees the frontend",
		steps: []indexStep{createLB("a", 80, v1), removeLB("a"), createLB("b", 80, v1)},
	}, {
		name: "an update to another frontend frees the old one and holds the new one",
		steps: []indexStep{createLB("a", 80, v1), updateLB("a", 80, v2),
			createLB("b", 80, v1), createLB("c", 80, v2).taken("a")},
	}, {
		name: "an update to another port frees the old one",
		steps: []indexStep{createLB("a", 80, v1), updateLB("a", 81, v1),
			createLB("b", 80, v1), createLB("c", 81, v1).taken("a")},
	}, {
		name:  "an update keeping the frontend still holds it",
		steps: []indexStep{createLB("a", 80, v1), updateLB("a", 80, v1), createLB("b", 80, v1).taken("a")},
	}, {
		name: "a failed update changes nothing",
		steps: []indexStep{createLB("a", 80, v1), createLB("b", 80, v2),
			updateLB("a", 80, v2).taken("b"), createLB("c", 80, v1).taken("a"), createLB("d", 80, v2).taken("b"),
			createLB("e", 80, v3)},
	}, {
		name:    "an update on a profile without Modify keeps the frontend",
		profile: "ws2022",
		steps: []indexStep{createLB("a", 80, v1), updateLB("a", 80, v2).fails(hns.CodeNotImplemented),
			createLB("b", 80, v1).taken("a"), createLB("c", 80, v2)},
	}, {
		name:    "a silent update (15.4) still moves the frontend",
		profile: "ws2025",
		steps: []indexStep{createLB("a", 80, v1), updateLB("a", 80, v2),
			createLB("b", 80, v1), createLB("c", 80, v2).taken("a")},
	}, {
		name: "two VIPs: dropping one frees only that one",
		steps: []indexStep{createLB("a", 80, v1, v2), createLB("b", 80, v2).taken("a"),
			updateLB("a", 80, v1), createLB("c", 80, v2), createLB("d", 80, v1).taken("a"),
			deleteLB("a"), createLB("e", 80, v1)},
	}, {
		name: "IPv6, spelled differently",
		steps: []indexStep{createLB("a", 80, "fd00::a"), updateLB("a", 80, "fd00::b"),
			createLB("b", 80, "FD00:0::000A"), createLB("c", 80, "fd00:0:0::B").taken("a")},
	}, {
		name: "seeded duplicates: held until the last holder goes",
		steps: []indexStep{seedLB("x", 80, v1), seedLB("y", 80, v1), removeLB("x"),
			createLB("a", 80, v1).taken("y"), removeLB("y"), createLB("b", 80, v1)},
	}, {
		name: "a seeded load balancer holds its frontend until deleted",
		steps: []indexStep{seedLB("x", 80, v1), createLB("a", 80, v1).taken("x"),
			deleteLB("x"), createLB("b", 80, v1)},
	}, {
		name: "a reserved port still counts once its load balancer is gone",
		steps: []indexStep{createLB("a", 10256, v1), reservePort("", 10256), updateLB("a", 10256, v1),
			deleteLB("a"), createLB("b", 10256, v1).fails(hns.CodePortAlreadyExists)},
	}, {
		name: "endpoint: delete frees the IP",
		steps: []indexStep{createEP("a", "10.244.1.5", nil), createEP("b", "10.244.1.5", nil).taken("a"),
			deleteEP("a"), createEP("c", "10.244.1.5", nil)},
	}, {
		name:  "endpoint: RemoveEndpoint frees the IP",
		steps: []indexStep{createEP("a", "10.244.1.5", nil), removeEP("a"), createEP("b", "10.244.1.5", nil)},
	}, {
		name: "endpoint: a pod's IP is taken, as an IPv4-mapped address too",
		steps: []indexStep{seedLocalEP("pod", "::ffff:10.244.0.50"), createEP("a", "10.244.0.50", nil).taken("pod"),
			removeEP("pod"), createEP("b", "10.244.0.50", nil)},
	}, {
		name: "endpoint: one IP per network",
		steps: []indexStep{
			{what: "add network net2", do: func(t *testing.T, e indexEnv) error {
				e.ids["net2"] = e.n.h.AddNetwork("other", "Overlay")
				return nil
			}},
			createEP("a", "10.244.1.5", nil), createEP("b", "10.244.1.5", net2),
			deleteEP("a"), createEP("c", "10.244.1.5", net2).taken("b"), createEP("d", "10.244.1.5", nil),
		},
	}, {
		name: "endpoint: seeded duplicates, held until the last one goes",
		steps: []indexStep{seedEP("x", "10.244.1.5"), seedEP("y", "10.244.1.5"), removeEP("x"),
			createEP("a", "10.244.1.5", nil).taken("y"), deleteEP("y"), createEP("b", "10.244.1.5", nil)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := "latest"
			if tt.profile != "" {
				p = tt.profile
			}
			e := indexEnv{n: newNode(t, p, "Overlay"), ids: map[string]string{}}
			for i, s := range tt.steps {
				err := s.do(t, e)
				if ierr := e.n.h.IndexError(); ierr != nil {
					t.Fatalf("step %d (%s): %v", i, s.what, ierr)
				}
				if s.code == 0 {
					if err != nil {
						t.Fatalf("step %d (%s): %v (%v)", i, s.what, err, errors.Unwrap(err))
					}
					continue
				}
				var he *hns.Error
				if !errors.As(err, &he) || he.Code != s.code {
					t.Fatalf("step %d (%s): error %v, want code 0x%X", i, s.what, err, uint32(s.code))
				}
				if s.heldBy != "" {
					why := errors.Unwrap(err)
					if why == nil || !strings.Contains(why.Error(), e.ids[s.heldBy]) {
						t.Errorf("step %d (%s): explanation %v does not name %s (%s)", i, s.what, why, s.heldBy, e.ids[s.heldBy])
					}
				}
			}
		})
	}
}

// TestTakenFrontendExplanation pins the fake's explanation of a taken
// frontend: the first of the holder's frontends the request asks for.
func TestTakenFrontendExplanation(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	held := mustCreate(t, n.h, lbVIPs(80, n.pods[0], "10.96.0.11", "10.96.0.10"))
	_, err := n.h.CreateLoadBalancer(t.Context(), lbVIPs(80, n.pods[1], "10.96.0.10", "10.96.0.12", "10.96.0.11"))
	want := "fake HNS: frontend IPv4/10.96.0.11/TCP/80 is held by load balancer " + held.Id
	if got := fmt.Sprint(errors.Unwrap(err)); got != want {
		t.Errorf("explanation = %q, want %q", got, want)
	}
}

// TestIndexRandomOps runs random creates, updates, deletes, seeds and
// removals on a few frontends and IPs, and checks each create and update
// against a scan of what the fake holds, and the indexes after each call.
func TestIndexRandomOps(t *testing.T) {
	ctx := t.Context()
	n := newNode(t, "latest", "Overlay")
	rng := rand.New(rand.NewPCG(3, 5))
	vipSets := [][]string{nil, {"10.96.0.10"}, {"10.96.0.11"}, {"10.96.0.12"}, {"10.96.0.10", "10.96.0.11"},
		{"10.96.0.12", "10.96.0.10"}, {"fd00::a"}, {"fd00::b", "fd00::a"}}
	ips := []string{"10.244.1.5", "10.244.1.6", "10.244.1.7", "10.244.1.8", "10.244.0.11"} // .0.11 is pod-1's
	pick := func(ids []string) string { return ids[rng.IntN(len(ids))] }
	randomLB := func() *hns.HostComputeLoadBalancer {
		return lbVIPs(uint16(80+rng.IntN(3)), n.pods[rng.IntN(len(n.pods))], vipSets[rng.IntN(len(vipSets))]...)
	}
	// taken scans the load balancers for one other than self holding a
	// frontend of l.
	taken := func(l *hns.HostComputeLoadBalancer, self string) bool {
		for _, o := range n.h.LoadBalancers() {
			if strings.EqualFold(o.Id, self) || o.Flags&lbpolicy.FlagIPv6 != l.Flags&lbpolicy.FlagIPv6 ||
				o.PortMappings[0].ExternalPort != l.PortMappings[0].ExternalPort {
				continue
			}
			if len(o.FrontendVIPs) == 0 && len(l.FrontendVIPs) == 0 {
				return true
			}
			for _, v := range o.FrontendVIPs {
				if slices.Contains(l.FrontendVIPs, v) {
					return true
				}
			}
		}
		return false
	}
	ipTaken := func(ip string) bool {
		for _, ep := range n.h.Endpoints() {
			if ep.IpConfigurations[0].IpAddress == ip {
				return true
			}
		}
		return false
	}
	check := func(i int, what string, err error, wantTaken bool) {
		t.Helper()
		if got := hns.IsAlreadyExists(err); got != wantTaken || (err != nil && !got) {
			t.Fatalf("op %d (%s): error %v, want taken=%v", i, what, err, wantTaken)
		}
	}
	var lbIDs, epIDs []string
	for i := range 3000 {
		var err error
		switch op := rng.IntN(10); {
		case op == 0 || op == 1:
			l := randomLB()
			want := taken(l, "")
			var got *hns.HostComputeLoadBalancer
			got, err = n.h.CreateLoadBalancer(ctx, l)
			check(i, "create", err, want)
			if err == nil {
				lbIDs = append(lbIDs, got.Id)
			}
		case op == 2 && len(lbIDs) > 0:
			id, l := pick(lbIDs), randomLB()
			want := taken(l, id)
			_, err = n.h.UpdateLoadBalancer(ctx, id, l)
			check(i, "update", err, want)
		case (op == 3 || op == 4) && len(lbIDs) > 0:
			id := pick(lbIDs)
			lbIDs = slices.DeleteFunc(lbIDs, func(s string) bool { return s == id })
			if rng.IntN(2) == 0 {
				err = n.h.DeleteLoadBalancer(ctx, strings.ToLower(id))
			} else if !n.h.RemoveLoadBalancer(id) {
				err = errors.New("RemoveLoadBalancer: not found")
			}
		case op == 5:
			lbIDs = append(lbIDs, n.h.AddLoadBalancer(*randomLB()))
		case op == 6:
			ip := ips[rng.IntN(len(ips))]
			want := ipTaken(ip)
			var got *hns.HostComputeEndpoint
			got, err = n.h.CreateEndpoint(ctx, n.net, remoteEP(ip, "192.168.1.3"))
			check(i, "create endpoint "+ip, err, want)
			if err == nil {
				epIDs = append(epIDs, got.Id)
			}
		case (op == 7 || op == 8) && len(epIDs) > 0:
			id := pick(epIDs)
			epIDs = slices.DeleteFunc(epIDs, func(s string) bool { return s == id })
			if rng.IntN(2) == 0 {
				err = n.h.DeleteEndpoint(ctx, id)
			} else if !n.h.RemoveEndpoint(id) {
				err = errors.New("RemoveEndpoint: not found")
			}
		case op == 9:
			ep := remoteEP(ips[rng.IntN(len(ips))], "192.168.1.3")
			ep.HostComputeNetwork = n.net
			epIDs = append(epIDs, n.h.AddEndpoint(*ep))
		}
		if err != nil && !hns.IsAlreadyExists(err) {
			t.Fatalf("op %d: %v", i, err)
		}
		if err := n.h.IndexError(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}
