package hnsadapter_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hnslb/hnslb/hnsadapter"
)

// Between rewrites, a sync that changes ownership appends to the
// record's journal instead of rewriting the record, and a restart reads
// both: it owns what the Reconciler owned at its last sync. A journal
// whose last line a crash cut short is read up to that line; one of
// another generation of the record is ignored.
func TestOwnershipJournal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, file string)
		// deleted: whether the restart, which no longer wants dns, deletes
		// its load balancers (it owns them through the journal).
		deleted bool
	}{
		{"intact", func(*testing.T, string) {}, true},
		{"torn last line", func(t *testing.T, file string) {
			require.NoError(t, appendTo(file+".journal", `{"lb":"0000`))
		}, true},
		{"journal of an older record", func(t *testing.T, file string) {
			data, err := os.ReadFile(file + ".journal")
			require.NoError(t, err)
			old := strings.Replace(string(data), `{"generation":1}`, `{"generation":7}`, 1)
			require.NoError(t, os.WriteFile(file+".journal", []byte(old), 0o600))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := ownershipFile(t)
			e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.OwnershipFile = file }))
			lbs := basePlan()
			e.syncClean(plan(lbs[:2])) // the first save writes the record
			record, err := os.ReadFile(file)
			require.NoError(t, err)

			e.syncClean(plan(lbs)) // dns's load balancers: in the journal only
			after, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, string(record), string(after), "the record is not rewritten for a change")
			journal, err := os.ReadFile(file + ".journal")
			require.NoError(t, err)
			assert.Contains(t, string(journal), `"lb":`)

			tc.spoil(t, file)
			e.restart()
			p := plan(lbs[:2]) // dns was deleted while the proxy was down
			res := e.syncClean(p)
			if tc.deleted {
				assert.Equal(t, 2, res.Deleted)
				e.assertHolds(p)
			} else {
				assert.Zero(t, res.Deleted, "not owned: the journal was not the record's")
			}
		})
	}
}

// Once the journal has outgrown the record, the next save rewrites the
// record, with the next generation, and starts a new journal.
func TestOwnershipJournalCompaction(t *testing.T) {
	file := ownershipFile(t)
	e := newEnv(t, "latest", withOptions(func(o *hnsadapter.Options) { o.OwnershipFile = file }))
	lbs := basePlan()
	e.syncClean(plan(lbs))
	gen := func() string {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		_, rest, _ := strings.Cut(string(data), `"generation":`)
		n, _, _ := strings.Cut(rest, ",")
		return n
	}
	require.Equal(t, "1", gen())
	// The record is small, the journal's limit its floor (64 KiB): a few
	// hundred changes outgrow it.
	for i := 0; gen() == "1"; i++ {
		require.Less(t, i, 2000, "the record was never rewritten")
		e.syncClean(plan(lbs[:1+i%len(lbs)]))
	}
	assert.Equal(t, "2", gen())
	journal, err := os.ReadFile(file + ".journal")
	require.NoError(t, err)
	assert.Equal(t, "{\"generation\":2}\n", string(journal), "a new journal")

	e.restart()
	p := plan(lbs[:1])
	e.syncClean(p)
	e.assertHolds(p)
}

func appendTo(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
