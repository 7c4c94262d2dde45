package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// metrics exports the Reconciler's measurements (hnsadapter.Metrics) to
// Prometheus, on a registry of its own.
type metrics struct {
	reg          *prometheus.Registry
	syncDuration *prometheus.HistogramVec
	syncs        *prometheus.CounterVec
	calls        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	inBackoff    prometheus.Gauge
	lastSuccess  prometheus.Gauge
}

var _ hnsadapter.Metrics = (*metrics)(nil)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hnslb_sync_duration_seconds",
			Help:    "Duration of the syncs that ran, full or of changes.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"full"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hnslb_syncs_total",
			Help: "Syncs by outcome: ok (no error; objects may still have failed), error, not_ready.",
		}, []string{"outcome"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hnslb_hns_calls_total",
			Help: "HNS calls by operation and outcome: ok, or the HNS error code (0x57, ...), or error when HNS gave none.",
		}, []string{"op", "outcome"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hnslb_hns_call_duration_seconds",
			Help:    "Duration of HNS calls by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"op"}),
		inBackoff: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hnslb_objects_in_backoff",
			Help: "HNS objects waiting in backoff after a failure, at the end of the last sync.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hnslb_last_successful_sync_timestamp_seconds",
			Help: "When the last sync that returned no error ended, in seconds since the epoch.",
		}),
	}
	m.reg.MustRegister(m.syncDuration, m.syncs, m.calls, m.callDuration, m.inBackoff, m.lastSuccess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SyncDone records one sync. One refused before the informers synced is
// counted by NotReady.
func (m *metrics) SyncDone(s hnsadapter.SyncStats) {
	switch {
	case s.Err != nil:
		m.syncs.WithLabelValues("error").Inc()
	default:
		m.syncs.WithLabelValues("ok").Inc()
		m.lastSuccess.Set(float64(time.Now().UnixNano()) / 1e9)
	}
	m.syncDuration.WithLabelValues(strconv.FormatBool(s.Full)).Observe(s.Took.Seconds())
	m.inBackoff.Set(float64(s.InBackoff))
}

// NotReady records a sync refused because the informers had not synced.
func (m *metrics) NotReady() { m.syncs.WithLabelValues("not_ready").Inc() }

// CallDone records one HNS call.
func (m *metrics) CallDone(op hns.Op, err error, took time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
		if c := hns.CodeOf(err); c != 0 {
			outcome = "0x" + strconv.FormatUint(uint64(c), 16)
		}
	}
	m.calls.WithLabelValues(string(op), outcome).Inc()
	m.callDuration.WithLabelValues(string(op)).Observe(took.Seconds())
}

// Handler serves the metrics.
func (m *metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
