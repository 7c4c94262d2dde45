package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"

	"github.com/hnslb/hnslb/lbpolicy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hnslb-proxy:", err)
		}
		stop()
		os.Exit(1)
	}
}

// run is the program: flags, clients, then the proxy until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, verbosity, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(verbosity), textlogger.Output(stderr)))
	klog.SetLogger(log) // client-go logs through klog
	kube, err := kubeClient(cfg.kubeconfig)
	if err != nil {
		return err
	}
	hc, err := newHNS(cfg.fakeProfile, cfg.networkName, cfg.fakeNetworkType, cfg.node.RootEndpointName, log)
	if err == nil && cfg.fakeState != "" {
		hc, err = loadFakeState(hc, cfg.fakeProfile, cfg.fakeState)
	}
	if err != nil {
		return fmt.Errorf("HNS: %w", err)
	}
	p, err := newProxy(ctx, cfg, kube, hc, log)
	if err != nil {
		return err
	}
	healthz, err := listen(cfg.healthzAddr)
	if err != nil {
		return err
	}
	metrics, err := listen(cfg.metricsAddr)
	if err != nil {
		return err
	}
	if err := p.run(ctx, healthz, metrics); err != nil {
		return err
	}
	if cfg.fakeState != "" {
		return saveFakeState(hc, cfg.fakeState)
	}
	return nil
}

// listen listens on addr; "" means not at all.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", addr)
}

// kubeClient connects with the kubeconfig file, or, without one, with the
// in-cluster config (the pod's service account).
func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var rc *rest.Config
	var err error
	if kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("Kubernetes client: %w", err)
	}
	rc.UserAgent = "hnslb-proxy"
	return kubernetes.NewForConfig(rc)
}

const usage = `Usage: hnslb-proxy [flags]

A Windows service proxy: programs the HNS load balancers of this node's
Services, as kube-proxy's winkernel mode does, with package hnslb. With
-fake-hns PROFILE it runs on any OS against an in-memory HNS.

Flags:
`

// parseFlags returns the configuration args ask for, and the log verbosity.
func parseFlags(args []string, stderr io.Writer) (config, int, error) {
	fs := flag.NewFlagSet("hnslb-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	host, _ := os.Hostname()
	cfg := config{nodeName: envOr("NODE_NAME", strings.ToLower(host))}
	var sourceVIPs string
	verbosity := fs.Int("v", 0, "log verbosity: 1 a line per sync, 2 per HNS call")
	fs.StringVar(&cfg.kubeconfig, "kubeconfig", "", "kubeconfig file; default: the in-cluster config")
	fs.StringVar(&cfg.nodeName, "node-name", cfg.nodeName, "this node's name (default $NODE_NAME, else the host name)")
	fs.StringVar(&cfg.networkName, "network-name", envOr("KUBE_NETWORK", "cbr0"), "HNS network of the pods (default $KUBE_NETWORK, else cbr0)")
	fs.StringVar(&cfg.fakeProfile, "fake-hns", "", "run against an in-memory HNS of this profile (ws2019, ws2022, ws2025, latest) instead of the machine's")
	fs.StringVar(&cfg.fakeNetworkType, "fake-network-type", string(lbpolicy.L2Bridge), "type of the fake HNS's network: L2Bridge or Overlay")
	fs.StringVar(&cfg.fakeState, "fake-hns-state", "", "with -fake-hns: load the fake HNS from this file if it exists, and save it there at shutdown (HNS kept across a restart, as on a node)")
	fs.StringVar(&sourceVIPs, "source-vip", "", "Overlay source VIPs, comma-separated, at most one per family")
	fs.StringVar(&cfg.node.HostMAC, "host-mac", "", "MAC of the host vNIC (Overlay)")
	fs.BoolVar(&cfg.node.EnableDSR, "enable-dsr", false, "direct server return for ClusterIP load balancers")
	fs.BoolVar(&cfg.node.ForwardHealthCheckVIP, "forward-healthcheck-vip", false, "a health-check load balancer per ingress IP")
	fs.StringVar(&cfg.node.RootEndpointName, "root-endpoint-name", "", "the host's HNS endpoint (default cbr0)")
	fs.StringVar(&cfg.healthzAddr, "healthz-bind-address", "0.0.0.0:10256", "/healthz and /livez address; empty: none")
	fs.StringVar(&cfg.metricsAddr, "metrics-bind-address", "127.0.0.1:10249", "/metrics (and /debug/hns with -fake-hns) address; empty: none")
	fs.StringVar(&cfg.healthCheckIP, "healthcheck-ip", "", "address of the per-Service health-check servers (default: every address)")
	fs.DurationVar(&cfg.minSyncPeriod, "min-sync-period", time.Second, "least time between syncs once the burst is used")
	fs.DurationVar(&cfg.syncPeriod, "sync-period", 30*time.Second, "most time between syncs; /healthz fails after twice this with a change unsynced")
	fs.IntVar(&cfg.burstSyncs, "burst-syncs", 2, "syncs allowed back to back")
	fs.DurationVar(&cfg.fullSyncPeriod, "full-sync-period", 5*time.Minute, "how often a sync lists HNS and compares everything")
	fs.BoolVar(&cfg.claimNetwork, "claim-network", false, "own every load balancer on the network (no other agent programs it)")
	fs.StringVar(&cfg.ownershipFile, "ownership-file", "", "file recording what this proxy owns in HNS, across restarts")
	if err := fs.Parse(args); err != nil {
		return config{}, 0, err
	}
	if fs.NArg() > 0 {
		return config{}, 0, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if sourceVIPs != "" {
		cfg.node.SourceVIPs = strings.Split(sourceVIPs, ",")
	}
	if cfg.nodeName == "" {
		return config{}, 0, errors.New("-node-name is required")
	}
	if _, port, err := net.SplitHostPort(cfg.healthzAddr); err == nil {
		if n, err := strconv.ParseInt(port, 10, 32); err == nil && n > 0 {
			cfg.node.HealthzPort = int32(n)
		}
	}
	return cfg, *verbosity, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
