package cluster_test

import (
	"fmt"
	"strings"

	"github.com/hnslb/hnslb/examples/internal/cluster"
)

func ExampleDecode() {
	const manifests = `# kubectl get svc,endpointslices,endpoints -n shop -o yaml
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: storefront
    namespace: shop
  spec:
    clusterIP: 10.96.120.44
    ports:
    - name: https
      port: 443
      targetPort: 8443
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: storefront-q9j6x
    namespace: shop
    labels:
      kubernetes.io/service-name: storefront
  addressType: IPv4
  endpoints:
  - addresses: [10.244.1.10]
    nodeName: win-node-1
  ports:
  - name: https
    port: 8443
- apiVersion: v1
  kind: Endpoints
  metadata:
    name: storefront
    namespace: shop
`
	objs, err := cluster.Decode(strings.NewReader(manifests), "shop.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range objs.Services {
		fmt.Printf("Service %s/%s %s\n", s.Namespace, s.Name, s.Spec.ClusterIP)
	}
	for _, s := range objs.EndpointSlices {
		fmt.Printf("EndpointSlice %s/%s %s\n", s.Namespace, s.Name, s.Endpoints[0].Addresses[0])
	}
	fmt.Println("ignored:", objs.Ignored)

	_, err = cluster.Decode(strings.NewReader(strings.Replace(manifests, "port: 443", `port: "443"`, 1)), "shop.yaml")
	fmt.Println(err)
	// Output:
	// Service shop/storefront 10.96.120.44
	// EndpointSlice shop/storefront-q9j6x 10.244.1.10
	// ignored: [Endpoints shop/storefront]
	// shop.yaml: document 1 items[0] (Service shop/storefront): spec.ports[0].port: json: cannot unmarshal string into Go value of type int32
}
