// Package secagg is the aggregation engine of a federated-learning platform: it turns
// the float32 model updates of N clients into one vector, robustly, privately and at
// the speed of the memory bus.
//
// This root package holds what every other package shares: the typed Error of the
// platform's error contract and the checks of parameters and updates. The kernels live
// in simd, trimmedmean, dp and aggregate.
package secagg

import (
	"math"
	"strconv"
)

// ValidateEpsilon checks a privacy budget epsilon: positive and finite.
func ValidateEpsilon(epsilon float64) error {
	if !(epsilon > 0) || math.IsInf(epsilon, 0) {
		return outOfRange("epsilon", "must be positive and finite", epsilon)
	}
	return nil
}

// ValidateDelta checks a privacy parameter delta: in the open interval (0, 1).
func ValidateDelta(delta float64) error {
	if !(delta > 0 && delta < 1) {
		return outOfRange("delta", "must be in (0, 1)", delta)
	}
	return nil
}

// ValidateTrimRatio checks the fraction trimmed from each end of every coordinate:
// in [0, 0.5), so at least one value always remains.
func ValidateTrimRatio(ratio float64) error {
	if !(ratio >= 0 && ratio < 0.5) {
		return outOfRange("trim_ratio", "must be in [0, 0.5)", ratio)
	}
	return nil
}

// ValidateClipNorm checks an L2 clipping bound: positive and finite.
func ValidateClipNorm(norm float64) error {
	if !(norm > 0) || math.IsInf(norm, 0) {
		return outOfRange("clip_norm", "must be positive and finite", norm)
	}
	return nil
}

// ValidateNoiseMultiplier checks the ratio of noise standard deviation to sensitivity:
// finite and >= 0 (0 means no noise).
func ValidateNoiseMultiplier(m float64) error {
	if !(m >= 0) || math.IsInf(m, 0) {
		return outOfRange("noise_multiplier", "must be finite and non-negative", m)
	}
	return nil
}

// ValidateSampleRate checks the probability that a client takes part in a round: in (0, 1].
func ValidateSampleRate(q float64) error {
	if !(q > 0 && q <= 1) {
		return outOfRange("sample_rate", "must be in (0, 1]", q)
	}
	return nil
}

// ValidateUpdate checks one client update against the round's dimension dim: an empty
// buffer or one of another length is a bad_request, a NaN or ±Inf anywhere is a
// validation_error naming the first bad index. name labels the update in messages
// ("update", "updates[3]", a client id...).
func ValidateUpdate(name string, update []float32, dim int) error {
	if err := ValidateUpdateLength(name, update, dim); err != nil {
		return err
	}
	if i := FirstNonFinite(update); i >= 0 {
		return NonFiniteValue(name, i, update[i])
	}
	return nil
}

// ValidateUpdateLength is the shape half of ValidateUpdate, for callers that find
// non-finite values with a faster scan of their own (simd.FirstNonFinite).
func ValidateUpdateLength(name string, update []float32, dim int) error {
	if len(update) == 0 {
		return Errorf(CodeBadRequest, name, "%s must not be empty", name)
	}
	if len(update) != dim {
		return Errorf(CodeBadRequest, name, "%s has length %d, the round's dimension is %d", name, len(update), dim)
	}
	return nil
}

// ValidateWeights checks the weights of a weighted mean over n updates: one per update,
// each finite and >= 0, with a positive, finite sum.
func ValidateWeights(weights []float64, n int) error {
	if len(weights) != n {
		return Errorf(CodeBadRequest, "weights", "weights has length %d, want one per update (%d)", len(weights), n)
	}
	sum := 0.0
	for i, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return Errorf(CodeValidation, "weights", "weights[%d] must be finite and non-negative, got %s", i, formatFloat(w))
		}
		sum += w
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return Errorf(CodeValidation, "weights", "the sum of weights must be positive and finite, got %s", formatFloat(sum))
	}
	return nil
}

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or -1 if all are finite.
func FirstNonFinite(x []float32) int {
	for i, v := range x {
		// The exponent bits are all ones exactly for NaN and ±Inf.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// NonFiniteValue returns the validation_error for a NaN or ±Inf found at x[index] of the
// update labelled name: "updates[3][17] must be finite, got NaN".
func NonFiniteValue(name string, index int, x float32) *Error {
	return Errorf(CodeValidation, name, "%s[%d] must be finite, got %s", name, index, formatFloat(float64(x)))
}

// outOfRange builds the validation_error of a scalar parameter:
// "trim_ratio must be in [0, 0.5), got 0.7".
func outOfRange(field, rule string, got float64) *Error {
	return Errorf(CodeValidation, field, "%s %s, got %s", field, rule, formatFloat(got))
}

// formatFloat prints the shortest decimal that reads back as v: 0.7, -0, NaN, +Inf.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
