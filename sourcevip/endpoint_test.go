package sourcevip_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/sourcevip"
)

func TestEndpointJSON(t *testing.T) {
	tests := []struct {
		name string
		ep   sourcevip.Endpoint
		json string
	}{{
		name: "Overlay remote endpoint",
		ep:   sourcevip.Endpoint{IP: a("10.244.2.7"), Remote: true, MACAddress: "02-11-0a-f4-02-07", ProviderAddress: a("10.0.0.3")},
		json: `{"ip":"10.244.2.7","remote":true,"macAddress":"02-11-0a-f4-02-07","providerAddress":"10.0.0.3"}`,
	}, {
		name: "L2Bridge remote endpoint: empty provider address",
		ep:   sourcevip.Endpoint{IP: a("10.244.2.7"), Remote: true, MACAddress: "02-11-0a-f4-02-07"},
		json: `{"ip":"10.244.2.7","remote":true,"macAddress":"02-11-0a-f4-02-07","providerAddress":""}`,
	}, {
		name: "source-VIP endpoint",
		ep:   sourcevip.Endpoint{IP: a("10.244.0.2"), MACAddress: hostMAC},
		json: `{"ip":"10.244.0.2","remote":false,"macAddress":"00-15-5d-01-02-03","providerAddress":""}`,
	}, {
		name: "IPv6",
		ep:   sourcevip.Endpoint{IP: a("fd00:244:1::5"), Remote: true, MACAddress: "02-11-05-00-00-00", ProviderAddress: a("fd00::3")},
		json: `{"ip":"fd00:244:1::5","remote":true,"macAddress":"02-11-05-00-00-00","providerAddress":"fd00::3"}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.ep)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if got := string(b); got != tt.json {
				t.Errorf("Marshal:\n got %s\nwant %s", got, tt.json)
			}
			var back sourcevip.Endpoint
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if diff := cmp.Diff(tt.ep, back, equateNetip); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpointJSONRejectsBadAddress(t *testing.T) {
	var ep sourcevip.Endpoint
	err := json.Unmarshal([]byte(`{"ip":"10.244.2.300","remote":true}`), &ep)
	if err == nil {
		t.Errorf("Unmarshal of a bad IP succeeded: %+v", ep)
	}
}
