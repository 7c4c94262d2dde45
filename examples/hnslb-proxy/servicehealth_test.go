package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/hnslb/hnslb/lbpolicy"
	"k8s.io/apimachinery/pkg/types"
)

func TestServiceHealth(t *testing.T) {
	a := types.NamespacedName{Namespace: "default", Name: "a"}
	b := types.NamespacedName{Namespace: "prod", Name: "b"}
	proxyHealthy := true
	s := newServiceHealth("", func() bool { return proxyHealthy }, logr.Discard())
	var lc net.ListenConfig
	var ports []string // the ports the servers were asked to listen on
	s.listen = func(addr string) (net.Listener, error) {
		_, port, _ := net.SplitHostPort(addr)
		ports = append(ports, port)
		return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	}
	defer s.Close()

	ask := func(name types.NamespacedName) (int, map[string]any) {
		t.Helper()
		addr := s.Addr(name)
		if addr == nil {
			return 0, nil
		}
		resp, err := http.Get("http://" + addr.String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	answer := func(name types.NamespacedName, n int, healthy bool) map[string]any {
		return map[string]any{"service": map[string]any{"namespace": name.Namespace, "name": name.Name},
			"localEndpoints": float64(n), "serviceProxyHealthy": healthy}
	}
	type got struct {
		Code int
		Body map[string]any
	}
	steps := []struct {
		name         string
		checks       []lbpolicy.HealthCheck
		proxyHealthy bool
		want         map[types.NamespacedName]got // 0: no server
	}{{
		name:         "local endpoints: 200; none: 503",
		checks:       []lbpolicy.HealthCheck{{Service: a, NodePort: 32000, LocalEndpoints: 2}, {Service: b, NodePort: 32001}},
		proxyHealthy: true,
		want:         map[types.NamespacedName]got{a: {200, answer(a, 2, true)}, b: {503, answer(b, 0, true)}},
	}, {
		name:         "the proxy is unhealthy: 503 everywhere",
		checks:       []lbpolicy.HealthCheck{{Service: a, NodePort: 32000, LocalEndpoints: 2}, {Service: b, NodePort: 32001}},
		proxyHealthy: false,
		want:         map[types.NamespacedName]got{a: {503, answer(a, 2, false)}, b: {503, answer(b, 0, false)}},
	}, {
		name:         "counts change; a Service goes: its server closes",
		checks:       []lbpolicy.HealthCheck{{Service: a, NodePort: 32000, LocalEndpoints: 0}},
		proxyHealthy: true,
		want:         map[types.NamespacedName]got{a: {503, answer(a, 0, true)}, b: {}},
	}, {
		name:         "a new port: the server moves",
		checks:       []lbpolicy.HealthCheck{{Service: a, NodePort: 32005, LocalEndpoints: 1}},
		proxyHealthy: true,
		want:         map[types.NamespacedName]got{a: {200, answer(a, 1, true)}, b: {}},
	}}
	for _, st := range steps {
		proxyHealthy = st.proxyHealthy
		s.Update(st.checks)
		gotAll := map[types.NamespacedName]got{}
		for name := range st.want {
			code, body := ask(name)
			gotAll[name] = got{code, body}
		}
		if diff := cmp.Diff(st.want, gotAll); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, diff)
		}
	}
	if diff := cmp.Diff([]string{"32000", "32001", "32005"}, ports); diff != "" {
		t.Errorf("ports listened on (-want +got):\n%s", diff)
	}
}
