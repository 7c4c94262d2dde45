// Package hnsstub is a stand-in Host Networking Service for Windows test
// binaries run under Wine: with it, the real hcn (hcsshim) code path —
// JSON marshalling, HRESULTs, error records, enumerate/open/query/close —
// runs end to end against a fake.HNS.
//
// It has two halves. The stand-in computenetwork.dll and vmcompute.dll
// (C, in dll/, built with mingw by .ci/wine-setup.sh and installed in the
// Wine prefix's system32, where hcn loads them from) export every function
// hcn may call and forward each call over loopback TCP to a Server: this
// package, running in the same test process, which answers from a
// *fake.HNS with HNS's rules and error codes.
//
//	srv, err := hnsstub.Start(h) // h is a *fake.HNS
//	...
//	defer srv.Close()
//	os.Setenv(hnsstub.AddrEnv, srv.Addr()) // the DLLs read it at each call
//	backend, err := hns.NewHCN("cbr0", logger)
//
// # What the server models
//
// Each HCN call maps to at most one call of the fake, so that the fake's
// call counters equal the hns.Client calls made through hcn:
//
//   - HcnEnumerateLoadBalancers: ListLoadBalancers, or GetLoadBalancer with
//     an {"ID":…} filter (hcn's GetLoadBalancerByID);
//   - HcnEnumerateEndpoints: ListEndpoints (of the network in a
//     {"VirtualNetwork":…} filter), then the "ID" and "Name" filters;
//   - HcnEnumerateNetworks: GetNetworkByName with a {"Name":…} filter, else
//     the fake's networks (no Client call lists networks);
//   - HcnCreate/Modify/DeleteLoadBalancer, HcnCreate/DeleteEndpoint:
//     CreateLoadBalancer, UpdateLoadBalancer, DeleteLoadBalancer,
//     CreateEndpoint (on the network of the open network handle),
//     DeleteEndpoint;
//   - HcnOpen*, HcnQuery*Properties, HcnClose*: the fake's current state,
//     read without a Client call. A handle names an object by ID; a query
//     on it returns the object's JSON as it is then, except after an
//     HcnModifyLoadBalancer on that handle, when it returns what the
//     fake's UpdateLoadBalancer returned (HNS 15.4 reports the update as
//     sent while keeping the old endpoints, kubernetes#131466);
//   - HNSCall GET /globals/version: Version, answered as HNS does:
//     {"Success":true,"Output":{"Major":…,"Minor":…}}.
//
// Failures are HNS's: the fake's *hns.Error becomes its HRESULT
// (Win32 codes as 0x8007xxxx, which hcn reduces to the Win32 code; HNS
// codes such as 0x803B0013 as they are) with the fake's error record as
// the result. An hcn lookup that finds nothing (the fake's not-found with
// no record) is an empty enumeration, from which hcn makes its own
// not-found error. Opening or querying a missing object fails with
// 0x80070490. A list the fake fails as if an object vanished between
// enumerating and opening (fake.Fault.VanishDuringList) fails in the
// enumeration: same code and record, but hcn's message names
// hcnEnumerate… where the fake's names hcnOpen…. Namespaces, SDN routes and creating, modifying or deleting
// networks or modifying endpoints are not modelled: those calls fail with
// E_NOTIMPL (0x80004001) and a record saying so, as does a query filter
// the server does not know. A handle of the wrong type or already closed
// fails with E_HANDLE (0x80070006). Settings or queries that are not
// valid JSON fail with 0x80070057. Unknown JSON fields (hcn's empty "Dns"
// and "Health") are ignored.
//
// # Protocol
//
// One call per connection: the DLL sends a request and the server answers
// and closes. Both are a header line of space-separated fields followed by
// raw UTF-8 strings whose lengths the header gives (-1 for a NULL string),
// so the C side needs no JSON:
//
//	request: <function> <GUID or -> <handle> <len0> <len1> <len2>\n<str0><str1><str2>
//	answer:  <HRESULT, 8 hex digits> <handle> <outlen> <resultlen>\n<out><result>
//
// The strings of a request are the function's string arguments in order
// (query or settings; HNSCall's method, path and request). The answer's
// handle is the new handle of an open or create (else 0), out the output
// string (IDs, properties, HNSCall's response) and result the error
// record.
//
// The server never touches the fake except through its exported methods.
// Only tests import this package, and it lives under internal/ so that no
// package outside this module can.
package hnsstub
