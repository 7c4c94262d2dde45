package hnsadapter

import "time"

// backoff holds the retry state of the objects whose last HNS call failed,
// by object key ("lb <key>", "ep <ip>", ...). It is only touched by the
// goroutine running Sync.
type backoff struct {
	initial, max time.Duration
	entries      map[string]retry
}

type retry struct {
	failures  int
	notBefore time.Time
}

func newBackoff(initial, maxDelay time.Duration) backoff {
	return backoff{initial: initial, max: maxDelay, entries: map[string]retry{}}
}

// ready reports whether the object may be tried at now.
func (b *backoff) ready(key string, now time.Time) bool {
	e, ok := b.entries[key]
	return !ok || !now.Before(e.notBefore)
}

// failed records a failure at now: the next try waits initial·2^(n-1),
// at most max, after the n-th failure in a row.
func (b *backoff) failed(key string, now time.Time) {
	e := b.entries[key]
	e.failures++
	d := b.initial
	for i := 1; i < e.failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	e.notBefore = now.Add(d)
	b.entries[key] = e
}

// succeeded forgets the object's failures.
func (b *backoff) succeeded(key string) { delete(b.entries, key) }

// retain forgets every object not in keep: objects that no longer need a
// call start afresh if they ever need one again.
func (b *backoff) retain(keep map[string]struct{}) {
	for k := range b.entries {
		if _, ok := keep[k]; !ok {
			delete(b.entries, k)
		}
	}
}
