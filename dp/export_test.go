package dp

// Test hooks: a coarser grid, and every acceptance decided by the exact path.

// SetGridBits sets the grid to scale·2^-n and returns a function restoring it.
func SetGridBits(n int) (restore func()) {
	old := gridBits
	gridBits = n
	return func() { gridBits = old }
}

// SetExactOnly sends every acceptance through exactAccept and returns a restore.
func SetExactOnly(on bool) (restore func()) {
	old := exactOnly
	exactOnly = on
	return func() { exactOnly = old }
}

// RaceEnabled reports a -race build.
const RaceEnabled = raceEnabled
