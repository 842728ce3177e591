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
)

// privacy prints the ε that rounds of the subsampled Gaussian mechanism spend, or with
// --target-epsilon the noise multiplier that meets it.
func privacy(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("privacy", flag.ContinueOnError)
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
