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

// An error prints HNS's code once, whether or not hcn's message has it.
func TestErrorStringCodeOnce(t *testing.T) {
	tests := []struct {
		err  *hns.Error
		want string
	}{
		{&hns.Error{Op: hns.OpCreateLoadBalancer, Code: hns.CodeInvalidParameter, Message: `hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57) {"Success":false}`},
			`hns CreateLoadBalancer: hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57) {"Success":false}`},
		{&hns.Error{Op: hns.OpDeleteEndpoint, Code: hns.CodeInvalidReference, Message: "in use (0x803B001C)"},
			"hns DeleteEndpoint: in use (0x803B001C)"},
		{&hns.Error{Op: hns.OpGetNetwork, Code: hns.CodeNotFound, Message: "network not found"},
			"hns GetNetworkByName: network not found (0x490)"},
		{&hns.Error{Op: hns.OpVersion, Message: "cut short"}, "hns Version: cut short"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
