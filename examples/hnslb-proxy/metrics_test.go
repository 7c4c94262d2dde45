package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hnslb/hnslb/examples/hnslb-proxy/internal/runner"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// TestMetricsAndDebug runs one sync against the fake HNS with one call
// failing, then reads /metrics and /debug/hns as a scraper would.
func TestMetricsAndDebug(t *testing.T) {
	c := newCluster(t, allKinds()...)
	ctx := context.Background()
	p := c.newTestProxy(ctx)
	p.sync(ctx, runner.Triggered) // before the informers synced
	r := c.start(p)
	c.converge("start")
	waitFor(t, "a successful sync", func() bool { return !p.rec.LastSuccess().IsZero() })

	for _, tc := range []struct {
		name string
		got  float64
		want func(float64) bool
	}{
		{"syncs not ready", testutil.ToFloat64(p.metrics.syncs.WithLabelValues("not_ready")), func(v float64) bool { return v == 1 }},
		{"syncs ok", testutil.ToFloat64(p.metrics.syncs.WithLabelValues("ok")), func(v float64) bool { return v >= 1 }},
		{"creates ok", testutil.ToFloat64(p.metrics.calls.WithLabelValues(string(hns.OpCreateLoadBalancer), "ok")), func(v float64) bool { return v == float64(len(c.h.LoadBalancers())) }},
		{"last success", testutil.ToFloat64(p.metrics.lastSuccess), func(v float64) bool { return v > 0 }},
		{"in backoff", testutil.ToFloat64(p.metrics.inBackoff), func(v float64) bool { return v == 0 }},
	} {
		if !tc.want(tc.got) {
			t.Errorf("%s: %v", tc.name, tc.got)
		}
	}

	// A failing HNS call is counted by its code.
	r.stop()
	c.h.InjectFault(fake.Fault{Op: hns.OpListLoadBalancers, Code: hns.CodeInvalidParameter, Count: 1})
	plan := c.plan()
	if _, err := p.rec.Sync(ctx, &plan); err == nil {
		t.Fatal("the injected fault did not fail the sync")
	}
	if got := testutil.ToFloat64(p.metrics.calls.WithLabelValues(string(hns.OpListLoadBalancers), "0x57")); got != 1 {
		t.Errorf("failed lists counted: %v, want 1", got)
	}

	srv := httptest.NewServer(p.debugHandler())
	defer srv.Close()
	body := get(t, srv.URL+"/metrics")
	for _, name := range []string{"hnslb_sync_duration_seconds_bucket", "hnslb_hns_calls_total", "hnslb_objects_in_backoff",
		"hnslb_last_successful_sync_timestamp_seconds", "hnslb_syncs_total", "go_goroutines"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	dump := get(t, srv.URL+"/debug/hns")
	var state fake.State
	if err := json.Unmarshal([]byte(dump), &state); err != nil {
		t.Fatalf("/debug/hns: %v", err)
	}
	if _, err := fake.Load(c.h.Profile(), []byte(dump)); err != nil {
		t.Errorf("/debug/hns does not load back: %v", err)
	}
	if len(state.LoadBalancers) != len(c.h.LoadBalancers()) {
		t.Errorf("/debug/hns: %d load balancers, want %d", len(state.LoadBalancers), len(c.h.LoadBalancers()))
	}
	if text := get(t, srv.URL+"/debug/hns?format=text"); text != c.h.Dump() {
		t.Errorf("/debug/hns?format=text is not the fake's Dump")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
