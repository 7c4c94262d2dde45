package runner

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a Clock whose time moves only by Advance. Each timer it
// makes is announced on events ("wait 10s"), so that a test knows the loop
// is waiting, and for how long, before it moves time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	active []*fakeTimer
	events chan string
}

type fakeTimer struct {
	at      time.Time
	c       chan time.Time
	stopped bool
	clock   *fakeClock
}

func newFakeClock(events chan string) *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), events: events}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1), clock: c}
	c.active = append(c.active, t)
	c.mu.Unlock()
	c.events <- fmt.Sprintf("wait %v", d)
	return t
}

// Advance moves time by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.active[:0]
	for _, t := range c.active {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.c <- c.now
		default:
			keep = append(keep, t)
		}
	}
	c.active = keep
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := t.stopped
	t.stopped = true
	return !was
}

// harness runs a Runner's Loop and reports on one channel, in order, what
// it does: each run ("run triggered") and each wait ("wait 10s").
type harness struct {
	t      *testing.T
	clock  *fakeClock
	r      *Runner
	events chan string
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, events: make(chan string, 100)}
	h.clock = newFakeClock(h.events)
	cfg.Clock = h.clock
	h.r = New(func(_ context.Context, why Reason) { h.events <- "run " + why.String() }, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.r.Loop(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Loop did not return after its context ended")
		}
	})
	return h
}

// next returns the loop's next action. The bound only catches a hung loop.
func (h *harness) next() string {
	h.t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(10 * time.Second):
		h.t.Fatal("the loop neither ran nor waited")
		return ""
	}
}

func TestLoop(t *testing.T) {
	type step struct {
		trigger bool          // call Trigger
		advance time.Duration // move the clock (fires due timers)
		want    []string      // the loop's next actions
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{{
		name: "burst of two, then one per MinInterval, then periodic",
		cfg:  Config{MinInterval: 10 * time.Second, MaxInterval: time.Minute, Burst: 2},
		steps: []step{
			{want: []string{"wait 1m0s"}},
			{trigger: true, want: []string{"run triggered", "wait 1m0s"}},
			{trigger: true, want: []string{"run triggered", "wait 1m0s"}},
			// The bucket is empty: a trigger waits for the next token.
			{trigger: true, want: []string{"wait 10s"}},
			{advance: 4 * time.Second, want: nil},
			{advance: 6 * time.Second, want: []string{"run triggered", "wait 1m0s"}},
			// Nothing asks: the periodic run comes MaxInterval after the last.
			{advance: time.Minute, want: []string{"run periodic", "wait 1m0s"}},
		},
	}, {
		name: "no periodic run without MaxInterval; no limit without MinInterval",
		cfg:  Config{},
		steps: []step{
			{trigger: true, want: []string{"run triggered"}},
			{trigger: true, want: []string{"run triggered"}},
			{trigger: true, want: []string{"run triggered"}},
		},
	}, {
		name: "the periodic run waits for a token too",
		cfg:  Config{MinInterval: 30 * time.Second, MaxInterval: 20 * time.Second, Burst: 1},
		steps: []step{
			{want: []string{"wait 20s"}},
			{trigger: true, want: []string{"run triggered", "wait 20s"}},
			{advance: 20 * time.Second, want: []string{"wait 10s"}},
			{advance: 10 * time.Second, want: []string{"run periodic", "wait 20s"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.cfg)
			for i, s := range tt.steps {
				if s.trigger {
					h.r.Trigger()
				}
				if s.advance > 0 {
					h.clock.Advance(s.advance)
				}
				var got []string
				for range s.want {
					got = append(got, h.next())
				}
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Fatalf("step %d: actions (-want +got):\n%s", i, diff)
				}
			}
			h.nothingMore()
		})
	}
}

func TestTriggersCoalesce(t *testing.T) {
	h := start(t, Config{MinInterval: time.Second, Burst: 1})
	h.r.Trigger()
	if got := h.next(); got != "run triggered" {
		t.Fatalf("got %q, want the first run", got)
	}
	// The bucket is empty: these wait together for one token.
	for range 5 {
		h.r.Trigger()
	}
	if got := h.next(); got != "wait 1s" {
		t.Fatalf("got %q, want a wait for the token", got)
	}
	h.clock.Advance(time.Second)
	if got := h.next(); got != "run triggered" {
		t.Fatalf("got %q, want one run for five triggers", got)
	}
	h.nothingMore()
}

// nothingMore fails if the loop did more than the test expected.
func (h *harness) nothingMore() {
	h.t.Helper()
	select {
	case e := <-h.events:
		h.t.Errorf("unexpected %q", e)
	default:
	}
}

func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(3, 10*time.Second)
	var got []time.Duration
	for _, at := range []time.Duration{0, 0, 0, 0, 3 * time.Second, 10 * time.Second, 10 * time.Second, 100 * time.Second, 100 * time.Second, 100 * time.Second, 100 * time.Second} {
		got = append(got, b.take(t0.Add(at)))
	}
	want := []time.Duration{0, 0, 0, 10 * time.Second, 7 * time.Second, 0, 10 * time.Second, 0, 0, 0, 10 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}
