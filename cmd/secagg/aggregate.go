package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

const aggregateUsage = `Usage: secagg aggregate --strategy S [strategy flags] --out result.npy updates.npy
       secagg aggregate --strategy S [strategy flags] --out result.npy client0.npy client1.npy ...

Aggregates one round read from NumPy .npy files: one (N, d) array, or one (d,) array per
client (float32, or float64 rounded to float32), and writes the (d,) float32 result. A
failed run leaves no output file behind. Flags may come before or after the files.
--config round.json takes the settings in the platform's JSON (the keys of the round
engine: strategy, trim_ratio, byzantine_clients, clip_norm, min_devices_per_round, ...);
flags given beside it override it.

Strategies and their flags:
  mean
  weighted_mean      --weights w.npy (N example counts or other weights)
  trimmed_mean       --trim-ratio r (in [0, 0.5); floor(r*N) trimmed from each end)
  median
  krum               --byzantine-clients f [--multi-krum-m m]
  bulyan             --byzantine-clients f
  geometric_median   [--weights w.npy] [--max-iterations k] [--tolerance t]
  centered_clipping  --centered-clipping-radius tau [--centered-clipping-iterations L] (from zeros)
  norm_bounded_mean  --clip-norm C (each update clipped to C, then the mean)
  dp_mean            --clip-norm C --noise-multiplier z [--seed s] (no seed: a secure generator)
`

// strategyFlags names, for each flag that configures a strategy, the strategies it
// applies to; giving it to another strategy is a bad_request rather than silently ignored.
var strategyFlags = map[string][]aggregate.Strategy{
	"weights":                      {aggregate.StrategyWeightedMean, aggregate.StrategyGeoMedian},
	"trim-ratio":                   {aggregate.StrategyTrimmedMean},
	"byzantine-clients":            {aggregate.StrategyKrum, aggregate.StrategyBulyan},
	"multi-krum-m":                 {aggregate.StrategyKrum},
	"max-iterations":               {aggregate.StrategyGeoMedian},
	"tolerance":                    {aggregate.StrategyGeoMedian},
	"clip-norm":                    {aggregate.StrategyDPMean, aggregate.StrategyNormBoundedMean},
	"centered-clipping-radius":     {aggregate.StrategyCenteredClipping},
	"centered-clipping-iterations": {aggregate.StrategyCenteredClipping},
	"noise-multiplier":             {aggregate.StrategyDPMean},
	"seed":                         {aggregate.StrategyDPMean},
}

// aggregateCmd runs `secagg aggregate`.
func aggregateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// A --config file gives the round's settings in the platform's JSON; flags given
	// beside it override its values, so they are declared with its values as defaults.
	cfg, err := loadRoundConfig(configFlag(args))
	if err != nil {
		return err
	}
	if cfg.Strategy == "" {
		cfg.Strategy = aggregate.StrategyMean
	}
	fs.String("config", "", "a JSON file of the round's settings, the platform's keys (strategy, trim_ratio, ...)")
	strategy := fs.String("strategy", string(cfg.Strategy), "the aggregation rule (see above)")
	out := fs.String("out", "", "the .npy file to write the result to (required)")
	weightsPath := fs.String("weights", "", "a .npy file of N weights")
	fs.Float64Var(&cfg.TrimRatio, "trim-ratio", cfg.TrimRatio, "fraction trimmed from each end per coordinate")
	fs.IntVar(&cfg.ByzantineClients, "byzantine-clients", cfg.ByzantineClients, "f, the Byzantine clients to tolerate")
	fs.IntVar(&cfg.MultiKrumM, "multi-krum-m", cfg.MultiKrumM, "how many updates Multi-Krum averages (0 or 1: Krum)")
	fs.IntVar(&cfg.GeoMaxIterations, "max-iterations", cfg.GeoMaxIterations, "cap on Weiszfeld steps (0: 100)")
	fs.Float64Var(&cfg.GeoTolerance, "tolerance", cfg.GeoTolerance, "relative improvement at which Weiszfeld stops (0: 1e-6)")
	fs.Float64Var(&cfg.ClipNorm, "clip-norm", cfg.ClipNorm, "L2 norm each update is clipped to")
	fs.Float64Var(&cfg.CenteredClippingRadius, "centered-clipping-radius", cfg.CenteredClippingRadius, "τ, how far one update can pull the center per pass")
	fs.IntVar(&cfg.CenteredClippingIterations, "centered-clipping-iterations", cfg.CenteredClippingIterations, "clipping passes (0: 1)")
	fs.Float64Var(&cfg.NoiseMultiplier, "noise-multiplier", cfg.NoiseMultiplier, "Gaussian noise σ over the clip norm")
	seed := fs.Uint64("seed", 0, "seed a replayable, insecure noise generator (tests and notebooks only)")
	fs.IntVar(&cfg.MinClients, "min-clients", max(cfg.MinClients, 1), "fewest updates to aggregate (min_devices_per_round)")
	asJSON := fs.Bool("json", false, "print the round's result as one JSON object")
	fs.Usage = func() {
		fmt.Fprint(stderr, aggregateUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	cfg.Strategy = aggregate.Strategy(*strategy)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, strategies := range strategyFlags {
		if set[name] && !slices.Contains(strategies, cfg.Strategy) {
			return secagg.Errorf(secagg.CodeBadRequest, strings.ReplaceAll(name, "-", "_"),
				"--%s does not apply to strategy %q", name, *strategy)
		}
	}
	if *out == "" {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "--out is required: the .npy file the result goes to")
	}
	if len(files) == 0 {
		return secagg.Errorf(secagg.CodeBadRequest, "updates", "no update files given; see secagg aggregate -h")
	}
	updates, err := readUpdates(files)
	if err != nil {
		return err
	}
	var weights []float64
	if *weightsPath != "" {
		w, err := readNpy(*weightsPath)
		if err != nil {
			return err
		}
		if len(w.shape) != 1 || w.shape[0] != len(updates) {
			return secagg.Errorf(secagg.CodeBadRequest, "weights",
				"%s has shape %v; want (%d,), one weight per update", *weightsPath, w.shape, len(updates))
		}
		for _, v := range w.data {
			weights = append(weights, float64(v))
		}
	}
	var noise *dp.Source
	if set["seed"] {
		noise = dp.InsecureSeededSource(*seed)
	}
	dst := make([]float32, len(updates[0]))
	res, err := aggregate.Aggregate(dst, updates, weights, cfg, noise)
	if err != nil {
		return err
	}
	if err := writeNpyAtomic(*out, dst); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			aggregate.Result
			Dimension int    `json:"dimension"`
			Out       string `json:"out"`
		}{res, len(dst), *out})
	}
	bytes := float64(len(updates)) * float64(len(dst)) * 4
	fmt.Fprintf(stdout, "%s over %d updates of dimension %d -> %s in %.1f ms (%.1f GB/s)",
		res.Strategy, res.Clients, len(dst), *out, float64(res.Elapsed.Microseconds())/1e3, bytes/res.Elapsed.Seconds()/1e9)
	switch {
	case res.Selected != nil:
		fmt.Fprintf(stdout, "; selected %s", strings.Join(res.Selected, ","))
	case res.Iterations > 0:
		fmt.Fprintf(stdout, "; %d Weiszfeld steps", res.Iterations)
	case res.NoiseSigma > 0:
		fmt.Fprintf(stdout, "; noise sigma %.6g", res.NoiseSigma)
	}
	fmt.Fprintln(stdout)
	return nil
}

// configFlag returns the value of --config (or -config) in args, or "".
func configFlag(args []string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// loadRoundConfig reads an aggregate.Config from a JSON file; "" is the zero Config.
// Unknown keys are a bad_request, so a misspelt setting is not silently dropped.
func loadRoundConfig(path string) (aggregate.Config, error) {
	var cfg aggregate.Config
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "config", "cannot read %s: %v", path, unwrapPath(err))
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "config", "%s is not a JSON object: %v", path, err)
	}
	known := map[string]bool{"min_clients": true} // the alias Config.UnmarshalJSON takes
	t := reflect.TypeFor[aggregate.Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	for k := range keys {
		if !known[k] {
			return cfg, secagg.Errorf(secagg.CodeBadRequest, "config", "%s: unknown setting %q", path, k)
		}
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "config", "%s is not a round configuration: %v", path, err)
	}
	return cfg, nil
}

// parseInterleaved parses flags that may come before, between or after the positional
// arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) (positional []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// readUpdates reads one (N, d) file or several (d,) files of the same length.
func readUpdates(files []string) ([][]float32, error) {
	var updates [][]float32
	for _, path := range files {
		a, err := readNpy(path)
		if err != nil {
			return nil, err
		}
		if len(a.shape) == 2 && len(files) > 1 {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "updates",
				"%s holds a whole round %v; give either one (N, d) file or one (d,) file per client", path, a.shape)
		}
		if len(updates) > 0 && len(a.data) != len(updates[0]) {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "updates",
				"%s has dimension %d, %s has %d", path, len(a.data), files[0], len(updates[0]))
		}
		updates = append(updates, a.rows()...)
	}
	return updates, nil
}
