package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// TestReferenceProxy runs the reference proxy (examples/hnslb-proxy), built
// from this checkout, as its own process against the real control plane,
// with -fake-hns latest, then ws2022: what it programs is read back from its
// /debug/hns and compared with lbpolicy.Compute over the API server's
// objects; its /healthz, /metrics and a health-check server answer over
// loopback. The process is stopped with SIGTERM (and waited for) when the
// test ends.
func TestReferenceProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, kube-apiserver and the proxy")
	}
	bin := buildProxy(t)
	for _, profile := range []string{"latest", "ws2022"} {
		t.Run(profile, func(t *testing.T) { testReferenceProxy(t, bin, profile) })
	}
}

// testReferenceProxy is TestReferenceProxy on a fake HNS of profile.
func testReferenceProxy(t *testing.T, bin, profileName string) {
	cp := startControlPlane(t)
	for _, n := range nodes {
		cp.createNode(t, n.name, n.zone, n.ip)
	}
	cp.createNamespace(t, ns)
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	healthz, metrics := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	args := []string{"-node-name", winNode, "-fake-hns", profileName, "-fake-hns-state", filepath.Join(t.TempDir(), "hns.json"),
		"-network-name", winNetwork, "-healthz-bind-address", healthz, "-metrics-bind-address", metrics,
		"-healthcheck-ip", "127.0.0.1", "-min-sync-period", "100ms", "-sync-period", "2s", "-full-sync-period", "1s", "-v", "1"}
	kubeconfig := writeKubeconfig(t, cp.Config)
	stop := startProxy(t, bin, kubeconfig, args...)
	profile, err := hns.ProfileNamed(profileName)
	if err != nil {
		t.Fatal(err)
	}
	node := lbpolicy.Node{Name: winNode, Zone: winZone, NodeIPs: []string{winNodeIP}, NetworkType: lbpolicy.L2Bridge,
		NetworkName: winNetwork, HNSVersion: profile.Version.String()} // what the proxy builds with NodeFor
	converge := func(step string, want func(lbpolicy.Plan) error) {
		t.Helper()
		waitFor(t, step, 2*time.Minute, func() (bool, error) {
			s, err := listAPI(context.Background(), cp.Client)
			if err != nil {
				return false, err
			}
			plan, err := lbpolicy.Compute(node, s.Services, s.Slices)
			if err != nil {
				return false, err
			}
			if err := want(plan); err != nil {
				return false, err
			}
			got, err := proxyHNS(t, profile, metrics)
			if err != nil {
				return false, err
			}
			if diff := cmp.Diff(planView(plan), got); diff != "" {
				return false, fmt.Errorf("HNS differs from the plan (-plan +HNS):\n%s", diff)
			}
			return true, nil
		})
	}

	// A ClusterIP Service with a local and two remote pods.
	cp.createService(t, ns, "web", nil)
	cp.createPod(t, ns, "web-0", "web", winNode, "10.244.1.10", true)
	cp.createPod(t, ns, "web-1", "web", "linux-1", "10.244.2.10", true)
	cp.createPod(t, ns, "web-2", "web", "linux-2", "10.244.3.10", true)
	converge("web", backendsAre(ns+"/web", "10.244.1.10", "10.244.2.10", "10.244.3.10"))
	if code, body := get(t, "http://"+healthz+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if _, body := get(t, "http://"+metrics+"/metrics"); !strings.Contains(body, `hnslb_syncs_total{outcome="ok"}`) {
		t.Errorf("/metrics has no successful sync:\n%.2000s", body)
	}

	// A LoadBalancer with externalTrafficPolicy Local: the API server
	// allocates its healthCheckNodePort; the proxy's health-check server
	// answers with the local endpoints.
	lb := cp.createService(t, ns, "lb", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	})
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	if _, err := cp.Client.CoreV1().Services(ns).UpdateStatus(context.Background(), lb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cp.createPod(t, ns, "lb-0", "lb", winNode, "10.244.1.11", true)
	cp.createPod(t, ns, "lb-1", "lb", "linux-1", "10.244.2.11", true)
	converge("lb", backendsAre(ns+"/lb", "10.244.1.11", "10.244.2.11"))
	healthCheck := fmt.Sprintf("http://127.0.0.1:%d/", lb.Spec.HealthCheckNodePort)
	waitFor(t, "the health-check server: 1 local endpoint", time.Minute, func() (bool, error) {
		return healthAnswer(healthCheck, http.StatusOK, 1)
	})

	// Its local pod turns unready: no local endpoint, 503.
	cp.setPodStatus(t, ns, "lb-0", "10.244.1.11", false)
	converge("lb-0 unready", backendsAre(ns+"/lb", "10.244.2.11"))
	waitFor(t, "the health-check server: no local endpoint", time.Minute, func() (bool, error) {
		return healthAnswer(healthCheck, http.StatusServiceUnavailable, 0)
	})

	// HNS fails every call (the proxy's /debug/hns/faults): its syncs fail
	// (the full ones, every second here, cannot list), and once a change
	// has waited two sync periods (4s) unsynced, /healthz says so; it is
	// healthy again after the next successful sync.
	request(t, http.MethodPost, "http://"+metrics+"/debug/hns/faults")
	polls, ready := 0, true
	waitFor(t, "/healthz stale while HNS fails", time.Minute, func() (bool, error) {
		if polls++; polls%20 == 1 { // a change to sync, every second
			ready = !ready
			cp.setPodStatus(t, ns, "web-2", "10.244.3.10", ready)
		}
		code, body := get(t, "http://"+healthz+"/healthz")
		return code == http.StatusServiceUnavailable, fmt.Errorf("/healthz: %d %s", code, body)
	})
	if _, body := get(t, "http://"+metrics+"/metrics"); !strings.Contains(body, `hnslb_syncs_total{outcome="error"}`) {
		t.Errorf("/metrics counts no failed sync")
	}
	request(t, http.MethodDelete, "http://"+metrics+"/debug/hns/faults")
	cp.setPodStatus(t, ns, "web-2", "10.244.3.10", true)
	converge("HNS back", backendsAre(ns+"/web", "10.244.1.10", "10.244.2.10", "10.244.3.10"))
	waitFor(t, "/healthz healthy again", time.Minute, func() (bool, error) {
		code, body := get(t, "http://"+healthz+"/healthz")
		return code == http.StatusOK, fmt.Errorf("/healthz: %d %s", code, body)
	})

	// A restart with HNS kept (-fake-hns-state: the fake is saved at
	// shutdown and loaded at start, as HNS outlives the proxy on a node):
	// the new process adopts what the old one made, with no mutating call.
	stop()
	startProxy(t, bin, kubeconfig, args...)
	waitFor(t, "the restarted proxy's first sync", time.Minute, func() (bool, error) {
		_, body, err := tryGet("http://" + metrics + "/metrics")
		return err == nil && strings.Contains(body, `hnslb_syncs_total{outcome="ok"}`), err
	})
	converge("restarted", backendsAre(ns+"/web", "10.244.1.10", "10.244.2.10", "10.244.3.10"))
	_, body := get(t, "http://"+metrics+"/metrics")
	for _, op := range []string{"CreateLoadBalancer", "UpdateLoadBalancer", "DeleteLoadBalancer", "CreateEndpoint", "DeleteEndpoint"} {
		if strings.Contains(body, `hnslb_hns_calls_total{op="`+op+`"`) {
			t.Errorf("the restart with HNS kept called %s:\n%s", op, grepLines(body, "hnslb_hns_calls_total"))
		}
	}
}

// tryGet is get that returns its error.
func tryGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// request makes a request without a body that must succeed (2xx).
func request(t *testing.T, method, url string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d", method, url, resp.StatusCode)
	}
}

// backendsAre is a condition on a plan: the ClusterIP load balancer of
// Service svc has exactly these backends (the controller has published
// the step).
func backendsAre(svc string, ips ...string) func(lbpolicy.Plan) error {
	return func(p lbpolicy.Plan) error {
		for _, lb := range p.LoadBalancers {
			if lb.Service != svc || lb.Kind != lbpolicy.KindClusterIP {
				continue
			}
			var got []string
			for _, b := range lb.Backends {
				got = append(got, b.String())
			}
			if strings.Join(got, ",") == strings.Join(ips, ",") {
				return nil
			}
			return fmt.Errorf("%s's backends are %v, want %v", svc, got, ips)
		}
		return fmt.Errorf("no ClusterIP load balancer for %s yet", svc)
	}
}

// proxyHNS reads the proxy's fake HNS from /debug/hns.
func proxyHNS(t *testing.T, p hns.Profile, metrics string) (view, error) {
	resp, err := http.Get("http://" + metrics + "/debug/hns")
	if err != nil {
		return view{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return view{}, err
	}
	h, err := fake.Load(p, data)
	if err != nil {
		return view{}, fmt.Errorf("/debug/hns: %w", err)
	}
	return (&hnsNode{hns: h}).hnsView(t), nil
}

func healthAnswer(url string, wantCode, wantLocal int) (bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var body struct {
		LocalEndpoints int `json:"localEndpoints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return false, err
	}
	if resp.StatusCode != wantCode || body.LocalEndpoints != wantLocal {
		return false, fmt.Errorf("answered %d with %d local endpoints", resp.StatusCode, body.LocalEndpoints)
	}
	return true, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// buildProxy builds examples/hnslb-proxy (its own module) into a
// temporary directory.
func buildProxy(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hnslb-proxy")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "examples", "hnslb-proxy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the proxy: %v\n%s", err, out)
	}
	return bin
}

// writeKubeconfig writes a kubeconfig reaching the API server as cfg does.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData,
		CertificateAuthority: cfg.CAFile, InsecureSkipTLSVerify: cfg.Insecure, TLSServerName: cfg.ServerName}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData,
		ClientKeyData: cfg.KeyData, ClientCertificate: cfg.CertFile, ClientKey: cfg.KeyFile}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startProxy starts bin with the kubeconfig and args, its output in a file
// (shown if the test fails). The returned function stops it with SIGTERM
// and waits for it (SIGKILL after 30s); the test's cleanup calls it if the
// test did not.
func startProxy(t *testing.T, bin, kubeconfig string, args ...string) (stop func()) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "proxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-kubeconfig", kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop = func() { once.Do(func() { stopProxy(t, cmd, done, logFile, logPath) }) }
	t.Cleanup(stop)
	return stop
}

// stopProxy stops the proxy cmd, whose Wait reports on done.
func stopProxy(t *testing.T, cmd *exec.Cmd, done chan error, logFile *os.File, logPath string) {
	{
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the proxy exited: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("the proxy did not stop within 30s of SIGTERM")
		}
		_ = logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("proxy log (last 4 KB):\n%s", tail(log, 4096))
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// proxyNode is the reference proxy as its own process on a fake HNS of one
// profile, for TestControlPlane to check at each step.
type proxyNode struct {
	profile hns.Profile
	node    lbpolicy.Node
	metrics string // its metrics address, with /debug/hns
}

// startProxyNode starts the proxy bin against cp on a fake HNS of profile,
// its per-Service health-check servers on healthCheckIP (a loopback
// address of its own, so that two proxies never want one port).
func startProxyNode(t *testing.T, bin string, cp *controlPlane, profileName, healthCheckIP string) *proxyNode {
	t.Helper()
	p, err := hns.ProfileNamed(profileName)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	px := &proxyNode{profile: p, metrics: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		node: lbpolicy.Node{Name: winNode, Zone: winZone, NodeIPs: []string{winNodeIP}, NetworkType: lbpolicy.L2Bridge,
			NetworkName: winNetwork, HNSVersion: p.Version.String()}}
	startProxy(t, bin, writeKubeconfig(t, cp.Config), "-node-name", winNode, "-fake-hns", profileName,
		"-network-name", winNetwork, "-healthz-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"-metrics-bind-address", px.metrics, "-healthcheck-ip", healthCheckIP, "-min-sync-period", "100ms")
	return px
}

// converge waits until the API server's state satisfies converged and the
// proxy's HNS equals lbpolicy.Compute over that state.
func (px *proxyNode) converge(t *testing.T, step string, cp *controlPlane, converged func(apiState) error) {
	t.Helper()
	waitFor(t, step+" [proxy "+px.profile.Name+"]", 2*time.Minute, func() (bool, error) {
		s, err := listAPI(context.Background(), cp.Client)
		if err != nil {
			return false, err
		}
		if err := converged(s); err != nil {
			return false, err
		}
		plan, err := lbpolicy.Compute(px.node, s.Services, s.Slices)
		if err != nil {
			return false, err
		}
		got, err := proxyHNS(t, px.profile, px.metrics)
		if err != nil {
			return false, err
		}
		if diff := cmp.Diff(planView(plan), got); diff != "" {
			return false, fmt.Errorf("HNS differs from the plan (-plan +HNS):\n%s", diff)
		}
		return true, nil
	})
}
