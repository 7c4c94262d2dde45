//go:build windows

package main

// TestHCNStubDump runs `hnslb-audit dump` through the real hcn code path —
// hns.NewHCN, hcsshim's hcn, computenetwork.dll and vmcompute.dll — against
// a fake HNS, through the stand-in DLLs of internal/wine/hnsstub. It needs
// those DLLs installed and enabled: under Wine, .ci/wine-test.sh runs it
// with HNSLB_HNSSTUB=1 (see internal/wine/README.md); elsewhere it skips.
// It sets the process environment (hnsstub.AddrEnv), so it does not run in
// parallel.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/internal/wine/hnsstub"
)

// stateJSON writes s as fake.HNS.DumpJSON writes a state.
func stateJSON(t *testing.T, s fake.State) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHCNStubDump serves a fake HNS to hcn and runs the whole dump command,
// run([]string{"dump", ...}) with the real client (newClient: hns.NewHCN),
// and requires the bytes it writes to be the fake's own dump of the same
// state:
//
//   - clean, drift: the sample cluster as the Reconciler synced it (then
//     drifted: foreign load balancers without flags or source VIP, a
//     dangling endpoint ID, ...), the states of the committed
//     testdata/*.hns.json; dump -network flannel.4096 -o FILE must write
//     exactly fake.HNS.DumpJSON (which holds one network and no reserved
//     ports, so it is the whole document: Networks, LoadBalancers,
//     Endpoints);
//   - every network: the clean state plus a second network with an
//     endpoint; dump without -network, to stdout, must write the fake's
//     Snapshot with Networks empty (without -network, dump writes no
//     network).
//
// Everything hcn adds or drops on the way (the network's and endpoints'
// fields the hns types do not carry, hcn's empty Dns and Health objects)
// must cancel out: no normalisation beyond the one above. It also checks
// that dump is read-only and one pass: the fake saw Version (NewHCN),
// GetNetworkByName (with -network), one ListLoadBalancers and one
// ListEndpoints; hcn called no DLL function that creates, modifies or
// deletes, and closed every handle it opened.
func TestHCNStubDump(t *testing.T) {
	requireStub(t)
	tests := []struct {
		name  string
		drift bool
		// every: a second network, and dump without -network, to stdout;
		// else dump -network flannel.4096 (the sample node's) -o FILE.
		every bool
	}{
		{name: "clean"},
		{name: "drift", drift: true},
		{name: "every network", every: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, node, netID := syncedHNS(t)
			if tt.drift {
				drift(t, h, netID)
			}
			var want []byte
			if tt.every {
				other := h.AddNetwork("nat", "NAT")
				h.AddLocalEndpoint(other, "nat-ep", "172.16.0.2")
				s := h.Snapshot()
				if len(s.Networks) != 2 || len(s.ReservedPorts) != 0 {
					t.Fatalf("the fake holds %d networks and %d reserved ports; want 2 and none", len(s.Networks), len(s.ReservedPorts))
				}
				s.Networks = []hns.HostComputeNetwork{}
				want = stateJSON(t, s)
			} else {
				var err error
				if want, err = h.DumpJSON(); err != nil {
					t.Fatal(err)
				}
			}
			srv := serveStub(t, h)
			h.ResetCalls()

			args := []string{"dump"}
			var file string
			if !tt.every {
				file = filepath.Join(tempDir(t), "hns.json")
				args = append(args, "-network", node.NetworkName, "-o", file)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("hnslb-audit %s: exit status %d, stderr:\n%s", strings.Join(args, " "), code, stderr.String())
			}
			got := stdout.Bytes()
			if file != "" {
				if stdout.Len() != 0 {
					t.Errorf("dump -o FILE wrote to stdout: %q", stdout.String())
				}
				var err error
				if got, err = os.ReadFile(file); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("dump through hcn writes other bytes than the fake's own dump (-fake +hcn):\n%s", diff)
			}

			var d Dump
			if err := json.Unmarshal(want, &d); err != nil {
				t.Fatal(err)
			}
			if len(d.LoadBalancers) == 0 || len(d.Endpoints) == 0 {
				t.Fatalf("the fake's dump holds %d load balancer(s) and %d endpoint(s): nothing to compare", len(d.LoadBalancers), len(d.Endpoints))
			}
			where := "network " + node.NetworkName
			if tt.every {
				where = "every network"
			}
			summary := fmt.Sprintf("hnslb-audit dump: %d load balancer(s), %d endpoint(s) of %s\n", len(d.LoadBalancers), len(d.Endpoints), where)
			if stderr.String() != summary {
				t.Errorf("stderr %q, want %q", stderr.String(), summary)
			}

			wantCalls := fake.Calls{hns.OpVersion: 1, hns.OpListLoadBalancers: 1, hns.OpListEndpoints: 1}
			if !tt.every {
				wantCalls[hns.OpGetNetwork] = 1
			}
			if diff := cmp.Diff(wantCalls, nonZero(h.Calls())); diff != "" {
				t.Errorf("the fake's calls through hcn (-want +got):\n%s", diff)
			}
			fns := map[string]int{}
			for _, c := range srv.Calls() {
				fns[c.Fn]++
				for _, verb := range []string{"Create", "Modify", "Delete"} {
					if strings.HasPrefix(c.Fn, "Hcn"+verb) {
						t.Errorf("dump made hcn call %s", c)
					}
				}
			}
			if n := srv.OpenHandles(); n != 0 {
				t.Errorf("%d handle(s) left open", n)
			}
			// hcn opens and queries each object it lists.
			if fns["HcnOpenLoadBalancer"] != len(d.LoadBalancers) || fns["HcnOpenEndpoint"] != len(d.Endpoints) {
				t.Errorf("hcn opened %d load balancer(s) and %d endpoint(s), want %d and %d (calls %v)",
					fns["HcnOpenLoadBalancer"], fns["HcnOpenEndpoint"], len(d.LoadBalancers), len(d.Endpoints), fns)
			}
		})
	}
}

func nonZero(c fake.Calls) fake.Calls {
	out := fake.Calls{}
	for op, n := range c {
		if n != 0 {
			out[op] = n
		}
	}
	return out
}

func requireStub(t *testing.T) {
	t.Helper()
	if os.Getenv("HNSLB_HNSSTUB") != "1" {
		t.Skip("set HNSLB_HNSSTUB=1 where the stand-in computenetwork.dll and vmcompute.dll are installed " +
			"(under Wine: .ci/wine-test.sh; see internal/wine/README.md)")
	}
}

// serveStub serves h to the stand-in DLLs until the test ends.
func serveStub(t *testing.T, h *fake.HNS) *hnsstub.Server {
	t.Helper()
	requireStub(t)
	srv, err := hnsstub.Start(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Setenv(hnsstub.AddrEnv, srv.Addr())
	return srv
}
