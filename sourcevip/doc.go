// Package sourcevip decides which source address HNS uses when it SNATs
// load-balanced traffic, and which HNS endpoints a node must hold so that
// its load balancers can reach their backends.
//
// On an L2Bridge network the SourceVIP is empty. On an Overlay network it is
// the configured source VIP of the family, unless a remote backend of the
// load balancer is another node's IP (a remote subnet's provider address) or
// lies outside every remote subnet; then it is the node IP (KEP-5100 rules
// a–c). The decision is made per load balancer over that load balancer's
// own backends.
//
// The package is pure: no I/O, no goroutines, no globals.
package sourcevip
