//go:build race

package dp

// raceEnabled shrinks the heaviest statistical tests under the race detector, which
// runs them ten times slower and checks nothing they do concurrently that the full
// sizes would check better.
const raceEnabled = true
