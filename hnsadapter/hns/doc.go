// Package hns is a small client of the Host Networking Service (HNS): the
// load-balancer, endpoint and network objects of the HCN v2 schema, the
// Client interface through which they are read and written, HNS's error
// codes with predicates (IsNotFound, IsAlreadyExists, ...), and the
// version profiles of the Windows releases.
//
// NewHCN is the Windows implementation (through
// github.com/Microsoft/hcsshim/hcn; elsewhere it returns an error for which
// IsHNSUnavailable is true); package fake is an in-memory HNS with the same
// contract, for tests on any OS. Package hnsadapter's Reconciler applies
// lbpolicy plans through a Client.
//
// The package never decides what HNS should hold and never retries: it
// performs one HNS call per method and reports HNS's answer.
package hns
