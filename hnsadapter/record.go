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
	"strconv"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The ownership record (Options.OwnershipFile). HNS objects carry no tag,
// so without a record a restarted Reconciler knows only what it adopts by
// key: a Service deleted while it was down would keep its load balancer
// for ever. The record names the owned objects by ID with their identity
// keys, and the creates HNS answered without saying whether they took
// effect (unsure.go). It is read once, at the first sync, with its
// journal, and saved after each sync that changed what it holds
// (saveRecord).

// recordVersion is the version of the record's format.
const recordVersion = 1

// ownershipRecord is the record, as JSON.
type ownershipRecord struct {
	Version int `json:"version"`
	// Generation counts the record's rewrites; its journal (journal.go)
	// names the generation it follows.
	Generation uint64 `json:"generation,omitempty"`
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
	r.journal.loaded = rec.Generation
	applied, torn, err := readJournal(journalPath(path), &rec)
	switch {
	case err != nil:
		r.log.Error(err, "Ownership record's journal unreadable; using the record without it", "file", journalPath(path))
	case torn:
		r.log.Info("Ownership record's journal ends with an incomplete line (a write cut short); using the lines before it",
			"file", journalPath(path), "lines", applied)
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

// saveRecord saves what the Reconciler owns if it changed since it was
// last saved: by appending the changes to the record's journal, or, at the
// first save and once the journal has outgrown the record, by rewriting
// the record (journal.go). A failure is logged and the save tried again
// after the next sync.
func (r *Reconciler) saveRecord() {
	path := r.opts.OwnershipFile
	if path == "" || !r.owned.dirty {
		return
	}
	unsure := r.unsureJSON()
	j := &r.journal
	if j.gen != 0 && j.size < j.limit && fileExists(path) {
		data := journalLines(r.owned.changes, unsure, j.unsure)
		err := appendSync(journalPath(path), data)
		if err == nil {
			j.size += int64(len(data))
			j.unsure = unsure
			r.owned.changes, r.owned.dirty = r.owned.changes[:0], false
			return
		}
		r.log.Error(err, "Could not append to the ownership record's journal; rewriting the record", "file", journalPath(path))
	}
	gen := max(j.gen, j.loaded) + 1
	rec := r.record()
	rec.Generation = gen
	data, err := json.Marshal(rec)
	header := []byte(`{"generation":` + strconv.FormatUint(gen, 10) + "}\n")
	if err == nil {
		err = writeFileAtomic(path, data)
	}
	if err == nil {
		err = writeFileAtomic(journalPath(path), header)
	}
	if err != nil {
		r.log.Error(err, "Could not write the ownership record; trying again after the next sync", "file", path)
		return
	}
	*j = journalState{loaded: j.loaded, gen: gen, size: int64(len(header)), limit: max(int64(len(data)), 64<<10), unsure: unsure}
	r.owned.changes, r.owned.dirty = r.owned.changes[:0], false
}

// unsureJSON is the unsure creates as the journal writes them.
func (r *Reconciler) unsureJSON() []byte {
	var u unsureRecord
	u.LoadBalancers, u.Endpoints = r.objects.peekUnsure()
	sortUnsure(u.LoadBalancers, u.Endpoints)
	data, _ := json.Marshal(u) // HNS objects: cannot fail
	return data
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
	sortUnsure(rec.UnsureLoadBalancers, rec.UnsureEndpoints)
	return rec
}

// sortUnsure sorts unsure creates by key and IP, for a stable record.
func sortUnsure(lbs []*hns.HostComputeLoadBalancer, eps []*hns.HostComputeEndpoint) {
	slices.SortFunc(lbs, func(a, b *hns.HostComputeLoadBalancer) int {
		ka, _ := LoadBalancerKey(a)
		kb, _ := LoadBalancerKey(b)
		return ka.Compare(kb)
	})
	slices.SortFunc(eps, func(a, b *hns.HostComputeEndpoint) int {
		ia, _ := endpointIP(a)
		ib, _ := endpointIP(b)
		return cmp.Or(ia.Compare(ib), strings.Compare(a.MacAddress, b.MacAddress))
	})
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
