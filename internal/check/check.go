// Package check validates a batch of client updates for the batch kernels of aggregate
// and trimmedmean, with the platform's typed errors.
package check

import (
	"strconv"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/simd"
)

// Batch rejects an empty output or batch, and updates whose length is not len(dst), as
// bad_request. It does not look at the values: the kernels find NaN and ±Inf on the way.
func Batch(dst []float32, updates [][]float32) error {
	if len(dst) == 0 {
		return secagg.Errorf(secagg.CodeBadRequest, "dst", "dst must not be empty")
	}
	if len(updates) == 0 {
		return secagg.Errorf(secagg.CodeBadRequest, "updates", "updates must hold at least one update")
	}
	for i, u := range updates {
		if len(u) != len(dst) {
			return secagg.ValidateUpdateLength(UpdateName(i), u, len(dst))
		}
	}
	return nil
}

// NonFinite names the first NaN or ±Inf of the batch, by client then coordinate:
// "updates[3][17] must be finite, got NaN". A kernel calls it once its results proved
// non-finite, which finite inputs cannot cause; if it finds nothing it still returns an
// error rather than let a broken invariant pass as success.
func NonFinite(updates [][]float32) error {
	for i, u := range updates {
		if j := simd.FirstNonFinite(u); j >= 0 {
			return secagg.NonFiniteValue(UpdateName(i), j, u[j])
		}
	}
	return secagg.Errorf(secagg.CodeValidation, "updates", "the result of finite updates came out non-finite")
}

// UpdateName labels update i in messages: "updates[3]".
func UpdateName(i int) string { return "updates[" + strconv.Itoa(i) + "]" }
