package secagg_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/octomil/secagg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	nan       = math.NaN()
	posInf    = math.Inf(1)
	negInf    = math.Inf(-1)
	negZero   = math.Copysign(0, -1)
	tiny      = math.SmallestNonzeroFloat64
	belowOne  = math.Nextafter(1, 0)
	belowHalf = math.Nextafter(0.5, 0)
)

// scalarCase is one boundary of one parameter check; want is "" when the value is accepted,
// or else the exact message.
type scalarCase struct {
	in   float64
	want string
}

func TestScalarChecks(t *testing.T) {
	checks := []struct {
		field string
		check func(float64) error
		cases []scalarCase
	}{
		{"epsilon", secagg.ValidateEpsilon, []scalarCase{
			{1, ""}, {tiny, ""}, {math.MaxFloat64, ""},
			{0, "epsilon must be positive and finite, got 0"},
			{negZero, "epsilon must be positive and finite, got -0"},
			{-1, "epsilon must be positive and finite, got -1"},
			{nan, "epsilon must be positive and finite, got NaN"},
			{posInf, "epsilon must be positive and finite, got +Inf"},
			{negInf, "epsilon must be positive and finite, got -Inf"},
		}},
		{"delta", secagg.ValidateDelta, []scalarCase{
			{1e-5, ""}, {tiny, ""}, {belowOne, ""}, {0.5, ""},
			{0, "delta must be in (0, 1), got 0"},
			{negZero, "delta must be in (0, 1), got -0"},
			{1, "delta must be in (0, 1), got 1"},
			{-tiny, "delta must be in (0, 1), got -5e-324"},
			{nan, "delta must be in (0, 1), got NaN"},
			{posInf, "delta must be in (0, 1), got +Inf"},
			{negInf, "delta must be in (0, 1), got -Inf"},
		}},
		{"trim_ratio", secagg.ValidateTrimRatio, []scalarCase{
			{0, ""}, {negZero, ""}, {tiny, ""}, {0.1, ""}, {belowHalf, ""},
			{0.5, "trim_ratio must be in [0, 0.5), got 0.5"},
			{0.7, "trim_ratio must be in [0, 0.5), got 0.7"},
			{-tiny, "trim_ratio must be in [0, 0.5), got -5e-324"},
			{nan, "trim_ratio must be in [0, 0.5), got NaN"},
			{posInf, "trim_ratio must be in [0, 0.5), got +Inf"},
			{negInf, "trim_ratio must be in [0, 0.5), got -Inf"},
		}},
		{"clip_norm", secagg.ValidateClipNorm, []scalarCase{
			{1, ""}, {tiny, ""}, {math.MaxFloat64, ""},
			{0, "clip_norm must be positive and finite, got 0"},
			{negZero, "clip_norm must be positive and finite, got -0"},
			{-0.5, "clip_norm must be positive and finite, got -0.5"},
			{nan, "clip_norm must be positive and finite, got NaN"},
			{posInf, "clip_norm must be positive and finite, got +Inf"},
			{negInf, "clip_norm must be positive and finite, got -Inf"},
		}},
		{"noise_multiplier", secagg.ValidateNoiseMultiplier, []scalarCase{
			{0, ""}, {negZero, ""}, {tiny, ""}, {1.1, ""}, {math.MaxFloat64, ""},
			{-tiny, "noise_multiplier must be finite and non-negative, got -5e-324"},
			{-1, "noise_multiplier must be finite and non-negative, got -1"},
			{nan, "noise_multiplier must be finite and non-negative, got NaN"},
			{posInf, "noise_multiplier must be finite and non-negative, got +Inf"},
			{negInf, "noise_multiplier must be finite and non-negative, got -Inf"},
		}},
		{"sample_rate", secagg.ValidateSampleRate, []scalarCase{
			{1, ""}, {tiny, ""}, {belowOne, ""}, {0.01, ""},
			{0, "sample_rate must be in (0, 1], got 0"},
			{negZero, "sample_rate must be in (0, 1], got -0"},
			{math.Nextafter(1, 2), "sample_rate must be in (0, 1], got 1.0000000000000002"},
			{nan, "sample_rate must be in (0, 1], got NaN"},
			{posInf, "sample_rate must be in (0, 1], got +Inf"},
			{negInf, "sample_rate must be in (0, 1], got -Inf"},
		}},
	}
	for _, c := range checks {
		t.Run(c.field, func(t *testing.T) {
			for _, tc := range c.cases {
				err := c.check(tc.in)
				if tc.want == "" {
					assert.NoError(t, err, "value %v", tc.in)
					continue
				}
				var e *secagg.Error
				require.ErrorAs(t, err, &e, "value %v", tc.in)
				assert.Equal(t, secagg.CodeValidation, e.Code)
				assert.Equal(t, 422, e.Status)
				assert.Equal(t, c.field, e.Field)
				assert.Equal(t, tc.want, e.Message)
				assert.ErrorIs(t, err, secagg.ErrValidation)
			}
		})
	}
}

func TestErrorJSONBytes(t *testing.T) {
	err := secagg.ValidateTrimRatio(0.7)
	b, jerr := json.Marshal(err)
	require.NoError(t, jerr)
	assert.Equal(t, `{"error":"validation_error","message":"trim_ratio must be in [0, 0.5), got 0.7","status_code":422}`, string(b))

	// MarshalJSON itself leaves '>' readable; json.Marshal of an enclosing value may
	// still escape it to \u003e, which decodes to the same message.
	b, jerr = secagg.Errorf(secagg.CodeValidation, "k", "k must be >= 1, got 0").MarshalJSON()
	require.NoError(t, jerr)
	assert.Equal(t, `{"error":"validation_error","message":"k must be >= 1, got 0","status_code":422}`, string(b))

	// Quotes and control characters are escaped as JSON requires.
	b, jerr = json.Marshal(secagg.Errorf(secagg.CodeConflict, "", "client %q submitted twice", "a\"b\n"))
	require.NoError(t, jerr)
	assert.Equal(t, `{"error":"conflict","message":"client \"a\\\"b\\n\" submitted twice","status_code":409}`, string(b))
}

func TestErrorJSONRoundTrip(t *testing.T) {
	for _, code := range []secagg.Code{secagg.CodeValidation, secagg.CodeBadRequest,
		secagg.CodeInsufficientClients, secagg.CodeConflict, secagg.CodePayloadTooLarge} {
		in := secagg.Errorf(code, "f", "message for %s", code)
		b, err := json.Marshal(in)
		require.NoError(t, err)
		var out secagg.Error
		require.NoError(t, json.Unmarshal(b, &out))
		assert.Equal(t, secagg.Error{Code: code, Message: in.Message, Status: in.Status}, out)
	}
	var out secagg.Error
	assert.Error(t, json.Unmarshal([]byte(`{"message":"no code"}`), &out))
	assert.Error(t, json.Unmarshal([]byte(`[1,2]`), &out))
}

func TestSentinels(t *testing.T) {
	sentinels := map[secagg.Code]*secagg.Error{
		secagg.CodeValidation:          secagg.ErrValidation,
		secagg.CodeBadRequest:          secagg.ErrBadRequest,
		secagg.CodeInsufficientClients: secagg.ErrInsufficientClients,
		secagg.CodeConflict:            secagg.ErrConflict,
		secagg.CodePayloadTooLarge:     secagg.ErrPayloadTooLarge,
	}
	status := map[secagg.Code]int{
		secagg.CodeValidation: 422, secagg.CodeBadRequest: 400, secagg.CodeInsufficientClients: 400,
		secagg.CodeConflict: 409, secagg.CodePayloadTooLarge: 413,
	}
	for code, sentinel := range sentinels {
		assert.Equal(t, status[code], code.Status())
		assert.Equal(t, status[code], sentinel.Status)
		err := error(secagg.Errorf(code, "", "x"))
		wrapped := errors.Join(errors.New("context"), err)
		for other, s := range sentinels {
			assert.Equal(t, code == other, errors.Is(wrapped, s), "%s is %s", code, other)
		}
	}
	assert.Equal(t, 500, secagg.Code("teapot").Status())
	assert.False(t, errors.Is(secagg.ErrConflict, errors.New("conflict")))
	assert.Equal(t, "bad_request: x", secagg.Errorf(secagg.CodeBadRequest, "", "x").Error())
}

func TestValidateUpdate(t *testing.T) {
	ok := []float32{0, float32(negZero), math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32}
	assert.NoError(t, secagg.ValidateUpdate("update", ok, len(ok)))

	cases := []struct {
		update []float32
		dim    int
		code   secagg.Code
		msg    string
	}{
		{nil, 3, secagg.CodeBadRequest, "update must not be empty"},
		{[]float32{}, 0, secagg.CodeBadRequest, "update must not be empty"},
		{[]float32{1, 2}, 3, secagg.CodeBadRequest, "update has length 2, the round's dimension is 3"},
		{[]float32{1, float32(nan), float32(posInf)}, 3, secagg.CodeValidation, "update[1] must be finite, got NaN"},
		{[]float32{1, 2, float32(posInf)}, 3, secagg.CodeValidation, "update[2] must be finite, got +Inf"},
		{[]float32{float32(negInf), 2, 3}, 3, secagg.CodeValidation, "update[0] must be finite, got -Inf"},
	}
	for _, tc := range cases {
		err := secagg.ValidateUpdate("update", tc.update, tc.dim)
		var e *secagg.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, tc.code, e.Code)
		assert.Equal(t, tc.msg, e.Message)
		assert.Equal(t, "update", e.Field)
	}
	// A NaN with a payload and a negative sign is still found.
	assert.Equal(t, 1, secagg.FirstNonFinite([]float32{1, math.Float32frombits(0xffc00001)}))
	assert.Equal(t, -1, secagg.FirstNonFinite(nil))
}

func TestValidateWeights(t *testing.T) {
	assert.NoError(t, secagg.ValidateWeights([]float64{0, 1, 2}, 3))
	assert.NoError(t, secagg.ValidateWeights([]float64{tiny}, 1))
	cases := []struct {
		w    []float64
		n    int
		code secagg.Code
		msg  string
	}{
		{[]float64{1, 2}, 3, secagg.CodeBadRequest, "weights has length 2, want one per update (3)"},
		{nil, 1, secagg.CodeBadRequest, "weights has length 0, want one per update (1)"},
		{[]float64{1, -1}, 2, secagg.CodeValidation, "weights[1] must be finite and non-negative, got -1"},
		{[]float64{nan, 1}, 2, secagg.CodeValidation, "weights[0] must be finite and non-negative, got NaN"},
		{[]float64{1, posInf}, 2, secagg.CodeValidation, "weights[1] must be finite and non-negative, got +Inf"},
		{[]float64{0, negZero}, 2, secagg.CodeValidation, "the sum of weights must be positive and finite, got 0"},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, 2, secagg.CodeValidation, "the sum of weights must be positive and finite, got +Inf"},
	}
	for _, tc := range cases {
		var e *secagg.Error
		require.ErrorAs(t, secagg.ValidateWeights(tc.w, tc.n), &e)
		assert.Equal(t, tc.code, e.Code)
		assert.Equal(t, tc.msg, e.Message)
		assert.Equal(t, "weights", e.Field)
	}
}
