package hnsadapter

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

func TestBackoffDoublesToMax(t *testing.T) {
	b := newObjectTable(time.Second, 5*time.Second)
	x, y := keyLBDelete("x"), keyLBDelete("y")
	e := &ObjectError{Object: "LoadBalancer x", Op: hns.OpDeleteLoadBalancer, Err: errors.New("refused")}
	ready := func(k objectKey, now time.Time) bool {
		ok, _ := b.due(k, now)
		return ok
	}
	t0 := time.Unix(0, 0)
	var delays []time.Duration
	now := t0
	for range 5 {
		next := b.failed(x, now, e).calls.notBefore
		delays = append(delays, next.Sub(now))
		assert.False(t, ready(x, next.Add(-time.Nanosecond)))
		assert.True(t, ready(x, next))
		now = next
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, delays)
	b.succeeded(x)
	assert.True(t, ready(x, t0))
	b.failed(y, t0, e)
	b.begin() // a sync that does not look at y
	b.retainSeen()
	assert.True(t, ready(y, t0))
	assert.Empty(t, b.m, "no record is left for objects with nothing to remember")
}

// One record per object: a load balancer's call retries, endpoint lookups,
// dirty mark and unsure creates are kept, and forgotten, independently, and the
// record goes with the last of them.
func TestObjectRecord(t *testing.T) {
	b := newObjectTable(time.Second, time.Minute)
	key := lbpolicy.Key{Family: lbpolicy.IPv4, VIP: netip.MustParseAddr("10.96.0.10"), Protocol: lbpolicy.ProtocolTCP, Port: 80}
	k := keyLB(key)
	e := &ObjectError{Object: "LoadBalancer " + key.String(), Op: hns.OpCreateLoadBalancer, Err: errors.New("refused")}
	t0 := time.Unix(0, 0)

	st := b.failed(k, t0, e)
	assert.Equal(t, 1, st.calls.failures)
	assert.Equal(t, *e, st.err)
	b.lookupMissed(k, t0, false)
	b.markDirty(k)
	sent := &hns.HostComputeLoadBalancer{FrontendVIPs: []string{"10.96.0.10"}}
	b.unsure(k, sent, nil)
	assert.Len(t, b.m, 1, "one record")
	assert.False(t, b.lookupDue(k, t0))
	assert.True(t, b.lookupDue(k, t0.Add(time.Second)))

	// A lookup not yet due, for an unchanged load balancer, does not
	// lengthen the wait; one for a changed load balancer does.
	b.lookupMissed(k, t0, false)
	assert.Equal(t, 1, st.lookups.failures)
	b.lookupMissed(k, t0, true)
	assert.Equal(t, 2, st.lookups.failures)

	assert.Equal(t, []objectKey{k}, b.begin(), "dirty, for the next sync of changes")
	assert.Empty(t, b.begin(), "unmarked")
	lbs, _ := b.peekUnsure()
	assert.Equal(t, []*hns.HostComputeLoadBalancer{sent}, lbs, "kept")
	assert.Equal(t, []unsureCreates{{key: k, lbs: []*hns.HostComputeLoadBalancer{sent}}}, b.takeUnsure())
	assert.Empty(t, b.takeUnsure())

	b.succeeded(k)
	assert.Zero(t, st.calls)
	assert.Equal(t, 2, st.lookups.failures, "lookups are kept")
	b.lookupFound(k)
	assert.Empty(t, b.m)

	// A full sync forgets the retries of what it did not look at.
	b.failed(k, t0, e)
	b.lookupMissed(k, t0, true)
	b.begin()
	b.lookupMissed(k, t0, false) // looked at: kept
	b.retainSeen()
	assert.Zero(t, b.m[k].calls)
	assert.Equal(t, 1, b.m[k].lookups.failures)
}
