package hns_test

import (
	"testing"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

func TestOpMutating(t *testing.T) {
	for op, want := range map[hns.Op]bool{
		hns.OpListLoadBalancers:  false,
		hns.OpGetLoadBalancer:    false,
		hns.OpCreateLoadBalancer: true,
		hns.OpUpdateLoadBalancer: true,
		hns.OpDeleteLoadBalancer: true,
		hns.OpListEndpoints:      false,
		hns.OpCreateEndpoint:     true,
		hns.OpDeleteEndpoint:     true,
		hns.OpGetNetwork:         false,
		hns.OpVersion:            false,
		"":                       false,
		"NewHCN":                 false,
	} {
		if got := op.Mutating(); got != want {
			t.Errorf("Op(%q).Mutating() = %v, want %v", op, got, want)
		}
	}
}
