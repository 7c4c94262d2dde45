package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/go-logr/logr"
	"github.com/hnslb/hnslb/lbpolicy"
	"k8s.io/apimachinery/pkg/types"
)

// serviceHealth runs the per-Service health-check servers, as kube-proxy's
// service health server does: one HTTP server per Service with a
// healthCheckNodePort, answering 200 while the node has local ready
// endpoints for it and the proxy is healthy, else 503, so that an external
// load balancer sends traffic of an externalTrafficPolicy Local Service
// only to the nodes with its pods.
type serviceHealth struct {
	ip      string // address to listen on; "" = every address
	healthy func() bool
	listen  func(addr string) (net.Listener, error)
	log     logr.Logger

	mu      sync.Mutex
	servers map[types.NamespacedName]*hcServer
}

type hcServer struct {
	port      int32
	srv       *http.Server
	addr      net.Addr
	endpoints int
}

func newServiceHealth(ip string, healthy func() bool, log logr.Logger) *serviceHealth {
	var lc net.ListenConfig
	return &serviceHealth{
		ip: ip, healthy: healthy, log: log,
		listen:  func(addr string) (net.Listener, error) { return lc.Listen(context.Background(), "tcp", addr) },
		servers: map[types.NamespacedName]*hcServer{},
	}
}

// Update opens a server for each check that has none on its port, closes
// those of Services no longer listed (or listed with another port), and
// updates the endpoint counts. A port that cannot be opened is logged and
// tried again at the next Update.
func (s *serviceHealth) Update(checks []lbpolicy.HealthCheck) {
	want := make(map[types.NamespacedName]lbpolicy.HealthCheck, len(checks))
	for _, c := range checks {
		want[c.Service] = c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, hs := range s.servers {
		if c, ok := want[name]; !ok || c.NodePort != hs.port {
			s.log.V(2).Info("Closing health check server", "service", name, "port", hs.port)
			_ = hs.srv.Close()
			delete(s.servers, name)
		}
	}
	for _, c := range checks { // in order, so that servers open in a stable order
		name := c.Service
		hs := s.servers[name]
		if hs == nil {
			var err error
			if hs, err = s.open(name, c.NodePort); err != nil {
				s.log.Error(err, "Cannot open health check server", "service", name, "port", c.NodePort)
				continue
			}
			s.servers[name] = hs
		}
		hs.endpoints = c.LocalEndpoints
	}
}

func (s *serviceHealth) open(name types.NamespacedName, port int32) (*hcServer, error) {
	ln, err := s.listen(net.JoinHostPort(s.ip, strconv.Itoa(int(port))))
	if err != nil {
		return nil, err
	}
	hs := &hcServer{port: port, addr: ln.Addr()}
	hs.srv = &http.Server{Handler: s.handler(name), ReadHeaderTimeout: readHeaderTimeout}
	s.log.V(2).Info("Opened health check server", "service", name, "address", hs.addr)
	go func() {
		if err := hs.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(err, "Health check server failed", "service", name)
		}
	}()
	return hs, nil
}

// serviceHealthBody is kube-proxy's answer.
type serviceHealthBody struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints      int  `json:"localEndpoints"`
	ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
}

func (s *serviceHealth) handler(name types.NamespacedName) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		hs := s.servers[name]
		count := 0
		if hs != nil {
			count = hs.endpoints
		}
		s.mu.Unlock()
		var body serviceHealthBody
		body.Service.Namespace, body.Service.Name = name.Namespace, name.Name
		body.LocalEndpoints, body.ServiceProxyHealthy = count, s.healthy()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if count > 0 && body.ServiceProxyHealthy {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

// Addr returns the address name's server listens on, or nil.
func (s *serviceHealth) Addr(name types.NamespacedName) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hs := s.servers[name]; hs != nil {
		return hs.addr
	}
	return nil
}

// Close closes every server.
func (s *serviceHealth) Close() {
	s.Update(nil)
}
