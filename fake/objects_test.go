package fake_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// TestErrorMessages pins the exact text of the errors, as hcn prints them
// on a real node.
func TestErrorMessages(t *testing.T) {
	n := newNode(t, "ws2022", "L2Bridge")
	ctx := t.Context()
	first := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
	n.h.ReservePort("", 6, 10256)

	_, errExists := n.h.CreateLoadBalancer(ctx, lb("10.96.0.10", 80, n.pods[1]))
	_, errPort := n.h.CreateLoadBalancer(ctx, lb("10.96.0.11", 10256, n.pods[1]))
	_, errRef := n.h.CreateLoadBalancer(ctx, lb("10.96.0.12", 80))
	bad := lb("10.96.0.13", 80, n.pods[0])
	bad.SchemaVersion = hns.SchemaVersion{}
	_, errParam := n.h.CreateLoadBalancer(ctx, bad)
	_, errNotImpl := n.h.UpdateLoadBalancer(ctx, first.Id, lb("10.96.0.10", 80, n.pods[1]))
	errNotFound := n.h.DeleteLoadBalancer(ctx, "5E1A1F2B-0000-4000-8000-000000000000")
	_, errGet := n.h.GetLoadBalancer(ctx, "5E1A1F2B-0000-4000-8000-000000000000")
	_, errNet := n.h.GetNetworkByName(ctx, "nat")
	n.h.InjectFault(faultOf(hns.OpVersion, hns.CodeModuleNotFound))
	_, errModule := n.h.Version(ctx)

	tests := []struct {
		err  error
		want string
	}{
		{errExists, `hcnCreateLoadBalancer failed in Win32: Cannot create a file when that file already exists. (0xb7) {"Success":false,"Error":"Cannot create a file when that file already exists. ","ErrorCode":2147942583}`},
		{errPort, `hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013) {"Success":false,"Error":"The specified port already exists. ","ErrorCode":2151350291}`},
		{errRef, `hcnCreateLoadBalancer failed in Win32: The reference is invalid in the JSON document. (0x803b001c) {"Success":false,"Error":"The reference is invalid in the JSON document. ","ErrorCode":2151350300}`},
		{errParam, `hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57) {"Success":false,"Error":"The parameter is incorrect. ","ErrorCode":2147942487}`},
		{errNotImpl, `hcnModifyLoadBalancer failed in Win32: Not implemented (0x80004001) {"Success":false,"Error":"Not implemented ","ErrorCode":2147500033}`},
		{errNotFound, `hcnDeleteLoadBalancer failed in Win32: Element not found. (0x490) {"Success":false,"Error":"Element not found. ","ErrorCode":2147943568}`},
		{errGet, `LoadBalancer "5E1A1F2B-0000-4000-8000-000000000000" not found`},
		{errNet, `Network name "nat" not found`},
		{errModule, `hnsCall failed in Win32: The specified module could not be found. (0x7e)`},
	}
	for _, tt := range tests {
		var e *hns.Error
		if !errors.As(tt.err, &e) {
			t.Errorf("error %v (%T) is not an *hns.Error", tt.err, tt.err)
			continue
		}
		if e.Message != tt.want {
			t.Errorf("Message =\n  %s\nwant\n  %s", e.Message, tt.want)
		}
	}
	if !hns.IsNotFound(errGet) || !hns.IsNotFound(errNet) || !hns.IsHNSUnavailable(errModule) {
		t.Errorf("predicates: IsNotFound(get) %v, IsNotFound(network) %v, IsHNSUnavailable %v",
			hns.IsNotFound(errGet), hns.IsNotFound(errNet), hns.IsHNSUnavailable(errModule))
	}
	// *hns.Error's own Error() carries the op and code in front.
	if got := errExists.Error(); !strings.HasPrefix(got, "hns CreateLoadBalancer: hcnCreateLoadBalancer failed in Win32: ") {
		t.Errorf("Error() = %q", got)
	}
}

func faultOf(op hns.Op, code hns.Code) fake.Fault {
	return fake.Fault{Op: op, Code: code}
}

func TestIDsAreCaseInsensitive(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	ctx := t.Context()
	lower := strings.ToLower(n.pods[0])
	created := mustCreate(t, n.h, lb("10.96.0.10", 80, lower))
	if got := created.HostComputeEndpoints; !cmp.Equal(got, []string{n.pods[0]}) {
		t.Errorf("HostComputeEndpoints = %v, want HNS's spelling %v", got, []string{n.pods[0]})
	}
	id := created.Id
	if id != strings.ToUpper(id) {
		t.Errorf("ID %s is not upper case as HNS prints it", id)
	}
	got, err := n.h.GetLoadBalancer(ctx, strings.ToLower(id))
	if err != nil || got.Id != id {
		t.Fatalf("GetLoadBalancer(lower case) = %v, %v", got, err)
	}
	upd, err := n.h.UpdateLoadBalancer(ctx, strings.ToLower(id), lb("10.96.0.10", 80, strings.ToLower(n.pods[1])))
	if err != nil || upd.Id != id {
		t.Fatalf("UpdateLoadBalancer(lower case) = %v, %v", upd, err)
	}
	if err := n.h.DeleteEndpoint(ctx, strings.ToLower(n.pods[2])); err != nil {
		t.Fatalf("DeleteEndpoint(lower case): %v", err)
	}
	if err := n.h.DeleteLoadBalancer(ctx, strings.ToLower(id)); err != nil {
		t.Fatalf("DeleteLoadBalancer(lower case): %v", err)
	}
	if _, err := n.h.CreateEndpoint(ctx, strings.ToLower(n.net), remoteEP("10.244.1.5", "")); err != nil {
		t.Fatalf("CreateEndpoint(lower-case network): %v", err)
	}
	eps, err := n.h.ListEndpoints(ctx, strings.ToLower(n.net))
	if err != nil || len(eps) != 3 {
		t.Fatalf("ListEndpoints(lower-case network) = %d endpoints, %v; want 3", len(eps), err)
	}
}

func TestObjectsAreCopied(t *testing.T) {
	n := newNode(t, "latest", "Overlay")
	ctx := t.Context()
	req := lb("10.96.0.10", 80, n.pods[0], n.pods[1])
	created := mustCreate(t, n.h, req)
	want := snapshot(t, n.h.LoadBalancers())

	// Mutate what was passed and what came back, in every slice.
	for _, l := range []*hns.HostComputeLoadBalancer{req, created} {
		l.HostComputeEndpoints[0] = "x"
		l.FrontendVIPs[0] = "x"
		l.PortMappings[0].ExternalPort = 1
	}
	got, err := n.h.GetLoadBalancer(ctx, created.Id)
	if err != nil {
		t.Fatal(err)
	}
	got.HostComputeEndpoints[1] = "y"
	list, err := n.h.ListLoadBalancers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list[0].FrontendVIPs[0] = "y"
	n.h.LoadBalancers()[0].PortMappings[0].InternalPort = 1
	if diff := cmp.Diff(want, snapshot(t, n.h.LoadBalancers())); diff != "" {
		t.Errorf("callers changed the fake's load balancer (-want +got):\n%s", diff)
	}

	ep := remoteEP("10.244.1.5", "192.168.1.3")
	createdEP, err := n.h.CreateEndpoint(ctx, n.net, ep)
	if err != nil {
		t.Fatal(err)
	}
	wantEPs := snapshot(t, n.h.Endpoints())
	for _, e := range []*hns.HostComputeEndpoint{ep, createdEP} {
		e.Policies[0].Settings[2] = 'X'
		e.IpConfigurations[0].IpAddress = "x"
	}
	eps, err := n.h.ListEndpoints(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range eps {
		eps[i].IpConfigurations[0].IpAddress = "y"
	}
	if diff := cmp.Diff(wantEPs, snapshot(t, n.h.Endpoints())); diff != "" {
		t.Errorf("callers changed the fake's endpoints (-want +got):\n%s", diff)
	}
}

// snapshot renders v as JSON, so that it shares no memory with anything.
func snapshot(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUpdateLoadBalancer(t *testing.T) {
	t.Run("latest updates in place", func(t *testing.T) {
		n := newNode(t, "latest", "L2Bridge")
		created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
		req := lb("10.96.0.10", 80, n.pods[1], n.pods[2])
		req.PortMappings[0].InternalPort = 9090
		got, err := n.h.UpdateLoadBalancer(t.Context(), created.Id, req)
		if err != nil {
			t.Fatal(err)
		}
		want := *req
		want.Id = created.Id
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("returned (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]hns.HostComputeLoadBalancer{want}, n.h.LoadBalancers()); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
	})
	t.Run("ws2025 reports success but keeps the old endpoints", func(t *testing.T) {
		n := newNode(t, "ws2025", "L2Bridge")
		created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
		req := lb("10.96.0.10", 80, n.pods[1])
		req.PortMappings[0].InternalPort = 9090
		got, err := n.h.UpdateLoadBalancer(t.Context(), created.Id, req)
		if err != nil {
			t.Fatalf("UpdateLoadBalancer on 15.4: %v", err)
		}
		if diff := cmp.Diff(req.HostComputeEndpoints, got.HostComputeEndpoints); diff != "" || got.Id != created.Id {
			t.Errorf("returned %+v: want the request echoed with ID %s", got, created.Id)
		}
		truth, err := n.h.GetLoadBalancer(t.Context(), created.Id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{n.pods[0]}, truth.HostComputeEndpoints); diff != "" {
			t.Errorf("stored endpoints (-want old +got):\n%s", diff)
		}
		if truth.PortMappings[0].InternalPort != 9090 {
			t.Errorf("stored InternalPort = %d, want the other fields updated (9090)", truth.PortMappings[0].InternalPort)
		}
	})
	t.Run("ws2022 has no update", func(t *testing.T) {
		n := newNode(t, "ws2022", "L2Bridge")
		created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
		before := n.h.DumpStable()
		_, err := n.h.UpdateLoadBalancer(t.Context(), created.Id, lb("10.96.0.10", 80, n.pods[1]))
		checkHCNError(t, err, hns.OpUpdateLoadBalancer, "hcnModifyLoadBalancer", hns.CodeNotImplemented)
		if !hns.IsNotImplemented(err) {
			t.Errorf("IsNotImplemented(%v) = false", err)
		}
		if diff := cmp.Diff(before, n.h.DumpStable()); diff != "" {
			t.Errorf("state changed (-before +after):\n%s", diff)
		}
	})
	tests := []struct {
		name string
		id   func(n node, mine, other string) string
		lb   func(n node) *hns.HostComputeLoadBalancer
		fn   string
		code hns.Code
	}{{
		name: "unknown ID",
		id:   func(node, string, string) string { return "0F0F0F0F-0000-4000-8000-000000000000" },
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("10.96.0.10", 80, n.pods[0]) },
		fn:   "hcnOpenLoadBalancer", code: hns.CodeNotFound,
	}, {
		name: "frontend of another load balancer",
		id:   func(_ node, mine, _ string) string { return mine },
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("10.96.0.11", 80, n.pods[0]) },
		fn:   "hcnModifyLoadBalancer", code: hns.CodeAlreadyExists,
	}, {
		name: "no endpoints",
		id:   func(_ node, mine, _ string) string { return mine },
		lb:   func(n node) *hns.HostComputeLoadBalancer { return lb("10.96.0.10", 80) },
		fn:   "hcnModifyLoadBalancer", code: hns.CodeInvalidReference,
	}, {
		name: "bad protocol",
		id:   func(_ node, mine, _ string) string { return mine },
		lb: func(n node) *hns.HostComputeLoadBalancer {
			l := lb("10.96.0.10", 80, n.pods[0])
			l.PortMappings[0].Protocol = 1
			return l
		},
		fn: "hcnModifyLoadBalancer", code: hns.CodeInvalidParameter,
	}}
	for _, tt := range tests {
		for _, p := range []string{"latest", "ws2025"} {
			t.Run(p+"/"+tt.name, func(t *testing.T) {
				n := newNode(t, p, "L2Bridge")
				mine := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0])).Id
				other := mustCreate(t, n.h, lb("10.96.0.11", 80, n.pods[1])).Id
				before := n.h.DumpStable()
				_, err := n.h.UpdateLoadBalancer(t.Context(), tt.id(n, mine, other), tt.lb(n))
				checkHCNError(t, err, hns.OpUpdateLoadBalancer, tt.fn, tt.code)
				if diff := cmp.Diff(before, n.h.DumpStable()); diff != "" {
					t.Errorf("state changed (-before +after):\n%s", diff)
				}
			})
		}
	}
	t.Run("own reserved frontend is not a clash", func(t *testing.T) {
		n := newNode(t, "latest", "L2Bridge")
		created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0]))
		n.h.ReservePort("", 6, 80) // the host reserves the port after HNS took it
		if _, err := n.h.UpdateLoadBalancer(t.Context(), created.Id, lb("10.96.0.10", 80, n.pods[1])); err != nil {
			t.Errorf("UpdateLoadBalancer: %v", err)
		}
	})
}

func TestDelete(t *testing.T) {
	n := newNode(t, "latest", "L2Bridge")
	ctx := t.Context()
	created := mustCreate(t, n.h, lb("10.96.0.10", 80, n.pods[0], n.pods[1]))

	err := n.h.DeleteLoadBalancer(ctx, "0F0F0F0F-0000-4000-8000-000000000000")
	checkHCNError(t, err, hns.OpDeleteLoadBalancer, "hcnDeleteLoadBalancer", hns.CodeNotFound)
	err = n.h.DeleteEndpoint(ctx, "0F0F0F0F-0000-4000-8000-000000000000")
	checkHCNError(t, err, hns.OpDeleteEndpoint, "hcnDeleteEndpoint", hns.CodeNotFound)
	if !hns.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}

	// Deleting an endpoint a load balancer names succeeds and leaves a
	// dangling reference.
	if err := n.h.DeleteEndpoint(ctx, n.pods[1]); err != nil {
		t.Fatalf("DeleteEndpoint of a referenced endpoint: %v", err)
	}
	got, err := n.h.GetLoadBalancer(ctx, created.Id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{n.pods[0], n.pods[1]}, got.HostComputeEndpoints); diff != "" {
		t.Errorf("references after the delete (-want +got):\n%s", diff)
	}
	if d := n.h.Dump(); !strings.Contains(d, "10.244.0.11, (missing "+n.pods[1]+")") {
		t.Errorf("Dump does not show the dangling reference:\n%s", d)
	}
	if d := n.h.DumpStable(); !strings.Contains(d, "10.244.0.11, (missing)\n") {
		t.Errorf("DumpStable does not show the dangling reference:\n%s", d)
	}

	if err := n.h.DeleteLoadBalancer(ctx, created.Id); err != nil {
		t.Fatal(err)
	}
	err = n.h.DeleteLoadBalancer(ctx, created.Id)
	checkHCNError(t, err, hns.OpDeleteLoadBalancer, "hcnDeleteLoadBalancer", hns.CodeNotFound)
	if len(n.h.LoadBalancers()) != 0 {
		t.Errorf("load balancers left: %v", n.h.LoadBalancers())
	}
}

func TestCreateEndpoint(t *testing.T) {
	withoutMAC := remoteEP("10.244.1.5", "192.168.1.3")
	withoutMAC.MacAddress = ""
	badPA := remoteEP("10.244.1.5", "node-3")
	noSchema := remoteEP("10.244.1.5", "192.168.1.3")
	noSchema.SchemaVersion = hns.SchemaVersion{}
	noIP := remoteEP("10.244.1.5", "192.168.1.3")
	noIP.IpConfigurations = nil
	badMAC := remoteEP("10.244.1.5", "192.168.1.3")
	badMAC.MacAddress = "02-11"
	tests := []struct {
		name    string
		netType string
		network func(n node) string
		ep      *hns.HostComputeEndpoint
		fn      string
		code    hns.Code
	}{
		{"unknown network", "Overlay", func(node) string { return "0F0F0F0F-0000-4000-8000-000000000000" }, remoteEP("10.244.1.5", "192.168.1.3"), "hcnOpenNetwork", hns.CodeNotFound},
		{"IP of a pod", "Overlay", nil, remoteEP("10.244.0.11", "192.168.1.3"), "hcnCreateEndpoint", hns.CodeAlreadyExists},
		{"remote on Overlay without PA", "Overlay", nil, remoteEP("10.244.1.5", ""), "hcnCreateEndpoint", hns.CodeInvalidParameter},
		{"PA not an IP", "Overlay", nil, badPA, "hcnCreateEndpoint", hns.CodeInvalidParameter},
		{"remote without MAC", "L2Bridge", nil, withoutMAC, "hcnCreateEndpoint", hns.CodeInvalidParameter},
		{"bad MAC", "L2Bridge", nil, badMAC, "hcnCreateEndpoint", hns.CodeInvalidParameter},
		{"no SchemaVersion", "L2Bridge", nil, noSchema, "hcnCreateEndpoint", hns.CodeInvalidParameter},
		{"no IP", "L2Bridge", nil, noIP, "hcnCreateEndpoint", hns.CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, "latest", tt.netType)
			network := n.net
			if tt.network != nil {
				network = tt.network(n)
			}
			before := n.h.DumpStable()
			got, err := n.h.CreateEndpoint(t.Context(), network, tt.ep)
			if err == nil {
				t.Fatalf("CreateEndpoint succeeded: %+v", got)
			}
			checkHCNError(t, err, hns.OpCreateEndpoint, tt.fn, tt.code)
			if diff := cmp.Diff(before, n.h.DumpStable()); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("accepted", func(t *testing.T) {
		n := newNode(t, "latest", "L2Bridge")
		other := n.h.AddNetwork("other", "Overlay")
		ctx := t.Context()
		l2 := remoteEP("10.244.1.5", "") // no PA needed on L2Bridge
		got, err := n.h.CreateEndpoint(ctx, n.net, l2)
		if err != nil {
			t.Fatal(err)
		}
		want := *l2
		want.Id, want.HostComputeNetwork = got.Id, n.net
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		// The same IP on another network is fine.
		if _, err := n.h.CreateEndpoint(ctx, other, remoteEP("10.244.1.5", "192.168.1.3")); err != nil {
			t.Fatal(err)
		}
		// A local endpoint gets a MAC.
		local, err := n.h.CreateEndpoint(ctx, n.net, &hns.HostComputeEndpoint{
			Name:             "source-vip",
			IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.0.2"}},
			SchemaVersion:    hns.V2SchemaVersion(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if local.MacAddress != "00-15-5D-F4-00-02" {
			t.Errorf("local MAC = %q, want 00-15-5D-F4-00-02", local.MacAddress)
		}
		onNet, err := n.h.ListEndpoints(ctx, n.net)
		if err != nil {
			t.Fatal(err)
		}
		all, err := n.h.ListEndpoints(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(onNet) != 5 || len(all) != 6 {
			t.Errorf("ListEndpoints: %d on the network, %d in all; want 5, 6", len(onNet), len(all))
		}
	})
}

func TestNetworkAndVersion(t *testing.T) {
	n := newNode(t, "ws2025", "Overlay")
	got, err := n.h.GetNetworkByName(t.Context(), "cbr0")
	if err != nil {
		t.Fatal(err)
	}
	want := &hns.HostComputeNetwork{Id: n.net, Name: "cbr0", Type: "Overlay", SchemaVersion: hns.V2SchemaVersion()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetNetworkByName (-want +got):\n%s", diff)
	}
	if _, err := n.h.GetNetworkByName(t.Context(), "CBR0"); !hns.IsNotFound(err) {
		t.Errorf("GetNetworkByName(other case) = %v, want NotFound (names are exact)", err)
	}
	v, err := n.h.Version(t.Context())
	if err != nil || v != (lbpolicy.Version{Major: 15, Minor: 4}) {
		t.Errorf("Version = %v, %v; want 15.4", v, err)
	}
	if n.h.Profile().Name != "ws2025" {
		t.Errorf("Profile = %+v", n.h.Profile())
	}
}
