package hnsstub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// These tests speak the DLLs' protocol from Go, on any OS. The DLLs
// themselves are tested under Wine (hnsadapter/hcn_stub_windows_test.go).

// The queries hcn sends.
const (
	queryAll = `{"SchemaVersion":{"Major":2,"Minor":0}}`
	lbGUID   = "5D2E5F5A-1B9A-4C55-8E07-0C1B6A0C3C11"
)

func queryFilter(t *testing.T, key, value string) *string {
	t.Helper()
	f, err := json.Marshal(map[string]string{key: value})
	require.NoError(t, err)
	q, err := json.Marshal(map[string]any{"SchemaVersion": map[string]int{"Major": 2, "Minor": 0}, "Filter": string(f)})
	require.NoError(t, err)
	return str(string(q))
}

func str(s string) *string { return &s }

func jsonString(t *testing.T, v any) *string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return str(string(b))
}

// reply is an answer as the DLL reads it.
type reply struct {
	hr     uint32
	handle uint64
	out    *string
	result *string
}

// exchange sends one request as the DLL does and reads the answer.
func exchange(addr, request string) (reply, error) {
	var a reply
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return a, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		return a, err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil { // as the DLL does
		return a, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil {
		return a, fmt.Errorf("reading the answer header: %w", err)
	}
	var n [2]int
	if _, err := fmt.Sscanf(head, "%x %d %d %d\n", &a.hr, &a.handle, &n[0], &n[1]); err != nil {
		return a, fmt.Errorf("answer header %q: %w", head, err)
	}
	for i, dst := range []**string{&a.out, &a.result} {
		if n[i] < 0 {
			continue
		}
		b := make([]byte, n[i])
		if _, err := io.ReadFull(r, b); err != nil {
			return a, fmt.Errorf("reading string %d of the answer: %w", i, err)
		}
		*dst = str(string(b))
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) > 0 {
		return a, fmt.Errorf("after the answer: %q, %v", rest, err)
	}
	return a, nil
}

// encodeRequest returns the request of a call of fn.
func encodeRequest(fn, id string, handle uint64, strs ...*string) string {
	if id == "" {
		id = "-"
	}
	var b strings.Builder
	lens := []int{-1, -1, -1}
	for i, p := range strs {
		if p != nil {
			lens[i] = len(*p)
		}
	}
	fmt.Fprintf(&b, "%s %s %d %d %d %d\n", fn, id, handle, lens[0], lens[1], lens[2])
	for _, p := range strs {
		if p != nil {
			b.WriteString(*p)
		}
	}
	return b.String()
}

func rawCall(t *testing.T, s *Server, req string) reply {
	t.Helper()
	a, err := exchange(s.Addr(), req)
	require.NoError(t, err)
	return a
}

// call makes one call of fn as the DLL does.
func call(t *testing.T, s *Server, fn, id string, handle uint64, strs ...*string) reply {
	t.Helper()
	return rawCall(t, s, encodeRequest(fn, id, handle, strs...))
}

func (a reply) String() string {
	out, res := "<nil>", "<nil>"
	if a.out != nil {
		out = *a.out
	}
	if a.result != nil {
		res = *a.result
	}
	return fmt.Sprintf("hr=0x%08X handle=%d out=%s result=%s", a.hr, a.handle, out, res)
}

// ok checks a successful call: S_OK and no error record.
func ok(t *testing.T, a reply) reply {
	t.Helper()
	require.Equal(t, sOK, a.hr, "%v", a)
	require.Nil(t, a.result, "an error record on success makes hcn fail: %v", a)
	return a
}

// record decodes a's error record.
func record(t *testing.T, a reply) errorRecord {
	t.Helper()
	require.NotNil(t, a.result, "no error record: %v", a)
	var rec errorRecord
	require.NoError(t, json.Unmarshal([]byte(*a.result), &rec), "record %s", *a.result)
	return rec
}

func ids(t *testing.T, a reply) []string {
	t.Helper()
	ok(t, a)
	require.NotNil(t, a.out)
	var out []string
	require.NoError(t, json.Unmarshal([]byte(*a.out), &out), "IDs %s", *a.out)
	return out
}

// node is a fake with the network and local endpoints most tests use.
type node struct {
	h     *fake.HNS
	s     *Server
	netID string
	pods  []string
}

func newNode(t *testing.T, profile string) *node {
	t.Helper()
	p, err := hns.ProfileNamed(profile)
	require.NoError(t, err)
	h := fake.New(p)
	n := &node{h: h, netID: h.AddNetwork("cbr0", "L2Bridge")}
	n.pods = []string{h.AddLocalEndpoint(n.netID, "pod-a", "10.244.0.5"), h.AddLocalEndpoint(n.netID, "pod-b", "10.244.0.6")}
	n.s, err = Start(h)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, n.s.Close()) })
	return n
}

func (n *node) lb(vip string, eps ...string) hns.HostComputeLoadBalancer {
	return hns.HostComputeLoadBalancer{
		HostComputeEndpoints: eps, FrontendVIPs: []string{vip},
		PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}},
		SchemaVersion: hns.V2SchemaVersion(),
	}
}

// get opens, queries and closes an object as hcn does, decoding it into v.
func get(t *testing.T, s *Server, typ, id string, v any) {
	t.Helper()
	h := ok(t, call(t, s, "HcnOpen"+typ, id, 0, nil)).handle
	require.NotZero(t, h)
	a := ok(t, call(t, s, "HcnQuery"+typ+"Properties", "", h, str(queryAll)))
	require.NoError(t, json.Unmarshal([]byte(*a.out), v))
	ok(t, call(t, s, "HcnClose"+typ, "", h))
}

func TestVersion(t *testing.T) {
	for _, p := range hns.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			n := newNode(t, p.Name)
			a := call(t, n.s, "HNSCall", "", 0, str("GET"), str("/globals/version"), str(""))
			ok(t, a)
			want := fmt.Sprintf(`{"Success":true,"Output":{"Major":%d,"Minor":%d}}`, p.Version.Major, p.Version.Minor)
			assert.Equal(t, want, *a.out)
			assert.Equal(t, 1, n.h.Calls()[hns.OpVersion])
		})
	}
	n := newNode(t, "latest")
	a := call(t, n.s, "HNSCall", "", 0, str("GET"), str("/networks"), str(""))
	assert.Equal(t, eNotImpl, a.hr, "%v", a)
}

func TestNetworkLookup(t *testing.T) {
	n := newNode(t, "latest")
	got := ids(t, call(t, n.s, "HcnEnumerateNetworks", "", 0, queryFilter(t, "Name", "cbr0")))
	require.Equal(t, []string{n.netID}, got)
	assert.Equal(t, 1, n.h.Calls()[hns.OpGetNetwork], "one Client call")

	var nw hns.HostComputeNetwork
	get(t, n.s, "Network", strings.ToLower(n.netID), &nw) // GUIDs in any case
	assert.Equal(t, hns.HostComputeNetwork{Id: n.netID, Name: "cbr0", Type: "L2Bridge", SchemaVersion: hns.V2SchemaVersion()}, nw)

	assert.Equal(t, []string{n.netID}, ids(t, call(t, n.s, "HcnEnumerateNetworks", "", 0, queryFilter(t, "name", "cbr0"))), "filter keys in any case")
	assert.Empty(t, ids(t, call(t, n.s, "HcnEnumerateNetworks", "", 0, queryFilter(t, "Name", "nope"))),
		"a missing name is an empty list, from which hcn makes NetworkNotFoundError")
	assert.Equal(t, []string{n.netID}, ids(t, call(t, n.s, "HcnEnumerateNetworks", "", 0, str(queryAll))))
	assert.Equal(t, []string{n.netID}, ids(t, call(t, n.s, "HcnEnumerateNetworks", "", 0, queryFilter(t, "ID", n.netID))))
	assert.Zero(t, n.s.OpenHandles())
}

func TestEndpoints(t *testing.T) {
	n := newNode(t, "latest")
	other := n.h.AddNetwork("other", "Overlay")
	n.h.AddLocalEndpoint(other, "vm", "192.168.0.9")

	assert.Len(t, ids(t, call(t, n.s, "HcnEnumerateEndpoints", "", 0, str(queryAll))), 3)
	assert.ElementsMatch(t, n.pods, ids(t, call(t, n.s, "HcnEnumerateEndpoints", "", 0, queryFilter(t, "VirtualNetwork", n.netID))))
	assert.Equal(t, n.pods[1:], ids(t, call(t, n.s, "HcnEnumerateEndpoints", "", 0, queryFilter(t, "Name", "pod-b"))))
	assert.Equal(t, 3, n.h.Calls()[hns.OpListEndpoints])

	// hcn's HostComputeEndpoint.Create: open the network, create on it,
	// query, close both.
	nw := ok(t, call(t, n.s, "HcnOpenNetwork", n.netID, 0)).handle
	remote := hns.HostComputeEndpoint{
		HostComputeNetwork: n.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.2.7"}},
		MacAddress: "02-11-0a-f4-02-07", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
	}
	settings := `{"HostComputeNetwork":"` + n.netID + `","IpConfigurations":[{"IpAddress":"10.244.2.7"}],"MacAddress":"02-11-0a-f4-02-07","Flags":1,"SchemaVersion":{"Major":2,"Minor":0},"Dns":{},"Health":{"Extra":{}}}`
	h := ok(t, call(t, n.s, "HcnCreateEndpoint", zeroGUID, nw, str(settings))).handle
	a := ok(t, call(t, n.s, "HcnQueryEndpointProperties", "", h, str(queryAll)))
	var got hns.HostComputeEndpoint
	require.NoError(t, json.Unmarshal([]byte(*a.out), &got))
	remote.Id = got.Id
	assert.Empty(t, cmp.Diff(remote, got))
	ok(t, call(t, n.s, "HcnCloseEndpoint", "", h))
	ok(t, call(t, n.s, "HcnCloseNetwork", "", nw))
	assert.Equal(t, 1, n.h.Calls()[hns.OpCreateEndpoint])

	// The fake's rules: the same IP again is 0xB7.
	nw = ok(t, call(t, n.s, "HcnOpenNetwork", n.netID, 0)).handle
	dup := call(t, n.s, "HcnCreateEndpoint", zeroGUID, nw, str(settings))
	assert.Equal(t, uint32(0x800700B7), dup.hr, "%v", dup)
	assert.Equal(t, uint32(0x800700B7), record(t, dup).ErrorCode)
	// An endpoint handle is no network handle.
	assert.Equal(t, eHandle, call(t, n.s, "HcnCreateEndpoint", zeroGUID, 0, str(settings)).hr)
	ok(t, call(t, n.s, "HcnCloseNetwork", "", nw))

	ok(t, call(t, n.s, "HcnDeleteEndpoint", got.Id, 0))
	gone := call(t, n.s, "HcnDeleteEndpoint", got.Id, 0)
	assert.Equal(t, eNotFound, gone.hr)
	assert.Equal(t, eNotFound, record(t, gone).ErrorCode)
	assert.Equal(t, eNotFound, call(t, n.s, "HcnOpenEndpoint", got.Id, 0).hr)
	assert.Zero(t, n.s.OpenHandles())
}

// TestLoadBalancerLifecycle follows hcn's sequences for a load balancer,
// and checks that the fake counts exactly one Client call for each.
func TestLoadBalancerLifecycle(t *testing.T) {
	n := newNode(t, "latest")
	want := n.lb("10.96.0.10", n.pods[0])

	a := ok(t, call(t, n.s, "HcnCreateLoadBalancer", zeroGUID, 0, jsonString(t, want)))
	var created hns.HostComputeLoadBalancer
	q := ok(t, call(t, n.s, "HcnQueryLoadBalancerProperties", "", a.handle, str(queryAll)))
	require.NoError(t, json.Unmarshal([]byte(*q.out), &created))
	ok(t, call(t, n.s, "HcnCloseLoadBalancer", "", a.handle))
	want.Id = created.Id
	assert.Empty(t, cmp.Diff(want, created))

	// hcn.ListLoadBalancers and GetLoadBalancerByID enumerate, then open,
	// query and close each.
	assert.Equal(t, []string{created.Id}, ids(t, call(t, n.s, "HcnEnumerateLoadBalancers", "", 0, str(queryAll))))
	assert.Equal(t, []string{created.Id}, ids(t, call(t, n.s, "HcnEnumerateLoadBalancers", "", 0, queryFilter(t, "ID", created.Id))))
	assert.Empty(t, ids(t, call(t, n.s, "HcnEnumerateLoadBalancers", "", 0, queryFilter(t, "ID", lbGUID))),
		"a missing ID is an empty list, from which hcn makes LoadBalancerNotFoundError")
	var got hns.HostComputeLoadBalancer
	get(t, n.s, "LoadBalancer", created.Id, &got)
	assert.Empty(t, cmp.Diff(created, got))

	// hcn's Update: open, modify, query, close.
	want.HostComputeEndpoints = n.pods
	h := ok(t, call(t, n.s, "HcnOpenLoadBalancer", created.Id, 0)).handle
	ok(t, call(t, n.s, "HcnModifyLoadBalancer", "", h, jsonString(t, want)))
	q = ok(t, call(t, n.s, "HcnQueryLoadBalancerProperties", "", h, str(queryAll)))
	require.NoError(t, json.Unmarshal([]byte(*q.out), &got))
	ok(t, call(t, n.s, "HcnCloseLoadBalancer", "", h))
	assert.Empty(t, cmp.Diff(want, got))
	assert.Empty(t, cmp.Diff([]hns.HostComputeLoadBalancer{want}, n.h.LoadBalancers()))

	ok(t, call(t, n.s, "HcnDeleteLoadBalancer", created.Id, 0))
	assert.Empty(t, n.h.LoadBalancers())
	assert.Equal(t, fake.Calls{
		hns.OpCreateLoadBalancer: 1, hns.OpListLoadBalancers: 1, hns.OpGetLoadBalancer: 2,
		hns.OpUpdateLoadBalancer: 1, hns.OpDeleteLoadBalancer: 1,
	}, n.h.Calls())
	assert.Zero(t, n.s.OpenHandles())
}

// TestErrorsAreTheFakes: a failing call returns the fake's code as an
// HRESULT and the fake's error record, unchanged.
func TestErrorsAreTheFakes(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		profile string
		setup   func(n *node) (fn, id string, handle uint64, settings *string)
		direct  func(n *node) error // the same call on the fake directly
		hr      uint32
	}{
		{"frontend taken", "latest",
			func(n *node) (string, string, uint64, *string) {
				n.h.AddLoadBalancer(n.lb("10.96.0.10", n.pods[1]))
				return "HcnCreateLoadBalancer", zeroGUID, 0, jsonString(t, n.lb("10.96.0.10", n.pods[0]))
			},
			func(n *node) error {
				lb := n.lb("10.96.0.10", n.pods[0])
				_, err := n.h.CreateLoadBalancer(ctx, &lb)
				return err
			}, 0x800700B7},
		{"port reserved", "latest",
			func(n *node) (string, string, uint64, *string) {
				n.h.ReservePort("", 6, 80)
				return "HcnCreateLoadBalancer", zeroGUID, 0, jsonString(t, n.lb("10.96.0.10", n.pods[0]))
			},
			func(n *node) error {
				lb := n.lb("10.96.0.10", n.pods[0])
				_, err := n.h.CreateLoadBalancer(ctx, &lb)
				return err
			}, 0x803B0013},
		{"no endpoints", "latest",
			func(n *node) (string, string, uint64, *string) {
				return "HcnCreateLoadBalancer", zeroGUID, 0, jsonString(t, n.lb("10.96.0.10"))
			},
			func(n *node) error {
				lb := n.lb("10.96.0.10")
				_, err := n.h.CreateLoadBalancer(ctx, &lb)
				return err
			}, 0x803B001C},
		{"delete missing", "latest",
			func(*node) (string, string, uint64, *string) { return "HcnDeleteLoadBalancer", lbGUID, 0, nil },
			func(n *node) error { return n.h.DeleteLoadBalancer(ctx, lbGUID) }, 0x80070490},
		{"update on ws2022", "ws2022",
			func(n *node) (string, string, uint64, *string) {
				id := n.h.AddLoadBalancer(n.lb("10.96.0.10", n.pods[0]))
				h := ok(t, call(t, n.s, "HcnOpenLoadBalancer", id, 0)).handle
				return "HcnModifyLoadBalancer", "", h, jsonString(t, n.lb("10.96.0.10", n.pods[1]))
			},
			func(n *node) error {
				lb := n.lb("10.96.0.10", n.pods[1])
				_, err := n.h.UpdateLoadBalancer(ctx, n.h.LoadBalancers()[0].Id, &lb)
				return err
			}, 0x80004001},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t, c.profile)
			fn, id, handle, settings := c.setup(n)
			a := call(t, n.s, fn, id, handle, settings)
			require.Equal(t, c.hr, a.hr, "%v", a)
			assert.Zero(t, a.handle)
			assert.Nil(t, a.out)
			assert.Equal(t, c.hr, record(t, a).ErrorCode)

			var e *hns.Error
			require.ErrorAs(t, c.direct(n), &e)
			assert.Equal(t, e.Record, *a.result, "the fake's record")
		})
	}
}

func TestSilentUpdate(t *testing.T) {
	n := newNode(t, "ws2025") // HNS 15.4
	old := n.lb("10.96.0.10", n.pods[0])
	id := n.h.AddLoadBalancer(old)
	old.Id = id
	sent := n.lb("10.96.0.10", n.pods[1])

	h := ok(t, call(t, n.s, "HcnOpenLoadBalancer", id, 0)).handle
	ok(t, call(t, n.s, "HcnModifyLoadBalancer", "", h, jsonString(t, sent)))
	q := ok(t, call(t, n.s, "HcnQueryLoadBalancerProperties", "", h, str(queryAll)))
	ok(t, call(t, n.s, "HcnCloseLoadBalancer", "", h))
	var reported hns.HostComputeLoadBalancer
	require.NoError(t, json.Unmarshal([]byte(*q.out), &reported))
	sent.Id = id
	assert.Empty(t, cmp.Diff(sent, reported), "the update reports what was sent")

	var now hns.HostComputeLoadBalancer
	get(t, n.s, "LoadBalancer", id, &now)
	assert.Empty(t, cmp.Diff(old, now), "but HNS kept the old endpoints")
}

func TestFaults(t *testing.T) {
	n := newNode(t, "latest")
	n.h.AddLoadBalancer(n.lb("10.96.0.10", n.pods[0]))

	n.h.InjectFault(fake.Fault{Op: hns.OpListLoadBalancers, VanishDuringList: true, Count: 1})
	a := call(t, n.s, "HcnEnumerateLoadBalancers", "", 0, str(queryAll))
	assert.Equal(t, eNotFound, a.hr, "a failed list is an error, never empty: %v", a)
	assert.Nil(t, a.out)

	n.h.InjectFault(fake.Fault{Op: hns.OpVersion, Code: hns.CodeModuleNotFound, Count: 1})
	a = call(t, n.s, "HNSCall", "", 0, str("GET"), str("/globals/version"), str(""))
	assert.Equal(t, uint32(0x8007007E), a.hr)
	assert.Nil(t, a.result, "no record: HNS never answered")

	n.h.InjectFault(fake.Fault{Op: hns.OpGetNetwork, Count: 1})
	a = call(t, n.s, "HcnEnumerateNetworks", "", 0, queryFilter(t, "Name", "cbr0"))
	assert.Equal(t, eFail, a.hr, "a fault without a code is E_FAIL")
	assert.Equal(t, eFail, record(t, a).ErrorCode)
}

// notModelled lists every function the DLLs export that the server does not
// model, with a well-formed request for each.
var notModelledCalls = []struct {
	fn     string
	id     string
	handle uint64
	str    *string
}{
	{"HcnCreateNetwork", zeroGUID, 0, str("{}")},
	{"HcnModifyNetwork", "", 1, str("{}")},
	{"HcnDeleteNetwork", lbGUID, 0, nil},
	{"HcnModifyEndpoint", "", 1, str("{}")},
	{"HcnEnumerateNamespaces", "", 0, str(queryAll)},
	{"HcnCreateNamespace", zeroGUID, 0, str("{}")},
	{"HcnOpenNamespace", lbGUID, 0, nil},
	{"HcnModifyNamespace", "", 1, str("{}")},
	{"HcnQueryNamespaceProperties", "", 1, str(queryAll)},
	{"HcnDeleteNamespace", lbGUID, 0, nil},
	{"HcnCloseNamespace", "", 1, nil},
	{"HcnEnumerateSdnRoutes", "", 0, str(queryAll)},
	{"HcnCreateSdnRoute", zeroGUID, 0, str("{}")},
	{"HcnOpenSdnRoute", lbGUID, 0, nil},
	{"HcnModifySdnRoute", "", 1, str("{}")},
	{"HcnQuerySdnRouteProperties", "", 1, str(queryAll)},
	{"HcnDeleteSdnRoute", lbGUID, 0, nil},
	{"HcnCloseSdnRoute", "", 1, nil},
}

func TestNotModelled(t *testing.T) {
	n := newNode(t, "latest")
	for _, c := range notModelledCalls {
		a := call(t, n.s, c.fn, c.id, c.handle, c.str)
		assert.Equal(t, eNotImpl, a.hr, "%s: %v", c.fn, a)
		rec := record(t, a)
		assert.Equal(t, eNotImpl, rec.ErrorCode, c.fn)
		assert.Contains(t, rec.Error, c.fn)
	}
	a := call(t, n.s, "HcnEnumerateLoadBalancers", "", 0, queryFilter(t, "FrontendVIPs", "10.96.0.10"))
	assert.Equal(t, eNotImpl, a.hr, "an unknown filter key: %v", a)
	assert.Contains(t, record(t, a).Error, "FrontendVIPs")
	assert.Equal(t, eNotImpl, call(t, n.s, "HcnCreateLoadBalancer", lbGUID, 0, jsonString(t, n.lb("10.96.0.10", n.pods[0]))).hr,
		"a chosen ID")
	assert.Empty(t, n.h.Calls(), "no Client call")
}

func TestBadRequests(t *testing.T) {
	n := newNode(t, "latest")
	for name, req := range map[string]string{
		"too few fields":  "HcnEnumerateLoadBalancers - 0 5\n",
		"bad length":      "HcnEnumerateLoadBalancers - 0 x -1 -1\n",
		"short string":    "HcnEnumerateLoadBalancers - 0 50 -1 -1\n{}",
		"negative handle": "HcnCloseLoadBalancer - -1 -1 -1 -1\n",
	} {
		a := rawCall(t, n.s, req)
		assert.Equal(t, eInvalidArg, a.hr, "%s: %v", name, a)
		record(t, a)
	}
	for name, q := range map[string]*string{
		"no query":       nil,
		"not JSON":       str("{"),
		"schema 1.0":     str(`{"SchemaVersion":{"Major":1,"Minor":0}}`),
		"filter not map": str(`{"SchemaVersion":{"Major":2,"Minor":0},"Filter":"[1]"}`),
	} {
		a := call(t, n.s, "HcnEnumerateLoadBalancers", "", 0, q)
		assert.Equal(t, eInvalidArg, a.hr, "%s: %v", name, a)
	}
	assert.Equal(t, eInvalidArg, call(t, n.s, "HcnCreateLoadBalancer", zeroGUID, 0, str("{")).hr)
	assert.Equal(t, eHandle, call(t, n.s, "HcnQueryLoadBalancerProperties", "", 42, str(queryAll)).hr)
	assert.Equal(t, eHandle, call(t, n.s, "HcnCloseEndpoint", "", 42).hr)
	h := ok(t, call(t, n.s, "HcnOpenNetwork", n.netID, 0)).handle
	assert.Equal(t, eHandle, call(t, n.s, "HcnQueryEndpointProperties", "", h, str(queryAll)).hr, "a network handle")
	ok(t, call(t, n.s, "HcnCloseNetwork", "", h))
	assert.Equal(t, eHandle, call(t, n.s, "HcnCloseNetwork", "", h).hr, "closed twice")
	assert.Equal(t, eNotImpl, call(t, n.s, "HcnNoSuchFunction", "", 0).hr)
	assert.Zero(t, n.s.OpenHandles())
}

// TestConcurrentCalls: the Reconciler makes several HNS calls at once.
func TestConcurrentCalls(t *testing.T) {
	n := newNode(t, "latest")
	const workers, each = 8, 10
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				b, _ := json.Marshal(n.lb(fmt.Sprintf("10.96.%d.%d", w, i), n.pods[i%2]))
				a, err := exchange(n.s.Addr(), encodeRequest("HcnCreateLoadBalancer", zeroGUID, 0, str(string(b))))
				if err == nil && a.hr == sOK {
					a, err = exchange(n.s.Addr(), encodeRequest("HcnCloseLoadBalancer", "", a.handle))
				}
				if err == nil && a.hr == sOK {
					a, err = exchange(n.s.Addr(), encodeRequest("HcnEnumerateLoadBalancers", "", 0, str(queryAll)))
				}
				if err == nil && a.hr != sOK {
					err = fmt.Errorf("%v", a)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Len(t, n.h.LoadBalancers(), workers*each)
	assert.Zero(t, n.s.OpenHandles())
	assert.Len(t, n.s.Calls(), 3*workers*each)
}

func TestStartNeedsAFake(t *testing.T) {
	_, err := Start(nil)
	assert.Error(t, err)
}
