package hnsadapter

import (
	"net/netip"

	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// scratch holds the per-sync maps and lists of the last sync, emptied, for
// the next one: a sync of one change then allocates almost nothing of its
// own. Only small ones are kept, since emptying a map costs its capacity:
// after a full sync, the next sync of changes starts from fresh ones.
// Syncs are serialised, so one scratch serves them all.
type scratch struct {
	endpoints map[netip.Addr]endpointUse
	ids       map[string]endpointMarks
	ips       map[netip.Addr]ipScope
	given     map[netip.Addr]*lbpolicy.Endpoint
	ids2      []string
	named     []netip.Addr
	keep      map[string]bool
	wants     []lbpolicy.Endpoint
	wantPtrs  []*lbpolicy.Endpoint
	// scoped is a sync of changes' keys in scope (changeScope.lbs).
	scoped []scopedKey
	// lbBufs are examineLB's buffers, one per goroutine, and findings
	// examineAll's list, reused from sync to sync.
	lbBufs   []lbBuf
	findings []lbFindings
	lbTasks  []lbTask
	epTasks  []epTask
	deletes  []*hns.HostComputeEndpoint
	// The outcomes of the phases' calls (parallel).
	epOuts     []ran[epOutcome]
	lbOuts     []ran[lbOutcome]
	deleteOuts []ran[error]
}

// keepScratch is the most entries a map may have held to be kept.
const keepScratch = 4096

// take returns m emptied, or a new map if m is nil.
func take[K comparable, V any](m *map[K]V) map[K]V {
	if *m == nil {
		return make(map[K]V)
	}
	out := *m
	*m = nil
	return out
}

// give keeps m for the next sync if it is small, emptied.
func give[K comparable, V any](to *map[K]V, m map[K]V) {
	if len(m) > keepScratch {
		return
	}
	clear(m)
	*to = m
}
