package aggregate

import (
	"strconv"
	"time"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/trimmedmean"
)

// Aggregate applies cfg's strategy to a whole batch of updates at once, with the batch
// kernels (Mean, WeightedMean, DPMean, NormBoundedMean, trimmedmean.TrimmedMean,
// Median, MultiKrum, Bulyan, GeometricMedian, CenteredClipping from zeros), for callers
// that hold every update already: the command line, the C ABI, a notebook. weights are read by weighted_mean and geometric_median
// (nil: equal weights) and must otherwise be nil; noise is the dp_mean noise source
// (nil: dp.SecureSource). cfg.MinClients 0 means 1, cfg.MaxClients is not used, and
// Result.Selected holds the selected updates' indices in decimal. The ledger is not
// charged: Epsilon, Delta and SampleRate are the round engine's. A rejected call writes
// nothing into dst.
func Aggregate(dst []float32, updates [][]float32, weights []float64, cfg Config, noise *dp.Source) (Result, error) {
	start := time.Now()
	cfg.MinClients = max(cfg.MinClients, 1)
	cfg.MaxClients = max(cfg.MaxClients, cfg.MinClients)
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if weights != nil && cfg.Strategy != StrategyWeightedMean && cfg.Strategy != StrategyGeoMedian {
		return Result{}, secagg.Errorf(secagg.CodeBadRequest, "weights",
			"strategy %s takes no weights; weighted_mean and geometric_median do", cfg.Strategy)
	}
	if n := len(updates); n < cfg.MinClients {
		return Result{}, secagg.Errorf(secagg.CodeInsufficientClients, "min_devices_per_round",
			"the batch has %d updates, min_devices_per_round is %d", n, cfg.MinClients)
	}
	if noise == nil {
		noise = dp.SecureSource()
	}
	res, sel, err := cfg.apply(dst, updates, weights, noise, nil)
	if err != nil {
		return Result{}, err
	}
	for _, i := range sel {
		res.Selected = append(res.Selected, strconv.Itoa(i))
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// apply runs the strategy's batch kernel over updates, centered_clipping starting from
// center (nil: zeros). It returns the Result (without Selected and Elapsed) and, for
// krum and bulyan, the indices of the selected updates. Config, MinClients and the
// updates' count are the caller's to have checked.
func (c Config) apply(dst []float32, updates [][]float32, weights []float64, noise *dp.Source, center []float32) (res Result, selected []int, err error) {
	res = Result{Strategy: c.Strategy, Clients: len(updates)}
	switch c.Strategy {
	case StrategyMean:
		err = Mean(dst, updates)
	case StrategyWeightedMean:
		err = WeightedMean(dst, updates, weights)
	case StrategyDPMean:
		res.Norms, err = DPMean(dst, updates, c.ClipNorm, c.NoiseMultiplier, noise)
		res.NoiseSigma = c.noiseSigma(len(updates), len(dst))
	case StrategyNormBoundedMean:
		res.Norms, err = NormBoundedMean(dst, updates, c.ClipNorm)
	case StrategyCenteredClipping:
		err = CenteredClipping(dst, updates, CenteredClippingOptions{
			Radius: c.CenteredClippingRadius, Iterations: c.CenteredClippingIterations, Center: center})
	case StrategyTrimmedMean:
		err = trimmedmean.TrimmedMean(dst, updates, c.TrimRatio)
	case StrategyMedian:
		err = trimmedmean.Median(dst, updates)
	case StrategyKrum:
		selected, err = MultiKrum(dst, updates, c.ByzantineClients, max(1, c.MultiKrumM))
	case StrategyBulyan:
		selected, err = Bulyan(dst, updates, c.ByzantineClients)
	case StrategyGeoMedian:
		res.Iterations, err = GeometricMedian(dst, updates, weights, GeometricMedianOptions{
			MaxIterations: c.GeoMaxIterations, Tolerance: c.GeoTolerance})
	}
	if err != nil {
		return Result{}, nil, err
	}
	return res, selected, nil
}

// noiseSigma is the standard deviation of dp_mean's noise on the mean of n updates of
// dim coordinates: noise_multiplier·clip_norm/n, calibrated for the noise's grid.
func (c Config) noiseSigma(n, dim int) float64 {
	return dp.GaussianNoiseSigma(c.NoiseMultiplier, c.ClipNorm/float64(n), dim)
}
