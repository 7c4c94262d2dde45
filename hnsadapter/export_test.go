package hnsadapter

// ForceWorkers makes the parts of r's syncs that only read (examining a
// sync of changes' load balancers, choosing endpoints to delete) run on n
// goroutines (0: as they decide), for tests that what a sync does does
// not depend on it.
func ForceWorkers(r *Reconciler, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forceWorkers = n
}
