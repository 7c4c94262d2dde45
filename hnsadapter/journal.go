package hnsadapter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// The ownership record's journal. Rewriting the whole record after every
// sync that changed ownership would make each pod's churn cost a write of
// the record of every object (megabytes at 100,000 endpoints) and an
// fsync: a sync of one change would cost what the cluster holds. So
// between rewrites, what changed is appended to a journal beside the
// record (the record's path with ".journal"), one JSON line per change,
// and flushed to disk. Once the journal has grown past the record's own
// size, the next save rewrites the record and starts a new journal.
//
// The journal's first line names the generation of the record it
// follows; the record holds its generation too. A rewrite bumps the
// generation, so that a journal left by a crash between writing the new
// record and starting its journal is recognised as the old one's and
// ignored. Reading stops at the first line that does not parse (one
// whose write a crash cut short).

// journalLine is one line of the journal: its header, an object owned
// (with its key or IP), an object no longer owned (without), or the
// unsure creates, replacing those of earlier lines.
type journalLine struct {
	Generation uint64        `json:"generation,omitempty"`
	LB         string        `json:"lb,omitempty"`
	Key        string        `json:"key,omitempty"`
	EP         string        `json:"ep,omitempty"`
	IP         string        `json:"ip,omitempty"`
	Unsure     *unsureRecord `json:"unsure,omitempty"`
}

// unsureRecord is the unsure creates of the record.
type unsureRecord struct {
	LoadBalancers []*hns.HostComputeLoadBalancer `json:"loadBalancers,omitempty"`
	Endpoints     []*hns.HostComputeEndpoint     `json:"endpoints,omitempty"`
}

// journalState is what the Reconciler knows of the record's files.
type journalState struct {
	loaded uint64 // the generation of the record read at start
	gen    uint64 // the generation of the record this process wrote; 0: none yet
	size   int64  // bytes in the journal
	limit  int64  // once size passes it, the next save rewrites the record
	unsure []byte // the unsure creates as last written
}

func journalPath(record string) string { return record + ".journal" }

// readJournal applies to rec the journal of rec's generation, if there is
// one. It reports how many lines it applied, and whether it stopped at a
// line that does not parse.
func readJournal(path string, rec *ownershipRecord) (applied int, torn bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	var lines []journalLine
	for sc.Scan() {
		var l journalLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			torn = true
			break
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 || lines[0].Generation != rec.Generation || rec.Generation == 0 {
		return 0, torn, nil // another record's journal
	}
	rec.apply(lines[1:])
	return len(lines) - 1, torn, nil
}

// apply applies journal lines to rec.
func (rec *ownershipRecord) apply(lines []journalLine) {
	lbs := map[string]string{}
	for _, e := range rec.LoadBalancers {
		lbs[e.ID] = e.Key
	}
	eps := map[string]string{}
	for _, e := range rec.Endpoints {
		eps[e.ID] = e.IP
	}
	for _, l := range lines {
		switch {
		case l.LB != "" && l.Key != "":
			lbs[l.LB] = l.Key
		case l.LB != "":
			delete(lbs, l.LB)
		case l.EP != "" && l.IP != "":
			eps[l.EP] = l.IP
		case l.EP != "":
			delete(eps, l.EP)
		case l.Unsure != nil:
			rec.UnsureLoadBalancers, rec.UnsureEndpoints = l.Unsure.LoadBalancers, l.Unsure.Endpoints
		}
	}
	rec.LoadBalancers = rec.LoadBalancers[:0]
	for id, k := range lbs {
		rec.LoadBalancers = append(rec.LoadBalancers, recordedLB{ID: id, Key: k})
	}
	rec.Endpoints = rec.Endpoints[:0]
	for id, ip := range eps {
		rec.Endpoints = append(rec.Endpoints, recordedEndpoint{ID: id, IP: ip})
	}
}

// journalLines encodes changes, and the unsure creates if they differ
// from what the journal holds, as journal lines.
func journalLines(changes []ownershipChange, unsure []byte, written []byte) []byte {
	var b []byte
	for _, c := range changes {
		var l journalLine
		switch {
		case !c.endpoint:
			l.LB = c.id
			if !c.removed && c.key.Family != "" {
				l.Key = c.key.String()
			}
		default:
			l.EP = c.id
			if !c.removed && c.ip.IsValid() {
				l.IP = c.ip.String()
			}
		}
		line, _ := json.Marshal(l) // strings only: cannot fail
		b = append(append(b, line...), '\n')
	}
	if !bytes.Equal(unsure, written) {
		b = append(append(b, `{"unsure":`...), unsure...)
		b = append(b, "}\n"...)
	}
	return b
}

// appendSync appends data to the file at path and flushes it to disk.
func appendSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
