package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

const aggregateUsage = `Usage: secagg aggregate --strategy S [strategy flags] --out result.npy updates.npy
       secagg aggregate --strategy S [strategy flags] --out result.npy client0.npy client1.npy ...

Aggregates one round read from NumPy .npy files: one (N, d) array, or one (d,) array per
client (float32, or float64 rounded to float32), and writes the (d,) float32 result. A
failed run leaves no output file behind. Flags may come before or after the files; each
strategy flag is the kebab-case form of the engine's JSON key. --config round.json takes
the settings in the platform's JSON (strategy, trim_ratio, byzantine_clients, clip_norm,
min_devices_per_round, ...); flags given beside it override it. A flag or key that does
not apply to the strategy is refused, and so is a strategy's required one left out.
`

// strategyUsage lists the strategies and their flags, from the engine's table.
func strategyUsage() string {
	var b strings.Builder
	b.WriteString("Strategies and their flags ([optional]):\n")
	for _, s := range aggregate.Strategies() {
		var flags []string
		switch s.Weights {
		case aggregate.RequiredWeights:
			flags = append(flags, "--weights w.npy")
		case aggregate.OptionalWeights:
			flags = append(flags, "[--weights w.npy]")
		}
		for _, p := range s.Params {
			if p.RoundOnly {
				continue
			}
			f := "--" + p.Flag() + " x"
			if p.Integer {
				f = "--" + p.Flag() + " n"
			}
			if !p.Required {
				f = "[" + f + "]"
			}
			flags = append(flags, f)
		}
		if s.Name == aggregate.StrategyDPMean {
			flags = append(flags, "[--seed s]")
		}
		fmt.Fprintf(&b, "  %-18s %s\n  %-18s   %s\n", s.Name, strings.Join(flags, " "), "", s.Summary)
	}
	return b.String()
}

// aggregateCmd runs `secagg aggregate`.
func aggregateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	// A --config file gives the round's settings in the platform's JSON; flags given
	// beside it override its values.
	cfg, err := loadRoundConfig(configFlag(args))
	if err != nil {
		return err
	}
	fs.String("config", "", "a JSON file of the round's settings, the platform's keys (strategy, trim_ratio, ...)")
	aggregate.AddFlags(fs, &cfg)
	out := fs.String("out", "", "the .npy file to write the result to (required)")
	weightsPath := fs.String("weights", "", "a .npy file of N weights (float or integer, such as example counts)")
	seed := fs.Uint64("seed", 0, "seed a replayable, insecure noise generator (tests and notebooks only)")
	asJSON := fs.Bool("json", false, "print the round's result as one JSON object")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), aggregateUsage, "\n", strategyUsage(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	files, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if cfg.Strategy == "" {
		cfg.Strategy = aggregate.StrategyMean
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := aggregate.CheckFlags(fs, cfg); err != nil {
		return err
	}
	info, known := aggregate.Lookup(cfg.Strategy)
	if known && set["weights"] && info.Weights == aggregate.NoWeights {
		return secagg.Errorf(secagg.CodeBadRequest, "weights", "--weights does not apply to strategy %s", cfg.Strategy)
	}
	if known && set["seed"] && cfg.Strategy != aggregate.StrategyDPMean {
		return secagg.Errorf(secagg.CodeBadRequest, "seed", "--seed does not apply to strategy %s: only dp_mean draws noise", cfg.Strategy)
	}
	if _, err := cfg.ForBatch(0); err != nil {
		return err // the settings' errors before any file is read
	}
	if *out == "" {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "--out is required: the .npy file the result goes to")
	}
	if len(files) == 0 {
		return secagg.Errorf(secagg.CodeBadRequest, "updates", "no update files given; see secagg aggregate -h")
	}
	if err := checkOut(*out, append(files, *weightsPath)); err != nil {
		return err
	}
	updates, err := readUpdates(files)
	if err != nil {
		return err
	}
	var weights []float64
	if *weightsPath != "" {
		shape, w, err := readWeights(*weightsPath)
		if err != nil {
			return err
		}
		if len(shape) != 1 || shape[0] != len(updates) {
			return secagg.Errorf(secagg.CodeBadRequest, "weights",
				"%s has shape %v; want (%d,), one weight per update", *weightsPath, shape, len(updates))
		}
		weights = w
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
// Unknown keys are a bad_request (Config's own JSON reading), so a misspelt setting is
// not silently dropped.
func loadRoundConfig(path string) (aggregate.Config, error) {
	var cfg aggregate.Config
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "config", "cannot read %s: %v", path, unwrapPath(err))
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		var e *secagg.Error
		if errors.As(err, &e) {
			e.Message = path + ": " + e.Message
			return cfg, e
		}
		return cfg, secagg.Errorf(secagg.CodeBadRequest, "config", "%s is not a round configuration: %v", path, err)
	}
	return cfg, nil
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
