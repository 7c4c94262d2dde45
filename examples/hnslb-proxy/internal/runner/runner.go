// Package runner runs a function when asked, at a bounded frequency: as
// soon as possible after Trigger, but never more often than a token bucket
// of Burst runs refilled one per MinInterval allows, and at least once per
// MaxInterval even when nobody asks (the periodic run). It is the shape of
// kube-proxy's bounded-frequency runner, written for a proxy's sync loop.
//
// Time comes from a Clock, so tests drive the runner without sleeping.
// The package never runs the function concurrently with itself and starts
// no goroutine of its own: Loop runs on the caller's.
package runner

import (
	"context"
	"time"
)

// Clock is what the runner needs of time. RealClock is the wall clock.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	C() <-chan time.Time
	// Stop stops the timer; it reports whether that prevented a firing.
	Stop() bool
}

// RealClock is the Clock of package time.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Config bounds how often a Runner runs.
type Config struct {
	// MinInterval is the refill period of the burst tokens: once Burst
	// runs were made back to back, runs are at least MinInterval apart.
	// 0 means no limit.
	MinInterval time.Duration
	// MaxInterval is the longest time between the end of one run and the
	// start of the next: the periodic run. 0 means no periodic run.
	MaxInterval time.Duration
	// Burst is how many runs may follow each other without waiting for
	// MinInterval. Values below 1 mean 1.
	Burst int
	// Clock measures time. Default RealClock.
	Clock Clock
}

// Reason says why a run happened.
type Reason int

// The reasons a Runner runs its function.
const (
	// Triggered: Trigger was called since the previous run.
	Triggered Reason = iota + 1
	// Periodic: MaxInterval passed without a triggered run.
	Periodic
)

func (r Reason) String() string {
	switch r {
	case Triggered:
		return "triggered"
	case Periodic:
		return "periodic"
	}
	return "unknown"
}

// Runner runs one function at a bounded frequency. Create one with New;
// Trigger may be called from any goroutine, Loop from one.
type Runner struct {
	fn      func(context.Context, Reason)
	cfg     Config
	trigger chan struct{}
	bucket  bucket
}

// New returns a Runner of fn. fn runs on Loop's goroutine, never twice at
// once; it should return when ctx ends.
func New(fn func(context.Context, Reason), cfg Config) *Runner {
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	return &Runner{
		fn:      fn,
		cfg:     cfg,
		trigger: make(chan struct{}, 1),
		bucket:  newBucket(cfg.Burst, cfg.MinInterval),
	}
}

// Trigger asks for a run as soon as the bounds allow. It never blocks;
// triggers that arrive before the run starts make one run.
func (r *Runner) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Loop runs fn as Trigger and the periodic interval ask, until ctx ends.
// The first periodic run is MaxInterval after Loop starts.
func (r *Runner) Loop(ctx context.Context) {
	clock := r.cfg.Clock
	lastRun := clock.Now()
	pending := false
	for ctx.Err() == nil {
		select {
		case <-r.trigger:
			pending = true
		default:
		}
		now := clock.Now()
		periodic := r.cfg.MaxInterval > 0 && !now.Before(lastRun.Add(r.cfg.MaxInterval))
		if pending || periodic {
			if wait := r.bucket.take(now); wait == 0 {
				reason := Periodic
				if pending {
					reason = Triggered
				}
				pending = false
				r.fn(ctx, reason)
				lastRun = clock.Now()
				continue
			}
		}
		r.wait(ctx, r.nextWake(now, lastRun, pending), &pending)
	}
}

// nextWake returns how long to wait for the next run, or -1 for "until
// triggered". A run that is due (pending, or the periodic one) waits only
// for its token.
func (r *Runner) nextWake(now, lastRun time.Time, pending bool) time.Duration {
	periodic := time.Duration(-1)
	if r.cfg.MaxInterval > 0 {
		periodic = max(lastRun.Add(r.cfg.MaxInterval).Sub(now), 0)
	}
	if pending || periodic == 0 {
		return r.bucket.until(now)
	}
	return periodic
}

// wait blocks until the wake time d (negative: none), a trigger or the end
// of ctx.
func (r *Runner) wait(ctx context.Context, d time.Duration, pending *bool) {
	var fire <-chan time.Time
	if d >= 0 {
		t := r.cfg.Clock.NewTimer(d)
		defer t.Stop()
		fire = t.C()
	}
	select {
	case <-ctx.Done():
	case <-r.trigger:
		*pending = true
	case <-fire:
	}
}

// bucket is a token bucket of size tokens, one more every refill. It
// counts credit in time, not in fractions of tokens, so that waiting the
// time until returns always yields a whole token.
type bucket struct {
	refill time.Duration
	max    time.Duration // size tokens' worth of credit
	credit time.Duration
	at     time.Time // when credit was last brought up to date
}

func newBucket(size int, refill time.Duration) bucket {
	full := time.Duration(size) * refill
	return bucket{refill: refill, max: full, credit: full}
}

// take takes a token and returns 0, or returns how long until one is there.
func (b *bucket) take(now time.Time) time.Duration {
	if wait := b.until(now); wait > 0 {
		return wait
	}
	b.credit -= b.refill
	return 0
}

// until returns how long until a token is there (0: now).
func (b *bucket) until(now time.Time) time.Duration {
	if !b.at.IsZero() && now.After(b.at) {
		b.credit = min(b.max, b.credit+now.Sub(b.at))
	}
	if b.at.IsZero() || now.After(b.at) {
		b.at = now
	}
	return max(b.refill-b.credit, 0)
}
