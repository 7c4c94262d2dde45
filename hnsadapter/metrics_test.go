package hnsadapter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// recordingMetrics keeps what a Reconciler reports.
type recordingMetrics struct {
	mu    sync.Mutex
	calls map[hns.Op]map[string]int // op -> "ok"/"error" -> count
	took  []time.Duration
	syncs []hnsadapter.SyncStats
}

func (m *recordingMetrics) CallDone(op hns.Op, err error, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls[op] == nil {
		m.calls[op] = map[string]int{}
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.calls[op][outcome]++
	m.took = append(m.took, took)
}

func (m *recordingMetrics) SyncDone(s hnsadapter.SyncStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs = append(m.syncs, s)
}

// take returns what was reported since the last take, and forgets it.
func (m *recordingMetrics) take() (map[hns.Op]map[string]int, []time.Duration, []hnsadapter.SyncStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, t, s := m.calls, m.took, m.syncs
	m.calls, m.took, m.syncs = map[hns.Op]map[string]int{}, nil, nil
	return c, t, s
}

// callOutcomes is the fake's log of calls, as recordingMetrics counts them.
func callOutcomes(h *fake.HNS) map[hns.Op]map[string]int {
	out := map[hns.Op]map[string]int{}
	for _, c := range h.CallLog() {
		if out[c.Op] == nil {
			out[c.Op] = map[string]int{}
		}
		if c.Err != nil {
			out[c.Op]["error"]++
		} else {
			out[c.Op]["ok"]++
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	m := &recordingMetrics{calls: map[hns.Op]map[string]int{}}
	e := newEnv(t, "ws2022", withOptions(func(o *hnsadapter.Options) { o.Metrics = m }))
	ctx := context.Background()
	p := plan([]lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.2", "10.244.2.7"), svc("db", "10.96.0.11", "10.244.1.3")})
	if got := e.r.LastSuccess(); !got.IsZero() {
		t.Fatalf("LastSuccess before any sync = %v, want zero", got)
	}

	type step struct {
		name      string
		before    func()
		full      bool
		wantErr   bool
		inBackoff int
		success   bool // LastSuccess moves to the clock's time
	}
	steps := []step{{
		name: "first sync, one create fails", full: true, inBackoff: 1, success: true,
		before: func() {
			e.h.InjectFault(fake.Fault{Op: hns.OpCreateLoadBalancer, Code: hns.CodeInvalidParameter, Count: 1,
				Match: func(id string) bool { return id == "IPv4/10.96.0.11/TCP/80" }})
		},
	}, {
		name: "the list fails: no success", full: true, wantErr: true, inBackoff: 1,
		before: func() {
			e.clock.Advance(time.Second / 2) // within the create's backoff
			e.h.InjectFault(fake.Fault{Op: hns.OpListLoadBalancers, Count: 1})
		},
	}, {
		name: "after the backoff: all done", full: true, success: true,
		before: func() { e.clock.Advance(time.Hour) },
	}}
	var lastSuccess time.Time
	for _, st := range steps {
		st.before()
		e.h.ResetCalls()
		res, err := e.r.SyncChanges(ctx, p, &lbpolicy.Changes{})
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: err = %v", st.name, err)
		}
		calls, took, syncs := m.take()
		if d := cmp.Diff(callOutcomes(e.h), calls); d != "" {
			t.Errorf("%s: calls by op and outcome, fake's log (-) and Metrics (+):\n%s", st.name, d)
		}
		total := map[hns.Op]int{}
		for op, byOutcome := range calls {
			total[op] = byOutcome["ok"] + byOutcome["error"]
		}
		if d := cmp.Diff(res.Calls, total); d != "" {
			t.Errorf("%s: calls, Result.Calls (-) and Metrics (+):\n%s", st.name, d)
		}
		for _, d := range took {
			if d != 0 {
				t.Errorf("%s: a call took %v on a clock that did not move: not measured with Options.Now", st.name, d)
			}
		}
		if len(syncs) != 1 {
			t.Fatalf("%s: %d SyncDone calls, want 1", st.name, len(syncs))
		}
		s := syncs[0]
		if s.Full != st.full || (s.Err != nil) != st.wantErr || s.InBackoff != st.inBackoff || s.Took != 0 {
			t.Errorf("%s: SyncStats{Full %v, Err %v, InBackoff %d, Took %v}, want {%v, error %v, %d, 0}",
				st.name, s.Full, s.Err, s.InBackoff, s.Took, st.full, st.wantErr, st.inBackoff)
		}
		if s.Result == nil || s.Result.Full != res.Full || s.Result.Created != res.Created ||
			!cmp.Equal(s.Result.Calls, res.Calls) || len(s.Result.Errors) != len(res.Errors) {
			t.Errorf("%s: SyncStats.Result = %+v, want the Result returned, %+v", st.name, s.Result, res)
		} else {
			for i := range res.Errors {
				if s.Result.Errors[i] != res.Errors[i] {
					t.Errorf("%s: SyncStats.Result.Errors[%d] = %v, want %v", st.name, i, s.Result.Errors[i], res.Errors[i])
				}
			}
		}
		if st.success {
			lastSuccess = e.clock.Now()
		}
		if got := e.r.LastSuccess(); !got.Equal(lastSuccess) {
			t.Errorf("%s: LastSuccess = %v, want %v", st.name, got, lastSuccess)
		}
	}
}

// Without Options.Metrics nothing is reported, and LastSuccess still
// works.
func TestLastSuccessWithoutMetrics(t *testing.T) {
	e := newEnv(t, "latest")
	e.syncClean(plan([]lbpolicy.LoadBalancer{svc("web", "10.96.0.10", "10.244.1.2")}))
	if got, want := e.r.LastSuccess(), e.clock.Now(); !got.Equal(want) {
		t.Errorf("LastSuccess = %v, want %v", got, want)
	}
}
