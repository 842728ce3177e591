package trimmedmean

// SetPanelFrom makes tiles of n or more rows go through a panel, so tests can compare
// the two ways on small rounds, and returns a function that restores the threshold.
func SetPanelFrom(n int) (restore func()) {
	old := panelFrom
	panelFrom = n
	return func() { panelFrom = old }
}

// Extreme returns coordinate j's i-th kept value: the smallest ones for i < K(), in
// ascending order, then the largest ones in descending order.
func (s *Stream) Extreme(j, i int) float32 {
	return s.ext[j/lanes*2*s.k*lanes+i*lanes+j%lanes]
}
