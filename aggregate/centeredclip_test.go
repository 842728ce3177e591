package aggregate_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// centeredClippingReference is the rule in plain float64, v rounded to float32 after
// each pass as the engine keeps it.
func centeredClippingReference(updates [][]float32, tau float64, iters int, center []float32) []float32 {
	d := len(updates[0])
	v := make([]float64, d)
	for j := range v {
		if center != nil {
			v[j] = float64(center[j])
		}
	}
	for range max(iters, 1) {
		next := make([]float64, d)
		copy(next, v)
		for _, u := range updates {
			norm := 0.0
			for j := range u {
				norm += (float64(u[j]) - v[j]) * (float64(u[j]) - v[j])
			}
			c := math.Min(1, tau/math.Sqrt(norm))
			for j := range u {
				next[j] += c * (float64(u[j]) - v[j]) / float64(len(updates))
			}
		}
		for j := range v {
			v[j] = float64(float32(next[j]))
		}
	}
	out := make([]float32, d)
	for j := range v {
		out[j] = float32(v[j])
	}
	return out
}

func TestCenteredClippingWorkedExample(t *testing.T) {
	// One dimension, center 0, τ = 1: the outlier at 10 pulls by 1, not 10.
	dst := make([]float32, 1)
	require.NoError(t, aggregate.CenteredClipping(dst, [][]float32{{0}, {0}, {10}}, aggregate.CenteredClippingOptions{Radius: 1}))
	assert.Equal(t, float32(1.0/3), dst[0])
	// From the center 1, the first two pull by −1 each and the third by +1 (clipped from 9).
	require.NoError(t, aggregate.CenteredClipping(dst, [][]float32{{0}, {0}, {10}},
		aggregate.CenteredClippingOptions{Radius: 1, Center: []float32{1}}))
	assert.Equal(t, float32(1-1.0/3), dst[0])
}

func TestCenteredClippingAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const n, d = 17, 4099
	us := normal(rng, n, d)
	for i := range 3 { // Byzantine: huge values, a sign flip, a copy of one update
		for j := range us[i] {
			switch i {
			case 0:
				us[i][j] = 1e6
			case 1:
				us[i][j] = -10 * us[5][j]
			case 2:
				us[i][j] = us[6][j]
			}
		}
	}
	center := make([]float32, d)
	for j := range center {
		center[j] = float32(rng.NormFloat64())
	}
	for _, opt := range []aggregate.CenteredClippingOptions{
		{Radius: 10}, {Radius: 30, Iterations: 3}, {Radius: 5, Iterations: 2, Center: center}, {Radius: 1e-3},
	} {
		got := make([]float32, d)
		require.NoError(t, aggregate.CenteredClipping(got, us, opt))
		want := centeredClippingReference(us, opt.Radius, opt.Iterations, opt.Center)
		for j := range want {
			require.InDelta(t, want[j], got[j], 1e-5*math.Max(1, math.Abs(float64(want[j]))), "%+v [%d]", opt.Radius, j)
		}
	}
}

// With a radius no update reaches, nothing is clipped and the rule is the mean, bit for
// bit; with a small one, the Byzantine updates barely move the center.
func TestCenteredClippingLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	us := normal(rng, 12, 1000)
	mean, got := make([]float32, 1000), make([]float32, 1000)
	require.NoError(t, aggregate.Mean(mean, us))
	require.NoError(t, aggregate.CenteredClipping(got, us, aggregate.CenteredClippingOptions{Radius: 1e30}))
	bitsEqual(t, mean, got, "huge radius")

	honest := make([]float32, 1000)
	clear(us[0])
	require.NoError(t, aggregate.CenteredClipping(honest, us, aggregate.CenteredClippingOptions{Radius: 1}))
	for j := range us[0] {
		us[0][j] = 1e5
	}
	require.NoError(t, aggregate.CenteredClipping(got, us, aggregate.CenteredClippingOptions{Radius: 1}))
	diff := make([]float32, len(got))
	for j := range got {
		diff[j] = got[j] - honest[j]
	}
	assert.LessOrEqual(t, math.Sqrt(sqNorm(diff)), 1.0/12+1e-6, "one update pulls by at most τ/n")
	assert.LessOrEqual(t, math.Sqrt(sqNorm(got)), 1+1e-6, "n pulls of at most τ/n each, from 0")
}

// normal returns n standard-normal updates of dimension d.
func normal(rng *rand.Rand, n, d int) [][]float32 {
	return fill(n, d, func(int, int) float32 { return float32(rng.NormFloat64()) })
}

func sqNorm(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func TestCenteredClippingRejects(t *testing.T) {
	us := [][]float32{{1, 2}, {3, 4}}
	nan := [][]float32{{1, 2}, {3, float32(math.NaN())}}
	cases := []struct {
		us   [][]float32
		opt  aggregate.CenteredClippingOptions
		code error
	}{
		{us, aggregate.CenteredClippingOptions{}, secagg.ErrValidation},
		{us, aggregate.CenteredClippingOptions{Radius: math.Inf(1)}, secagg.ErrValidation},
		{us, aggregate.CenteredClippingOptions{Radius: 1, Iterations: -1}, secagg.ErrValidation},
		{us, aggregate.CenteredClippingOptions{Radius: 1, Center: []float32{1}}, secagg.ErrBadRequest},
		{us, aggregate.CenteredClippingOptions{Radius: 1, Center: []float32{1, float32(math.Inf(-1))}}, secagg.ErrValidation},
		{nan, aggregate.CenteredClippingOptions{Radius: 1}, secagg.ErrValidation},
		{nil, aggregate.CenteredClippingOptions{Radius: 1}, secagg.ErrBadRequest},
	}
	for i, tc := range cases {
		dst := []float32{7, 7}
		err := aggregate.CenteredClipping(dst, tc.us, tc.opt)
		assert.True(t, errors.Is(err, tc.code), "case %d: %v", i, err)
		assert.Equal(t, []float32{7, 7}, dst, "case %d", i)
	}
}

func TestNormBoundedMean(t *testing.T) {
	us := [][]float32{{3, 4}, {0.3, 0.4}, {-30, 40}}
	dst := make([]float32, 2)
	norms, err := aggregate.NormBoundedMean(dst, us, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{5, 0.5, 50}, norms, 1e-6)
	// (0.6, 0.8) + (0.3, 0.4) + (−0.6, 0.8), over 3, to the clip factor's slack.
	assert.InDelta(t, 0.1, dst[0], 1e-6)
	assert.InDelta(t, 2.0/3, dst[1], 1e-6)
	_, err = aggregate.NormBoundedMean(dst, us, 0)
	assert.True(t, errors.Is(err, secagg.ErrValidation))
}

// A centered_clipping round equals the batch rule from the engine's center, and the next
// round starts from its result; a norm_bounded_mean round streams and equals the batch.
func TestCenteredClippingAndNormBoundedRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, d = 9, 3000
	e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyCenteredClipping, MinClients: 1,
		CenteredClippingRadius: 20, CenteredClippingIterations: 2})
	require.NoError(t, err)
	var center []float32
	for roundNo := range 2 {
		us := normal(rng, n, d)
		r, err := e.NewRound(d)
		require.NoError(t, err)
		for i, u := range us {
			require.NoError(t, r.Add(string(rune('a'+i)), u, 1))
		}
		got := make([]float32, d)
		_, err = r.Finalize(got)
		require.NoError(t, err)
		want := make([]float32, d)
		require.NoError(t, aggregate.CenteredClipping(want, us,
			aggregate.CenteredClippingOptions{Radius: 20, Iterations: 2, Center: center}))
		bitsEqual(t, want, got, "round %d", roundNo)
		assert.Equal(t, got, e.Center())
		center = got
	}

	us := normal(rng, n, d)
	r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyNormBoundedMean, MinClients: 1, ClipNorm: 40}, d)
	for i, u := range us {
		require.NoError(t, r.Add(string(rune('a'+i)), u, 1))
	}
	got := make([]float32, d)
	res, err := r.Finalize(got)
	require.NoError(t, err)
	want := make([]float32, d)
	norms, err := aggregate.NormBoundedMean(want, us, 40)
	require.NoError(t, err)
	bitsEqual(t, want, got, "norm_bounded_mean round")
	assert.Equal(t, norms, res.Norms)
	assert.Zero(t, res.NoiseSigma)

	for _, cfg := range []aggregate.Config{
		{Strategy: aggregate.StrategyNormBoundedMean, MinClients: 1},
		{Strategy: aggregate.StrategyCenteredClipping, MinClients: 1},
		{Strategy: aggregate.StrategyCenteredClipping, MinClients: 1, CenteredClippingRadius: 1, CenteredClippingIterations: -1},
	} {
		_, err := aggregate.New(cfg)
		assert.True(t, errors.Is(err, secagg.ErrValidation), "%+v: %v", cfg, err)
	}
}
