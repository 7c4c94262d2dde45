package hnsadapter

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// calls wraps the Client for one sync: it counts every call by operation,
// logs it at V(2) and reports it to Options.Metrics. Safe for concurrent
// use.
type calls struct {
	b       hns.Client
	log     logr.Logger
	now     func() time.Time
	metrics Metrics // nil: none

	mu     sync.Mutex
	counts [numOps]int // by callOps index
}

// callOps are the Client's operations, in the order of calls.counts.
var callOps = hns.Ops()

// numOps is len(hns.Ops()), as a constant for the counts' array
// (TestCallOps).
const numOps = 10

func newCalls(b hns.Client, log logr.Logger, now func() time.Time, metrics Metrics) *calls {
	return &calls{b: b, log: log, now: now, metrics: metrics}
}

// done counts and logs a call. What it logs besides the operation, its
// duration and error is typed, not a list of values, so that a call
// costs no allocation when V(2) is off: the object's or network's ID, or
// "", and a count, or -1.
func (c *calls) done(op hns.Op, start time.Time, err error, id, network string, count int) {
	c.mu.Lock()
	for i := range callOps {
		if callOps[i] == op {
			c.counts[i]++
		}
	}
	c.mu.Unlock()
	v := c.log.V(2)
	if c.metrics == nil && !v.Enabled() {
		return // no one to tell: spare the clock
	}
	took := c.now().Sub(start)
	if c.metrics != nil {
		c.metrics.CallDone(op, err, took)
	}
	if v.Enabled() {
		kv := []any{"op", op, "duration", took}
		if id != "" {
			kv = append(kv, "id", id)
		}
		if network != "" {
			kv = append(kv, "network", network)
		}
		if count >= 0 {
			kv = append(kv, "count", count)
		}
		if err != nil {
			kv = append(kv, "err", err.Error())
		}
		v.Info("HNS call", kv...)
	}
}

// snapshot returns the counts of the operations called.
func (c *calls) snapshot() map[hns.Op]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[hns.Op]int{}
	for i, n := range c.counts {
		if n > 0 {
			out[callOps[i]] = n
		}
	}
	return out
}

func (c *calls) listLoadBalancers(ctx context.Context) ([]hns.HostComputeLoadBalancer, error) {
	start := c.now()
	lbs, err := c.b.ListLoadBalancers(ctx)
	c.done(hns.OpListLoadBalancers, start, err, "", "", len(lbs))
	return lbs, err
}

func (c *calls) getLoadBalancer(ctx context.Context, id string) (*hns.HostComputeLoadBalancer, error) {
	start := c.now()
	lb, err := c.b.GetLoadBalancer(ctx, id)
	c.done(hns.OpGetLoadBalancer, start, err, id, "", -1)
	return lb, err
}

func (c *calls) createLoadBalancer(ctx context.Context, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	start := c.now()
	got, err := c.b.CreateLoadBalancer(ctx, lb)
	var id string
	if got != nil {
		id = got.Id
	}
	c.done(hns.OpCreateLoadBalancer, start, err, id, "", -1)
	return got, err
}

func (c *calls) updateLoadBalancer(ctx context.Context, id string, lb *hns.HostComputeLoadBalancer) (*hns.HostComputeLoadBalancer, error) {
	start := c.now()
	got, err := c.b.UpdateLoadBalancer(ctx, id, lb)
	c.done(hns.OpUpdateLoadBalancer, start, err, id, "", -1)
	return got, err
}

func (c *calls) deleteLoadBalancer(ctx context.Context, id string) error {
	start := c.now()
	err := c.b.DeleteLoadBalancer(ctx, id)
	c.done(hns.OpDeleteLoadBalancer, start, err, id, "", -1)
	return err
}

func (c *calls) listEndpoints(ctx context.Context, networkID string) ([]hns.HostComputeEndpoint, error) {
	start := c.now()
	eps, err := c.b.ListEndpoints(ctx, networkID)
	c.done(hns.OpListEndpoints, start, err, "", networkID, len(eps))
	return eps, err
}

func (c *calls) createEndpoint(ctx context.Context, networkID string, ep *hns.HostComputeEndpoint) (*hns.HostComputeEndpoint, error) {
	start := c.now()
	got, err := c.b.CreateEndpoint(ctx, networkID, ep)
	var id string
	if got != nil {
		id = got.Id
	}
	c.done(hns.OpCreateEndpoint, start, err, id, networkID, -1)
	return got, err
}

func (c *calls) deleteEndpoint(ctx context.Context, id string) error {
	start := c.now()
	err := c.b.DeleteEndpoint(ctx, id)
	c.done(hns.OpDeleteEndpoint, start, err, id, "", -1)
	return err
}

func (c *calls) getNetworkByName(ctx context.Context, name string) (*hns.HostComputeNetwork, error) {
	start := c.now()
	n, err := c.b.GetNetworkByName(ctx, name)
	c.done(hns.OpGetNetwork, start, err, "", name, -1)
	return n, err
}

func (c *calls) version(ctx context.Context) (lbpolicy.Version, error) {
	start := c.now()
	v, err := c.b.Version(ctx)
	c.done(hns.OpVersion, start, err, "", "", -1)
	return v, err
}
