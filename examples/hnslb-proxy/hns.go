package main

import (
	"net/http"
	"net/netip"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// newHNS returns the HNS to program: with a profile, an in-memory fake.HNS
// holding the network networkName of type networkType and the host's root
// endpoint; else the machine's HNS (Windows only).
func newHNS(profile, networkName, networkType, rootEndpoint string, log logr.Logger) (hns.Client, error) {
	if profile == "" {
		h, err := hns.NewHCN(networkName, log.WithName("hcn"))
		if err != nil {
			return nil, err // not a nil *HCN in a non-nil Client
		}
		return h, nil
	}
	p, err := hns.ProfileNamed(profile)
	if err != nil {
		return nil, err
	}
	h := fake.New(p)
	id := h.AddNetwork(networkName, networkType)
	if rootEndpoint == "" {
		rootEndpoint = lbpolicy.DefaultRootEndpointName
	}
	h.AddLocalEndpoint(id, rootEndpoint, "")
	return h, nil
}

// fakeCNI does, against a fake HNS, what the CNI does on a real node: it
// gives each local pod an HNS endpoint, so that load balancers can use it.
// It never removes one, as an unready pod keeps its endpoint.
type fakeCNI struct {
	h       *fake.HNS
	network string

	mu   sync.Mutex
	pods map[netip.Addr]bool
}

func newFakeCNI(h *fake.HNS, networkName string) *fakeCNI {
	c := &fakeCNI{h: h, pods: map[netip.Addr]bool{}}
	for _, n := range h.Networks() {
		if n.Name == networkName {
			c.network = n.Id
			break
		}
	}
	// A restarted proxy finds the endpoints it added before.
	for _, ep := range h.Endpoints() {
		for _, ipc := range ep.IpConfigurations {
			if a, err := netip.ParseAddr(ipc.IpAddress); err == nil && ep.HostComputeNetwork == c.network {
				c.pods[a.Unmap()] = true
			}
		}
	}
	return c
}

// addPods adds an endpoint for each endpoint of the slices on node that
// has none yet (by its first address, as lbpolicy takes it), but for the
// node's own addresses: host-network pods have no HNS endpoint.
func (c *fakeCNI) addPods(slices discoverylisters.EndpointSliceLister, node lbpolicy.Node) {
	if c.network == "" || slices == nil {
		return
	}
	host := map[string]bool{}
	for _, ip := range append(append([]string{}, node.NodeIPs...), node.SourceVIPs...) {
		host[ip] = true
	}
	all, _ := slices.List(labels.Everything())
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sl := range all {
		for _, ep := range sl.Endpoints {
			if ep.NodeName == nil || *ep.NodeName != node.Name || len(ep.Addresses) == 0 {
				continue
			}
			a, err := netip.ParseAddr(ep.Addresses[0])
			if err != nil || c.pods[a.Unmap()] || host[a.Unmap().String()] {
				continue
			}
			c.pods[a.Unmap()] = true
			c.h.AddLocalEndpoint(c.network, "pod-"+a.Unmap().String(), a.Unmap().String())
		}
	}
}

// serveDump serves the fake's state: JSON (fake.Load reads it back), or
// with ?format=text as hnsdiag prints it.
func (c *fakeCNI) serveDump(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(c.h.Dump()))
		return
	}
	data, err := c.h.DumpJSON()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}
