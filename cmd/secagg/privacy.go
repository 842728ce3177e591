package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/secure/ddp"
)

// privacy prints the ε that rounds of the subsampled Gaussian mechanism spend, or with
// --target-epsilon the noise multiplier that meets it; with --mechanism skellam or
// distributed_discrete_gaussian, the same for distributed DP inside secure aggregation.
func privacy(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("privacy", flag.ContinueOnError)
	mechanism := fs.String("mechanism", "gaussian", "gaussian (central DP), or skellam or distributed_discrete_gaussian (noise the clients add inside secure aggregation)")
	clip := fs.Float64("clip-norm", 0, "distributed: the L2 clip of each update")
	bits := fs.Int("bits", 0, "distributed: the secure sum's modulus bits (2..32)")
	clients := fs.Int("clients", 0, "distributed: the fewest clients a round finishes with (their noise is the round's)")
	dim := fs.Int("dim", 0, "distributed: the update's values")
	gamma := fs.Float64("gamma", 0, "distributed: the granularity (with --stddev; else calibrated from --target-epsilon)")
	stddev := fs.Float64("stddev", 0, "distributed: each client's noise standard deviation, in the update's units")
	beta := fs.Float64("beta", math.Exp(-0.5), "distributed: conditional rounding's beta, in [0, 1)")
	wrap := fs.Float64("wrap-sigmas", 0, "distributed: standard deviations kept within the modulus when calibrating (0: 3, or 4 for the discrete Gaussian)")
	z := fs.Float64("noise-multiplier", 0, "noise standard deviation over the clip norm (z)")
	q := fs.Float64("sample-rate", 0, "probability that a client takes part in a round (q)")
	rounds := fs.Int("rounds", 0, "rounds (steps) of the mechanism")
	delta := fs.Float64("delta", 1e-5, "the δ of (ε, δ)")
	target := fs.Float64("target-epsilon", 0, "if set, print the noise multiplier that spends this ε instead")
	conversion := fs.String("conversion", "improved", "RDP to (ε, δ) conversion: improved (Opacus, dp_accounting today) or classic (published tutorials)")
	orderList := fs.String("orders", "", "comma-separated RDP orders (> 1) to convert over, instead of the library's default 1.01..4096")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: secagg privacy --noise-multiplier Z --sample-rate Q --rounds T [--delta D] [--target-epsilon E] [--conversion improved|classic] [--orders A,B,...] [--json]")
		fmt.Fprintln(fs.Output(), "       secagg privacy --mechanism skellam|distributed_discrete_gaussian --clip-norm C --bits B --clients N --dim D --rounds T")
		fmt.Fprintln(fs.Output(), "                      (--target-epsilon E | --gamma G --stddev S) [--sample-rate Q] [--delta D] [--beta B] [--wrap-sigmas K] [--json]")
		fs.PrintDefaults()
	}
	positional, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := noArguments("privacy", positional); err != nil {
		return err
	}
	var conv dp.Conversion
	switch *conversion {
	case "improved":
		conv = dp.Improved
	case "classic":
		conv = dp.Classic
	default:
		return secagg.Errorf(secagg.CodeValidation, "conversion", "conversion must be improved or classic, got %q", *conversion)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	distributedFlags := []string{"clip-norm", "bits", "clients", "dim", "gamma", "stddev", "beta", "wrap-sigmas"}
	switch ddp.Mechanism(*mechanism) {
	case ddp.Skellam, ddp.DiscreteGaussian:
		for _, no := range []struct{ name, why string }{
			{"noise-multiplier", "its noise is --stddev per client at --gamma, or calibrated from --target-epsilon"},
			{"orders", "its accountant takes its own integer orders"},
		} {
			if set[no.name] {
				return secagg.Errorf(secagg.CodeBadRequest, strings.ReplaceAll(no.name, "-", "_"),
					"--%s does not apply to --mechanism %s: %s", no.name, *mechanism, no.why)
			}
		}
		p := ddp.Params{Mechanism: ddp.Mechanism(*mechanism), Dim: *dim, Clip: *clip, Bits: *bits, Beta: *beta, Gamma: *gamma, Stddev: *stddev}
		rate := 1.0
		if set["sample-rate"] {
			rate = *q
		}
		return privacyDistributed(p, set, *target, *delta, rate, *rounds, *clients, *wrap, conv, *asJSON, stdout)
	case "gaussian":
		for _, name := range distributedFlags {
			if set[name] {
				return secagg.Errorf(secagg.CodeBadRequest, strings.ReplaceAll(name, "-", "_"), "--%s applies to the distributed mechanisms only, not gaussian", name)
			}
		}
	default:
		return secagg.Errorf(secagg.CodeValidation, "mechanism", "mechanism must be gaussian, skellam or distributed_discrete_gaussian, got %q", *mechanism)
	}
	for _, name := range []string{"sample-rate", "rounds"} {
		if !set[name] {
			return secagg.Errorf(secagg.CodeValidation, strings.ReplaceAll(name, "-", "_"), "--%s is required", name)
		}
	}
	switch {
	case set["target-epsilon"] && set["noise-multiplier"]:
		return secagg.Errorf(secagg.CodeBadRequest, "target_epsilon",
			"--target-epsilon asks for the noise multiplier; give it or --noise-multiplier, not both")
	case !set["target-epsilon"] && !(*z > 0):
		// Without noise every round spends infinite ε, which is no answer to print.
		return secagg.Errorf(secagg.CodeValidation, "noise_multiplier",
			"--noise-multiplier must be positive and finite (or give --target-epsilon), got %v", *z)
	}
	orders, err := parseOrders(*orderList)
	if err != nil {
		return err
	}
	var eps, order float64
	if set["target-epsilon"] {
		if *z, err = dp.NoiseMultiplierFor(*target, *delta, *q, *rounds, orders, conv); err != nil {
			return err
		}
	}
	if eps, order, err = dp.EpsilonAfter(*q, *z, *rounds, *delta, orders, conv); err != nil {
		return err
	}
	if math.IsInf(eps, 0) || math.IsNaN(order) {
		return secagg.Errorf(secagg.CodeValidation, "noise_multiplier",
			"noise multiplier %v spends infinite epsilon at every order given", *z)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			Epsilon         float64 `json:"epsilon"`
			Delta           float64 `json:"delta"`
			NoiseMultiplier float64 `json:"noise_multiplier"`
			SampleRate      float64 `json:"sample_rate"`
			Rounds          int     `json:"rounds"`
			Order           float64 `json:"order"`
			Conversion      string  `json:"conversion"`
		}{eps, *delta, *z, *q, *rounds, order, conv.String()})
	}
	fmt.Fprintf(stdout, "epsilon %.4f at delta %g (noise multiplier %.6g, sample rate %g, %d rounds; RDP order %g, %s conversion)\n",
		eps, *delta, *z, *q, *rounds, order, conv)
	return nil
}

// privacyDistributed prints the ε of rounds of a distributed-DP round with at least
// clients survivors, or with --target-epsilon the gamma and per-client noise that meet
// it (ddp.Calibrate), with the chance that a coordinate of the sum wraps.
func privacyDistributed(p ddp.Params, set map[string]bool, target, delta, rate float64, rounds, clients int, wrap float64, conv dp.Conversion, asJSON bool, stdout io.Writer) error {
	for _, name := range []string{"clip-norm", "bits", "clients", "dim", "rounds"} {
		if !set[name] {
			return secagg.Errorf(secagg.CodeValidation, strings.ReplaceAll(name, "-", "_"), "--%s is required with --mechanism %s", name, p.Mechanism)
		}
	}
	switch {
	case set["target-epsilon"] && (set["gamma"] || set["stddev"]):
		return secagg.Errorf(secagg.CodeBadRequest, "target_epsilon", "--target-epsilon calibrates gamma and the noise; give it or --gamma and --stddev, not both")
	case !set["target-epsilon"] && !(set["gamma"] && set["stddev"]):
		return secagg.Errorf(secagg.CodeValidation, "stddev", "give --gamma and --stddev, or --target-epsilon")
	}
	if set["target-epsilon"] {
		if wrap == 0 {
			wrap = 3
			if p.Mechanism == ddp.DiscreteGaussian {
				wrap = 4
			}
		}
		var err error
		if p, err = ddp.Calibrate(p, target, delta, rounds, clients, rate, wrap, conv); err != nil {
			return err
		}
	} else if set["wrap-sigmas"] {
		return secagg.Errorf(secagg.CodeBadRequest, "wrap_sigmas", "--wrap-sigmas is for calibrating, with --target-epsilon")
	}
	eps, order, err := p.Epsilon(clients, rounds, rate, delta, conv)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			Mechanism  ddp.Mechanism `json:"mechanism"`
			Epsilon    float64       `json:"epsilon"`
			Delta      float64       `json:"delta"`
			Rounds     int           `json:"rounds"`
			SampleRate float64       `json:"sample_rate"`
			Clients    int           `json:"clients"`
			Gamma      float64       `json:"gamma"`
			Stddev     float64       `json:"stddev"`
			Bits       int           `json:"bits"`
			WrapSigmas float64       `json:"wrap_sigmas"`
			WrapChance float64       `json:"wrap_chance"`
			Order      float64       `json:"order"`
			Conversion string        `json:"conversion"`
		}{p.Mechanism, eps, delta, rounds, rate, clients, p.Gamma, p.Stddev, p.Bits, p.WrapSigmas(clients), p.WrapChance(clients), order, conv.String()})
	}
	fmt.Fprintf(stdout, "epsilon %.4f at delta %g (%s, %d rounds of at least %d clients sampled at %g; gamma %.6g, each client's stddev %.6g, %d bits: %.3g sigmas, a coordinate wraps with chance %.2g; RDP order %g, %s conversion)\n",
		eps, delta, p.Mechanism, rounds, clients, rate, p.Gamma, p.Stddev, p.Bits, p.WrapSigmas(clients), p.WrapChance(clients), order, conv)
	return nil
}

// parseOrders reads --orders: nil (the default orders) when empty, else every entry a
// number, which dp checks for > 1.
func parseOrders(list string) ([]float64, error) {
	if list == "" {
		return nil, nil
	}
	var orders []float64
	for i, f := range strings.Split(list, ",") {
		a, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, secagg.Errorf(secagg.CodeValidation, "orders", "orders[%d] must be a number, got %q", i, f)
		}
		orders = append(orders, a)
	}
	return orders, nil
}
