package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/bench"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/secure"
	"github.com/octomil/secagg/simd"
)

// defaultRound is the round the demo aggregates unless -config names another.
//
//go:embed default.json
var defaultRound []byte

// roundConfig describes a synthetic poisoned round. Honest client i sends g + ε_i, a
// shared direction g plus its own noise, both standard normal; of the Byzantine clients
// (the last ones), half send huge values (+1000 everywhere) and half flip the sign of an
// honest update and scale it by 10.
type roundConfig struct {
	Clients   int    `json:"clients"`
	Dimension int    `json:"dimension"`
	Byzantine int    `json:"byzantine_clients"`
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
	if c.Byzantine < 0 || c.Byzantine >= c.Clients {
		return secagg.Errorf(secagg.CodeValidation, "byzantine_clients",
			"byzantine_clients must be in [0, clients), got %d of %d", c.Byzantine, c.Clients)
	}
	if c.Repeats < 1 {
		return secagg.Errorf(secagg.CodeValidation, "repeats", "repeats must be >= 1, got %d", c.Repeats)
	}
	// Each client costs its d float32 and the bookkeeping around its buffer (a slice
	// header, an allocation, a weight, a held pointer: about 64 bytes), which is what a
	// round of two billion one-float clients ran out of memory on.
	if perClient := 4*int64(c.Dimension) + 64; int64(c.Clients) > demoBudget/perClient {
		return secagg.Errorf(secagg.CodePayloadTooLarge, "dimension",
			"a demo round of %d clients x %d float32 (%d bytes each with its bookkeeping) exceeds the demo's 8 GiB budget",
			c.Clients, c.Dimension, perClient)
	}
	return nil
}

// demoBudget is the memory a demo round may take.
const demoBudget = 8 << 30

// demoStrategies are the configurations the demo compares, for f Byzantine clients
// among n: every strategy of the engine's table, each parameter it takes set from
// demoValues where the demo has a value for it, and Multi-Krum beside Krum.
func demoStrategies(n, d, f int) []aggregate.Config {
	values := map[string]string{
		"trim_ratio":        fmt.Sprint(math.Max(0.1, float64(f)/float64(n))),
		"byzantine_clients": fmt.Sprint(f),
		// centered_clipping's τ: about an honest update's distance from the honest mean.
		"centered_clipping_radius":     fmt.Sprint(math.Sqrt(float64(d))),
		"centered_clipping_iterations": "3",
		"clip_norm":                    fmt.Sprint(demoClipNorm),
		"noise_multiplier":             "1",
	}
	var out []aggregate.Config
	for _, info := range aggregate.Strategies() {
		c, _ := aggregate.ConfigFor(info, values, false) // the demo's own values: numbers
		out = append(out, c)
		if info.Name == aggregate.StrategyKrum {
			values["multi_krum_m"] = fmt.Sprint(n - f)
			c, _ = aggregate.ConfigFor(info, values, false)
			delete(values, "multi_krum_m")
			out = append(out, c)
		}
	}
	return out
}

// demoClipNorm is the dp_mean and norm_bounded_mean rows' clip norm; an honest update's norm is about
// sqrt(2d), so at d = 10^6 this clips the honest updates too, by 30%.
const demoClipNorm = 1000

// label names a configuration by its strategy and the parameters given, by their
// symbols, short enough for the table's column: trimmed_mean r=0.1.
func label(c aggregate.Config) string {
	info, _ := aggregate.Lookup(c.Strategy)
	parts := []string{string(c.Strategy)}
	if c.Strategy == aggregate.StrategyKrum && c.MultiKrumM > 1 {
		parts[0] = "multi_krum"
	}
	for _, p := range info.Params {
		if c.Given(p.Key) {
			parts = append(parts, fmt.Sprintf("%s=%.4g", p.Symbol, c.Value(p.Key)))
		}
	}
	return strings.Join(parts, " ")
}

func demo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	configPath := fs.String("config", "", "JSON file describing the round (default: the embedded one)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: secagg demo [-config round.json]\n\nAggregates a synthetic poisoned round with every strategy and prints each one's distance\nto the mean of the honest updates, its time and its effective GB/s. The embedded round:\n"+string(defaultRound))
		fs.PrintDefaults()
	}
	positional, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := noArguments("demo", positional); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	strategies := demoStrategies(cfg.Clients, cfg.Dimension, cfg.Byzantine)
	bar := newProgress(stderr, 1+len(strategies)*cfg.Repeats)
	defer bar.clear()

	w := bench.Workload{Name: "demo", N: cfg.Clients, D: cfg.Dimension}
	fmt.Fprintf(stdout, "round: %d clients x %d float32 (%.0f MB), %d Byzantine (half +1000, half -10x an honest update), seed %d\n",
		w.N, w.D, float64(w.Bytes())/1e6, cfg.Byzantine, cfg.Seed)
	fmt.Fprintf(stdout, "simd:  %s (%s), %d workers\n\n", simd.Active(), simd.Reason(), parallel.Workers())
	bar.step("generating the round")
	updates, honestMean := poisonedRound(w, cfg.Byzantine, cfg.Seed)
	weights := w.Weights(cfg.Seed)
	honestNorm := math.Sqrt(simd.SumSquares(honestMean))

	bar.clear()
	fmt.Fprintf(stdout, "%-34s %14s %10s %10s\n", "strategy", "dist/|honest|", "ms", "GB/s")
	dst := make([]float32, w.D)
	for _, c := range strategies {
		var ws []float64
		if c.Strategy == aggregate.StrategyWeightedMean {
			ws = weights
		}
		best := time.Duration(math.MaxInt64)
		var runErr error
		for range cfg.Repeats {
			bar.step(label(c))
			res, err := aggregate.Aggregate(dst, updates, ws, c, dp.InsecureSeededSource(cfg.Seed))
			if err != nil {
				runErr = err
				break
			}
			best = min(best, res.Elapsed)
		}
		bar.clear()
		if runErr != nil {
			fmt.Fprintf(stdout, "%-34s skipped: %v\n", label(c), runErr)
			continue
		}
		dist := math.Sqrt(simd.SqDist(dst, honestMean)) / honestNorm
		fmt.Fprintf(stdout, "%-34s %14.4f %10.2f %10.1f\n", label(c), dist,
			float64(best.Microseconds())/1e3, float64(w.Bytes())/best.Seconds()/1e9)
	}
	if err := secureDemo(stdout, bar, w.D, cfg.Seed); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndist/|honest| is the L2 distance to the mean of the honest updates over that mean's norm\n"+
		"(what an undefended mean gives up to the attack); GB/s is N*d*4 bytes over the best of %d runs.\n"+
		"weighted_mean weighs each client by an example count drawn uniformly from [1, 100), the\n"+
		"Byzantine ones too. multi_krum with m = N - f averages the m best-scored updates: when Krum's\n"+
		"scores single out every honest client, that is their mean exactly, hence 0.0000.\n"+
		"Compare it with the memory bus: make peers prints the bandwidth probe (bench/peers) and numpy beside it.\n", cfg.Repeats)
	return nil
}

// poisonedRound makes the round roundConfig describes and returns it with the mean of
// its honest updates.
func poisonedRound(w bench.Workload, byzantine int, seed uint64) (updates [][]float32, honestMean []float32) {
	updates = w.Updates(seed) // ε_i
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	g := make([]float32, w.D)
	for j := range g {
		g[j] = float32(rng.NormFloat64())
	}
	honest := w.N - byzantine
	for _, u := range updates[:honest] {
		for j := range u {
			u[j] += g[j]
		}
	}
	for b, u := range updates[honest:] {
		for j := range u {
			if b%2 == 0 {
				u[j] = 1000
			} else {
				u[j] = -10 * updates[b%honest][j]
			}
		}
	}
	honestMean = make([]float32, w.D)
	if err := aggregate.Mean(honestMean, updates[:honest]); err != nil {
		panic(err) // finite by construction
	}
	return updates, honestMean
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

// secureClients is how many clients the demo's secure round has.
const secureClients = 100

// secureDemo plays a secure round (SecAgg+, the default suite) of 100 honest clients
// with updates of dimension d and example counts as weights, a tenth of them dropping
// out, one stage after another in turn, and prints each stage's time and the distance
// of the unmasked weighted mean to the plaintext weighted mean of the clients it sums:
// the cost of quantisation.
func secureDemo(stdout io.Writer, bar *progress, d int, seed uint64) error {
	n := secureClients
	w := bench.Workload{Name: "secure", N: n, D: d}
	bar.step("generating the secure round")
	updates, ws := w.Updates(seed+1), w.Weights(seed+1)
	drops := make([]secure.Stage, n)
	for i := 9; i < n; i += 10 {
		drops[i] = secure.Stage(1 + (i/10)%4) // before keys, shares, masking, unmask in turn
	}
	// k = 21 (t = 11): a client needs 10 of its 20 neighbours gone to be unrecoverable,
	// which the demo's ten dropouts reach with odds near 10^-8; at k = 11 (6 of 10) it was
	// about one run in fifteen.
	cfg := secure.Config{Shares: 21, MaxWeight: 100}
	dst := make([]float32, d)
	bar.step("secure round")
	start := time.Now()
	res, err := secure.Simulate(dst, cfg, updates, ws, drops, int64(seed&(1<<62)))
	total := time.Since(start)
	bar.clear()
	if err != nil {
		fmt.Fprintf(stdout, "\nsecure round skipped: %v\n", err)
		return nil
	}
	want := make([]float64, d)
	var sum float64
	for _, id := range res.Active {
		i := int(id - 1)
		sum += ws[i]
		for j, v := range updates[i] {
			want[j] += ws[i] * float64(v)
		}
	}
	var dist, norm float64
	for j, v := range want {
		m := v / sum
		dist += (float64(dst[j]) - m) * (float64(dst[j]) - m)
		norm += m * m
	}
	fmt.Fprintf(stdout, "\nsecure round (%s, SecAgg+ k = %d, %d clients x %d, weighted): %d summed, %d dropped after share_keys, %d excluded before, %d values clipped\n",
		secure.SuiteName, cfg.Shares, n, d, res.Clients, len(res.Dropped), len(res.Excluded), res.Clipped)
	for _, stage := range []string{"setup", "share_keys", "collect_masked_vectors", "unmask"} {
		fmt.Fprintf(stdout, "  %-24s %10.1f ms\n", stage, float64(res.Timings[stage].Microseconds())/1e3)
	}
	fmt.Fprintf(stdout, "  %-24s %10.1f ms (%d masks expanded to unmask; the stages' times hold the in-process clients' work too)\n",
		"whole round", float64(total.Microseconds())/1e3, res.Masks)
	fmt.Fprintf(stdout, "  dist/|mean| to the plaintext weighted mean of those clients: %.2e (quantisation, T = %d)\n",
		math.Sqrt(dist/norm), int64(secure.DefaultQuantizationRange))
	return nil
}
