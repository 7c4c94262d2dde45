package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// What Windows PowerShell 5.1 writes with `kubectl get ... -o yaml > file`
// is UTF-16LE with a byte-order mark and CRLF line ends. The planner must
// read every document of it, exactly as of the UTF-8 original.
func TestPowerShellUTF16Input(t *testing.T) {
	utf8Run := runWith(t, "", "-f", clustersDir+"winkernel-scenarios.yaml", "-o", "json")
	utf16Run := runWith(t, "", "-f", filepath.Join("testdata", "input", "powershell-utf16le.yaml"), "-o", "json")
	if utf16Run.code != utf8Run.code {
		t.Fatalf("exit status %d for UTF-16, %d for UTF-8; stderr:\n%s", utf16Run.code, utf8Run.code, utf16Run.stderr)
	}
	if diff := cmp.Diff(utf8Run.stdout, utf16Run.stdout); diff != "" {
		t.Errorf("plan of the UTF-16 file differs from the UTF-8 one (-utf8 +utf16):\n%s", diff)
	}
	if !strings.Contains(utf16Run.stdout, `"loadBalancers": [`) || strings.Contains(utf16Run.stdout, `"loadBalancers": []`) {
		t.Errorf("no load balancers planned:\n%s", utf16Run.stdout)
	}
}

func TestInputEncodingErrors(t *testing.T) {
	tests := []struct {
		name, stdin, stderr string
	}{{
		name:   "UTF-16 without a byte-order mark",
		stdin:  "a\x00p\x00i\x00",
		stderr: "hnslb-plan: <stdin>: unsupported text encoding: a NUL byte at line 1, column 2 (UTF-16 without a byte-order mark?); save the file as UTF-8\n",
	}, {
		name:   "duplicate JSON key",
		stdin:  `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},"spec":{"clusterIP":"10.96.0.20","clusterIP":"10.96.0.21","ports":[{"port":80}]}}`,
		stderr: "hnslb-plan: <stdin>: document 1: json: key \"spec.clusterIP\" appears twice in one object\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runWith(t, tt.stdin, "-f", "-")
			if got.code != exitUnusable || got.stderr != tt.stderr || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr\n%s\nwant exit %d, no stdout, stderr\n%s", got.code, got.stdout, got.stderr, exitUnusable, tt.stderr)
			}
		})
	}
}
