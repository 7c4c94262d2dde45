package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// /debug/hns/faults makes the fake HNS fail as asked, refuses what is not
// a fault, and clears them.
func TestDebugFaults(t *testing.T) {
	c := newCluster(t)
	p := c.newTestProxy(context.Background())
	srv := httptest.NewServer(p.debugHandler())
	defer srv.Close()
	do := func(method, query string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/debug/hns/faults"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	listErr := func() error {
		_, err := c.h.ListLoadBalancers(context.Background())
		return err
	}

	for _, bad := range []string{"?op=Nope", "?code=x", "?count=many"} {
		if got := do(http.MethodPost, bad); got != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, got)
		}
	}
	if got := do(http.MethodGet, ""); got != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", got)
	}
	if err := listErr(); err != nil {
		t.Fatalf("a refused fault was injected: %v", err)
	}

	if got := do(http.MethodPost, "?op=ListLoadBalancers&code=0x57&count=1"); got != http.StatusNoContent {
		t.Fatalf("POST: %d, want 204", got)
	}
	if err := listErr(); !hns.IsInvalidParameter(err) {
		t.Errorf("the first list after the fault: %v, want 0x57", err)
	}
	if err := listErr(); err != nil {
		t.Errorf("count=1 failed a second list: %v", err)
	}

	do(http.MethodPost, "")
	if _, err := c.h.Version(context.Background()); hns.CodeOf(err) != 0x80004005 {
		t.Errorf("every operation fails with E_FAIL by default: %v", err)
	}
	if got := do(http.MethodDelete, ""); got != http.StatusNoContent {
		t.Fatalf("DELETE: %d, want 204", got)
	}
	if err := listErr(); err != nil {
		t.Errorf("after DELETE: %v", err)
	}
}
