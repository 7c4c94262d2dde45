package hns

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRemoteSubnetRoutes(t *testing.T) {
	rsr := func(s string) NetworkPolicy {
		return NetworkPolicy{Type: NetworkPolicyRemoteSubnetRoute, Settings: json.RawMessage(s)}
	}
	tests := []struct {
		name    string
		n       *HostComputeNetwork
		want    []RemoteSubnetRoutePolicySetting
		wantErr string
	}{
		{name: "nil network"},
		{name: "no policies", n: &HostComputeNetwork{Name: "cbr0", Type: "L2Bridge"}},
		{
			name: "only RemoteSubnetRoute policies, in order",
			n: &HostComputeNetwork{Name: "vxlan0", Type: "Overlay", Policies: []NetworkPolicy{
				rsr(`{"DestinationPrefix":"10.244.3.0/24","IsolationId":4096,"ProviderAddress":"192.0.2.13","DistributedRouterMacAddress":"00-15-5d-aa-bb-03"}`),
				{Type: "ProviderAddress", Settings: json.RawMessage(`{"ProviderAddress":"192.0.2.11"}`)},
				rsr(`{"DestinationPrefix":"10.244.2.0/24","ProviderAddress":"192.0.2.12"}`),
			}},
			want: []RemoteSubnetRoutePolicySetting{
				{DestinationPrefix: "10.244.3.0/24", IsolationId: 4096, ProviderAddress: "192.0.2.13", DistributedRouterMacAddress: "00-15-5d-aa-bb-03"},
				{DestinationPrefix: "10.244.2.0/24", ProviderAddress: "192.0.2.12"},
			},
		},
		{
			name: "settings that are not the setting",
			n: &HostComputeNetwork{Name: "vxlan0", Policies: []NetworkPolicy{
				rsr(`{"DestinationPrefix":"10.244.2.0/24","ProviderAddress":"192.0.2.12"}`), rsr(`[1]`),
			}},
			wantErr: `hns: network "vxlan0": Policies[1] (RemoteSubnetRoute): `,
		},
		{
			name:    "no settings",
			n:       &HostComputeNetwork{Name: "vxlan0", Policies: []NetworkPolicy{{Type: NetworkPolicyRemoteSubnetRoute}}},
			wantErr: `hns: network "vxlan0": Policies[0] (RemoteSubnetRoute): `,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.n.RemoteSubnetRoutes()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// A network reads from HNS's JSON with its policies and address spaces.
func TestHostComputeNetworkJSON(t *testing.T) {
	const in = `{"ID":"6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D","Name":"vxlan0","Type":"Overlay",` +
		`"Policies":[{"Type":"RemoteSubnetRoute","Settings":{"DestinationPrefix":"10.244.2.0/24","ProviderAddress":"192.0.2.12"}}],` +
		`"MacPool":{"Ranges":[{"StartMacAddress":"00-15-5D-00-00-00","EndMacAddress":"00-15-5D-FF-FF-FF"}]},` +
		`"Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"10.244.1.0/24","Routes":[{"NextHop":"10.244.1.1","DestinationPrefix":"0.0.0.0/0"}]}]}],` +
		`"SchemaVersion":{"Major":2,"Minor":0}}`
	var got HostComputeNetwork
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := HostComputeNetwork{
		Id: "6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D", Name: "vxlan0", Type: "Overlay",
		Policies: []NetworkPolicy{{Type: NetworkPolicyRemoteSubnetRoute,
			Settings: json.RawMessage(`{"DestinationPrefix":"10.244.2.0/24","ProviderAddress":"192.0.2.12"}`)}},
		Ipams: []Ipam{{Type: "Static", Subnets: []Subnet{{IpAddressPrefix: "10.244.1.0/24",
			Routes: []Route{{NextHop: "10.244.1.1", DestinationPrefix: "0.0.0.0/0"}}}}}},
		SchemaVersion: V2SchemaVersion(),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
