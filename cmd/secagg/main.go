// Command secagg runs the aggregation engine from a shell.
//
//	secagg demo [-config round.json]   aggregate a synthetic round (also what a bare secagg runs)
//	secagg aggregate --strategy S --out r.npy updates.npy   aggregate a round of .npy files
//	secagg cpu                         show the SIMD path chosen and why
//	secagg privacy --noise-multiplier Z --sample-rate Q --rounds T   the ε spent
//	secagg privacy --mechanism skellam ...                             distributed DP's ε, or its calibration
//	secagg unmask --suite flower --out r.npz round.json   unmask a Flower SecAgg+ round
//
// Errors are printed on stderr as the platform's JSON error, one line, and the exit
// status gives their class: 2 for a bad command line, 3 for validation_error, 4 for
// bad_request, 5 for insufficient_clients, 6 for conflict, 7 for payload_too_large, 1
// for anything else.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/octomil/secagg"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "demo"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "demo":
		err = demo(args, stdout, stderr)
	case "aggregate":
		err = aggregateCmd(args, stdout, stderr)
	case "cpu":
		err = cpu(args, stdout, stderr)
	case "privacy":
		err = privacy(args, stdout, stderr)
	case "unmask":
		err = unmaskCmd(args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		err = secagg.Errorf(secagg.CodeBadRequest, "command", "unknown command %q; try secagg help", cmd)
	}
	return report(err, stderr)
}

const usage = `secagg: the aggregation engine of the federated-learning platform

Usage:
  secagg demo [-config round.json]   aggregate a synthetic round and print the figures
  secagg aggregate --strategy S [flags] --out result.npy updates.npy | client0.npy client1.npy ...
                                     aggregate a round read from .npy files
  secagg cpu                         show the SIMD path chosen and why
  secagg privacy --noise-multiplier Z --sample-rate Q --rounds T [--delta D] [--target-epsilon E]
  secagg privacy --mechanism skellam|distributed_discrete_gaussian --clip-norm C --bits B --clients N --dim D --rounds T (--target-epsilon E | --gamma G --stddev S)
                                     the ε those rounds spend (or the z that meets E)
  secagg unmask --suite flower --out result.npy|result.npz round.json
                                     unmask a Flower SecAgg+ round (interop only, insecure)
  secagg help                        this text

Run "secagg <command> -h" for a command's flags.`

// usageError is a command line that could not be parsed: its JSON error, exit status 2.
type usageError struct{ e *secagg.Error }

func (u usageError) Error() string { return u.e.Error() }

// parseArgs parses flags that may come before, between or after the positional
// arguments, which it returns. A flag that does not exist or a value it refuses is a
// usageError naming it; -h prints the command's help on stdout and returns errHelp.
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) (positional []string, err error) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(stdout)
				if usage != nil {
					usage()
				} else {
					fs.PrintDefaults()
				}
				return nil, errHelp
			}
			return nil, usageError{secagg.Errorf(secagg.CodeBadRequest, "arguments", "%s %v", fs.Name(), err)}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// noArguments refuses positional arguments to a command that takes none.
func noArguments(cmd string, positional []string) error {
	if len(positional) > 0 {
		return usageError{secagg.Errorf(secagg.CodeBadRequest, "arguments", "%s takes no arguments, got %q", cmd, positional[0])}
	}
	return nil
}

// errHelp marks a command that printed its help and has nothing more to do.
var errHelp = errors.New("help")

// report prints err as one line of the platform's JSON on stderr and returns its exit status.
func report(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	var u usageError
	e := secagg.AsError(err)
	if errors.As(err, &u) {
		e = u.e
	}
	b, _ := e.MarshalJSON() // '<' and '>' as they are: json.Marshal would \u-escape them
	fmt.Fprintln(stderr, string(b))
	if u.e != nil {
		return 2
	}
	return e.Code.ExitStatus()
}
