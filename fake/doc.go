// Package fake is an in-memory Host Networking Service (HNS) for tests on
// any OS. *HNS implements hns.Client, keeping the contract written on that
// interface, with the rules real HNS enforces on load balancers and
// endpoints; it returns the errors hcn returns (same codes, same message
// format), and adds what a test needs: seeding, a state that dumps to JSON
// and loads back, fault injection, latency, call counters and an ordered
// call log, a deterministic text dump and a flow tracer.
//
//	h := fake.New(hns.Profiles()[1]) // ws2022
//	net := h.AddNetwork("cbr0", "L2Bridge")
//	pod := h.AddLocalEndpoint(net, "pod-a", "10.244.0.5") // an ID for load balancers
//	// ... run the code under test against h, then:
//	got := h.DumpStable()
//
// A test can also start from data, with the IDs the data gives:
//
//	h, err := fake.Load(p, data) // data: what (*HNS).DumpJSON wrote (State)
//
// # HNS behaviour reproduced
//
// This section says what the fake does where hns.Client leaves room: the
// exact codes, and which rule wins when several are broken.
//
// Objects: IDs are random GUIDs (upper case, as HNS prints them; SeedIDs
// makes them reproducible), compared case-insensitively.
//
// CreateLoadBalancer fails with the first of these that applies:
//   - 0x57 (ERROR_INVALID_PARAMETER): SchemaVersion other than 2.0; not
//     exactly one port mapping; protocol not TCP (6) or UDP (17); unknown
//     flag bits or distribution; DSR, IPv6 or a distribution other than
//     None on a profile without DSR, IPv6 or session affinity; more than
//     Capabilities().MaxNonDSRBackends endpoints without DSR (WS2019's 64,
//     kubernetes#98680); a frontend VIP or SourceVIP that is not an IP
//     address of the family the IPv6 flag says;
//   - 0x803B002D (HCN_E_INVALID_INTERNAL_PORT): InternalPort 0;
//   - 0x803B001C (HCN_E_INVALID_JSON_REFERENCE): no endpoints, or an
//     endpoint ID that does not exist;
//   - 0xB7 (ERROR_ALREADY_EXISTS): a frontend — (IPv6 flag, VIP or none,
//     protocol, external port) — another load balancer holds;
//   - 0x803B0013 (HCN_E_PORT_ALREADY_EXISTS): a frontend the host reserved
//     (ReservePort).
//
// The stored load balancer names its endpoints by their IDs as HNS spells
// them, whatever case the caller used.
//
// UpdateLoadBalancer: an unknown ID fails with 0x490 (hcn opens the load
// balancer first); a profile without Modify fails with 0x80004001
// (E_NOTIMPL); otherwise the create rules apply, a frontend being taken
// only when another load balancer holds it. On a SilentUpdate profile
// (HNS 15.4, "ws2025") the update reports success and returns the object
// as sent, but keeps the old endpoints (kubernetes#131466): only a later
// Get or List shows it.
//
// Deletes of a missing ID fail with 0x490 (ERROR_NOT_FOUND). Deleting an
// endpoint that load balancers still name succeeds and leaves them a
// dangling reference, so the code under test must order its deletes
// itself. GetLoadBalancer and GetNetworkByName of a missing object fail
// with code 0x490 and hcn's own not-found text.
//
// CreateEndpoint fails on an unknown network with 0x490; with 0x57 for a
// SchemaVersion other than 2.0, no IP address (the fake does no address
// management), an IP or MAC that does not parse, a remote endpoint
// (Flags 1) without a MAC, or a remote endpoint on an Overlay network
// without a ProviderAddress policy; with 0xB7 for an IP another endpoint
// on the network holds. A local endpoint without a MAC gets one derived
// from its IP.
//
// The checks for a frontend or an endpoint IP already held are index
// lookups, not scans: a create costs the same whether the fake holds ten
// objects or ten thousand, so a benchmark on the fake measures the code
// under test. For the same reason a mutating call of the usual shape
// makes at most three allocations (a new ID, the copy stored, the copy
// answered), and a list of n objects a few, not n: it copies them front
// to back from copies the fake keeps in ID order (BenchmarkFakeCalls,
// BenchmarkFakeList100k).
//
// # State, calls
//
// Snapshot returns everything the fake holds as a State (networks with
// their policies, load balancers, endpoints, reserved ports); DumpJSON
// writes it as JSON in the
// field names of hcn's JSON, and Load (ParseState, Restore) seeds a fake
// from it, rejecting what no HNS could hold (see Restore). Dump and
// DumpStable render the same state as text, for people and golden files.
// LoadBalancersByKey and EndpointsByIP give it structured: load balancers
// by identity key (lbpolicy.Key), endpoints by IP address. A network's
// policies (an Overlay network's RemoteSubnetRoute policies, which
// hnsadapter.NodeFor reads) are set with SetNetworkPolicies.
//
// Calls counts the Client calls by operation; CallLog lists them in order,
// each with the IDs it was about and its error code. ResetCalls clears
// both.
//
// # Faults
//
// InjectFault makes calls fail as HNS fails them: instead of running
// (FailInstead, the default: nothing changes), after taking effect
// (FailAfter: the change stays, the answer is an error), or answering a
// create or update without the object's ID (AnswerWithoutID). A fault can
// be limited to a number of calls and to calls about matching objects.
//
// # Errors
//
// Every failure is an *hns.Error: Code is HNS's code (the Win32 code
// for Win32 HRESULTs, as hcn reports them), Message is hcn's string,
//
//	hcnCreateLoadBalancer failed in Win32: Cannot create a file when that file already exists. (0xb7) {"Success":false,"Error":"Cannot create a file when that file already exists. ","ErrorCode":2147942583}
//
// and Record the JSON record at its end. The fake's own explanation (which
// frontend clashed, which endpoint is unknown) is not part of what HNS
// says; it is in the error's Err, reachable with errors.Unwrap. A call
// abandoned because its context ended, before it ran or while it slept out
// its latency (SetLatency), returns an *hns.Error with Code 0 wrapping
// ctx.Err().
//
// # What the fake must never do
//
// It never calls the OS, HNS or hcn, never logs, and starts no goroutine; a
// call sleeps (SetLatency) on the caller's goroutine only. It never shares
// memory with its callers. It never returns an empty or partial list in
// place of an error. It never relaxes an HNS rule to make a test pass: a
// test that needs an object HNS would refuse seeds it with AddLoadBalancer
// or AddEndpoint, which is what another agent or an older HNS would have
// left behind.
package fake
