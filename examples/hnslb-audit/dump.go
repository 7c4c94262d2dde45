package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Dump is what HNS holds, as `hnslb-audit dump` writes it and
// `hnslb-audit compare` reads it: HNS's objects exactly as hcn marshals them
// (the hns schema structs carry hcn's field names: ID, HostComputeEndpoints,
// FrontendVIPs, PortMappings, IpConfigurations, ...). fake.HNS writes the
// same document.
type Dump struct {
	// Networks holds the network the dump was taken for, if one was named.
	Networks []hns.HostComputeNetwork `json:"Networks"`
	// LoadBalancers holds every load balancer, sorted by ID.
	LoadBalancers []hns.HostComputeLoadBalancer `json:"LoadBalancers"`
	// Endpoints holds the endpoints of the network (of every network when
	// none was named), sorted by ID.
	Endpoints []hns.HostComputeEndpoint `json:"Endpoints"`
}

// listAttempts bounds the tries of one list: HNS enumerates the IDs, then
// opens each, so an object deleted in between fails the whole list with
// NotFound, which means "list again".
const listAttempts = 3

// collectDump reads what HNS holds through c, read-only: the network called
// network (none if ""), every load balancer, and the endpoints of that
// network (of every network if network is ""). It is the Windows part of
// `hnslb-audit dump`; tests call it with a fake.
func collectDump(ctx context.Context, c hns.Client, network string) (Dump, error) {
	d := Dump{Networks: []hns.HostComputeNetwork{}}
	networkID := ""
	if network != "" {
		n, err := c.GetNetworkByName(ctx, network)
		if err != nil {
			if hns.IsNotFound(err) {
				return d, fmt.Errorf("HNS has no network %q (hnsdiag list networks names them): %w", network, err)
			}
			return d, fmt.Errorf("looking up HNS network %q: %w", network, err)
		}
		if n == nil || n.Id == "" {
			return d, fmt.Errorf("looking up HNS network %q: HNS answered without a network ID", network)
		}
		d.Networks = append(d.Networks, *n)
		networkID = n.Id
	}
	lbs, err := retryList(func() ([]hns.HostComputeLoadBalancer, error) { return c.ListLoadBalancers(ctx) })
	if err != nil {
		return d, fmt.Errorf("listing HNS load balancers: %w", err)
	}
	eps, err := retryList(func() ([]hns.HostComputeEndpoint, error) { return c.ListEndpoints(ctx, networkID) })
	if err != nil {
		return d, fmt.Errorf("listing HNS endpoints: %w", err)
	}
	slices.SortFunc(lbs, func(a, b hns.HostComputeLoadBalancer) int { return compareIDs(a.Id, b.Id) })
	slices.SortFunc(eps, func(a, b hns.HostComputeEndpoint) int { return compareIDs(a.Id, b.Id) })
	d.LoadBalancers = orEmpty(lbs)
	d.Endpoints = orEmpty(eps)
	return d, nil
}

// retryList calls list until it succeeds, fails otherwise than with
// NotFound, or has been tried listAttempts times.
func retryList[T any](list func() ([]T, error)) ([]T, error) {
	var err error
	for range listAttempts {
		var out []T
		if out, err = list(); err == nil || !hns.IsNotFound(err) {
			return out, err
		}
	}
	return nil, fmt.Errorf("objects kept vanishing during the list (%d tries): %w", listAttempts, err)
}

func compareIDs(a, b string) int { return strings.Compare(strings.ToUpper(a), strings.ToUpper(b)) }

// writeDump writes d as one JSON document, indented by two spaces, with a
// trailing newline; lists are [] rather than null.
func writeDump(w io.Writer, d Dump) error {
	d.Networks = orEmpty(d.Networks)
	d.LoadBalancers = orEmpty(d.LoadBalancers)
	d.Endpoints = orEmpty(d.Endpoints)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
