package aggregate

import (
	"errors"
	"flag"

	"github.com/octomil/secagg"
)

// AddFlags defines on fs the flags of a command that aggregates a batch: --strategy,
// one flag per parameter of the table a batch takes (the key in kebab-case:
// --trim-ratio, --byzantine-clients, ...) and --min-clients, the alias of
// --min-devices-per-round. Each sets cfg through Set, so a flag given counts as given
// even when it is 0. CheckFlags then refuses the ones the strategy does not take.
func AddFlags(fs *flag.FlagSet, cfg *Config) {
	fs.Var(paramFlag{cfg, "strategy"}, "strategy", "the aggregation rule (default mean)")
	for _, p := range AllParams() {
		if !p.RoundOnly {
			fs.Var(paramFlag{cfg, p.Key}, p.Flag(), p.Usage)
		}
	}
	fs.Var(paramFlag{cfg, "min_clients"}, "min-clients", "alias of --min-devices-per-round")
}

// CheckFlags returns a bad_request naming the first flag of AddFlags given on fs that
// cfg's strategy does not take; an unknown strategy is left to the settings' own check.
func CheckFlags(fs *flag.FlagSet, cfg Config) error {
	info, known := Lookup(cfg.Strategy)
	if !known {
		return nil
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		for _, p := range AllParams() {
			if err == nil && f.Name == p.Flag() && !info.Takes(p.Key) {
				err = secagg.Errorf(secagg.CodeBadRequest, p.Key, "--%s does not apply to strategy %s", p.Flag(), cfg.Strategy)
			}
		}
	})
	return err
}

// paramFlag sets one parameter of a Config from the command line, through Config.Set.
type paramFlag struct {
	cfg *Config
	key string
}

func (f paramFlag) String() string { return "" }

func (f paramFlag) Set(v string) error {
	var e *secagg.Error
	if err := f.cfg.Set(f.key, v); errors.As(err, &e) {
		return errors.New(e.Message) // the flag package names the flag and the value
	} else if err != nil {
		return err
	}
	return nil
}
