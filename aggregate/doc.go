// Package aggregate turns the float32 updates of N clients into one vector.
//
// Updates arrive as [][]float32, one slice per client: the coordinator's natural layout,
// used without copying. Every kernel sums in float64 and rounds once to float32, splits
// the coordinates into fixed ranges spread over the cores, and gives bit-identical
// results on every SIMD path and at every GOMAXPROCS. Bad input gets a typed
// *secagg.Error and leaves the output untouched.
package aggregate
