package aggregate

import (
	"strconv"
	"time"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
)

// Aggregate applies cfg's strategy to a whole batch of updates at once, with the batch
// kernels of the table (Strategies), for callers that hold every update already: the
// command line, the C ABI, a notebook. weights are read by the strategies that take
// them: weighted_mean needs one per update, geometric_median takes them or nil (equal
// weights), and others refuse them. noise is the dp_mean noise source (nil:
// dp.SecureSource). cfg.MinClients 0 means 1 unless given explicitly, and
// Result.Selected holds the selected updates' indices in decimal. The settings of the
// round engine alone (max_clients, max_round_bytes, and the ledger's epsilon, delta and
// sample_rate: a batch is not charged) are a bad_request here rather than ignored. A
// rejected call writes nothing into dst.
func Aggregate(dst []float32, updates [][]float32, weights []float64, cfg Config, noise *dp.Source) (Result, error) {
	start := time.Now()
	cfg, err := cfg.ForBatch(len(updates))
	if err != nil {
		return Result{}, err
	}
	info, _ := Lookup(cfg.Strategy)
	switch {
	case weights != nil && info.Weights == NoWeights:
		return Result{}, secagg.Errorf(secagg.CodeBadRequest, "weights",
			"strategy %s takes no weights; weighted_mean and geometric_median do", cfg.Strategy)
	case weights == nil && info.Weights == RequiredWeights:
		return Result{}, secagg.Errorf(secagg.CodeValidation, "weights",
			"strategy %s needs weights, one per update (%d), such as example counts", cfg.Strategy, len(updates))
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

// ForBatch returns the configuration as Aggregate runs it over n updates, or the error
// Aggregate would return for it before looking at the updates: the round engine's own
// settings refused, min_devices_per_round 1 unless given, and the strategy's parameters
// validated. A command can check its settings this way before it reads any input.
func (c Config) ForBatch(n int) (Config, error) {
	for _, p := range AllParams() {
		if p.RoundOnly && c.Given(p.Key) {
			return c, secagg.Errorf(secagg.CodeBadRequest, p.Key,
				"%s configures the round engine (aggregate.Engine), not a batch, which holds its updates already and charges no ledger", p.Key)
		}
	}
	if !c.given["min_devices_per_round"] && c.MinClients == 0 {
		c.MinClients = 1
	}
	if c.Strategy == StrategyTrimmedMean {
		c.MaxClients = max(n, c.MinClients) // a batch's stream would take them all
	}
	return c, c.Validate()
}

// apply runs the strategy's batch kernel over updates, centered_clipping starting from
// center (nil: zeros). It returns the Result (without Selected and Elapsed) and, for
// krum and bulyan, the indices of the selected updates. Config, MinClients and the
// updates' count are the caller's to have checked.
func (c Config) apply(dst []float32, updates [][]float32, weights []float64, noise *dp.Source, center []float32) (Result, []int, error) {
	info, _ := Lookup(c.Strategy)
	res, selected, err := info.apply(c, dst, updates, weights, noise, center)
	if err != nil {
		return Result{}, nil, err
	}
	res.Strategy, res.Clients = c.Strategy, len(updates)
	return res, selected, nil
}

// DPNoise returns the standard deviation of dp_mean's noise on the mean of n updates of
// dim coordinates, or the validation_error DPMean returns where the noisy mean could
// overflow float32: what a round aggregated elsewhere (by blocks, on Beam) draws.
func (c Config) DPNoise(n, dim int) (float64, error) {
	if err := validateNoiseRange(c.ClipNorm, c.NoiseMultiplier, n, dim); err != nil {
		return 0, err
	}
	return c.noiseSigma(n, dim), nil
}

// noiseSigma is the standard deviation of dp_mean's noise on the mean of n updates of
// dim coordinates: noise_multiplier·clip_norm/n, calibrated for the noise's grid.
func (c Config) noiseSigma(n, dim int) float64 {
	return dp.GaussianNoiseSigma(c.NoiseMultiplier, c.ClipNorm/float64(n), dim)
}
