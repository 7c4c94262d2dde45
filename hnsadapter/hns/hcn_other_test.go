//go:build !windows

package hns

import (
	"context"
	"errors"
	"testing"

	"github.com/go-logr/logr"
)

func TestHCNUnavailableOffWindows(t *testing.T) {
	h, err := NewHCN("cbr0", logr.Discard())
	var e *Error
	if h != nil || !IsHNSUnavailable(err) || !errors.As(err, &e) || e.Op != opNewHCN {
		t.Fatalf("NewHCN = %v, %v; want nil and an *Error{Op: NewHCN} with IsHNSUnavailable", h, err)
	}

	var b Client = &HCN{}
	ctx := context.Background()
	checks := map[Op]error{}
	_, checks[OpListLoadBalancers] = b.ListLoadBalancers(ctx)
	_, checks[OpGetLoadBalancer] = b.GetLoadBalancer(ctx, "x")
	_, checks[OpCreateLoadBalancer] = b.CreateLoadBalancer(ctx, &HostComputeLoadBalancer{})
	_, checks[OpUpdateLoadBalancer] = b.UpdateLoadBalancer(ctx, "x", &HostComputeLoadBalancer{})
	checks[OpDeleteLoadBalancer] = b.DeleteLoadBalancer(ctx, "x")
	_, checks[OpListEndpoints] = b.ListEndpoints(ctx, "")
	_, checks[OpCreateEndpoint] = b.CreateEndpoint(ctx, "n", &HostComputeEndpoint{})
	checks[OpDeleteEndpoint] = b.DeleteEndpoint(ctx, "x")
	_, checks[OpGetNetwork] = b.GetNetworkByName(ctx, "cbr0")
	_, checks[OpVersion] = b.Version(ctx)
	for op, err := range checks {
		if !errors.As(err, &e) || e.Op != op || !IsHNSUnavailable(err) {
			t.Errorf("%s: got %v, want *Error{Op: %s} with IsHNSUnavailable", op, err, op)
		}
	}
}
