package secaggbeam

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

// Round is one round read from .npy files, one per client, for AggregateFiles.
type Round struct {
	Paths   []string  // one update file per client, in the round's client order
	Weights []float64 // weighted_mean (and geometric_median, optionally): one per path
	Dim     int       // values per update
	Block   int       // coordinates per block: what one worker reads of an update at a time
	// dp_mean: draw the noise from a replayable generator seeded with this (tests and
	// notebooks only); nil draws it from the secure source.
	InsecureSeed *uint64
	// dp_mean: the privacy ledger, charged for the round (clients sampled with
	// probability SampleRate, the noise multiplier, Dim coordinates) once, when the
	// pipeline is built; nil leaves the accounting to the caller.
	Ledger     *dp.Ledger
	SampleRate float64
	// centered_clipping: the .npy file of Dim values its passes start from, the last
	// round's result (the engine's Center); empty starts from zeros.
	Center string
}

// Output is what AggregateFiles adds to the pipeline: the result, one []float32; for
// krum and bulyan the clients chosen, one Selection; for norm_bounded_mean and dp_mean
// the clients' norms and clip factors, one Clipping (each else the zero PCollection),
// and dp_mean's noise σ.
type Output struct {
	Result     beam.PCollection
	Selection  beam.PCollection
	Clipping   beam.PCollection
	NoiseSigma float64
}

// onBeam is how each strategy of the engine's table runs by blocks: its pipeline, which
// returns the Output with the result's blocks (KV<int, []float32>) as its Result, or why
// it does not run on Beam (AggregateFiles refuses it saying so).
var onBeam = map[aggregate.Strategy]struct {
	build func(s beam.Scope, r Round, cfg aggregate.Config) (Output, error)
	why   string
}{
	aggregate.StrategyMean: {build: func(s beam.Scope, r Round, _ aggregate.Config) (Output, error) {
		return Output{Result: beam.CombinePerKey(s, &MeanFn{}, ReadBlocks(s, r.Paths, r.Dim, r.Block))}, nil
	}},
	aggregate.StrategyWeightedMean: {build: func(s beam.Scope, r Round, _ aggregate.Config) (Output, error) {
		return Output{Result: beam.CombinePerKey(s, &WeightedMeanFn{}, ReadWeighted(s, r.Paths, r.Weights, r.Dim, r.Block))}, nil
	}},
	aggregate.StrategyTrimmedMean:      {build: coordinateWiseRound},
	aggregate.StrategyMedian:           {build: coordinateWiseRound},
	aggregate.StrategyKrum:             {build: selectingRound},
	aggregate.StrategyBulyan:           {build: selectingRound},
	aggregate.StrategyNormBoundedMean:  {build: clippedRound},
	aggregate.StrategyDPMean:           {build: clippedRound},
	aggregate.StrategyGeoMedian:        {why: "its Weiszfeld steps each need every client's distance to the last step's result, so the driver runs one pipeline per step: GeometricMedian"},
	aggregate.StrategyCenteredClipping: {why: "its passes each need every client's distance to the last pass's center, so the driver runs one pipeline per pass: CenteredClipping"},
}

func coordinateWiseRound(s beam.Scope, r Round, cfg aggregate.Config) (Output, error) {
	return Output{Result: CoordinateWise(s, ReadRows(s, r.Paths, r.Dim, r.Block), cfg.Strategy, cfg.TrimRatio, len(r.Paths))}, nil
}

func selectingRound(s beam.Scope, r Round, cfg aggregate.Config) (Output, error) {
	n := len(r.Paths)
	grouped := beam.GroupByKey(s, ReadRows(s, r.Paths, r.Dim, r.Block))
	sel := Select(s, Distances(s, grouped, n), cfg.Strategy, n, cfg.ByzantineClients, cfg.MultiKrumM)
	return Output{Result: OfChosen(s, grouped, sel, cfg.Strategy, n, cfg.ByzantineClients), Selection: sel}, nil
}

// clippedRound is norm_bounded_mean and dp_mean: Clip, ClippedMean, and for dp_mean
// AddNoise with the engine's σ for the round's n and Dim, after charging r.Ledger.
func clippedRound(s beam.Scope, r Round, cfg aggregate.Config) (Output, error) {
	var sigma float64
	if cfg.Strategy == aggregate.StrategyDPMean {
		var err error
		if sigma, err = cfg.DPNoise(len(r.Paths), r.Dim); err != nil {
			return Output{}, err
		}
		if r.Ledger != nil {
			if _, err := r.Ledger.Charge(r.SampleRate, cfg.NoiseMultiplier, r.Dim); err != nil {
				return Output{}, err
			}
		}
	}
	rows := ReadRows(s, r.Paths, r.Dim, r.Block)
	clipping := Clip(s, rows, r, cfg.ClipNorm)
	blocks := ClippedMean(s, rows, clipping)
	if cfg.Strategy == aggregate.StrategyDPMean {
		blocks = AddNoise(s, blocks, sigma, r.InsecureSeed)
	}
	return Output{Result: blocks, Clipping: clipping, NoiseSigma: sigma}, nil
}

// AggregateFiles adds to the pipeline the aggregation of the round with cfg's strategy,
// read and aggregated by blocks (its result is the engine's Aggregate of the same
// updates: bit for bit for median, trimmed_mean and the chosen clients' aggregate,
// where the sums are exact for mean and weighted_mean and for Krum's distances). The
// settings are checked first, as Aggregate checks them for len(r.Paths) updates; a
// strategy that does not run on Beam yet is a bad_request saying why.
func AggregateFiles(s beam.Scope, r Round, cfg aggregate.Config) (Output, error) {
	cfg, err := checkRound(r, cfg)
	if err != nil {
		return Output{}, err
	}
	how := onBeam[cfg.Strategy]
	if how.build == nil {
		return Output{}, secagg.Errorf(secagg.CodeBadRequest, "strategy", "strategy %s does not run on Beam: %s", cfg.Strategy, how.why)
	}
	s = s.Scope(string(cfg.Strategy))
	out, err := how.build(s, r, cfg)
	if err != nil {
		return Output{}, err
	}
	out.Result = Assemble(s, out.Result, r.Dim, r.Block)
	return out, nil
}

// checkRound checks the round and its settings as Aggregate checks them for
// len(r.Paths) updates, and returns the settings as Aggregate runs them.
func checkRound(r Round, cfg aggregate.Config) (aggregate.Config, error) {
	n := len(r.Paths)
	cfg, err := cfg.ForBatch(n)
	if err != nil {
		return cfg, err
	}
	info, _ := aggregate.Lookup(cfg.Strategy)
	switch {
	case n == 0:
		return cfg, secagg.Errorf(secagg.CodeInsufficientClients, "updates", "no update files")
	case n < cfg.MinClients:
		return cfg, secagg.Errorf(secagg.CodeInsufficientClients, "min_devices_per_round",
			"the round has %d updates, min_devices_per_round is %d", n, cfg.MinClients)
	case r.Dim < 1 || r.Block < 1:
		return cfg, secagg.Errorf(secagg.CodeValidation, "block", "dim and block must be >= 1, got %d and %d", r.Dim, r.Block)
	case info.Weights == aggregate.RequiredWeights && len(r.Weights) != n:
		return cfg, secagg.Errorf(secagg.CodeValidation, "weights", "strategy %s needs one weight per update (%d), got %d", cfg.Strategy, n, len(r.Weights))
	case info.Weights == aggregate.NoWeights && r.Weights != nil:
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "weights", "strategy %s takes no weights", cfg.Strategy)
	case r.InsecureSeed != nil && cfg.Strategy != aggregate.StrategyDPMean:
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "seed", "a noise seed does not apply to strategy %s: only dp_mean draws noise", cfg.Strategy)
	case (r.Ledger != nil || r.SampleRate != 0) && cfg.Strategy != aggregate.StrategyDPMean:
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "ledger", "a privacy ledger does not apply to strategy %s: only dp_mean adds noise", cfg.Strategy)
	case r.SampleRate != 0 && r.Ledger == nil:
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "sample_rate", "a sample rate without a ledger to charge")
	case r.Center != "" && cfg.Strategy != aggregate.StrategyCenteredClipping:
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "center", "a center does not apply to strategy %s: only centered_clipping starts from one", cfg.Strategy)
	}
	if r.Weights != nil {
		if err := secagg.ValidateWeights(r.Weights, n); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}
