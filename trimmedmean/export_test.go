package trimmedmean

// SetPanelFrom makes tiles of n or more rows go through a panel, so tests can compare
// the two ways on small rounds, and returns a function that restores the threshold.
func SetPanelFrom(n int) (restore func()) {
	old := panelFrom
	panelFrom = n
	return func() { panelFrom = old }
}
