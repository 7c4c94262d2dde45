package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// toBeDeletedTaint is the taint the cluster autoscaler puts on a node it
// is about to remove: kube-proxy's /healthz then fails, so that load
// balancers drain the node first.
const toBeDeletedTaint = "ToBeDeletedByClusterAutoscaler"

// proxyHealth answers /healthz and /livez as kube-proxy does: healthy
// while no change has waited longer than timeout for a successful sync
// (so while starting, and while idle, however long ago the last sync
// was); /healthz also fails while the node is being deleted.
type proxyHealth struct {
	now         func() time.Time
	timeout     time.Duration    // kube-proxy: twice the sync period
	lastSuccess func() time.Time // end of the last successful sync

	mu           sync.Mutex
	pendingSince time.Time // oldest change not yet synced; zero if none
	lastQueued   time.Time // newest change
	eligible     bool      // the node is not being deleted
}

func newProxyHealth(now func() time.Time, timeout time.Duration, lastSuccess func() time.Time) *proxyHealth {
	return &proxyHealth{now: now, timeout: timeout, lastSuccess: lastSuccess, eligible: true}
}

// Queued records a change that a sync must apply.
func (h *proxyHealth) Queued() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if h.pendingSince.IsZero() {
		h.pendingSince = now
	}
	h.lastQueued = now
}

// Synced records a successful sync that started at start: the changes
// queued before it are applied; one queued since is pending from start on.
func (h *proxyHealth) Synced(start time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastQueued.Before(start) {
		h.pendingSince = time.Time{}
	} else if !h.pendingSince.IsZero() {
		h.pendingSince = start
	}
}

// SetNode records whether node is being deleted (nil: it was deleted).
func (h *proxyHealth) SetNode(node *corev1.Node) {
	eligible := node != nil && node.DeletionTimestamp == nil
	for i := 0; eligible && i < len(node.Spec.Taints); i++ {
		eligible = node.Spec.Taints[i].Key != toBeDeletedTaint
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.eligible = eligible
}

// Healthy reports the proxy's health, the node's state aside.
func (h *proxyHealth) Healthy() bool {
	ok, _, _ := h.state()
	return ok
}

func (h *proxyHealth) state() (healthy, eligible bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now = h.now()
	healthy = h.pendingSince.IsZero() || now.Sub(h.pendingSince) < h.timeout
	return healthy, h.eligible, now
}

// healthzBody is kube-proxy's /healthz answer (/livez without nodeEligible).
type healthzBody struct {
	LastUpdated  string `json:"lastUpdated"`
	CurrentTime  string `json:"currentTime"`
	NodeEligible *bool  `json:"nodeEligible,omitempty"`
}

// Handler serves /healthz and /livez.
func (h *proxyHealth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { h.serve(w, true) })
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { h.serve(w, false) })
	return mux
}

func (h *proxyHealth) serve(w http.ResponseWriter, withNode bool) {
	healthy, eligible, now := h.state()
	body := healthzBody{CurrentTime: timeString(now)}
	if withNode {
		healthy = healthy && eligible
		body.NodeEligible = &eligible
	}
	// As kube-proxy: a healthy proxy reports lastUpdated as now, for
	// clients of its older releases that compared the two.
	last := now
	if !healthy {
		last = h.lastSuccess()
	}
	body.LastUpdated = timeString(last)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if healthy {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}

// timeString formats t as kube-proxy's answers do (time.Time's String),
// without the monotonic clock reading.
func timeString(t time.Time) string { return t.Round(0).String() }
