package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
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

// serveFaults makes the fake HNS fail, to see what the proxy does when HNS
// does (its /healthz, metrics, backoff). POST injects a fault: ?op= the
// hns.Op that fails (default: every operation), &code= its HNS error code
// (default 0x80004005, E_FAIL), &count= how many calls fail (default: all
// until cleared); DELETE clears every fault.
func (c *fakeCNI) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		f, err := parseFault(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.h.InjectFault(f)
	case http.MethodDelete:
		c.h.ClearFaults()
	default:
		w.Header().Set("Allow", "POST, DELETE")
		http.Error(w, "POST or DELETE", http.StatusMethodNotAllowed)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseFault reads a fault from serveFaults' query parameters.
func parseFault(q url.Values) (fake.Fault, error) {
	var f fake.Fault
	if op := q.Get("op"); op != "" {
		f.Op = hns.Op(op)
		if !slices.Contains(hns.Ops(), f.Op) {
			return f, fmt.Errorf("op %q is not an HNS operation (one of %v)", op, hns.Ops())
		}
	}
	if code := q.Get("code"); code != "" {
		n, err := strconv.ParseUint(code, 0, 32)
		if err != nil {
			return f, fmt.Errorf("code %q: %v", code, err)
		}
		f.Code = hns.Code(n)
	}
	if count := q.Get("count"); count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return f, fmt.Errorf("count %q: %v", count, err)
		}
		f.Count = n
	}
	return f, nil
}

// loadFakeState returns the fake HNS saved in path by a previous run
// (saveFakeState), or h, a new one, when there is none yet. h is a fake:
// -fake-hns-state goes with -fake-hns.
func loadFakeState(h hns.Client, profile, path string) (hns.Client, error) {
	if _, ok := h.(*fake.HNS); !ok {
		return nil, errors.New("-fake-hns-state needs -fake-hns")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := hns.ProfileNamed(profile)
	if err != nil {
		return nil, err
	}
	loaded, err := fake.Load(p, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return loaded, nil
}

// saveFakeState writes the fake HNS h to path (a temporary file renamed
// over it, so that a crash leaves the old state or the new one).
func saveFakeState(h hns.Client, path string) error {
	f, ok := h.(*fake.HNS)
	if !ok {
		return nil
	}
	data, err := f.DumpJSON()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
