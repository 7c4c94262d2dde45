package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestHealthz(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const timeout = time.Minute // twice a 30s sync period
	type want struct {
		Code int
		Body map[string]any
	}
	healthy := func(now time.Time) want {
		return want{http.StatusOK, map[string]any{"lastUpdated": timeString(now), "currentTime": timeString(now), "nodeEligible": true}}
	}
	// A node being deleted fails /healthz whatever the proxy's state; the
	// answer then shows the last successful sync, as any 503 does.
	ineligible := func(now, last time.Time) want {
		return want{http.StatusServiceUnavailable, map[string]any{"lastUpdated": timeString(last), "currentTime": timeString(now), "nodeEligible": false}}
	}
	tests := []struct {
		name string
		// steps run on the health state and the clock before the request
		steps func(h *proxyHealth, c *testClock, lastSuccess *time.Time)
		want  func(now time.Time, lastSuccess time.Time) want
	}{{
		name:  "starting: healthy",
		steps: func(*proxyHealth, *testClock, *time.Time) {},
		want:  func(now, _ time.Time) want { return healthy(now) },
	}, {
		name: "a change waiting less than the timeout: healthy",
		steps: func(h *proxyHealth, c *testClock, _ *time.Time) {
			h.Queued()
			c.Advance(timeout - time.Second)
		},
		want: func(now, _ time.Time) want { return healthy(now) },
	}, {
		name: "a change waiting for the timeout: stale, 503 with the last successful sync",
		steps: func(h *proxyHealth, c *testClock, last *time.Time) {
			*last = c.Now()
			h.Synced(c.Now())
			c.Advance(time.Second)
			h.Queued()
			c.Advance(timeout)
		},
		want: func(now, last time.Time) want {
			return want{http.StatusServiceUnavailable, map[string]any{"lastUpdated": timeString(last), "currentTime": timeString(now), "nodeEligible": true}}
		},
	}, {
		name: "idle long after the last sync: healthy, as kube-proxy",
		steps: func(h *proxyHealth, c *testClock, _ *time.Time) {
			h.Queued()
			h.Synced(c.Now().Add(time.Millisecond))
			c.Advance(time.Hour)
		},
		want: func(now, _ time.Time) want { return healthy(now) },
	}, {
		name: "a change queued during a successful sync stays pending from the sync's start",
		steps: func(h *proxyHealth, c *testClock, _ *time.Time) {
			start := c.Now()
			c.Advance(time.Second)
			h.Queued()
			h.Synced(start)
			c.Advance(timeout - time.Second)
		},
		want: func(now, _ time.Time) want {
			return want{http.StatusServiceUnavailable, map[string]any{"lastUpdated": timeString(time.Time{}), "currentTime": timeString(now), "nodeEligible": true}}
		},
	}, {
		name: "node marked for deletion by the autoscaler: 503, not eligible",
		steps: func(h *proxyHealth, _ *testClock, _ *time.Time) {
			h.SetNode(&corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: toBeDeletedTaint}}}})
		},
		want: ineligible,
	}, {
		name: "node being deleted: 503, not eligible",
		steps: func(h *proxyHealth, c *testClock, last *time.Time) {
			*last = c.Now().Add(-time.Second)
			h.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &metav1.Time{}}})
		},
		want: ineligible,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &testClock{now: t0}
			var last time.Time
			h := newProxyHealth(c.Now, timeout, func() time.Time { return last })
			tt.steps(h, c, &last)
			srv := httptest.NewServer(h.Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := want{Code: resp.StatusCode}
			if err := json.NewDecoder(resp.Body).Decode(&got.Body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(c.Now(), last), got); diff != "" {
				t.Errorf("/healthz (-want +got):\n%s", diff)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestLivezIgnoresTheNode(t *testing.T) {
	c := &testClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	h := newProxyHealth(c.Now, time.Minute, func() time.Time { return time.Time{} })
	h.SetNode(nil) // deleted
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"lastUpdated": timeString(c.Now()), "currentTime": timeString(c.Now())}
	if rec.Code != http.StatusOK || !cmp.Equal(want, body) {
		t.Errorf("/livez: %d %v, want 200 %v", rec.Code, body, want)
	}
}
