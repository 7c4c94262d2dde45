package cluster

import (
	"bytes"
	_ "embed"

	"github.com/hnslb/hnslb/lbpolicy"
)

var (
	//go:embed sample/cluster.yaml
	sampleCluster []byte
	//go:embed sample/node.yaml
	sampleNode []byte
)

// Sample returns the built-in sample: a Windows node on an Overlay network
// with DSR (sample/node.yaml) and a cluster whose Services and
// EndpointSlices exercise every kind of load balancer and the usual corner
// cases (sample/cluster.yaml, which lists them). Each call returns new
// objects, which the caller may modify.
func Sample() (lbpolicy.Node, *Objects) {
	node, err := decodeNode(sampleNode, "sample/node.yaml")
	if err != nil {
		panic("cluster: the built-in sample node is broken: " + err.Error())
	}
	objs, err := Decode(bytes.NewReader(sampleCluster), "sample/cluster.yaml")
	if err != nil {
		panic("cluster: the built-in sample cluster is broken: " + err.Error())
	}
	return node, objs
}
