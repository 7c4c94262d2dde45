package sourcevip_test

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/hnslb/hnslb/sourcevip"
)

func ExampleNetwork_SourceVIP() {
	// This node is 10.0.0.2; its source VIP is 10.244.0.2. Node 10.0.0.3
	// holds the pods of 10.244.1.0/24.
	n := sourcevip.NewOverlay(
		netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("10.244.0.2"),
		"00-15-5d-01-02-03",
		[]sourcevip.Subnet{{
			Prefix:          netip.MustParsePrefix("10.244.1.0/24"),
			ProviderAddress: netip.MustParseAddr("10.0.0.3"),
		}},
	)
	pod := netip.MustParseAddr("10.244.1.5")
	hostNetworkPod := netip.MustParseAddr("10.0.0.3")
	external := netip.MustParseAddr("203.0.113.9")

	fmt.Println("pods only:       ", n.SourceVIP([]netip.Addr{pod}))
	fmt.Println("hostNetwork pod: ", n.SourceVIP([]netip.Addr{pod, hostNetworkPod}))
	fmt.Println("external backend:", n.SourceVIP([]netip.Addr{pod, external}))
	fmt.Println("all local:       ", n.SourceVIP(nil))

	// L2Bridge networks send an empty SourceVIP.
	l2 := sourcevip.NewL2Bridge(netip.MustParseAddr("10.0.0.2"))
	text, _ := l2.SourceVIP([]netip.Addr{pod}).MarshalText()
	fmt.Printf("L2Bridge:         %q\n", text)
	// Output:
	// pods only:        10.244.0.2
	// hostNetwork pod:  10.0.0.2
	// external backend: 10.0.0.2
	// all local:        10.244.0.2
	// L2Bridge:         ""
}

func ExampleNetwork_RemoteEndpoint() {
	n := sourcevip.NewOverlay(
		netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("10.244.0.2"),
		"00-15-5d-01-02-03",
		[]sourcevip.Subnet{{
			Prefix:          netip.MustParsePrefix("10.244.2.0/24"),
			ProviderAddress: netip.MustParseAddr("10.0.0.3"),
		}},
	)
	b, _ := json.Marshal(n.RemoteEndpoint(netip.MustParseAddr("10.244.2.7")))
	fmt.Println(string(b))
	// Output:
	// {"ip":"10.244.2.7","remote":true,"macAddress":"02-11-0a-f4-02-07","providerAddress":"10.0.0.3"}
}
