package aggregate_test

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/trimmedmean"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Aggregate is each strategy's batch kernel, bit for bit, and reports what it selected.
func TestAggregateIsTheBatchKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, d = 15, 3000
	us := round(rng, n, d)
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(i + 1)
	}
	cases := []struct {
		cfg     aggregate.Config
		weights []float64
		want    func(dst []float32) (selected []int, err error)
	}{
		{aggregate.Config{Strategy: aggregate.StrategyMean}, nil,
			func(dst []float32) ([]int, error) { return nil, aggregate.Mean(dst, us) }},
		{aggregate.Config{Strategy: aggregate.StrategyWeightedMean}, w,
			func(dst []float32) ([]int, error) { return nil, aggregate.WeightedMean(dst, us, w) }},
		{aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, TrimRatio: 0.2}, nil,
			func(dst []float32) ([]int, error) { return nil, trimmedmean.TrimmedMean(dst, us, 0.2) }},
		{aggregate.Config{Strategy: aggregate.StrategyMedian}, nil,
			func(dst []float32) ([]int, error) { return nil, trimmedmean.Median(dst, us) }},
		{aggregate.Config{Strategy: aggregate.StrategyKrum, ByzantineClients: 3, MultiKrumM: 4}, nil,
			func(dst []float32) ([]int, error) { return aggregate.MultiKrum(dst, us, 3, 4) }},
		{aggregate.Config{Strategy: aggregate.StrategyBulyan, ByzantineClients: 3}, nil,
			func(dst []float32) ([]int, error) { return aggregate.Bulyan(dst, us, 3) }},
		{aggregate.Config{Strategy: aggregate.StrategyGeoMedian}, w,
			func(dst []float32) ([]int, error) {
				_, err := aggregate.GeometricMedian(dst, us, w, aggregate.GeometricMedianOptions{})
				return nil, err
			}},
		{aggregate.Config{Strategy: aggregate.StrategyNormBoundedMean, ClipNorm: 2}, nil,
			func(dst []float32) ([]int, error) {
				_, err := aggregate.NormBoundedMean(dst, us, 2)
				return nil, err
			}},
		{aggregate.Config{Strategy: aggregate.StrategyCenteredClipping, CenteredClippingRadius: 3, CenteredClippingIterations: 2}, nil,
			func(dst []float32) ([]int, error) {
				return nil, aggregate.CenteredClipping(dst, us, aggregate.CenteredClippingOptions{Radius: 3, Iterations: 2})
			}},
		{aggregate.Config{Strategy: aggregate.StrategyDPMean, ClipNorm: 2, NoiseMultiplier: 0.5}, nil,
			func(dst []float32) ([]int, error) {
				_, err := aggregate.DPMean(dst, us, 2, 0.5, dp.InsecureSeededSource(11))
				return nil, err
			}},
	}
	for _, tc := range cases {
		want := make([]float32, d)
		sel, err := tc.want(want)
		require.NoError(t, err, tc.cfg.Strategy)
		got := make([]float32, d)
		res, err := aggregate.Aggregate(got, us, tc.weights, tc.cfg, dp.InsecureSeededSource(11))
		require.NoError(t, err, tc.cfg.Strategy)
		bitsEqual(t, want, got, "%s", tc.cfg.Strategy)
		assert.Equal(t, tc.cfg.Strategy, res.Strategy)
		assert.Equal(t, n, res.Clients)
		var ids []string
		for _, i := range sel {
			ids = append(ids, strconv.Itoa(i))
		}
		assert.Equal(t, ids, res.Selected, "%s", tc.cfg.Strategy)
		if tc.cfg.Strategy == aggregate.StrategyDPMean {
			assert.Len(t, res.Norms, n)
			assert.InEpsilon(t, 0.5*2/n, res.NoiseSigma, 1e-9)
		}
		if tc.cfg.Strategy == aggregate.StrategyGeoMedian {
			assert.Positive(t, res.Iterations)
		}
	}
}

func TestAggregateRejects(t *testing.T) {
	us := [][]float32{{1, 2}, {3, 4}, {5, 6}}
	cases := []struct {
		cfg     aggregate.Config
		weights []float64
		code    error
	}{
		{aggregate.Config{Strategy: "fedprox"}, nil, secagg.ErrValidation},
		{aggregate.Config{Strategy: aggregate.StrategyMean}, []float64{1, 1, 1}, secagg.ErrBadRequest},
		{aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 4}, nil, secagg.ErrInsufficientClients},
		{aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, TrimRatio: 0.5}, nil, secagg.ErrValidation},
		{aggregate.Config{Strategy: aggregate.StrategyKrum, ByzantineClients: 1}, nil, secagg.ErrInsufficientClients},
		{aggregate.Config{Strategy: aggregate.StrategyWeightedMean}, []float64{1, -1, 1}, secagg.ErrValidation},
		{aggregate.Config{Strategy: aggregate.StrategyDPMean, ClipNorm: 0}, nil, secagg.ErrValidation},
	}
	for _, tc := range cases {
		dst := []float32{7, 7}
		_, err := aggregate.Aggregate(dst, us, tc.weights, tc.cfg, nil)
		assert.True(t, errors.Is(err, tc.code), "%+v: %v", tc.cfg, err)
		assert.Equal(t, []float32{7, 7}, dst, "%+v", tc.cfg)
	}
}
