package aggregate

// BehindMax is behindMax, for the tests of what a summing round holds.
const BehindMax = behindMax
