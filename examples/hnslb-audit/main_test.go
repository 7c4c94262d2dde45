package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"

	"github.com/hnslb/hnslb/examples/internal/golden"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// collectlogsDir holds the drift dump as collectlogs.ps1 writes it (made
// by TestCollectlogsFiles).
const collectlogsDir = "testdata/collectlogs"

func compareArgs(hnsPath string, extra ...string) []string {
	return append([]string{"compare", "-f", sampleCluster, "-node", sampleNode, "-hns", hnsPath}, extra...)
}

// goldenCases are the golden-tested audits; each is printed as table and
// json into testdata/NAME.FORMAT.golden.
var goldenCases = []struct {
	name string
	args []string
	code int
}{
	{name: "clean", args: compareArgs(cleanDump), code: exitOK},
	{name: "drift", args: compareArgs(driftDump, "-service-cidr", "10.96.0.0/12"), code: exitDiffers},
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
			t.Run(gc.name+"/"+format, func(t *testing.T) {
				args := append(gc.args, "-o", format)
				got := runWith(t, "", args...)
				if got.code != gc.code {
					t.Errorf("hnslb-audit %s: exit status %d, want %d; stderr:\n%s", strings.Join(args, " "), got.code, gc.code, got.stderr)
				}
				golden.Check(t, filepath.Join("testdata", gc.name+"."+format+".golden"), got.stdout, *update)
				if format == "json" {
					checkSchema(t, []byte(got.stdout))
				}
			})
		}
	}
}

// The JSON schema: every key, no others, never null lists.
var (
	reportKeys     = []string{"diagnostics", "endpoints", "loadBalancers"}
	lbKeys         = []string{"differences", "hint", "hnsID", "key", "kind", "port", "service", "status"}
	endpointKeys   = []string{"differences", "hint", "hnsID", "ip", "status"}
	differenceKeys = []string{"field", "hns", "planned"}
	diagnosticKeys = []string{"message", "object", "reason", "severity"}
)

// checkSchema checks the JSON output structurally, independently of the Go
// types that produce it.
func checkSchema(t *testing.T, out []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	object := func(v any, what string, keys []string) map[string]any {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", what, v)
		}
		got := make([]string, 0, len(m))
		for k, v := range m {
			got = append(got, k)
			if _, isList := v.([]any); !isList {
				if _, isString := v.(string); !isString {
					t.Errorf("%s.%s is %T, want a string or a list", what, k, v)
				}
			}
		}
		sort.Strings(got)
		if diff := cmp.Diff(keys, got); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", what, diff)
		}
		return m
	}
	list := func(v any, what string) []any {
		t.Helper()
		l, ok := v.([]any)
		if !ok {
			t.Fatalf("%s is %T (%v), want a list", what, v, v)
		}
		return l
	}
	object(doc, "report", reportKeys)
	for name, keys := range map[string][]string{"loadBalancers": lbKeys, "endpoints": endpointKeys} {
		for i, v := range list(doc[name], name) {
			what := fmt.Sprintf("%s[%d]", name, i)
			entry := object(v, what, keys)
			switch entry["status"] {
			case statusMatch, statusMissing, statusExtra, statusDifferent:
			default:
				t.Errorf("%s: status %v", what, entry["status"])
			}
			diffs := list(entry["differences"], what+".differences")
			if (entry["status"] == statusMatch) != (len(diffs) == 0) {
				t.Errorf("%s: status %v with %d differences", what, entry["status"], len(diffs))
			}
			for j, d := range diffs {
				object(d, fmt.Sprintf("%s.differences[%d]", what, j), differenceKeys)
			}
		}
	}
	for i, v := range list(doc["diagnostics"], "diagnostics") {
		object(v, fmt.Sprintf("diagnostics[%d]", i), diagnosticKeys)
	}
}

// powerShell renders v as Windows PowerShell 5.1 leaves `... |
// ConvertTo-Json -Depth 20 >> file` after table: UTF-16LE with a byte-order
// mark, CRLF line ends, 4-space indentation, two spaces after each colon.
func powerShell(t *testing.T, table string, v any) []byte {
	t.Helper()
	js, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(table+string(js)+"\n", `": `, `":  `)
	text = strings.ReplaceAll(text, "\n", "\r\n")
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

// TestCollectlogsFiles writes the drift dump as collectlogs.ps1 leaves it
// (policy.txt, endpoint.txt, network.txt; -update rewrites them), and
// checks that compare reads the directory as it reads the dump.
func TestCollectlogsFiles(t *testing.T) {
	data, err := os.ReadFile(driftDump)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeDump(data, driftDump)
	if err != nil {
		t.Fatal(err)
	}
	var epTable strings.Builder
	epTable.WriteString("\nIpAddress     MacAddress        IsRemoteEndpoint State\n---------     ----------        ---------------- -----\n")
	for _, ep := range d.Endpoints {
		ip := ""
		if len(ep.IpConfigurations) > 0 {
			ip = ep.IpConfigurations[0].IpAddress
		}
		fmt.Fprintf(&epTable, "%-13s %-17s %-16v 2\n", ip, ep.MacAddress, isRemote(&ep))
	}
	netTable := "\nName         Type    Id                                   AddressPrefix\n----         ----    --                                   -------------\n"
	for _, n := range d.Networks {
		netTable += fmt.Sprintf("%-12s %-7s %s 10.244.1.0/24\n", n.Name, n.Type, n.Id)
	}
	files := map[string][]byte{
		collectPolicies:  powerShell(t, "", d.LoadBalancers),
		collectEndpoints: powerShell(t, epTable.String(), d.Endpoints),
		collectNetworks:  powerShell(t, netTable, d.Networks[0]), // a list of one: the object alone
	}
	if *update {
		if err := os.MkdirAll(collectlogsDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		golden.Check(t, filepath.Join(collectlogsDir, name), string(content), *update)
	}

	fromDir := runWith(t, "", compareArgs(collectlogsDir, "-o", "json", "-service-cidr", "10.96.0.0/12")...)
	fromDump := runWith(t, "", compareArgs(driftDump, "-o", "json", "-service-cidr", "10.96.0.0/12")...)
	if fromDir.code != exitDiffers || fromDir.stdout != fromDump.stdout {
		t.Errorf("compare of %s: status %d, stderr %s; report differs from the dump's:\n%s",
			collectlogsDir, fromDir.code, fromDir.stderr, cmp.Diff(fromDump.stdout, fromDir.stdout))
	}
}

func TestExitStatus(t *testing.T) {
	v1 := filepath.Join(tempDir(t), "v1.json")
	if err := os.WriteFile(v1, []byte(`{"Networks": [], "LoadBalancers": [{"ID": "A", "Policies": [{"Type": "ELB"}], "References": ["/endpoints/b"]}], "Endpoints": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string // in stderr
		stdout string // in stdout; "" means stdout must be empty
	}{
		{name: "no command", code: exitUnusable, stderr: "Usage: hnslb-audit dump"},
		{name: "unknown command", args: []string{"diff"}, code: exitUnusable, stderr: `unknown command "diff": want dump or compare`},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "Usage: hnslb-audit dump"},
		{name: "compare help", args: []string{"compare", "-h"}, code: exitOK, stderr: "-service-cidr CIDR"},
		{name: "bad flag", args: []string{"compare", "-x"}, code: exitUnusable, stderr: "flag provided but not defined: -x"},
		{name: "no -f", args: []string{"compare", "-node", sampleNode, "-hns", cleanDump}, code: exitUnusable, stderr: "-f: give the cluster's Services"},
		{name: "no -node", args: []string{"compare", "-f", sampleCluster, "-hns", cleanDump}, code: exitUnusable, stderr: "-node: give the node file"},
		{name: "no -hns", args: []string{"compare", "-f", sampleCluster, "-node", sampleNode}, code: exitUnusable, stderr: "-hns: give what HNS holds"},
		{name: "bad format", args: compareArgs(cleanDump, "-o", "yaml"), code: exitUnusable, stderr: `-o "yaml": want table or json`},
		{name: "bad cidr", args: compareArgs(cleanDump, "-service-cidr", "10.96.0.0"), code: exitUnusable, stderr: `invalid value "10.96.0.0" for flag -service-cidr`},
		{name: "extra argument", args: compareArgs(cleanDump, "more"), code: exitUnusable, stderr: `unexpected argument "more"`},
		{name: "stdin twice", args: []string{"compare", "-f", "-", "-node", sampleNode, "-hns", "-"}, code: exitUnusable, stderr: "stdin"},
		{name: "no dump file", args: compareArgs("testdata/nope.json"), code: exitUnusable, stderr: "nope.json"},
		{name: "not a collectlogs dir", args: compareArgs("testdata/fuzz"), code: exitUnusable, stderr: "policy.txt"},
		{name: "v1 dump", args: compareArgs(v1), code: exitUnusable, stderr: "an HNS v1 policy list"},
		{name: "dump from stdin", args: compareArgs("-"), stdin: `{"Networks": [], "LoadBalancers": [], "Endpoints": []}`, code: exitDiffers,
			stderr: "load balancers: 0 match, 26 missing", stdout: "LOAD BALANCERS: 0 match, 26 missing"},
		{name: "bad node", args: []string{"compare", "-f", sampleCluster, "-node", sampleCluster, "-hns", cleanDump}, code: exitUnusable, stderr: "Kubernetes object"},
		{name: "dump extra argument", args: []string{"dump", "x"}, code: exitUnusable, stderr: `unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runWith(t, tt.stdin, tt.args...)
			if got.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", got.code, tt.code, got.stderr)
			}
			if !strings.Contains(got.stderr, tt.stderr) {
				t.Errorf("stderr\n%s\ndoes not contain\n%s", got.stderr, tt.stderr)
			}
			if tt.stdout == "" && got.stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", got.stdout)
			}
			if !strings.Contains(got.stdout, tt.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdout, got.stdout)
			}
		})
	}
}

// On a machine without HNS (Linux, or Windows under Wine), dump says why
// it cannot read HNS: NewHCN's error.
func TestDumpWithoutHNS(t *testing.T) {
	_, err := hns.NewHCN("", logr.Discard())
	if err == nil {
		t.Skip("this machine has HNS")
	}
	got := runWith(t, "", "dump")
	want := "hnslb-audit dump: cannot read HNS on this machine: " + err.Error()
	if got.code != exitUnusable || !strings.Contains(got.stderr, want) || got.stdout != "" {
		t.Errorf("dump without HNS: status %d, stdout %q, stderr %q; want status 2 and %q", got.code, got.stdout, got.stderr, want)
	}
}

// withClient makes dump read from h.
func withClient(t *testing.T, h *fake.HNS) {
	saved := newClient
	newClient = func() (hns.Client, error) { return h, nil }
	t.Cleanup(func() { newClient = saved })
}

func TestDumpCommand(t *testing.T) {
	h, node, _ := syncedHNS(t)
	withClient(t, h)
	want, err := os.ReadFile(cleanDump)
	if err != nil {
		t.Fatal(err)
	}

	got := runWith(t, "", "dump", "-network", node.NetworkName)
	if got.code != exitOK || got.stdout != string(want) {
		t.Errorf("dump to stdout: status %d, stderr %q; output differs from %s:\n%s", got.code, got.stderr, cleanDump, cmp.Diff(string(want), got.stdout))
	}
	if !strings.Contains(got.stderr, "26 load balancer(s), 34 endpoint(s) of network flannel.4096") {
		t.Errorf("stderr %q does not say what was dumped", got.stderr)
	}

	file := filepath.Join(tempDir(t), "hns.json")
	got = runWith(t, "", "dump", "-network", node.NetworkName, "-o", file)
	if written, err := os.ReadFile(file); got.code != exitOK || got.stdout != "" || err != nil || string(written) != string(want) {
		t.Errorf("dump -o %s: status %d, stdout %q, stderr %q, read back: %v", file, got.code, got.stdout, got.stderr, err)
	}

	got = runWith(t, "", "dump", "-o", filepath.Join(tempDir(t), "no", "such", "dir", "hns.json"))
	if got.code != exitUnusable || !strings.Contains(got.stderr, "writing the dump") {
		t.Errorf("dump to a bad path: status %d, stderr %q", got.code, got.stderr)
	}
	got = runWith(t, "", "dump", "-network", "nope")
	if got.code != exitUnusable || !strings.Contains(got.stderr, `HNS has no network "nope"`) {
		t.Errorf("dump -network nope: status %d, stderr %q", got.code, got.stderr)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		var stderr bytes.Buffer
		code := run(compareArgs(cleanDump, "-o", format), strings.NewReader(""), failingWriter{}, &stderr)
		if code != exitUnusable || !strings.Contains(stderr.String(), "writing the report: disk full") {
			t.Errorf("-o %s to a failing writer: status %d, stderr %q", format, code, stderr.String())
		}
	}
}

// tempDir is t.TempDir without its cleanup check: under Wine 8 removing a
// test's directory fails, and t.TempDir fails the test for it. What is
// left is in the system's temporary directory.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hnslb-audit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
