package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/examples/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	nodesDir    = "../../testdata/nodes/"
	clustersDir = "../../testdata/clusters/"
	sampleDir   = "../internal/cluster/sample/"
)

// planCases are the golden-tested plans; each is printed as table and json
// into testdata/NAME.FORMAT.golden.
var planCases = []struct {
	name string
	args []string
	code int
}{
	{name: "sample", code: exitOK},
	{name: "sample-l2bridge-dualstack", args: []string{"-node", nodesDir + "l2bridge-dualstack.yaml"}, code: exitOK},
	{name: "sample-overlay-ws2019", args: []string{"-node", nodesDir + "overlay-ws2019.yaml"}, code: exitOK},
	{name: "winkernel-scenarios", args: []string{"-f", clustersDir + "winkernel-scenarios.yaml"}, code: exitOK},
	{name: "kubectl-list", args: []string{"-f", clustersDir + "kubectl-list.json"}, code: exitOK},
	{name: "conflict", args: []string{"-f", clustersDir + "conflict.yaml"}, code: exitPlanErrors},
	{name: "untrusted", args: []string{"-f", clustersDir + "untrusted.yaml"}, code: exitPlanErrors},
}

type result struct {
	code           int
	stdout, stderr string
}

func runWith(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestGolden(t *testing.T) {
	for _, pc := range planCases {
		for _, format := range []string{"table", "json"} {
			t.Run(pc.name+"/"+format, func(t *testing.T) {
				args := append(slices.Clone(pc.args), "-o", format)
				got := runWith(t, "", args...)
				if got.code != pc.code {
					t.Errorf("hnslb-plan %s: exit status %d, want %d; stderr:\n%s", strings.Join(args, " "), got.code, pc.code, got.stderr)
				}
				golden.Check(t, filepath.Join("testdata", pc.name+"."+format+".golden"), got.stdout, *update)
				if format == "json" {
					checkSchema(t, []byte(got.stdout))
				}
				if again := runWith(t, "", args...); again.stdout != got.stdout {
					t.Error("a second run printed something else")
				}
			})
		}
	}
}

// The JSON schema of -o json (doc.go): every key, no others, never null lists.
var (
	planKeys         = []string{"diagnostics", "endpoints", "loadBalancers"}
	loadBalancerKeys = []string{"backends", "distributionType", "distributionTypeName", "externalPort", "flagNames", "flags",
		"frontendVIPs", "internalPort", "ipFamily", "key", "kind", "port", "portMappingFlagNames", "portMappingFlags", "protocol",
		"service", "sourceVIP"}
	endpointKeys   = []string{"ip", "macAddress", "providerAddress", "remote"}
	diagnosticKeys = []string{"message", "object", "reason", "severity"}
)

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkSchema checks the JSON output structurally, independently of the Go
// types that produce it.
func checkSchema(t *testing.T, out []byte) {
	t.Helper()
	var plan map[string]any
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	if diff := cmp.Diff(planKeys, keysOf(plan)); diff != "" {
		t.Errorf("plan keys (-want +got):\n%s", diff)
	}
	list := func(v any, what string) []any {
		t.Helper()
		l, ok := v.([]any)
		if !ok {
			t.Errorf("%s is %T (%v), want a list", what, v, v)
		}
		return l
	}
	object := func(v any, what string, keys []string) map[string]any {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", what, v)
		}
		if diff := cmp.Diff(keys, keysOf(m)); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", what, diff)
		}
		return m
	}
	isString := func(v any) bool { _, ok := v.(string); return ok }
	isNumber := func(v any) bool { _, ok := v.(float64); return ok }

	for i, v := range list(plan["loadBalancers"], "loadBalancers") {
		what := fmt.Sprintf("loadBalancers[%d]", i)
		lb := object(v, what, loadBalancerKeys)
		for _, k := range []string{"service", "port", "kind", "ipFamily", "sourceVIP", "key", "distributionTypeName"} {
			if !isString(lb[k]) {
				t.Errorf("%s.%s = %v, want a string", what, k, lb[k])
			}
		}
		for _, k := range []string{"protocol", "internalPort", "externalPort", "flags", "portMappingFlags", "distributionType"} {
			if !isNumber(lb[k]) {
				t.Errorf("%s.%s = %v, want a number", what, k, lb[k])
			}
		}
		checkFlagNames(t, lb["flagNames"], what+".flagNames")
		checkFlagNames(t, lb["portMappingFlagNames"], what+".portMappingFlagNames")
		vips := list(lb["frontendVIPs"], what+".frontendVIPs")
		backends := list(lb["backends"], what+".backends")
		if len(backends) == 0 {
			t.Errorf("%s has no backends", what)
		}
		switch lb["kind"] {
		case "NodePort":
			if len(vips) != 0 {
				t.Errorf("%s: NodePort with frontendVIPs %v", what, vips)
			}
		case "HealthCheck":
			for _, b := range backends {
				if s, _ := b.(string); !strings.HasPrefix(s, "<") || !strings.HasSuffix(s, ">") {
					t.Errorf("%s: HealthCheck backend %v, want <endpoint-name>", what, b)
				}
			}
			fallthrough
		case "ClusterIP", "ExternalIP", "Ingress":
			if len(vips) != 1 {
				t.Errorf("%s: %v with frontendVIPs %v, want one", what, lb["kind"], vips)
			}
		default:
			t.Errorf("%s: unknown kind %v", what, lb["kind"])
		}
	}
	for i, v := range list(plan["endpoints"], "endpoints") {
		ep := object(v, fmt.Sprintf("endpoints[%d]", i), endpointKeys)
		if _, ok := ep["remote"].(bool); !ok || !isString(ep["ip"]) || !isString(ep["macAddress"]) || !isString(ep["providerAddress"]) {
			t.Errorf("endpoint %v: wrong types", ep)
		}
	}
	for _, v := range list(plan["diagnostics"], "diagnostics") {
		d := object(v, "diagnostic", diagnosticKeys)
		switch d["severity"] {
		case "info", "warning", "error":
		default:
			t.Errorf("diagnostic %v: unknown severity", d)
		}
	}
}

// checkFlagNames checks a list of flag names: never "" or "None".
func checkFlagNames(t *testing.T, v any, what string) {
	t.Helper()
	names, ok := v.([]any)
	if !ok {
		t.Errorf("%s is %T (%v), want a list", what, v, v)
	}
	for _, n := range names {
		if s, _ := n.(string); s == "" || s == "None" {
			t.Errorf("%s holds %v, want flag names", what, n)
		}
	}
}

// The built-in sample is the same as its files given explicitly, and as
// the cluster read from stdin.
func TestDefaultsAreTheSample(t *testing.T) {
	want := runWith(t, "")
	explicit := runWith(t, "", "-f", sampleDir+"cluster.yaml", "-node", sampleDir+"node.yaml")
	if explicit != want {
		t.Errorf("-f/-node with the sample files differs from the defaults:\n%s", cmp.Diff(want, explicit))
	}
	cluster, err := os.ReadFile(sampleDir + "cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if stdin := runWith(t, string(cluster), "-f", "-"); stdin != want {
		t.Errorf("-f - differs from the defaults:\n%s", cmp.Diff(want, stdin))
	}
}

func TestExitStatus(t *testing.T) {
	dir := filepath.Join("testdata", "input")
	badCluster := filepath.Join(dir, "bad-cluster.yaml")
	badNode := filepath.Join(dir, "bad-node.yaml")
	unknownField := filepath.Join(dir, "typo-node.yaml")
	empty := filepath.Join(dir, "empty.yaml")

	tests := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		stderr     string // a substring of stderr
		stdoutSays string // a substring of stdout; "" means stdout must be empty
	}{{
		name: "help", args: []string{"-h"}, code: exitOK,
		stderr: "Usage: hnslb-plan [-f FILE]... [-node FILE] [-o table|json]",
	}, {
		name: "unknown flag", args: []string{"-x"}, code: exitUnusable,
		stderr: "flag provided but not defined: -x",
	}, {
		name: "unknown format", args: []string{"-o", "yaml"}, code: exitUnusable,
		stderr: `hnslb-plan: -o "yaml": want table or json`,
	}, {
		name: "positional argument", args: []string{"cluster.yaml"}, code: exitUnusable,
		stderr: `hnslb-plan: unexpected argument "cluster.yaml": give input files with -f`,
	}, {
		name: "missing file", args: []string{"-f", filepath.Join(dir, "missing.yaml")}, code: exitUnusable,
		stderr: filepath.Join(dir, "missing.yaml"),
	}, {
		name: "undecodable file", args: []string{"-f", badCluster}, code: exitUnusable,
		stderr: "hnslb-plan: " + badCluster + ": document 1 (Service default/web): spec.ports[0].port: json: cannot unmarshal string into Go value of type int32\n",
	}, {
		name: "undecodable stdin", args: []string{"-f", "-"}, stdin: "{", code: exitUnusable,
		stderr: "hnslb-plan: <stdin>: document 1: json: unexpected end of input\n",
	}, {
		name: "invalid node", args: []string{"-node", badNode}, code: exitUnusable,
		stderr: "hnslb-plan: invalid node in " + badNode + ":\n  node field nodeIPs[0] \"10.0.0.300\": is not an IP address\n",
	}, {
		name: "node with an unknown field", args: []string{"-node", unknownField}, code: exitUnusable,
		stderr: `node: unknown field "enableDsr"; did you mean "enableDSR"?`,
	}, {
		name: "missing node file", args: []string{"-node", filepath.Join(dir, "missing-node.yaml")}, code: exitUnusable,
		stderr: filepath.Join(dir, "missing-node.yaml"),
	}, {
		name: "no objects", args: []string{"-f", empty, "-o", "json"}, code: exitOK,
		stderr: "hnslb-plan: note: no Services in " + empty + "\n", stdoutSays: `"loadBalancers": [],`,
	}, {
		name: "error diagnostic", args: []string{"-f", clustersDir + "conflict.yaml"}, code: exitPlanErrors,
		stderr: "hnslb-plan: the plan has 1 error diagnostic(s)", stdoutSays: "FrontendConflict",
	}, {
		name: "ignored objects", args: []string{"-f", clustersDir + "winkernel-scenarios.yaml"}, code: exitOK,
		stderr:     "hnslb-plan: note: ignored 1 object(s) that are neither Services nor EndpointSlices: Endpoints default/down\n",
		stdoutSays: "LOAD BALANCERS",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runWith(t, tt.stdin, tt.args...)
			if got.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", got.code, tt.code, got.stderr)
			}
			if !strings.Contains(got.stderr, tt.stderr) {
				t.Errorf("stderr\n%s\ndoes not contain\n%s", got.stderr, tt.stderr)
			}
			if tt.stdoutSays == "" && got.stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", got.stdout)
			}
			if !strings.Contains(got.stdout, tt.stdoutSays) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdoutSays, got.stdout)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		var stderr bytes.Buffer
		code := run([]string{"-o", format}, strings.NewReader(""), failingWriter{}, &stderr)
		if code != exitUnusable || !strings.Contains(stderr.String(), "writing the plan: disk full") {
			t.Errorf("-o %s to a failing writer: status %d, stderr %q", format, code, stderr.String())
		}
	}
}
