package main

import (
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/lbpolicy"
)

// -fake-hns-state: a first run starts from a new fake; what it saves, the
// next run loads, objects and IDs alike.
func TestFakeState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hns.json")
	h, err := newHNS("ws2022", testNetwork, string(lbpolicy.L2Bridge), "", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	first, err := loadFakeState(h, "ws2022", path)
	if err != nil || first != h {
		t.Fatalf("no state yet: got %v, %v; want the new fake", first, err)
	}
	f := first.(*fake.HNS)
	f.AddLocalEndpoint(f.Networks()[0].Id, "pod", "10.244.1.5")
	if err := saveFakeState(f, path); err != nil {
		t.Fatal(err)
	}
	fresh, err := newHNS("ws2022", testNetwork, string(lbpolicy.L2Bridge), "", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadFakeState(fresh, "ws2022", path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := second.(*fake.HNS).Dump(), f.Dump(); got != want {
		t.Errorf("loaded state differs:\n%s\nwant:\n%s", got, want)
	}
	if _, err := loadFakeState(nil, "ws2022", path); err == nil {
		t.Error("-fake-hns-state without -fake-hns was accepted")
	}
}
