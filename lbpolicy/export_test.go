package lbpolicy

// ComputeWorkers is Compute on the given number of goroutines, for tests
// that the plan does not depend on it.
var ComputeWorkers = compute

// ForcePlanWorkers makes t plan the Services of every Snapshot, and settle
// its claims, on n goroutines (0: as it decides), for tests that its plans
// and changes do not depend on it.
func ForcePlanWorkers(t *Tracker, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forceWorkers, t.claims.forceWorkers = n, n
}
