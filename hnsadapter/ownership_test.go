package hnsadapter_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hnslb/hnslb/hnsadapter"
	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// ownershipFile returns the path of a record file in a new directory.
// Not t.TempDir: these tests run under Wine, where removing a test's
// directory fails and t.TempDir fails the test for it.
func ownershipFile(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hnslb-ownership-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "owned.json")
}

// logLines collects what a logger logs, one string per line.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = nil
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{Verbosity: 1})
}

// find returns the lines that contain s, ignoring case.
func (l *logLines) find(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(strings.ToLower(line), strings.ToLower(s)) {
			out = append(out, line)
		}
	}
	return out
}

// With Options.OwnershipFile, ownership outlives the process: after a
// restart the Reconciler still owns what it owned, what the new plan no
// longer wants included (a Service deleted while the proxy was down loses
// its load balancers and the remote endpoint only it used). Without the
// file they stay, as they may be another agent's.
func TestSyncOwnershipFileSurvivesRestart(t *testing.T) {
	for _, withFile := range []bool{true, false} {
		t.Run(map[bool]string{true: "record", false: "no record"}[withFile], func(t *testing.T) {
			file := ""
			if withFile {
				file = ownershipFile(t)
			}
			e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.OwnershipFile = file }))
			lbs := basePlan()
			e.syncClean(plan(lbs))

			e.restart()
			p := plan(lbs[:2]) // dns was deleted while the proxy was down
			res := e.syncClean(p)
			if !withFile {
				assert.Zero(t, res.MutatingCalls())
				assert.Len(t, hnsLines(e.h), 4, "dns's load balancers stay")
				return
			}
			assert.Equal(t, 2, res.Deleted)
			assert.Equal(t, 1, res.EndpointsDeleted, "10.244.4.4")
			e.assertHolds(p)
		})
	}
}

// The record is written (atomically: no temporary file is left) after
// each sync that changed what the Reconciler owns, and not after a sync
// that did not.
func TestSyncOwnershipFileWrittenOnChange(t *testing.T) {
	file := ownershipFile(t)
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.OwnershipFile = file }))
	lbs := basePlan()
	e.syncClean(plan(lbs))
	var rec struct {
		LoadBalancers []struct{ ID, Key string }
		Endpoints     []struct{ ID, IP string }
	}
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rec), "%s", data)
	assert.Len(t, rec.LoadBalancers, 4)
	assert.Len(t, rec.Endpoints, 4)
	for _, lb := range rec.LoadBalancers {
		assert.Equal(t, lb.Key, func() string { k, _ := hnsadapter.LoadBalancerKey(ptr(e.lbByKey(lb.Key))); return k.String() }())
	}

	require.NoError(t, os.Remove(file))
	e.syncClean(plan(lbs))
	assert.NoFileExists(t, file, "a sync that changed nothing writes nothing")
	e.syncClean(plan(lbs[:3]))
	assert.FileExists(t, file)
	entries, err := os.ReadDir(filepath.Dir(file))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"owned.json", "owned.json.journal"}, names, "no temporary file left")
}

func ptr[T any](v T) *T { return &v }

// A record that cannot be used (not JSON, or for another network) is
// logged and ignored: the Reconciler adopts by key as without one, and
// writes a good record after the sync.
func TestSyncOwnershipFileUnusable(t *testing.T) {
	for _, tt := range []struct {
		name, content, log string
	}{
		{"corrupt", `{"version":1,"network":"flannel.4096","loadBalancers":[{"id":`, "unreadable"},
		{"another network", `{"version":1,"network":"cbr0","loadBalancers":[],"endpoints":[]}`, "another network"},
		{"unknown version", `{"version":99,"network":"flannel.4096"}`, "version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := ownershipFile(t)
			var logs logLines
			e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) {
				o.OwnershipFile = file
				o.Logger = logs.logger()
			}))
			lbs := basePlan()
			e.syncClean(plan(lbs))

			require.NoError(t, os.WriteFile(file, []byte(tt.content), 0o600))
			logs.reset()
			e.restart()
			p := plan(lbs[:2])
			res := e.syncClean(p)
			assert.Equal(t, 2, res.Adopted, "by key")
			assert.Zero(t, res.MutatingCalls(), "dns's objects are not known to be its own")
			if found := logs.find("ownership record"); assert.NotEmpty(t, found) {
				assert.Contains(t, strings.Join(found, "\n"), tt.log)
			}
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.True(t, json.Valid(data), "rewritten: %s", data)
		})
	}
}

// A missing record (the first start) is not an error: adoption by key,
// with a log line.
func TestSyncOwnershipFileMissing(t *testing.T) {
	file := ownershipFile(t)
	var logs logLines
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) {
		o.OwnershipFile = file
		o.Logger = logs.logger()
	}))
	e.syncClean(plan(basePlan()))
	assert.NotEmpty(t, logs.find("no ownership record"))
	assert.FileExists(t, file)
}

// An ID in the record is owned at start only if HNS still holds an object
// with that ID and the identity key recorded with it (the load balancer's
// key, the endpoint's IP): an ID HNS gave to something else is not.
func TestSyncOwnershipFileIDsReused(t *testing.T) {
	file := ownershipFile(t)
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.OwnershipFile = file }))
	lbs := basePlan()
	e.syncClean(plan(lbs))

	// Out of band, dns's ClusterIP load balancer and its remote endpoint
	// give way to other objects under the same IDs.
	dns := e.lbByKey("IPv4/10.96.0.12/TCP/80")
	epID := e.endpointID("10.244.4.4")
	require.True(t, e.h.RemoveLoadBalancer(dns.Id))
	require.True(t, e.h.RemoveEndpoint(epID))
	otherEP := e.h.AddEndpoint(hns.HostComputeEndpoint{
		Id: epID, HostComputeNetwork: e.netID, IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.9.9"}},
		MacAddress: "02-11-0a-f4-09-09", Flags: hns.EndpointFlagsRemoteEndpoint, SchemaVersion: hns.V2SchemaVersion(),
	})
	other := foreignLB("10.97.0.1", otherEP)
	other.Id = dns.Id
	e.h.AddLoadBalancer(other)
	foreign := snapshot(e.h, dns.Id, epID)

	e.restart()
	p := plan(lbs[:2])
	res := e.syncClean(p)
	assert.Equal(t, 1, res.Deleted, "dns's NodePort, whose ID and key are as recorded")
	assert.Empty(t, cmp.Diff(foreign, snapshot(e.h, dns.Id, epID)), "the objects under reused IDs are not its own")
	assert.Empty(t, cmp.Diff(planLines(p), hnsLines(e.h, dns.Id)))
}
