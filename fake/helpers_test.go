package fake_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

func profile(t testing.TB, name string) hns.Profile {
	t.Helper()
	p, err := hns.ProfileNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// node is a fake with one network and a few local pod endpoints.
type node struct {
	h    *fake.HNS
	net  string
	pods []string // endpoint IDs of 10.244.0.11, .12, .13
}

func newNode(t testing.TB, profileName, networkType string) node {
	t.Helper()
	return newNodeWith(profile(t, profileName), networkType)
}

func newNodeWith(p hns.Profile, networkType string) node {
	h := fake.New(p)
	n := node{h: h, net: h.AddNetwork("cbr0", networkType)}
	for i := 1; i <= 3; i++ {
		n.pods = append(n.pods, h.AddLocalEndpoint(n.net, fmt.Sprintf("pod-%d", i), fmt.Sprintf("10.244.0.1%d", i)))
	}
	return n
}

// lb returns a valid IPv4 TCP ClusterIP-style load balancer.
func lb(vip string, port uint16, eps ...string) *hns.HostComputeLoadBalancer {
	var vips []string
	if vip != "" {
		vips = []string{vip}
	}
	return &hns.HostComputeLoadBalancer{
		HostComputeEndpoints: eps,
		FrontendVIPs:         vips,
		PortMappings:         []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: port}},
		SchemaVersion:        hns.V2SchemaVersion(),
	}
}

// remoteEP returns a valid remote endpoint with a ProviderAddress policy.
func remoteEP(ip, pa string) *hns.HostComputeEndpoint {
	ep := &hns.HostComputeEndpoint{
		IpConfigurations: []hns.IpConfig{{IpAddress: ip}},
		MacAddress:       "02-11-0a-f4-01-05",
		Flags:            hns.EndpointFlagsRemoteEndpoint,
		SchemaVersion:    hns.V2SchemaVersion(),
	}
	if pa != "" {
		ep.Policies = []hns.EndpointPolicy{{
			Type:     hns.EndpointPolicyProviderAddress,
			Settings: []byte(fmt.Sprintf(`{"ProviderAddress":%q}`, pa)),
		}}
	}
	return ep
}

// hresult mirrors the record's ErrorCode: Win32 codes in FACILITY_WIN32.
func hresult(c hns.Code) uint32 {
	if c <= 0xFFFF {
		return 0x80070000 | uint32(c)
	}
	return uint32(c)
}

// checkHCNError asserts err is an *hns.Error of op and code whose
// Message is in hcn's format for HNS function fn, with a matching record.
func checkHCNError(t *testing.T, err error, op hns.Op, fn string, code hns.Code) {
	t.Helper()
	var e *hns.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *hns.Error", err, err)
	}
	if e.Op != op || e.Code != code {
		t.Errorf("error Op, Code = %s, 0x%X; want %s, 0x%X (%v)", e.Op, uint32(e.Code), op, uint32(code), err)
	}
	re := regexp.MustCompile(fmt.Sprintf(`^%s failed in Win32: ([^(]+) \(0x%x\) (\{"Success":false,"Error":"([^"]+) ","ErrorCode":%d\})$`,
		regexp.QuoteMeta(fn), uint32(code), hresult(code)))
	m := re.FindStringSubmatch(e.Message)
	if m == nil {
		t.Fatalf("message %q does not match %s", e.Message, re)
	}
	if m[1] != m[3] {
		t.Errorf("message text %q differs from the record's %q", m[1], m[3])
	}
	if m[2] != e.Record {
		t.Errorf("Record = %q, message ends with %q", e.Record, m[2])
	}
}
