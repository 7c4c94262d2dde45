package hnsadapter

import (
	"time"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Metrics receives what a Reconciler measures, for a metrics library of
// the caller's choice (Prometheus, OpenTelemetry, expvar): hnsadapter
// imports none. Set it in Options.Metrics. Its methods are called from
// the goroutines making HNS calls, several at once (Options.Concurrency):
// an implementation must be safe for concurrent use, and quick, as a
// sync waits for it.
type Metrics interface {
	// SyncDone is called at the end of every sync (Sync, SyncChanges,
	// SyncSnapshot), on the goroutine that called it, before it returns.
	// A Snapshot SyncSnapshot refuses before any HNS call (ErrNotReady,
	// another network) is not a sync: it is not reported.
	SyncDone(SyncStats)
	// CallDone is called after every HNS call a sync makes, failed ones
	// included: op is the Client operation, err what it returned (nil on
	// success; match with the hns.Is* predicates), took its duration
	// measured with Options.Now. The calls a sync reports match its
	// Result.Calls.
	CallDone(op hns.Op, err error, took time.Duration)
}

// SyncStats is what one sync did, for Metrics.SyncDone.
type SyncStats struct {
	// Full is true for a full sync (Result.Full).
	Full bool
	// Took is how long the sync took, measured with Options.Now.
	Took time.Duration
	// Result is what the sync returned. It is the caller's too: read it,
	// do not keep or change it.
	Result *Result
	// Err is the error the sync returned: nil when it ran to its end,
	// whatever its per-object failures (Result.Errors).
	Err error
	// InBackoff counts the objects waiting in backoff after failed calls
	// when the sync ended: no sync tries them before their
	// ObjectError.RetryAt.
	InBackoff int
}

// LastSuccess returns when the last sync that returned no error ended
// (measured with Options.Now), or the zero time if none has. A sync with
// per-object failures (Result.Errors) counts as a success: it ran to its
// end. It does not wait for a sync that is running, so a health check can
// call it at any time: kube-proxy's /healthz, for one, reports unhealthy
// when the last successful sync is older than it should be.
func (r *Reconciler) LastSuccess() time.Time {
	if t := r.lastSuccess.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// syncDone records the end of sync s, which returns err: the last
// success, and Options.Metrics.
func (r *Reconciler) syncDone(s *syncRun, err error) {
	end := r.opts.Now()
	if err == nil {
		r.lastSuccess.Store(&end)
	}
	if r.opts.Metrics == nil {
		return
	}
	res := s.res
	r.opts.Metrics.SyncDone(SyncStats{
		Full: res.Full, Took: end.Sub(s.now), Result: &res, Err: err,
		InBackoff: r.objects.inBackoff(end),
	})
}

// inBackoff counts the objects whose calls may not be made at now.
func (t *objectTable) inBackoff(now time.Time) int {
	n := 0
	for _, st := range t.m {
		if st.calls.failures > 0 && !st.calls.ready(now) {
			n++
		}
	}
	return n
}
