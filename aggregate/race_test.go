//go:build race

package aggregate_test

// raceEnabled skips what the race detector changes on purpose: it makes sync.Pool drop
// a random share of what is put back, so a test of the engine's pooled copies cannot
// count allocations under it.
const raceEnabled = true
