package aggregate

// BehindMax is behindMax, for the tests of what a summing round holds.
const BehindMax = behindMax

// SetHoldFromBytes sets the size of sums past which a summing round holds its owned
// updates for Finalize, and returns the old one, so that tests take either path at a
// dimension of their choice.
func SetHoldFromBytes(n int64) (old int64) {
	old, holdFromBytes = holdFromBytes, n
	return old
}
