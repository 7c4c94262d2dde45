package lbpolicy

// ComputeWorkers is Compute on the given number of goroutines, for tests
// that the plan does not depend on it.
var ComputeWorkers = compute
