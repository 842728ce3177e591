package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/bench"
	"github.com/octomil/secagg/simd"
	"github.com/octomil/secagg/trimmedmean"
)

// defaultRound is the round the demo aggregates unless -config names another.
//
//go:embed default.json
var defaultRound []byte

// roundConfig describes a synthetic round: standard-normal updates and uniform weights.
type roundConfig struct {
	Clients   int    `json:"clients"`
	Dimension int    `json:"dimension"`
	Seed      uint64 `json:"seed"`
	Repeats   int    `json:"repeats"`
}

func (c roundConfig) validate() error {
	if c.Clients < 1 {
		return secagg.Errorf(secagg.CodeValidation, "clients", "clients must be >= 1, got %d", c.Clients)
	}
	if c.Dimension < 1 {
		return secagg.Errorf(secagg.CodeValidation, "dimension", "dimension must be >= 1, got %d", c.Dimension)
	}
	if c.Repeats < 1 {
		return secagg.Errorf(secagg.CodeValidation, "repeats", "repeats must be >= 1, got %d", c.Repeats)
	}
	if int64(c.Clients)*int64(c.Dimension) > 1<<31 {
		return secagg.Errorf(secagg.CodePayloadTooLarge, "dimension",
			"a demo round of %d x %d float32 exceeds the demo's 8 GiB budget", c.Clients, c.Dimension)
	}
	return nil
}

func demo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "JSON file describing the round (default: the embedded one)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: secagg demo [-config round.json]\n\nAggregates a synthetic round with every strategy and prints time and effective GB/s.\nThe embedded round:\n"+string(defaultRound))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return errUsage
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	w := bench.Workload{Name: "demo", N: cfg.Clients, D: cfg.Dimension}
	fmt.Fprintf(stdout, "round: %d clients x %d float32 (%.0f MB), seed %d\n", w.N, w.D, float64(w.Bytes())/1e6, cfg.Seed)
	fmt.Fprintf(stdout, "simd:  %s (%s)\n\n", simd.Active(), simd.Reason())
	updates := w.Updates(cfg.Seed)
	weights := w.Weights(cfg.Seed)

	strategies := []struct {
		name string
		run  func(dst []float32) error
	}{
		{"mean", func(dst []float32) error { return aggregate.Mean(dst, updates) }},
		{"weighted_mean", func(dst []float32) error { return aggregate.WeightedMean(dst, updates, weights) }},
		{"trimmed_mean_0.1", func(dst []float32) error { return trimmedmean.TrimmedMean(dst, updates, 0.1) }},
		{"median", func(dst []float32) error { return trimmedmean.Median(dst, updates) }},
	}
	fmt.Fprintf(stdout, "%-16s %10s %10s %12s %12s\n", "strategy", "ms", "GB/s", "l2 norm", "result[0]")
	for _, s := range strategies {
		dst := make([]float32, w.D)
		best := time.Duration(math.MaxInt64)
		for range cfg.Repeats {
			start := time.Now()
			if err := s.run(dst); err != nil {
				return err
			}
			best = min(best, time.Since(start))
		}
		gbps := float64(w.Bytes()) / best.Seconds() / 1e9
		fmt.Fprintf(stdout, "%-16s %10.2f %10.1f %12.6g %12.6g\n", s.name,
			float64(best.Microseconds())/1e3, gbps, math.Sqrt(simd.SumSquares(dst)), dst[0])
	}
	fmt.Fprintf(stdout, "\nGB/s is N*d*4 bytes over the best of %d runs; compare with the memory bus\n(make peers prints ../shared/peers/bandwidth.c and numpy beside it).\n", cfg.Repeats)
	return nil
}

// loadConfig reads the round from path, or the embedded default when path is "".
func loadConfig(path string) (roundConfig, error) {
	data := defaultRound
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return roundConfig{}, secagg.Errorf(secagg.CodeBadRequest, "config", "cannot read the round config: %v", err)
		}
	}
	var cfg roundConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return roundConfig{}, secagg.Errorf(secagg.CodeBadRequest, "config", "the round config is not valid JSON for a round: %v", err)
	}
	return cfg, cfg.validate()
}
