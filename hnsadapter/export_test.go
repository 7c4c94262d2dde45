package hnsadapter

// ForceExamineWorkers makes r examine the load balancers of every sync of
// changes on n goroutines (0: as it decides), for tests that what a sync
// does not depend on it.
func ForceExamineWorkers(r *Reconciler, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.examineWorkers = n
}
