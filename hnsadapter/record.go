package hnsadapter

import (
	"cmp"
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The ownership record (Options.OwnershipFile). HNS objects carry no tag,
// so without a record a restarted Reconciler knows only what it adopts by
// key: a Service deleted while it was down would keep its load balancer
// for ever. The record names the owned objects by ID with their identity
// keys, and the creates HNS answered without saying whether they took
// effect (unsure.go). It is read once, at the first sync, and written
// after each sync that changed what it holds.

// recordVersion is the version of the record's format.
const recordVersion = 1

// ownershipRecord is the record, as JSON.
type ownershipRecord struct {
	Version int `json:"version"`
	// Network is Options.NetworkName: a record of another network is not
	// used.
	Network       string             `json:"network"`
	LoadBalancers []recordedLB       `json:"loadBalancers"`
	Endpoints     []recordedEndpoint `json:"endpoints"`
	// UnsureLoadBalancers and UnsureEndpoints are what the creates HNS
	// answered without saying whether they took effect sent, not yet
	// decided by a list.
	UnsureLoadBalancers []*hns.HostComputeLoadBalancer `json:"unsureLoadBalancers,omitempty"`
	UnsureEndpoints     []*hns.HostComputeEndpoint     `json:"unsureEndpoints,omitempty"`
}

// recordedLB is an owned load balancer: its ID and identity key
// (lbpolicy.Key.String). A load balancer without key is not recorded.
type recordedLB struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// recordedEndpoint is an owned endpoint: its ID and IP.
type recordedEndpoint struct {
	ID string `json:"id"`
	IP string `json:"ip"`
}

// loadRecord reads the ownership record. It returns nil, with a log line,
// when there is none or it cannot be used: the Reconciler then adopts by
// key only, as without Options.OwnershipFile.
func (r *Reconciler) loadRecord() *ownershipRecord {
	path := r.opts.OwnershipFile
	if path == "" {
		return nil
	}
	const ignored = "; ignoring it and adopting by key what the plan wants"
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.log.Info("No ownership record yet; adopting by key what the plan wants", "file", path)
		return nil
	}
	var rec ownershipRecord
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	switch {
	case err != nil:
		r.log.Error(err, "Ownership record unreadable"+ignored, "file", path)
		return nil
	case rec.Version != recordVersion:
		r.log.Info("Ownership record has an unknown version"+ignored, "file", path, "version", rec.Version, "want", recordVersion)
		return nil
	case rec.Network != r.opts.NetworkName:
		r.log.Info("Ownership record is for another network"+ignored, "file", path, "network", rec.Network)
		return nil
	}
	return &rec
}

// restoreRecord takes ownership of what rec names that HNS still holds
// under the ID and with the identity key recorded, and brings back rec's
// unsure creates. It returns how many objects it took.
func (s *syncRun) restoreRecord(rec *ownershipRecord) (taken int) {
	r, v := s.r, s.v
	for _, e := range rec.LoadBalancers {
		if k, ok := v.keys[idKey(e.ID)]; ok && k.String() == e.Key {
			r.owned.addLB(e.ID, k)
			taken++
		}
	}
	for _, e := range rec.Endpoints {
		want, err := netip.ParseAddr(e.IP)
		if ep := v.eps[idKey(e.ID)]; ep != nil && err == nil {
			if ip, ok := endpointIP(ep); ok && ip == want.Unmap() {
				r.owned.addEndpoint(e.ID, ip)
				taken++
			}
		}
	}
	for _, lb := range rec.UnsureLoadBalancers {
		if k, ok := LoadBalancerKey(lb); ok {
			r.objects.unsure(keyLB(k), lb, nil)
		}
	}
	for _, ep := range rec.UnsureEndpoints {
		if ip, ok := endpointIP(ep); ok {
			r.objects.unsure(keyEndpoint(ip), nil, ep)
		}
	}
	return taken
}

// saveRecord writes the ownership record if what it holds changed since it
// was last written. A failure is logged and the write tried again after
// the next sync.
func (r *Reconciler) saveRecord() {
	if r.opts.OwnershipFile == "" || !r.owned.dirty {
		return
	}
	data, err := json.Marshal(r.record())
	if err == nil {
		err = writeFileAtomic(r.opts.OwnershipFile, data)
	}
	if err != nil {
		r.log.Error(err, "Could not write the ownership record; trying again after the next sync", "file", r.opts.OwnershipFile)
		return
	}
	r.owned.dirty = false
}

// record returns the ownership record, sorted by ID. An owned object HNS
// was last seen without (a delete answered "not found") stays in it until
// a list confirms that it is gone.
func (r *Reconciler) record() *ownershipRecord {
	rec := &ownershipRecord{Version: recordVersion, Network: r.opts.NetworkName,
		LoadBalancers: make([]recordedLB, 0, len(r.owned.lbs)), Endpoints: make([]recordedEndpoint, 0, len(r.owned.eps))}
	for id, k := range r.owned.lbs {
		if k.Family != "" {
			rec.LoadBalancers = append(rec.LoadBalancers, recordedLB{ID: id, Key: k.String()})
		}
	}
	for id, ip := range r.owned.eps {
		if ip.IsValid() {
			rec.Endpoints = append(rec.Endpoints, recordedEndpoint{ID: id, IP: ip.String()})
		}
	}
	slices.SortFunc(rec.LoadBalancers, func(a, b recordedLB) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(rec.Endpoints, func(a, b recordedEndpoint) int { return strings.Compare(a.ID, b.ID) })
	rec.UnsureLoadBalancers, rec.UnsureEndpoints = r.objects.peekUnsure()
	slices.SortFunc(rec.UnsureLoadBalancers, func(a, b *hns.HostComputeLoadBalancer) int {
		ka, _ := LoadBalancerKey(a)
		kb, _ := LoadBalancerKey(b)
		return ka.Compare(kb)
	})
	slices.SortFunc(rec.UnsureEndpoints, func(a, b *hns.HostComputeEndpoint) int {
		ia, _ := endpointIP(a)
		ib, _ := endpointIP(b)
		return cmp.Or(ia.Compare(ib), strings.Compare(a.MacAddress, b.MacAddress))
	})
	return rec
}

// writeFileAtomic replaces the file at path by one holding data: it writes
// a temporary file in the same directory, flushes it to disk and renames it
// over path, so that a crash leaves the old record or the new one, never a
// part of one.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir flushes dir's entries (the rename) to disk, where the OS allows
// it: best effort (Windows cannot open a directory for that).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
