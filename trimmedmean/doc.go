// Package trimmedmean computes the coordinate-wise trimmed mean and median of client
// updates: the robust aggregates a few poisoned clients cannot steer.
//
// Semantics, as scipy.stats.trim_mean and Flower's FedTrimmedAvg define them:
// k = floor(trimRatio·N), computed in float64 (trim ratio 0.29 with N = 100 trims 28);
// the k smallest and the k largest values of each coordinate are dropped and the
// remaining N−2k averaged, summed in float64 and rounded once to float32. Trim ratio 0
// is the plain mean, bit for bit. The median follows numpy: the middle value for odd N,
// the mean of the two middle values for even N (computed exactly, with no overflow
// near ±MaxFloat32). Ties, ±0 and subnormals count as a sort of the coordinate would
// count them; a zero result is +0. A NaN or ±Inf in an update is a validation_error
// naming the client and coordinate, and the output is then left untouched.
//
// The batch kernels, TrimmedMean and Median, read the updates where they lie
// ([][]float32, one slice per client) and give bit-identical results on every SIMD path
// and at every GOMAXPROCS: once the bounds lo and hi (the (k+1)-th smallest and largest
// values) are found, whatever the algorithm, the kept sum is computed one fixed way,
// (Σ clamp(x, lo, hi) in client order − k·lo) − k·hi, which equals the sum of the kept
// values and keeps far-out values out of the float64 sum (see simd.KeptSum).
//
// Stream is the streaming form for a coordinator that receives updates one by one: it
// keeps only the k smallest and k largest values per coordinate and a float64 running
// sum of the values pushed out between them, merges with other streams (shards, tree
// aggregation) and serialises to bytes. Its float64 sum adds the kept values in arrival
// order, so it equals the batch result bit for bit whenever the float64 sums are exact,
// which holds whenever every coordinate's values share a grid fine enough for them
// (such as quantised updates); otherwise the two agree to float64 rounding. A
// coordinator that can hold a buffer of about 2k updates or more passes them with Fold,
// which selects the new extremes among the kept ones and the buffer with the batch
// kernels instead of pushing each value through them, and takes the result with its
// last buffer by ResultWith, which leaves the lists alone.
package trimmedmean
