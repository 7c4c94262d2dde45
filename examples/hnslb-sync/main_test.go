package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
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
	eventsFile  = "testdata/events.json"
)

// states are the steps of testdata/states, in order: an initial state, a
// remote pod of web replaced (one load balancer changes), Service api
// deleted, the same again (replayed with -restart-at 4), and a new local
// pod of web.
var states = []string{
	"testdata/states/1-initial",
	"testdata/states/2-web-pod-replaced",
	"testdata/states/3-api-deleted",
	"testdata/states/4-unchanged",
	"testdata/states/5-web-scaled-up",
}

// Step numbers (1-based) in the replays of states and events.json.
const (
	statesChangeStep  = 2 // web's remote pod replaced
	statesDeleteStep  = 3 // api deleted
	statesRestartStep = 4 // unchanged, after a restart
	eventsChangeStep  = 5 // event 6: web's remote pod replaced
	eventsRestartStep = 8 // event 9: web relabelled, after a restart
)

func statesArgs(extra ...string) []string {
	return append(extra, states...)
}

// goldenCases are the golden-tested replays; each is printed as table and
// json (table only with -dump) into testdata/NAME.FORMAT.golden.
var goldenCases = []struct {
	name string
	args []string
	code int
}{
	{name: "states-ws2022-dump", args: statesArgs("-profile", "ws2022", "-dump"), code: exitOK},
	{name: "demo", code: exitOK},
	{name: "demo-l2bridge-dualstack", args: []string{"-node", nodesDir + "l2bridge-dualstack.yaml"}, code: exitOK},
	{name: "states-ws2022", args: statesArgs("-profile", "ws2022", "-restart-at", "4"), code: exitOK},
	{name: "states-latest", args: statesArgs("-profile", "latest", "-restart-at", "4"), code: exitOK},
	{name: "events", args: []string{"-events", eventsFile, "-restart-at", "8"}, code: exitOK},
	{name: "events-batch", args: []string{"-events", eventsFile, "-batch", "4", "-profile", "ws2022"}, code: exitOK},
	{name: "conflict", args: []string{clustersDir + "conflict.yaml"}, code: exitStepErrors},
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
	for _, gc := range goldenCases {
		for _, format := range []string{"table", "json"} {
			if format == "json" && slices.Contains(gc.args, "-dump") {
				continue
			}
			t.Run(gc.name+"/"+format, func(t *testing.T) {
				args := append([]string{"-o", format}, gc.args...)
				got := runWith(t, "", args...)
				if got.code != gc.code {
					t.Errorf("hnslb-sync %s: exit status %d, want %d; stderr:\n%s", strings.Join(args, " "), got.code, gc.code, got.stderr)
				}
				golden.Check(t, filepath.Join("testdata", gc.name+"."+format+".golden"), got.stdout, *update)
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

// The JSON schema: every key, no others, never null lists.
var (
	topKeys  = []string{"steps"}
	stepKeys = []string{"adopted", "calls", "created", "deleted", "diagnostics", "endpoints", "errors", "full", "loadBalancers",
		"step", "updated"}
	// callsKeys are the names of hns's Op constants.
	callsKeys = []string{"CreateEndpoint", "CreateLoadBalancer", "DeleteEndpoint", "DeleteLoadBalancer", "GetLoadBalancer",
		"GetNetworkByName", "ListEndpoints", "ListLoadBalancers", "UpdateLoadBalancer", "Version"}
	keyChangeKeys = []string{"key", "port", "service"}
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
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	if diff := cmp.Diff(topKeys, keysOf(doc)); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	steps, ok := doc["steps"].([]any)
	if !ok || len(steps) == 0 {
		t.Fatalf("steps is %v, want a non-empty list", doc["steps"])
	}
	for i, v := range steps {
		step, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("steps[%d] is %T, want an object", i, v)
		}
		if diff := cmp.Diff(stepKeys, keysOf(step)); diff != "" {
			t.Errorf("steps[%d] keys (-want +got):\n%s", i, diff)
		}
		if _, ok := step["step"].(string); !ok {
			t.Errorf("steps[%d].step = %v, want a string", i, step["step"])
		}
		for _, k := range []string{"loadBalancers", "endpoints", "adopted"} {
			if _, ok := step[k].(float64); !ok {
				t.Errorf("steps[%d].%s = %v, want a number", i, k, step[k])
			}
		}
		for _, k := range []string{"created", "updated", "deleted"} {
			list, ok := step[k].([]any)
			if !ok {
				t.Errorf("steps[%d].%s = %v, want a list", i, k, step[k])
			}
			for _, e := range list {
				m, ok := e.(map[string]any)
				if !ok {
					t.Errorf("steps[%d].%s holds %v, want objects", i, k, e)
					continue
				}
				if diff := cmp.Diff(keyChangeKeys, keysOf(m)); diff != "" {
					t.Errorf("steps[%d].%s keys (-want +got):\n%s", i, k, diff)
				}
			}
		}
		for _, k := range []string{"errors", "diagnostics"} {
			list, ok := step[k].([]any)
			if !ok {
				t.Errorf("steps[%d].%s = %v, want a list", i, k, step[k])
			}
			for _, e := range list {
				if _, ok := e.(string); !ok {
					t.Errorf("steps[%d].%s holds %v, want strings", i, k, e)
				}
			}
		}
		calls, ok := step["calls"].(map[string]any)
		if !ok {
			t.Fatalf("steps[%d].calls is %T, want an object", i, step["calls"])
		}
		if diff := cmp.Diff(callsKeys, keysOf(calls)); diff != "" {
			t.Errorf("steps[%d].calls keys (-want +got):\n%s", i, diff)
		}
		for k, n := range calls {
			if _, ok := n.(float64); !ok {
				t.Errorf("steps[%d].calls.%s = %v, want a number", i, k, n)
			}
		}
	}
}

// jsonStep is one step of the -o json output.
type jsonStep struct {
	Step  string `json:"step"`
	Calls struct {
		CreateLoadBalancer int
		UpdateLoadBalancer int
		DeleteLoadBalancer int
		CreateEndpoint     int
		DeleteEndpoint     int
		GetLoadBalancer    int
	} `json:"calls"`
	Created, Updated, Deleted []keyChange
	LoadBalancers             int      `json:"loadBalancers"`
	Endpoints                 int      `json:"endpoints"`
	Errors                    []string `json:"errors"`
	Diagnostics               []string `json:"diagnostics"`
	Adopted                   int      `json:"adopted"`
}

func (s jsonStep) mutating() int {
	c := s.Calls
	return c.CreateLoadBalancer + c.UpdateLoadBalancer + c.DeleteLoadBalancer + c.CreateEndpoint + c.DeleteEndpoint
}

// replayJSONSteps runs hnslb-sync -o json with args, which must exit 0
// and report no errors or diagnostics, and returns its steps.
func replayJSONSteps(t *testing.T, args ...string) []jsonStep {
	t.Helper()
	steps := runJSON(t, exitOK, args...)
	for i, s := range steps {
		if len(s.Errors) > 0 || len(s.Diagnostics) > 0 {
			t.Errorf("step %d (%s): errors %q, diagnostics %q", i+1, s.Step, s.Errors, s.Diagnostics)
		}
	}
	return steps
}

// runJSON runs hnslb-sync -o json with args, which must exit with
// status code, and returns its steps.
func runJSON(t *testing.T, code int, args ...string) []jsonStep {
	t.Helper()
	got := runWith(t, "", append([]string{"-o", "json"}, args...)...)
	if got.code != code {
		t.Fatalf("hnslb-sync %s: exit status %d; stderr:\n%s", strings.Join(args, " "), got.code, got.stderr)
	}
	var doc struct {
		Steps []jsonStep `json:"steps"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Steps
}

// The changed load balancer is deleted and created again where HNS cannot
// update in place (ws2022; ws2025, whose 15.4 ignores updates), and updated
// once, then read back, on latest. The deleted Service costs two deletes
// everywhere, and a restarted Reconciler makes no mutating call.
func TestStatesCalls(t *testing.T) {
	for _, profile := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		t.Run(profile, func(t *testing.T) {
			steps := replayJSONSteps(t, statesArgs("-profile", profile, "-restart-at", "4")...)
			if len(steps) != len(states) {
				t.Fatalf("%d steps, want %d", len(steps), len(states))
			}
			change := steps[statesChangeStep-1]
			if profile == "latest" {
				if c := change.Calls; c.UpdateLoadBalancer != 1 || c.DeleteLoadBalancer != 0 || c.CreateLoadBalancer != 0 || c.GetLoadBalancer != 1 {
					t.Errorf("pod replaced on %s: calls %+v, want 1 update read back once", profile, c)
				}
			} else {
				if c := change.Calls; c.UpdateLoadBalancer != 0 || c.DeleteLoadBalancer != 1 || c.CreateLoadBalancer != 1 {
					t.Errorf("pod replaced on %s: calls %+v, want 1 delete and 1 create", profile, c)
				}
			}
			if c := change.Calls; c.CreateEndpoint != 1 || c.DeleteEndpoint != 1 {
				t.Errorf("pod replaced on %s: calls %+v, want the new remote endpoint created and the old one deleted", profile, c)
			}
			web := []keyChange{{Key: "IPv4/10.96.45.12/TCP/80", Service: "default/web", Port: "http"}}
			if diff := cmp.Diff(web, change.Updated); diff != "" || len(change.Created)+len(change.Deleted) > 0 {
				t.Errorf("pod replaced on %s: created %v, deleted %v, updated (-want +got):\n%s", profile, change.Created, change.Deleted, diff)
			}
			api := []keyChange{{Key: "IPv4/*/TCP/30080", Service: "default/api", Port: "http"}, {Key: "IPv4/10.96.88.20/TCP/8080", Service: "default/api", Port: "http"}}
			if diff := cmp.Diff(api, steps[statesDeleteStep-1].Deleted); diff != "" {
				t.Errorf("api deleted on %s: deleted (-want +got):\n%s", profile, diff)
			}
			if c := steps[statesDeleteStep-1].Calls; c.DeleteLoadBalancer != 2 || c.CreateLoadBalancer != 0 || c.UpdateLoadBalancer != 0 {
				t.Errorf("api deleted on %s: calls %+v, want its 2 load balancers deleted", profile, c)
			}
			restart := steps[statesRestartStep-1]
			if n := len(restart.Created) + len(restart.Updated) + len(restart.Deleted); n != 0 {
				t.Errorf("restart with an unchanged state on %s: %d load balancers changed", profile, n)
			}
			if n := restart.mutating(); n != 0 {
				t.Errorf("restart with an unchanged state on %s: %d mutating calls %+v, want 0", profile, n, restart.Calls)
			}
			if restart.Adopted != restart.LoadBalancers || restart.Adopted == 0 {
				t.Errorf("restart on %s: adopted %d of %d load balancers", profile, restart.Adopted, restart.LoadBalancers)
			}
		})
	}
}

// A restart with the same state as the step before makes no mutating
// call, for the sample cluster on every profile and network type.
func TestRestartWithoutChange(t *testing.T) {
	for _, profile := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		for _, node := range []string{sampleDir + "node.yaml", nodesDir + "l2bridge-dualstack.yaml"} {
			t.Run(profile+"/"+filepath.Base(node), func(t *testing.T) {
				cluster := sampleDir + "cluster.yaml"
				code := exitOK
				if profile == "ws2019" && strings.Contains(node, "dualstack") {
					code = exitStepErrors // an IPv6Unsupported error diagnostic
				}
				steps := runJSON(t, code, "-profile", profile, "-node", node, "-restart-at", "2", cluster, cluster, cluster)
				for i, s := range steps {
					if len(s.Errors) > 0 {
						t.Errorf("step %d: errors %q", i+1, s.Errors)
					}
				}
				if steps[0].mutating() == 0 {
					t.Fatal("the first step made no mutating call")
				}
				for i, s := range steps[1:] {
					if n := s.mutating(); n != 0 {
						t.Errorf("step %d: %d mutating calls %+v, want 0", i+2, n, s.Calls)
					}
				}
				if steps[1].Adopted != steps[1].LoadBalancers {
					t.Errorf("the restarted Reconciler adopted %d of %d load balancers", steps[1].Adopted, steps[1].LoadBalancers)
				}
			})
		}
	}
}

// The demo's steps on ws2022 and latest, read from the JSON.
func TestDemoCalls(t *testing.T) {
	for _, profile := range []string{"ws2022", "latest"} {
		t.Run(profile, func(t *testing.T) {
			steps := replayJSONSteps(t, "-profile", profile)
			if len(steps) != 3 {
				t.Fatalf("%d steps, want 3", len(steps))
			}
			c := steps[1].Calls
			if profile == "latest" && (c.UpdateLoadBalancer != 1 || c.DeleteLoadBalancer+c.CreateLoadBalancer != 0) ||
				profile != "latest" && (c.UpdateLoadBalancer != 0 || c.DeleteLoadBalancer != 1 || c.CreateLoadBalancer != 1) {
				t.Errorf("demo 2 on %s: calls %+v", profile, c)
			}
			if c := steps[2].Calls; c.DeleteLoadBalancer != 2 || steps[2].LoadBalancers != steps[1].LoadBalancers-2 {
				t.Errorf("demo 3 on %s: calls %+v, %d load balancers left", profile, c, steps[2].LoadBalancers)
			}
		})
	}

	// A restart with the deleted Service gone leaves its load balancers
	// alone, unless the Reconciler claims the network.
	steps := replayJSONSteps(t, "-restart-at", "3")
	if n := steps[2].mutating(); n != 0 || steps[2].LoadBalancers != steps[1].LoadBalancers {
		t.Errorf("restart at demo 3: %d mutating calls, %d load balancers; want 0 and %d", n, steps[2].LoadBalancers, steps[1].LoadBalancers)
	}
	steps = replayJSONSteps(t, "-restart-at", "3", "-claim-network")
	if c := steps[2].Calls; c.DeleteLoadBalancer != 2 || steps[2].LoadBalancers != steps[1].LoadBalancers-2 {
		t.Errorf("restart at demo 3 with -claim-network: calls %+v, %d load balancers left", c, steps[2].LoadBalancers)
	}
	// The deleted keys are named after the plan that last had them.
	gateway := []keyChange{
		{Key: "IPv4/10.96.61.200/TCP/8443", Service: "default/legacy-gateway", Port: "https"},
		{Key: "IPv4/192.168.100.50/TCP/8443", Service: "default/legacy-gateway", Port: "https"},
	}
	if diff := cmp.Diff(gateway, steps[2].Deleted); diff != "" {
		t.Errorf("restart at demo 3 with -claim-network: deleted (-want +got):\n%s", diff)
	}
}

// The demo's first step is the sample cluster given as a state.
func TestDemoIsTheSample(t *testing.T) {
	demo := replayJSONSteps(t)
	explicit := replayJSONSteps(t, "-node", sampleDir+"node.yaml", sampleDir+"cluster.yaml")
	demo[0].Step = explicit[0].Step
	if diff := cmp.Diff(demo[0], explicit[0]); diff != "" {
		t.Errorf("demo 1 and the sample files differ (-demo +files):\n%s", diff)
	}
	stdin, err := os.ReadFile(sampleDir + "cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := runWith(t, string(stdin), "-o", "json", "-"); !strings.Contains(got.stdout, `"step": "<stdin>"`) || got.code != exitOK {
		t.Errorf("state from stdin: status %d, stdout\n%s", got.code, got.stdout)
	}
}

func TestEventsCalls(t *testing.T) {
	steps := replayJSONSteps(t, "-events", eventsFile, "-restart-at", "8", "-profile", "ws2022")
	if len(steps) != 9 {
		t.Fatalf("%d steps, want 9 (10 events, one skipped)", len(steps))
	}
	if c := steps[eventsChangeStep-1].Calls; c.UpdateLoadBalancer != 0 || c.DeleteLoadBalancer != 1 || c.CreateLoadBalancer != 1 {
		t.Errorf("%s on ws2022: calls %+v, want 1 delete and 1 create", steps[eventsChangeStep-1].Step, c)
	}
	restart := steps[eventsRestartStep-1]
	if !strings.HasPrefix(restart.Step, "event 9: MODIFIED Service default/web") {
		t.Fatalf("step %d is %q", eventsRestartStep, restart.Step)
	}
	if n := restart.mutating(); n != 0 || restart.Adopted != restart.LoadBalancers {
		t.Errorf("restart at %s: %d mutating calls, adopted %d of %d load balancers", restart.Step, n, restart.Adopted, restart.LoadBalancers)
	}

	// Replaying the events ends where replaying their states ends.
	last := steps[len(steps)-1]
	if last.LoadBalancers != 1 {
		t.Errorf("after the events: %d load balancers, want 1 (web)", last.LoadBalancers)
	}

	// YAML is read as JSON is.
	args := []string{"-events", eventsFile, "-batch", "3"}
	json := runWith(t, "", args...)
	args[1] = "testdata/events.yaml"
	if yaml := runWith(t, "", args...); yaml != json {
		t.Errorf("events.yaml replays differently from events.json:\n%s", cmp.Diff(json, yaml))
	}
}

func TestExitStatus(t *testing.T) {
	dir := filepath.Join("testdata", "input")
	missing := filepath.Join(dir, "missing.yaml")
	badState := filepath.Join(dir, "bad-state.yaml")
	badEvent := filepath.Join(dir, "bad-event.json")
	badNode := filepath.Join(dir, "bad-node.yaml")
	noNetwork := filepath.Join(dir, "no-network-node.yaml")
	podsOnly := filepath.Join(dir, "pods-only.json")

	tests := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		stderr     string // a substring of stderr
		stdoutSays string // a substring of stdout; "" means stdout must be empty
	}{{
		name: "help", args: []string{"-h"}, code: exitOK,
		stderr: "Usage: hnslb-sync [-node FILE] [-profile NAME] [-restart-at N] [-claim-network] [-dump] [-o table|json] [STATE]...",
	}, {
		name: "dump in json", args: []string{"-dump", "-o", "json"}, code: exitUnusable,
		stderr: "hnslb-sync: -dump applies to -o table only",
	}, {
		name: "unknown flag", args: []string{"-x"}, code: exitUnusable,
		stderr: "flag provided but not defined: -x",
	}, {
		name: "unknown format", args: []string{"-o", "yaml"}, code: exitUnusable,
		stderr: `hnslb-sync: -o "yaml": want table or json`,
	}, {
		name: "unknown profile", args: []string{"-profile", "ws2016"}, code: exitUnusable,
		stderr: `hnslb-sync: -profile: unknown HNS profile "ws2016": want one of ws2019, ws2022, ws2025, latest` + "\n",
	}, {
		name: "restart at step 1", args: []string{"-restart-at", "1"}, code: exitUnusable,
		stderr: "hnslb-sync: -restart-at 1: want a step number, 2 or later (step 1 always starts a new Reconciler)\n",
	}, {
		name: "restart at a negative step", args: []string{"-restart-at", "-2"}, code: exitUnusable,
		stderr: "hnslb-sync: -restart-at -2: want a step number, 2 or later",
	}, {
		name: "restart after the last step", args: []string{"-restart-at", "4"}, code: exitUnusable,
		stderr: "hnslb-sync: -restart-at 4: there are only 3 steps\n",
	}, {
		name: "restart after the last batch", args: []string{"-events", eventsFile, "-batch", "5", "-restart-at", "3"}, code: exitUnusable,
		stderr: "hnslb-sync: -restart-at 3: there are only 2 steps\n",
	}, {
		name: "restart not a number", args: []string{"-restart-at", "two"}, code: exitUnusable,
		stderr: `invalid value "two" for flag -restart-at`,
	}, {
		name: "batch zero", args: []string{"-events", eventsFile, "-batch", "0"}, code: exitUnusable,
		stderr: "hnslb-sync: -batch 0: want 1 or more events per step\n",
	}, {
		name: "batch without events", args: []string{"-batch", "2"}, code: exitUnusable,
		stderr: "hnslb-sync: -batch applies to -events only\n",
	}, {
		name: "events and states", args: []string{"-events", eventsFile, states[0]}, code: exitUnusable,
		stderr: `hnslb-sync: unexpected argument "testdata/states/1-initial": give either states or -events, not both`,
	}, {
		name: "flag after the states", args: []string{states[0], "-o", "json"}, code: exitUnusable,
		stderr: `hnslb-sync: "-o" after the states: give flags before them (a file named so: ./-o)` + "\n",
	}, {
		name: "missing state", args: []string{states[0], missing}, code: exitUnusable,
		stderr: missing,
	}, {
		name: "undecodable state", args: []string{badState}, code: exitUnusable,
		stderr: "hnslb-sync: " + badState + ": document 1 (Service default/web): spec.ports[0].port: json: cannot unmarshal string into Go value of type int32\n",
	}, {
		name: "stdin twice", args: []string{"-", "-"}, stdin: "", code: exitUnusable,
		stderr: `hnslb-sync: stdin ("-") can be read only once`,
	}, {
		name: "missing events file", args: []string{"-events", missing}, code: exitUnusable,
		stderr: missing,
	}, {
		name: "bad event", args: []string{"-events", badEvent}, code: exitUnusable,
		stderr: "hnslb-sync: " + badEvent + `: document 2: type: not a watch event: "UPDATED" is not a watch event type; want ADDED, MODIFIED or DELETED (BOOKMARK and ERROR are skipped)` + "\n",
	}, {
		name: "bad event on stdin", args: []string{"-events", "-"}, stdin: `{"type":"ADDED"}`, code: exitUnusable,
		stderr: "hnslb-sync: <stdin>: document 1: object: not a watch event: is required",
	}, {
		name: "a state given as events", args: []string{"-events", sampleDir + "cluster.yaml"}, code: exitUnusable,
		stderr: "this is a Kubernetes object, not a watch event",
	}, {
		name: "no usable events", args: []string{"-events", podsOnly}, code: exitUnusable,
		stderr: "hnslb-sync: " + podsOnly + ": no events on Services or EndpointSlices\n",
	}, {
		name: "invalid node", args: []string{"-node", badNode}, code: exitUnusable,
		stderr: "hnslb-sync: invalid node in " + badNode + ":\n  node field nodeIPs[0] \"10.0.0.300\": is not an IP address\n",
	}, {
		name: "node without network", args: []string{"-node", noNetwork}, code: exitUnusable,
		stderr: "hnslb-sync: the node in " + noNetwork + " has no networkName",
	}, {
		name: "missing node file", args: []string{"-node", missing}, code: exitUnusable,
		stderr: missing,
	}, {
		name: "error diagnostic", args: []string{clustersDir + "conflict.yaml"}, code: exitStepErrors,
		stderr:     "hnslb-sync: step 1 (../../testdata/clusters/conflict.yaml): 1 error diagnostic(s)\nhnslb-sync: 1 of 1 step(s) had errors\n",
		stdoutSays: "plan: error: Service default/green:web: FrontendConflict",
	}, {
		name: "ignored objects", args: []string{clustersDir + "winkernel-scenarios.yaml"}, code: exitOK,
		stderr:     "hnslb-sync: note: step 1 (../../testdata/clusters/winkernel-scenarios.yaml): ignored 1 object(s) that are neither Services nor EndpointSlices: Endpoints default/down\n",
		stdoutSays: "STEP 1/1",
	}, {
		name: "skipped events", args: []string{"-events", eventsFile, "-o", "json"}, code: exitOK,
		stderr:     "hnslb-sync: note: skipped 1 event(s) that are not about Services or EndpointSlices: document 5: ADDED Pod default/web-5d8f7-a1\n",
		stdoutSays: `"step": "event 10: MODIFIED EndpointSlice default/web-7xk2p"`,
	}, {
		name: "profile replaces the node's version", args: []string{"-profile", "ws2019", "-o", "json"}, code: exitOK,
		stderr:     "hnslb-sync: note: planning for HNS 10.3 (profile ws2019), not the hnsVersion 15.5 of the built-in sample node\n",
		stdoutSays: `"step": "demo 3: Service default/legacy-gateway and its EndpointSlice deleted"`,
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
		if code != exitUnusable || !strings.Contains(stderr.String(), "writing the output: disk full") {
			t.Errorf("-o %s to a failing writer: status %d, stderr %q", format, code, stderr.String())
		}
	}
}

// The usage names every profile.
func TestProfilesListed(t *testing.T) {
	got := runWith(t, "", "-h")
	for _, name := range []string{"ws2019", "ws2022", "ws2025", "latest"} {
		if !strings.Contains(got.stderr, name) {
			t.Errorf("usage does not name profile %s", name)
		}
	}
}
