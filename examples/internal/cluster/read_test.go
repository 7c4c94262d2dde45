package cluster

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hnslb/hnslb/lbpolicy"
)

func TestReadPaths(t *testing.T) {
	dir := filepath.Join("testdata", "read") // see the test cases for what is there
	stdin := "apiVersion: v1\nkind: Service\nmetadata:\n  name: from-stdin\n"

	tests := []struct {
		name    string
		paths   []string
		want    []string
		wantErr string
	}{{
		name:  "directory in name order, not recursive, then stdin, then a file",
		paths: []string{dir, "-", filepath.Join(dir, "single", "catalog.yaml")},
		want: []string{"Service default/web", "Service default/api", "Service default/from-stdin", "Service default/catalog",
			"EndpointSlice default/web-abc12"},
	}, {
		name:  "ignored kinds",
		paths: []string{filepath.Join(dir, "other")},
		want:  []string{"ignored Endpoints default/web", "ignored Pod default/web-1"},
	}, {
		name:    "directory without manifests",
		paths:   []string{filepath.Join(dir, "empty")},
		wantErr: filepath.Join(dir, "empty") + ": a directory without .yaml, .yml or .json files",
	}, {
		name:    "stdin twice",
		paths:   []string{"-", "-"},
		wantErr: `stdin ("-") can be read only once`,
	}, {
		name:  "the same object in two files",
		paths: []string{filepath.Join(dir, "a-services.json"), filepath.Join(dir, "dup")},
		wantErr: "duplicate object: Service default/web is in " + filepath.Join(dir, "a-services.json") +
			" document 1 and in " + filepath.Join(dir, "dup", "web-again.yaml") + " document 1",
	}, {
		name:    "decode error names the file",
		paths:   []string{filepath.Join(dir, "bad")},
		wantErr: filepath.Join(dir, "bad", "broken.yaml") + ": document 1: yaml: line 3: did not find expected node content",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := ReadPaths(tt.paths, strings.NewReader(stdin))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ReadPaths error\n got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadPathsMissing(t *testing.T) {
	missing := filepath.Join("testdata", "read", "missing.yaml")
	_, err := ReadPaths([]string{missing}, strings.NewReader(""))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadPaths(missing) = %v, want fs.ErrNotExist naming the path", err)
	}
}

func TestReadNode(t *testing.T) {
	dir := filepath.Join("testdata", "node") // one file per case
	no := false
	tests := []struct {
		file    string
		want    lbpolicy.Node
		wantErr string
	}{{
		file: "node.json",
		want: lbpolicy.Node{Name: "n1", NodeIPs: []string{"10.0.0.4"}, NetworkType: lbpolicy.L2Bridge,
			PreferSameTrafficDistribution: &no, IPFamilies: []lbpolicy.IPFamily{lbpolicy.IPv4}, HealthzPort: 10257},
	}, {
		file:    "case.yaml",
		wantErr: `case.yaml: node: unknown field "enableDsr"; did you mean "enableDSR"?`,
	}, {
		file: "unknown.yaml",
		wantErr: `unknown.yaml: node: unknown field "nodeIP"; the fields are enableDSR, forwardHealthCheckVIP, healthzPort, ` +
			`hnsVersion, hostMAC, ipFamilies, networkName, networkType, nodeIPs, nodeName, preferSameTrafficDistribution, ` +
			`remoteSubnets, rootEndpointName, sourceVIPs, zone`,
	}, {
		file:    "subnet.yaml",
		wantErr: `subnet.yaml: remoteSubnets[0]: unknown field "pa"; the fields are destinationPrefix, providerAddress`,
	}, {
		file:    "type.yaml",
		wantErr: `type.yaml: nodeIPs: json: cannot unmarshal string into Go value of type []string`,
	}, {
		file:    "subnettype.yaml",
		wantErr: `subnettype.yaml: remoteSubnets[1].providerAddress: json: cannot unmarshal array into Go value of type string`,
	}, {
		file:    "k8s.yaml",
		wantErr: "k8s.yaml: this is a Kubernetes object, not an hnslb node description (fields enableDSR, …",
	}, {
		file:    "empty.yaml",
		wantErr: "empty.yaml: the node file is empty",
	}, {
		file:    "two.yaml",
		wantErr: "two.yaml: the node file holds 2 documents; want one",
	}, {
		file:    "list.yaml",
		wantErr: "list.yaml: want a mapping of node fields (enableDSR, …",
	}, {
		file:    "dupkey.yaml",
		wantErr: `dupkey.yaml: yaml: unmarshal errors: line 2: key "nodeName" already set in map`,
	}, {
		file:    "dupkey.json",
		wantErr: `dupkey.json: json: key "nodeName" appears twice in one object`,
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ReadNode(filepath.Join(dir, tt.file))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ReadNode succeeded, want error %s", tt.wantErr)
				}
				msg := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator))
				prefix, cut := strings.CutSuffix(tt.wantErr, "…")
				if cut && !strings.HasPrefix(msg, prefix) || !cut && msg != tt.wantErr {
					t.Errorf("ReadNode error\n got %s\nwant %s", msg, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("node (-want +got):\n%s", diff)
			}
		})
	}

	if _, err := ReadNode(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadNode(missing) = %v, want fs.ErrNotExist", err)
	}
}

// The node files under the repository's testdata/nodes must read cleanly.
func TestReadNodeTestdata(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/nodes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no node files: %v", err)
	}
	for _, f := range files {
		n, err := ReadNode(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if n.Name == "" || len(n.NodeIPs) == 0 || n.NetworkType == "" || n.HNSVersion == "" {
			t.Errorf("%s: incomplete node %+v", f, n)
		}
	}
}

// PlanOnly keeps everything lbpolicy reads: the plan is the same.
func TestReadPathsPlanOnly(t *testing.T) {
	path := filepath.Join("sample", "cluster.yaml")
	full, err := ReadPaths([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slim, err := ReadOptions{PlanOnly: true}.ReadPaths([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	refs := 0
	for i, sl := range slim.EndpointSlices {
		for j, ep := range sl.Endpoints {
			if ep.TargetRef != nil || ep.Hostname != nil {
				t.Errorf("%s endpoint %d kept its targetRef or hostname", sl.Name, j)
			}
			if full.EndpointSlices[i].Endpoints[j].TargetRef != nil {
				refs++
			}
		}
	}
	if refs == 0 {
		t.Fatal("the test cluster has no targetRef to drop")
	}
	node, _ := Sample()
	want, err := lbpolicy.Compute(node, full.Services, full.EndpointSlices)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lbpolicy.Compute(node, slim.Services, slim.EndpointSlices)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("plan with PlanOnly (-full +planOnly):\n%s", diff)
	}
}
