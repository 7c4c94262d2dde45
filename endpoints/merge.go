package endpoints

import (
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// SliceError reports an EndpointSlice, or one address in it, that Merge
// skipped.
type SliceError struct {
	Slice   types.NamespacedName // the EndpointSlice
	Address string               // the offending address, "" for the whole slice
	Reason  string               // what is wrong, for people
}

func (e *SliceError) Error() string { panic("TODO") }

// ByService groups slices by the Service named in their
// kubernetes.io/service-name label, each group sorted by slice name. Slices
// without the label are not returned.
func ByService(slices []*discovery.EndpointSlice) map[types.NamespacedName][]*discovery.EndpointSlice {
	panic("TODO")
}

// Merge merges the EndpointSlices of one Service for one address family.
func Merge(slices []*discovery.EndpointSlice, family discovery.AddressType, nodeName string) (Ports, []*SliceError) {
	panic("TODO")
}
