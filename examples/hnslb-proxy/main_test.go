package main

import (
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hnslb/hnslb/hnsadapter"
)

func TestParseFlags(t *testing.T) {
	t.Setenv("NODE_NAME", "win-env")
	t.Setenv("KUBE_NETWORK", "")
	defaults := config{
		nodeName: "win-env", networkName: "cbr0", fakeNetworkType: "L2Bridge",
		healthzAddr: "0.0.0.0:10256", metricsAddr: "127.0.0.1:10249",
		minSyncPeriod: time.Second, syncPeriod: 30 * time.Second, burstSyncs: 2, fullSyncPeriod: 5 * time.Minute,
		node: hnsadapter.NodeOptions{HealthzPort: 10256},
	}
	tests := []struct {
		name    string
		args    []string
		want    func(c config) config
		wantErr bool
	}{{
		name: "defaults",
		want: func(c config) config { return c },
	}, {
		name: "fake HNS on Overlay",
		args: []string{"-fake-hns", "ws2022", "-fake-network-type", "Overlay", "-source-vip", "10.244.1.2,fd00::2",
			"-host-mac", "00-15-5D-00-00-01", "-node-name", "win-1", "-network-name", "vxlan0", "-healthz-bind-address", "127.0.0.1:20256"},
		want: func(c config) config {
			c.fakeProfile, c.fakeNetworkType, c.nodeName, c.networkName = "ws2022", "Overlay", "win-1", "vxlan0"
			c.healthzAddr = "127.0.0.1:20256"
			c.node = hnsadapter.NodeOptions{SourceVIPs: []string{"10.244.1.2", "fd00::2"}, HostMAC: "00-15-5D-00-00-01", HealthzPort: 20256}
			return c
		},
	}, {
		name:    "arguments are refused",
		args:    []string{"extra"},
		wantErr: true,
	}, {
		name:    "an empty node name is refused",
		args:    []string{"-node-name", ""},
		wantErr: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want(defaults), got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
