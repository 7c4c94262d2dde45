package cluster_test

import (
	"fmt"
	"strings"

	"github.com/hnslb/hnslb/examples/internal/cluster"
)

func ExampleDecodeEvents() {
	// kubectl get endpointslices -n shop --watch --output-watch-events -o json
	const watch = `{
    "type": "ADDED",
    "object": {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "storefront-q9j6x", "namespace": "shop",
                     "labels": {"kubernetes.io/service-name": "storefront"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.1.10"], "nodeName": "win-node-1"}]
    }
}
{
    "type": "DELETED",
    "object": {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "storefront-q9j6x", "namespace": "shop"},
        "addressType": "IPv4"
    }
}
`
	evs, err := cluster.DecodeEvents(strings.NewReader(watch), "watch.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range evs.Events {
		fmt.Printf("%d: %s\n", e.Document, e.String())
	}

	_, err = cluster.DecodeEvents(strings.NewReader(strings.Replace(watch, `"DELETED"`, `"REMOVED"`, 1)), "watch.json")
	fmt.Println(err)
	// Output:
	// 1: ADDED EndpointSlice shop/storefront-q9j6x
	// 2: DELETED EndpointSlice shop/storefront-q9j6x
	// watch.json: document 2: type: not a watch event: "REMOVED" is not a watch event type; want ADDED, MODIFIED or DELETED (BOOKMARK and ERROR are skipped)
}
