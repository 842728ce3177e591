package aggregate

import (
	"math"
	"strconv"
	"strings"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/trimmedmean"
)

// Kind says how a round keeps what it has been given.
type Kind int

const (
	Sums    Kind = iota // float64 sums of d values, updates added as they come
	Streams             // a trimmedmean.Stream: the extremes per coordinate and a sum
	Holds               // every update, until Finalize
)

// Weights says what a strategy does with per-update weights.
type Weights int

const (
	NoWeights       Weights = iota
	OptionalWeights         // nil: equal weights
	RequiredWeights         // one per update
)

// Param is one setting a strategy takes: its key in the platform's JSON (the command's
// flag is the key in kebab-case, --trim-ratio for trim_ratio), what it means, whether a
// strategy must be given it, and where it lives in a Config.
type Param struct {
	Key      string
	Symbol   string // its letter in the papers and tables: r, f, m, C, z, τ...
	Usage    string // one line: what it is, its range, its default if optional
	Integer  bool   // an int field (else float64)
	Required bool
	// RoundOnly marks the settings of the round engine alone (a batch, Aggregate, has
	// no use for them and refuses them).
	RoundOnly bool
	field     func(*Config) any // *int or *float64
	check     func(Config) error
}

// StrategyInfo is one row of the table of strategies: everything the engine, the
// command, the C ABI and the Python package know of a strategy besides its kernel.
type StrategyInfo struct {
	Name    Strategy
	Summary string
	Kind    Kind
	Weights Weights
	Params  []Param
	// check validates what the strategy's parameters must satisfy together.
	check func(Config) error
	// apply runs the batch kernel (centered_clipping from center, nil: zeros); it
	// returns the Result's strategy-specific fields and the indices of selected updates.
	apply func(c Config, dst []float32, updates [][]float32, weights []float64, noise *dp.Source, center []float32) (Result, []int, error)
}

// The parameters, each once; strategies list the ones they take.
var (
	paramTrimRatio = Param{Key: "trim_ratio", Symbol: "r", Required: true,
		Usage: "fraction trimmed from each end per coordinate, in [0, 0.5): floor(r·N) values each side",
		field: func(c *Config) any { return &c.TrimRatio },
		check: func(c Config) error { return secagg.ValidateTrimRatio(c.TrimRatio) }}
	paramMaxClients = Param{Key: "max_clients", Symbol: "n_max", Integer: true, RoundOnly: true,
		Usage: "the most clients a round takes, which sizes a streaming round's state",
		field: func(c *Config) any { return &c.MaxClients },
		check: func(c Config) error {
			if c.MaxClients < c.MinClients {
				return secagg.Errorf(secagg.CodeValidation, "max_clients",
					"max_clients must be >= min_devices_per_round (%d), got %d", c.MinClients, c.MaxClients)
			}
			return nil
		}}
	paramByzantine = Param{Key: "byzantine_clients", Symbol: "f", Integer: true, Required: true,
		Usage: "f, the Byzantine clients to tolerate, >= 0",
		field: func(c *Config) any { return &c.ByzantineClients },
		check: func(c Config) error { return atLeast("byzantine_clients", c.ByzantineClients, 0) }}
	paramMultiKrumM = Param{Key: "multi_krum_m", Symbol: "m", Integer: true,
		Usage: "how many updates Multi-Krum averages (0 or 1: Krum)",
		field: func(c *Config) any { return &c.MultiKrumM },
		check: func(c Config) error { return atLeast("multi_krum_m", c.MultiKrumM, 0) }}
	paramGeoMaxIterations = Param{Key: "geometric_median_max_iterations", Symbol: "k", Integer: true,
		Usage: "cap on Weiszfeld steps, >= 0 (0: 100)",
		field: func(c *Config) any { return &c.GeoMaxIterations },
		check: func(c Config) error { return atLeast("geometric_median_max_iterations", c.GeoMaxIterations, 0) }}
	paramGeoTolerance = Param{Key: "geometric_median_tolerance", Symbol: "tol",
		Usage: "relative improvement at which Weiszfeld stops, finite and >= 0 (0: 1e-6)",
		field: func(c *Config) any { return &c.GeoTolerance },
		check: func(c Config) error {
			if !(c.GeoTolerance >= 0) || math.IsInf(c.GeoTolerance, 0) {
				return secagg.Errorf(secagg.CodeValidation, "geometric_median_tolerance",
					"geometric_median_tolerance must be finite and >= 0, got %v", c.GeoTolerance)
			}
			return nil
		}}
	paramCCRadius = Param{Key: "centered_clipping_radius", Symbol: "tau", Required: true,
		Usage: "τ, how far one update can pull the center per pass, positive",
		field: func(c *Config) any { return &c.CenteredClippingRadius },
		check: func(c Config) error {
			return validateCenteredClipping(c.CenteredClippingRadius, c.CenteredClippingIterations)
		}}
	paramCCIterations = Param{Key: "centered_clipping_iterations", Symbol: "L", Integer: true,
		Usage: "clipping passes, >= 0 (0: 1)",
		field: func(c *Config) any { return &c.CenteredClippingIterations },
		check: func(c Config) error { return atLeast("centered_clipping_iterations", c.CenteredClippingIterations, 0) }}
	paramClipNorm = Param{Key: "clip_norm", Symbol: "C", Required: true,
		Usage: "L2 norm each update is clipped to, positive",
		field: func(c *Config) any { return &c.ClipNorm },
		check: func(c Config) error { return secagg.ValidateClipNorm(c.ClipNorm) }}
	paramNoiseMultiplier = Param{Key: "noise_multiplier", Symbol: "z", Required: true,
		Usage: "z, the Gaussian noise's σ over the clip norm (σ = z·C/N on the mean), >= 0",
		field: func(c *Config) any { return &c.NoiseMultiplier },
		check: func(c Config) error { return validateNoise(c.ClipNorm, c.NoiseMultiplier) }}
	paramEpsilon = Param{Key: "epsilon", Symbol: "eps", RoundOnly: true,
		Usage: "rounds: the privacy ledger's ε budget (with delta and sample_rate; 0: no ledger)",
		field: func(c *Config) any { return &c.Epsilon },
		check: func(c Config) error {
			if c.Epsilon == 0 && !c.given["epsilon"] {
				return nil
			}
			for _, err := range []error{secagg.ValidateEpsilon(c.Epsilon), secagg.ValidateDelta(c.Delta), secagg.ValidateSampleRate(c.SampleRate)} {
				if err != nil {
					return err
				}
			}
			return nil
		}}
	paramDelta = Param{Key: "delta", Symbol: "delta", RoundOnly: true, Usage: "rounds: the ledger's δ, in (0, 1)",
		field: func(c *Config) any { return &c.Delta },
		check: func(c Config) error { return needsEpsilon(c, "delta", c.Delta) }}
	paramSampleRate = Param{Key: "sample_rate", Symbol: "q", RoundOnly: true, Usage: "rounds: the probability that a client takes part, in (0, 1]",
		field: func(c *Config) any { return &c.SampleRate },
		check: func(c Config) error { return needsEpsilon(c, "sample_rate", c.SampleRate) }}

	// Every strategy takes these.
	commonParams = []Param{
		{Key: "min_devices_per_round", Symbol: "n_min", Integer: true,
			Usage: "the fewest updates a round may be finalised with, >= 1 (alias min_clients; batches: 1)",
			field: func(c *Config) any { return &c.MinClients },
			check: func(c Config) error { return atLeast("min_devices_per_round", c.MinClients, 1) }},
		{Key: "max_round_bytes", Symbol: "bytes", Integer: true, RoundOnly: true,
			Usage: "the memory a round may hold, bytes (0: no bound)",
			field: func(c *Config) any { return &c.MaxRoundBytes },
			check: func(c Config) error {
				if c.MaxRoundBytes < 0 {
					return secagg.Errorf(secagg.CodeValidation, "max_round_bytes", "max_round_bytes must be >= 0, got %d", c.MaxRoundBytes)
				}
				return nil
			}},
	}
)

// strategies is the table. A new strategy is a row here and its kernel.
var strategies = []StrategyInfo{
	{Name: StrategyMean, Summary: "coordinate-wise mean", Kind: Sums,
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			return Result{}, nil, Mean(dst, us)
		}},
	{Name: StrategyWeightedMean, Summary: "FedAvg: Σ w·x / Σ w, weights such as example counts", Kind: Sums, Weights: RequiredWeights,
		apply: func(c Config, dst []float32, us [][]float32, ws []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			return Result{}, nil, WeightedMean(dst, us, ws)
		}},
	{Name: StrategyTrimmedMean, Summary: "coordinate-wise trimmed mean (scipy's trim_mean, Flower's FedTrimmedAvg)", Kind: Streams,
		Params: []Param{paramTrimRatio, paramMaxClients},
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			return Result{}, nil, trimmedmean.TrimmedMean(dst, us, c.TrimRatio)
		}},
	{Name: StrategyMedian, Summary: "coordinate-wise median (numpy's convention)", Kind: Holds,
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			return Result{}, nil, trimmedmean.Median(dst, us)
		}},
	{Name: StrategyKrum, Summary: "Krum, or Multi-Krum averaging multi_krum_m updates", Kind: Holds,
		Params: []Param{paramByzantine, paramMultiKrumM},
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			sel, err := MultiKrum(dst, us, c.ByzantineClients, max(1, c.MultiKrumM))
			return Result{}, sel, err
		}},
	{Name: StrategyBulyan, Summary: "Bulyan: Krum's selection, then a trimmed mean around the median", Kind: Holds,
		Params: []Param{paramByzantine},
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			sel, err := Bulyan(dst, us, c.ByzantineClients)
			return Result{}, sel, err
		}},
	{Name: StrategyGeoMedian, Summary: "geometric median by smoothed Weiszfeld steps", Kind: Holds, Weights: OptionalWeights,
		Params: []Param{paramGeoMaxIterations, paramGeoTolerance},
		apply: func(c Config, dst []float32, us [][]float32, ws []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			steps, err := GeometricMedian(dst, us, ws, GeometricMedianOptions{MaxIterations: c.GeoMaxIterations, Tolerance: c.GeoTolerance})
			return Result{Iterations: steps}, nil, err
		}},
	{Name: StrategyCenteredClipping, Summary: "centered clipping; a round starts from the last round's result", Kind: Holds,
		Params: []Param{paramCCRadius, paramCCIterations},
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, center []float32) (Result, []int, error) {
			return Result{}, nil, CenteredClipping(dst, us, CenteredClippingOptions{
				Radius: c.CenteredClippingRadius, Iterations: c.CenteredClippingIterations, Center: center})
		}},
	{Name: StrategyNormBoundedMean, Summary: "the mean of the updates clipped to clip_norm, no noise", Kind: Sums,
		Params: []Param{paramClipNorm},
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, _ *dp.Source, _ []float32) (Result, []int, error) {
			norms, err := NormBoundedMean(dst, us, c.ClipNorm)
			return Result{Norms: norms}, nil, err
		}},
	{Name: StrategyDPMean, Summary: "DP-FedAvg: updates clipped to clip_norm, mean, Gaussian noise", Kind: Sums,
		Params: []Param{paramClipNorm, paramNoiseMultiplier, paramEpsilon, paramDelta, paramSampleRate},
		apply: func(c Config, dst []float32, us [][]float32, _ []float64, noise *dp.Source, _ []float32) (Result, []int, error) {
			norms, err := DPMean(dst, us, c.ClipNorm, c.NoiseMultiplier, noise)
			return Result{Norms: norms, NoiseSigma: c.noiseSigma(len(us), len(dst))}, nil, err
		}},
}

// Strategies returns the table of strategies, in the order the command lists them.
func Strategies() []StrategyInfo { return strategies }

// Lookup returns the row of a strategy.
func Lookup(s Strategy) (StrategyInfo, bool) {
	for _, info := range strategies {
		if info.Name == s {
			return info, true
		}
	}
	return StrategyInfo{}, false
}

// CommonParams returns the settings every strategy takes (besides "strategy").
func CommonParams() []Param { return commonParams }

// AllParams returns every parameter key once, the common ones first: what a Config's
// JSON may hold besides "strategy" and the alias "min_clients".
func AllParams() []Param {
	all := append([]Param(nil), commonParams...)
	seen := map[string]bool{}
	for _, p := range all {
		seen[p.Key] = true
	}
	for _, s := range strategies {
		for _, p := range s.Params {
			if !seen[p.Key] {
				seen[p.Key] = true
				all = append(all, p)
			}
		}
	}
	return all
}

// Takes reports whether the strategy takes the parameter key (a common one included).
func (s StrategyInfo) Takes(key string) bool {
	for _, p := range append(s.Params, commonParams...) {
		if p.Key == key {
			return true
		}
	}
	return false
}

// Flag is the command-line flag of a parameter: its key in kebab-case.
func (p Param) Flag() string { return strings.ReplaceAll(p.Key, "_", "-") }

func (p Param) isZero(c *Config) bool {
	switch v := p.field(c).(type) {
	case *int:
		return *v == 0
	case *int64:
		return *v == 0
	case *float64:
		return *v == 0
	}
	return true
}

func paramByKey(key string) (Param, bool) {
	for _, p := range AllParams() {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

// ConfigFor returns a Config of the strategy with each of its parameters that values
// holds set from it (by Set, so an explicit 0 counts as given); the round engine's own
// settings are left out unless roundOnly. Demos and benchmarks configure every
// strategy of the table from one set of values this way.
func ConfigFor(info StrategyInfo, values map[string]string, roundOnly bool) (Config, error) {
	c := Config{Strategy: info.Name}
	for _, p := range info.Params {
		if v, ok := values[p.Key]; ok && (roundOnly || !p.RoundOnly) {
			if err := c.Set(p.Key, v); err != nil {
				return Config{}, err
			}
		}
	}
	return c, nil
}

// Set sets the parameter key from its text (a number; an integer for integer
// parameters) and records it as given, so that a required parameter set to 0 counts as
// given. An unknown key or text that is not a number is a bad_request; ranges are
// Validate's.
func (c *Config) Set(key, value string) error {
	if key == "strategy" {
		c.Strategy = Strategy(value)
		c.markGiven(key)
		return nil
	}
	if key == "min_clients" {
		key = "min_devices_per_round"
	}
	p, ok := paramByKey(key)
	if !ok {
		return secagg.Errorf(secagg.CodeBadRequest, key, "unknown setting %q", key)
	}
	switch f := p.field(c).(type) {
	case *int, *int64:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return secagg.Errorf(secagg.CodeBadRequest, key, "%s must be an integer, got %q", key, value)
		}
		if fi, isInt := f.(*int); isInt {
			if n != int64(int(n)) {
				return secagg.Errorf(secagg.CodeBadRequest, key, "%s is out of range: %q", key, value)
			}
			*fi = int(n)
		} else {
			*f.(*int64) = n
		}
	case *float64:
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return secagg.Errorf(secagg.CodeBadRequest, key, "%s must be a number, got %q", key, value)
		}
		*f = v
	}
	c.markGiven(key)
	return nil
}

func (c *Config) markGiven(key string) {
	if c.given == nil {
		c.given = map[string]bool{}
	}
	c.given[key] = true
}

// Given reports whether the parameter was set through JSON or Set, or, in a Config
// built in Go, holds a value other than zero.
func (c Config) Given(key string) bool {
	if c.given[key] {
		return true
	}
	if p, ok := paramByKey(key); ok {
		return !p.isZero(&c)
	}
	return false
}

// Value returns the parameter key's value as a float64, 0 for a key no strategy takes.
func (c Config) Value(key string) float64 {
	p, ok := paramByKey(key)
	if !ok {
		return 0
	}
	switch v := p.field(&c).(type) {
	case *int:
		return float64(*v)
	case *int64:
		return float64(*v)
	case *float64:
		return *v
	}
	return 0
}

// validateParams checks the configuration against its strategy's row: a parameter
// that does not apply is a bad_request naming it, a required one missing a
// validation_error, then each parameter's range and the strategy's own checks.
func (c Config) validateParams(info StrategyInfo) error {
	for _, p := range AllParams() {
		if !info.Takes(p.Key) && c.Given(p.Key) {
			return secagg.Errorf(secagg.CodeBadRequest, p.Key, "%s does not apply to strategy %s%s", p.Key, info.Name, info.takesText())
		}
	}
	for _, p := range append(append([]Param(nil), info.Params...), commonParams...) {
		if p.Required && !c.Given(p.Key) {
			return secagg.Errorf(secagg.CodeValidation, p.Key, "strategy %s needs %s: %s", info.Name, p.Key, p.Usage)
		}
		if p.check != nil {
			if err := p.check(c); err != nil {
				return err
			}
		}
	}
	if info.check != nil {
		return info.check(c)
	}
	return nil
}

// takesText lists the strategy's own parameters for messages: " (it takes a, b)".
func (s StrategyInfo) takesText() string {
	if len(s.Params) == 0 {
		return " (it takes no parameters of its own)"
	}
	keys := make([]string, len(s.Params))
	for i, p := range s.Params {
		keys[i] = p.Key
	}
	return " (it takes " + strings.Join(keys, ", ") + ")"
}

// needsEpsilon refuses a ledger setting given without the ledger's budget, which would
// otherwise be ignored.
func needsEpsilon(c Config, key string, v float64) error {
	if (v != 0 || c.given[key]) && c.Epsilon == 0 && !c.given["epsilon"] {
		return secagg.Errorf(secagg.CodeBadRequest, key, "%s configures the privacy ledger, which needs epsilon (its budget) too", key)
	}
	return nil
}

func atLeast(key string, v, least int) error {
	if v < least {
		return secagg.Errorf(secagg.CodeValidation, key, "%s must be >= %d, got %d", key, least, v)
	}
	return nil
}

// strategyNames lists the strategies for messages: "mean, weighted_mean, ...".
func strategyNames() string {
	names := make([]string, len(strategies))
	for i, s := range strategies {
		names[i] = string(s.Name)
	}
	return strings.Join(names, ", ")
}
