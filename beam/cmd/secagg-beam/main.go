// Command secagg-beam runs a round on Apache Beam, for rounds that outgrow one machine:
// the inputs are files, one per client, read a block of coordinates at a time, so no
// worker holds a whole update or a whole round.
//
//	secagg-beam aggregate --strategy S [strategy flags] --dim D [--block B] --out result.npy update.npy...
//	secagg-beam unmask --unmasking round.unmasking --vectors 'masked-{client}.bin' [--block B] --out mean.npy
//
// unmask finishes a secure round whose coordinator stored each active client's masked
// vector as the client sent it (secure.MaskedVector's encoding), recorded them with
// secure.Server.RecordMasked, and wrote secure.Server.Unmasking's encoding to
// --unmasking: the vectors, --vectors with {client} replaced by each active client's id,
// are summed by blocks and each block of the sum is unmasked on the worker that summed
// it, to Finalize's weighted mean, bit for bit.
//
// The updates are paths or glob patterns (each pattern's files in sorted order), local
// or gs://; the result may be written to either.
//
// The strategy flags are secagg aggregate's (the kebab-case form of the engine's JSON
// keys: --trim-ratio, --byzantine-clients, --multi-krum-m, --weights w.npy for
// weighted_mean), refused where the strategy does not take them. Strategies: mean and
// weighted_mean (sums per block, combined), median and trimmed_mean (each block's rows
// on one worker, which holds N·B values), krum (with --multi-krum-m) and bulyan (the
// blocks' squared-distance matrices added up, the selection on one worker, then each
// block's chosen rows; --selected-out names a JSON file for the clients chosen, and the
// default --block 65536 measures the distances as the engine does), norm_bounded_mean
// and dp_mean (--clip-norm, --noise-multiplier; two passes: each client's norm summed
// by blocks, then the clipped sums; dp_mean's noise drawn by each block's worker from
// the secure source, or from --seed, replayable and insecure), geometric_median (with
// --weights optionally, --geometric-median-max-iterations and -tolerance: one pipeline
// per Weiszfeld step, the clients' distances passed back to this driver through a
// scratch directory beside --out), centered_clipping (--centered-clipping-radius and
// -iterations, and --center last.npy to start from the last round's result: one
// pipeline per pass, the distances and centers between passes in the same scratch).
//
// The runner is Beam's --runner flag: prism (the default here: in process, on this
// machine), or dataflow, flink, spark with their own flags (--endpoint, --project,
// --region, --staging_location, ...; see Beam's documentation), which this repository
// cannot test. Prism's job server listens on every interface: on a shared machine run it
// in a loopback-only network namespace (unshare -n).
//
// Errors are printed on stderr as the platform's JSON error, one line, with the library's
// exit statuses (secagg.Code.ExitStatus); a worker's error reaches the driver as text, and
// its code and message are found in it (secagg.FindError).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs" // gs:// paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	secaggbeam "github.com/octomil/secagg/beam"
)

// options are the command's own flags, beside Beam's and the strategies'.
type options struct {
	dim, block                    *int
	out, weightsPath, selectedOut *string
	center                        *string
	asJSON                        *bool
	seed                          *uint64
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || subcommands[args[0]].define == nil {
		return report(usage("the commands are: "+strings.Join(usages(), "; ")), stderr)
	}
	fs := flag.NewFlagSet("secagg-beam "+args[0], flag.ContinueOnError) // errors as JSON, not the flag package's exit
	fs.SetOutput(io.Discard)
	// Beam's flags (--runner and the runners') are its package globals on flag.CommandLine:
	// the same values, set through this flag set.
	flag.CommandLine.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	if fs.Lookup("runner") != nil {
		fs.Set("runner", "prism")
	}
	do := subcommands[args[0]].define(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return report(usage(err.Error()), stderr)
	}
	flag.CommandLine.Parse(nil) // Beam's flags are parsed: beam.Init reads them as set above
	if err := do(stdout); err != nil {
		return report(err, stderr)
	}
	return 0
}

// subcommands are the command's jobs: each defines its flags on the flag set and returns
// what runs once they are parsed.
var subcommands = map[string]struct {
	usage  string
	define func(fs *flag.FlagSet) func(stdout io.Writer) error
}{
	"aggregate": {"secagg-beam aggregate --strategy S --dim D --out result.npy update.npy...", defineAggregate},
	"unmask":    {"secagg-beam unmask --unmasking round.unmasking --vectors 'masked-{client}.bin' --out mean.npy", defineUnmask},
}

func usages() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(subcommands)) {
		out = append(out, subcommands[name].usage)
	}
	return out
}

// defineAggregate defines aggregate's flags: the strategies' and the command's own.
func defineAggregate(fs *flag.FlagSet) func(io.Writer) error {
	var cfg aggregate.Config
	aggregate.AddFlags(fs, &cfg)
	o := options{
		dim:         fs.Int("dim", 0, "values per update (required)"),
		block:       fs.Int("block", 1<<16, "coordinates per block: what one worker reads of an update at a time"),
		out:         fs.String("out", "", "the result's .npy file (required)"),
		weightsPath: fs.String("weights", "", "weighted_mean (geometric_median, optionally): a .npy file of N weights (float or integer, such as example counts)"),
		selectedOut: fs.String("selected-out", "", "krum, bulyan: a JSON file for the clients chosen"),
		asJSON:      fs.Bool("json", false, "print the round's summary as one JSON object on stdout"),
		seed:        fs.Uint64("seed", 0, "dp_mean: seed a replayable, insecure noise generator (tests and notebooks only)"),
		center:      fs.String("center", "", "centered_clipping: a .npy file of D values its passes start from, the last round's result (default zeros)"),
	}
	return func(stdout io.Writer) error { return aggregateCmd(fs, cfg, o, stdout) }
}

// aggregateCmd checks the settings, builds the pipeline and runs it.
func aggregateCmd(fs *flag.FlagSet, cfg aggregate.Config, o options, stdout io.Writer) error {
	paths, err := secaggbeam.ExpandPatterns(context.Background(), fs.Args())
	if err != nil {
		return err
	}
	if cfg.Strategy == "" {
		cfg.Strategy = aggregate.StrategyMean
	}
	if err := aggregate.CheckFlags(fs, cfg); err != nil {
		return err
	}
	info, _ := aggregate.Lookup(cfg.Strategy)
	switch {
	case *o.dim < 1:
		return secagg.Errorf(secagg.CodeValidation, "dim", "--dim is required and must be >= 1")
	case *o.out == "":
		return secagg.Errorf(secagg.CodeValidation, "out", "--out is required")
	case *o.block < 1:
		return secagg.Errorf(secagg.CodeValidation, "block", "--block must be >= 1, got %d", *o.block)
	case *o.weightsPath != "" && info.Weights == aggregate.NoWeights:
		return secagg.Errorf(secagg.CodeBadRequest, "weights", "--weights does not apply to strategy %s on Beam", cfg.Strategy)
	case *o.selectedOut != "" && cfg.Strategy != aggregate.StrategyKrum && cfg.Strategy != aggregate.StrategyBulyan:
		return secagg.Errorf(secagg.CodeBadRequest, "selected_out", "--selected-out does not apply to strategy %s: only krum and bulyan choose clients", cfg.Strategy)
	}
	if *o.selectedOut != "" && filepath.Clean(*o.selectedOut) == filepath.Clean(*o.out) {
		return secagg.Errorf(secagg.CodeBadRequest, "selected_out", "--selected-out and --out both name %s", *o.out)
	}
	for _, written := range []string{*o.out, *o.selectedOut} {
		if err := notAnInput(written, append(paths, *o.weightsPath, *o.center)); err != nil {
			return err
		}
	}
	r := secaggbeam.Round{Paths: paths, Dim: *o.dim, Block: *o.block, Center: *o.center}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			r.InsecureSeed = o.seed
		}
	})
	if *o.weightsPath != "" {
		w, err := secaggbeam.ReadWeights(context.Background(), *o.weightsPath, len(paths))
		if err != nil {
			return err
		}
		r.Weights = w
	}
	beam.Init()
	start := time.Now()
	var res secaggbeam.Output
	var steps int
	switch cfg.Strategy {
	case aggregate.StrategyGeoMedian:
		steps, err = geometricMedian(r, cfg, *o.out)
	case aggregate.StrategyCenteredClipping:
		err = centeredClipping(r, cfg, *o.out)
	default:
		res, err = aggregateRound(r, cfg, o)
	}
	if err != nil {
		if e, ok := secagg.FindError(err.Error()); ok {
			return e
		}
		return err
	}
	elapsed := time.Since(start)
	if *o.asJSON {
		summary := map[string]any{
			"strategy": cfg.Strategy, "clients": len(paths), "dimension": *o.dim, "block": *o.block,
			"out": *o.out, "elapsed_ns": elapsed.Nanoseconds(),
		}
		if res.NoiseSigma != 0 {
			summary["noise_sigma"] = res.NoiseSigma
		}
		if steps != 0 {
			summary["iterations"] = steps
		}
		return json.NewEncoder(stdout).Encode(summary)
	}
	fmt.Fprintf(stdout, "%s over %d updates of dimension %d, blocks of %d -> %s in %.2f s",
		cfg.Strategy, len(paths), *o.dim, *o.block, *o.out, elapsed.Seconds())
	if res.NoiseSigma != 0 {
		fmt.Fprintf(stdout, "; noise sigma %.6g", res.NoiseSigma)
	}
	if steps != 0 {
		fmt.Fprintf(stdout, "; %d Weiszfeld steps", steps)
	}
	fmt.Fprintln(stdout)
	return nil
}

// aggregateRound runs a strategy that takes one pipeline.
func aggregateRound(r secaggbeam.Round, cfg aggregate.Config, o options) (secaggbeam.Output, error) {
	p, s := beam.NewPipelineWithRoot()
	res, err := secaggbeam.AggregateFiles(s, r, cfg)
	if err != nil {
		return res, err
	}
	secaggbeam.WriteNpy(s, *o.out, res.Result)
	if *o.selectedOut != "" {
		secaggbeam.WriteSelection(s, *o.selectedOut, r.Paths, res.Selection)
	}
	return res, beamx.Run(context.Background(), p)
}

// geometricMedian runs the Weiszfeld steps, one pipeline each, with their distances
// passed back through a scratch directory beside out.
func geometricMedian(r secaggbeam.Round, cfg aggregate.Config, out string) (steps int, err error) {
	err = withScratch(out, func(scratch string) (err error) {
		steps, err = secaggbeam.GeometricMedian(context.Background(), r, cfg, scratch, runPipeline, writeTo(out))
		return err
	})
	return steps, err
}

// centeredClipping runs the passes, one pipeline each, with the distances and centers
// between them in a scratch directory beside out.
func centeredClipping(r secaggbeam.Round, cfg aggregate.Config, out string) error {
	return withScratch(out, func(scratch string) error {
		return secaggbeam.CenteredClipping(context.Background(), r, cfg, scratch, runPipeline, writeTo(out))
	})
}

func runPipeline(ctx context.Context, p *beam.Pipeline) error { return beamx.Run(ctx, p) }

// writeTo writes a driver's result to out as .npy.
func writeTo(out string) func(beam.Scope, beam.PCollection) {
	return func(s beam.Scope, result beam.PCollection) { secaggbeam.WriteNpy(s, out, result) }
}

// withScratch runs f with a scratch directory beside out, removed after (for a remote
// out, a prefix beside it whose files the driver removes as it reads them).
func withScratch(out string, f func(scratch string) error) error {
	scratch := fmt.Sprintf("%s.steps-%d-%d", out, os.Getpid(), time.Now().UnixNano())
	if !strings.Contains(out, "://") {
		dir, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".steps-*")
		if err != nil {
			return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot write beside %s: %v", out, err)
		}
		defer os.RemoveAll(dir)
		scratch = dir
	}
	return f(scratch)
}

// notAnInput refuses an output path that names one of the inputs (the same file by
// another name included): the result must never replace the round it came from.
func notAnInput(out string, inputs []string) error {
	st, err := os.Stat(out)
	if out == "" || err != nil {
		return nil // not there yet: nothing to replace
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return secagg.Errorf(secagg.CodeBadRequest, "out", "%s is an input of the round (%s); name another file", out, in)
		}
	}
	return nil
}

// usageError is a command line that could not be parsed: exit status 2.
type usageError struct{ e *secagg.Error }

func (u usageError) Error() string { return u.e.Error() }

func usage(msg string) error {
	return usageError{secagg.Errorf(secagg.CodeBadRequest, "", "%s", msg)}
}

// report prints err as one line of the platform's JSON on stderr and returns its exit status.
func report(err error, stderr io.Writer) int {
	var u usageError
	e := secagg.AsError(err)
	if errors.As(err, &u) {
		e = u.e
	}
	b, _ := e.MarshalJSON()
	fmt.Fprintln(stderr, string(b))
	if u.e != nil {
		return 2
	}
	return e.Code.ExitStatus()
}
