package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

func utf16Text(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := append([]byte{}, bom...)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

const (
	oneLB = `{"ID": "0A", "HostComputeEndpoints": ["1B"], "FrontendVIPs": ["10.96.0.10"],
		"PortMappings": [{"Protocol": 17, "InternalPort": 53, "ExternalPort": 53}], "SchemaVersion": {"Major": 2, "Minor": 0}, "Flags": 1,
		"Health": {"LastErrorCode": 0}, "State": 2}`
	oneEP = `{"ID": "1B", "HostComputeNetwork": "NET", "IpConfigurations": [{"IpAddress": "10.244.3.3", "PrefixLength": 32}],
		"MacAddress": "02-11-0A-F4-03-03", "Flags": 1, "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.0.0.6"}}],
		"Dns": {}, "Routes": []}`
)

var wantLB = hns.HostComputeLoadBalancer{
	Id: "0A", HostComputeEndpoints: []string{"1B"}, FrontendVIPs: []string{"10.96.0.10"},
	PortMappings:  []hns.LoadBalancerPortMapping{{Protocol: 17, InternalPort: 53, ExternalPort: 53}},
	SchemaVersion: hns.V2SchemaVersion(), Flags: 1,
}

var wantEP = hns.HostComputeEndpoint{
	Id: "1B", HostComputeNetwork: "NET", IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.3.3", PrefixLength: 32}},
	MacAddress: "02-11-0A-F4-03-03", Flags: 1,
	Policies: []hns.EndpointPolicy{{Type: hns.EndpointPolicyProviderAddress, Settings: []byte(`{"ProviderAddress": "10.0.0.6"}`)}},
}

func TestDecodeDump(t *testing.T) {
	full := `{"Networks": [{"ID": "NET", "Name": "cbr0", "Type": "L2Bridge"}], "LoadBalancers": [` + oneLB + `], "Endpoints": [` + oneEP + `]}`
	want := Dump{
		Networks:      []hns.HostComputeNetwork{{Id: "NET", Name: "cbr0", Type: "L2Bridge"}},
		LoadBalancers: []hns.HostComputeLoadBalancer{wantLB},
		Endpoints:     []hns.HostComputeEndpoint{wantEP},
	}
	tests := []struct {
		name string
		data []byte
		want Dump
		err  string // in the error; "" for none
	}{
		{name: "dump", data: []byte(full), want: want},
		{name: "UTF-8 BOM", data: append([]byte{0xEF, 0xBB, 0xBF}, full...), want: want},
		{name: "UTF-16LE", data: utf16Text(full, binary.LittleEndian, []byte{0xFF, 0xFE}), want: want},
		{name: "UTF-16BE", data: utf16Text(full, binary.BigEndian, []byte{0xFE, 0xFF}), want: want},
		{name: "lists as ConvertTo-Json writes them",
			data: []byte(`{"Networks": {"ID": "NET", "Name": "cbr0", "Type": "L2Bridge"}, "LoadBalancers": {"value": [` + oneLB + `], "Count": 1}, "Endpoints": ` + oneEP + `}`),
			want: want},
		{name: "the fake's reserved ports", data: []byte(`{"Networks": null, "LoadBalancers": [], "Endpoints": [], "ReservedPorts": [{"Protocol": 6, "Port": 10256}]}`),
			want: Dump{Networks: []hns.HostComputeNetwork{}, LoadBalancers: []hns.HostComputeLoadBalancer{}, Endpoints: []hns.HostComputeEndpoint{}}},
		{name: "empty", data: []byte(" \n"), err: "in.json: empty"},
		{name: "a list", data: []byte(`[` + oneLB + `]`), err: "in.json: a list, not an HNS dump"},
		{name: "one load balancer", data: []byte(oneLB), err: `unknown key`},
		{name: "missing key", data: []byte(`{"Networks": [], "LoadBalancers": []}`), err: `no key "Endpoints"`},
		{name: "two values", data: []byte(`{"Networks": [], "LoadBalancers": [], "Endpoints": []} {}`), err: "more than one JSON value: another starts at line 1, column 56"},
		{name: "syntax", data: []byte("{\n  \"Networks\": [,]}"), err: "invalid JSON at line 2, column 16"},
		{name: "cut short", data: []byte(`{"Networks": [`), err: "the text ends inside a value"},
		{name: "wrong type", data: []byte(`{"Networks": [], "LoadBalancers": [{"ID": "X", "PortMappings": [{"ExternalPort": "80"}]}], "Endpoints": []}`),
			err: "in.json: LoadBalancers[0] (ID X): PortMappings.ExternalPort: a JSON string, want a whole number from 0 to 65535"},
		{name: "negative port", data: []byte(`{"Networks": [], "LoadBalancers": [{"PortMappings": [{"InternalPort": -1}]}], "Endpoints": []}`),
			err: "LoadBalancers[0]: PortMappings.InternalPort: a JSON number -1, want a whole number from 0 to 65535"},
		{name: "a number for a string", data: []byte(`{"Networks": [], "LoadBalancers": [], "Endpoints": [{"ID": "E", "MacAddress": 5}]}`),
			err: "Endpoints[0] (ID E): MacAddress: a JSON number, want a string"},
		{name: "an object for a list", data: []byte(`{"Networks": [], "LoadBalancers": [{"FrontendVIPs": {}}], "Endpoints": []}`),
			err: "LoadBalancers[0]: FrontendVIPs: a JSON object, want a list"},
		{name: "a list for an object", data: []byte(`{"Networks": [{"SchemaVersion": []}], "LoadBalancers": [], "Endpoints": []}`),
			err: "Networks[0]: SchemaVersion: a JSON array, want an object"},
		{name: "not a list", data: []byte(`{"Networks": [], "LoadBalancers": 3, "Endpoints": []}`), err: "LoadBalancers: a number, want a list of objects"},
		{name: "not an object", data: []byte(`{"Networks": [], "LoadBalancers": [], "Endpoints": ["x"]}`), err: "Endpoints[0]: a string, want an object"},
		{name: "endpoint without ID", data: []byte(`{"Networks": [], "LoadBalancers": [], "Endpoints": [{"Name": "a"}]}`), err: "Endpoints[0]: ID: missing"},
		{name: "duplicate ID", data: []byte(`{"Networks": [], "LoadBalancers": [{"ID": "ab"}], "Endpoints": [{"ID": "AB"}]}`),
			err: "in.json: Endpoints[0]: ID AB: also the ID of in.json: LoadBalancers[0]"},
		{name: "v1 policy list", data: []byte(`{"Networks": [], "LoadBalancers": [{"ID": "P", "Policies": [{"Type": "ELB", "VIPs": ["10.96.0.10"]}], "References": ["/endpoints/a"]}], "Endpoints": []}`),
			err: "LoadBalancers[0] (ID P): an HNS v1 policy list"},
		{name: "v1 endpoint", data: []byte(`{"Networks": [], "LoadBalancers": [], "Endpoints": [{"ID": "E", "IPAddress": "10.0.0.1", "VirtualNetwork": "N", "IsRemoteEndpoint": true}]}`),
			err: "Endpoints[0] (ID E): an HNS v1 endpoint"},
		{name: "UTF-16 without BOM", data: utf16Text(full, binary.LittleEndian, nil), err: "a NUL byte at line 1, column 2"},
		{name: "UTF-16 cut", data: utf16Text(full, binary.LittleEndian, []byte{0xFF, 0xFE})[:9], err: "odd number of bytes"},
		{name: "lone surrogate", data: []byte{0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00}, err: "unpaired surrogate at offset 2"},
		{name: "latin-1", data: []byte("{\"Networks\": [\xe9]}"), err: "invalid UTF-8 at line 1, column 15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeDump(tt.data, "in.json")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, compactJSON); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPowerShellJSON(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		items int
		err   string
	}{
		{name: "empty file: no objects", text: "\r\n"},
		{name: "JSON only", text: "[\r\n    {\"ID\":  \"a\"},\r\n    {\"ID\":  \"b\"}\r\n]\r\n", items: 2},
		{name: "after a table", text: "\r\nIpAddress  MacAddress\r\n---------  ----------\r\n10.0.0.1   00-15-5D-00-00-01\r\n{10.0.0.2, fd00::2} 00-15-5D-00-00-02\r\n[\r\n  {\"ID\": \"a\"}\r\n]\r\n", items: 1},
		{name: "one object", text: "Name Type\r\n{\r\n  \"ID\": \"a\"\r\n}\r\n", items: 1},
		{name: "a table only", text: "IpAddress\r\n---------\r\n10.0.0.1\r\n", err: "no JSON found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := powerShellJSON(utf16Text(tt.text, binary.LittleEndian, []byte{0xFF, 0xFE}))
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one containing %q", err, tt.err)
				}
			case err != nil:
				t.Error(err)
			case len(items) != tt.items:
				t.Errorf("%d items, want %d", len(items), tt.items)
			}
		})
	}
}

func TestReadCollectlogs(t *testing.T) {
	write := func(dir, name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), utf16Text(text, binary.LittleEndian, []byte{0xFF, 0xFE}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := tempDir(t)
	write(dir, collectPolicies, oneLB)
	write(dir, collectEndpoints, "IpAddress\r\n---------\r\n10.244.3.3\r\n\r\n["+oneEP+"]")
	got, err := readHNS(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Dump{LoadBalancers: []hns.HostComputeLoadBalancer{wantLB}, Endpoints: []hns.HostComputeEndpoint{wantEP}, Networks: []hns.HostComputeNetwork{}}
	if diff := cmp.Diff(want, got, compactJSON); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}

	write(dir, collectNetworks, "garbage")
	if _, err := readHNS(dir, nil); err == nil || !strings.Contains(err.Error(), "network.txt: no JSON found") {
		t.Errorf("a bad network.txt: error %v", err)
	}
	os.Remove(filepath.Join(dir, collectNetworks))
	write(dir, collectEndpoints, `[{"ID": "0a"}]`)
	if _, err := readHNS(dir, nil); err == nil || !strings.Contains(err.Error(), "endpoint.txt[0]: ID 0a: also the ID of") {
		t.Errorf("an endpoint with a load balancer's ID: error %v", err)
	}
	os.Remove(filepath.Join(dir, collectEndpoints))
	if _, err := readHNS(dir, nil); err == nil || !strings.Contains(err.Error(), "holds collectlogs.ps1 output: policy.txt and endpoint.txt") {
		t.Errorf("no endpoint.txt: error %v", err)
	}
}
