// Command secagg-beam runs a round's aggregation on Apache Beam, for rounds that outgrow
// one machine: the updates are .npy files, one per client, read a block of coordinates
// at a time, so no worker holds a whole update or a whole round.
//
//	secagg-beam aggregate --strategy mean --dim D [--block B] --out result.npy update.npy...
//
// Strategies: mean (trimmed_mean by blocks needs a stream sized at its first block: not
// yet). The runner is
// Beam's --runner flag: prism (the default here: in process, on this machine), or
// dataflow, flink, spark with their own flags (--endpoint, --project, --region,
// --staging_location, ...; see Beam's documentation), which this repository cannot test.
// Prism's job server listens on every interface: on a shared machine run it in a
// loopback-only network namespace (unshare -n).
//
// Errors are printed on stderr as the platform's JSON error, one line, with the library's
// exit statuses (secagg.Code.ExitStatus); a worker's error reaches the driver as text, and
// its code and message are found in it (secagg.FindError).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/octomil/secagg"
	secaggbeam "github.com/octomil/secagg/beam"
)

// The command's flags, beside Beam's on the command line's flag set.
var (
	strategy = flag.String("strategy", "mean", "mean")
	dim      = flag.Int("dim", 0, "values per update (required)")
	block    = flag.Int("block", 1<<16, "coordinates per block: what one worker reads of an update at a time")
	out      = flag.String("out", "", "the result's .npy file (required)")
	ours     = []string{"strategy", "dim", "block", "out"}
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "aggregate" {
		return report(usage("the command is: secagg-beam aggregate --strategy S --dim D --out result.npy update.npy..."), stderr)
	}
	fs := flag.CommandLine // Beam's flags (--runner and the runners') live here too
	for _, f := range ours {
		fs.Set(f, fs.Lookup(f).DefValue) // a second run in one process starts afresh
	}
	if fs.Lookup("runner") != nil {
		fs.Set("runner", "prism")
	}
	fs.Init("secagg-beam", flag.ContinueOnError) // errors as JSON, not the flag package's exit
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		return report(usage(err.Error()), stderr)
	}
	paths := fs.Args()
	switch {
	case *dim < 1:
		return report(secagg.Errorf(secagg.CodeValidation, "dim", "--dim is required and must be >= 1"), stderr)
	case *out == "":
		return report(secagg.Errorf(secagg.CodeValidation, "out", "--out is required"), stderr)
	case len(paths) == 0:
		return report(secagg.Errorf(secagg.CodeInsufficientClients, "updates", "no update files"), stderr)
	case *block < 1:
		return report(secagg.Errorf(secagg.CodeValidation, "block", "--block must be >= 1, got %d", *block), stderr)
	}
	if *strategy != "mean" {
		return report(secagg.Errorf(secagg.CodeValidation, "strategy", "strategy must be mean (the one secagg-beam runs by blocks so far), got %q", *strategy), stderr)
	}
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	blocks := secaggbeam.ReadBlocks(s, paths, *dim, *block)
	secaggbeam.WriteNpy(s, *out, secaggbeam.Assemble(s, beam.CombinePerKey(s, &secaggbeam.MeanFn{}, blocks), *dim, *block))
	if err := beamx.Run(context.Background(), p); err != nil {
		if e, ok := secagg.FindError(err.Error()); ok {
			return report(e, stderr)
		}
		return report(err, stderr)
	}
	return 0
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
	var e *secagg.Error
	switch {
	case errors.As(err, &u):
		e = u.e
	case !errors.As(err, &e):
		e = &secagg.Error{Code: "internal_error", Message: err.Error(), Status: 500}
	}
	b, _ := e.MarshalJSON()
	fmt.Fprintln(stderr, string(b))
	if u.e != nil {
		return 2
	}
	return e.Code.ExitStatus()
}
