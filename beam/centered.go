package secaggbeam

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/simd"
)

// Centered clipping's passes each weigh the clients by their distance to the last pass's
// center, so, as for the geometric median, the driver runs one pipeline per pass. A pass
// joins each block's rows with the block of the center it starts from (the Center file,
// zeros, or the last pass's result in a scratch file) on one worker, which computes the
// block of the next center and each client's squared distance to it by runs; a first
// pipeline measures the distances to the starting center.

// CenteredClipping runs the engine's centered_clipping (cfg's radius and passes, from
// r.Center or zeros) over the round by blocks: the distances and each pass's center go
// through files under scratch (a directory or prefix of one of Beam's filesystems that
// the driver and the workers both reach), removed once read; run runs each pipeline
// (beamx.Run in a command), and the last hands its center (one []float32) to write, so
// nothing is written unless every pass succeeded. With r.Block a multiple of
// aggregate.SqDistRange (the default 65,536 is), the result is the engine's bit for bit.
func CenteredClipping(ctx context.Context, r Round, cfg aggregate.Config, scratch string,
	run func(context.Context, *beam.Pipeline) error, write func(beam.Scope, beam.PCollection)) error {
	if cfg.Strategy != aggregate.StrategyCenteredClipping {
		return secagg.Errorf(secagg.CodeBadRequest, "strategy", "CenteredClipping runs centered_clipping, not %s", cfg.Strategy)
	}
	cfg, err := checkRound(r, cfg)
	if err != nil {
		return err
	}
	n := len(r.Paths)
	file := func(format string, pass int) string {
		return strings.TrimSuffix(scratch, "/") + fmt.Sprintf(format, pass)
	}
	// The distances to the starting center.
	p, s := beam.NewPipelineWithRoot()
	_, runs := centeringPass(s, r, r.Center, nil, true)
	dists, err := passDistances(ctx, p, s, runs, n, file("/distances-%04d.bin", 0), run)
	if err != nil {
		return err
	}
	center := r.Center
	passes := max(cfg.CenteredClippingIterations, 1)
	for pass := range passes {
		weights := append(dists, 0)
		if i := aggregate.CenteringWeights(weights, cfg.CenteredClippingRadius); i >= 0 {
			return secagg.Errorf(secagg.CodeValidation, "updates", "client %d's distance to the center is %v", i, weights[i])
		}
		last := pass == passes-1
		p, s := beam.NewPipelineWithRoot()
		blocks, runs := centeringPass(s, r, center, weights, !last)
		next := Assemble(s, blocks, r.Dim, r.Block)
		if last {
			write(s, next)
			err = run(ctx, p)
		} else {
			path := file("/center-%04d.npy", pass)
			WriteNpy(s, path, next)
			dists, err = passDistances(ctx, p, s, runs, n, file("/distances-%04d.bin", pass+1), run)
			if center != r.Center {
				removeFile(ctx, center)
			}
			center = path
		}
		if err != nil {
			return err
		}
	}
	if center != r.Center {
		removeFile(ctx, center)
	}
	return nil
}

// centeringPass adds one pass from the center file (empty: zeros) with weights (nil: only
// measure the distances to it): the blocks of the next center, and with measure each
// client's squared distances to it (to the center itself when weights is nil) by runs.
func centeringPass(s beam.Scope, r Round, center string, weights []float64, measure bool) (blocks, runs beam.PCollection) {
	s = s.Scope("CenteringPass")
	rows := ReadRows(s, r.Paths, r.Dim, r.Block)
	f := &centeredBlock{Weights: weights, Clients: len(r.Paths), Block: r.Block, Measure: measure}
	if center == "" {
		return beam.ParDo2(s, f, beam.GroupByKey(s, rows))
	}
	joined := beam.CoGroupByKey(s, rows, ReadBlocks(s, []string{center}, r.Dim, r.Block))
	return beam.ParDo2(s, &centeredBlockFrom{centeredBlock: *f}, joined)
}

type centeredBlock struct {
	Weights        []float64
	Clients, Block int
	Measure        bool
}

func (f *centeredBlock) ProcessElement(b int, rows func(*Row) bool, emitBlock func(int, []float32), emitRuns func(int, RunSquares)) error {
	return f.pass(b, rows, nil, emitBlock, emitRuns)
}

// centeredBlockFrom is centeredBlock with the block of the starting center joined.
type centeredBlockFrom struct{ centeredBlock }

func (f *centeredBlockFrom) ProcessElement(b int, rows func(*Row) bool, centers func(*[]float32) bool, emitBlock func(int, []float32), emitRuns func(int, RunSquares)) error {
	var center, more []float32
	if !centers(&center) || centers(&more) {
		return secagg.Errorf(secagg.CodeBadRequest, "center", "block %d has no center block or more than one", b)
	}
	return f.pass(b, rows, center, emitBlock, emitRuns)
}

// pass is one block of a pass: the rows, checked finite (on the first pass, which
// measures the starting center), with center (nil: zeros).
func (f *centeredBlock) pass(b int, rows func(*Row) bool, center []float32, emitBlock func(int, []float32), emitRuns func(int, RunSquares)) error {
	us, err := blockRows(b, rows, f.Clients)
	if err != nil {
		return err
	}
	if center == nil {
		center = make([]float32, len(us[0]))
	} else if len(center) != len(us[0]) {
		return secagg.Errorf(secagg.CodeBadRequest, "center", "block %d of the center has %d values, want %d", b, len(center), len(us[0]))
	}
	if f.Weights == nil {
		for i, u := range us {
			if err := checkFinite(b, f.Block, i, u); err != nil {
				return err
			}
		}
		if j := simd.FirstNonFinite(center); j >= 0 {
			return secagg.Errorf(secagg.CodeValidation, "center", "center[%d] must be finite, got %v", b*f.Block+j, center[j])
		}
		measureRuns(b, f.Block, us, center, emitRuns)
		return nil
	}
	next := make([]float32, len(center))
	if err := aggregate.WeightedMean(next, append(us, center), f.Weights); err != nil {
		return err
	}
	emitBlock(b, next)
	if f.Measure {
		measureRuns(b, f.Block, us, next, emitRuns)
	}
	return nil
}

func init() {
	register.DoFn4x1[int, func(*Row) bool, func(int, []float32), func(int, RunSquares), error](&centeredBlock{})
	register.DoFn5x1[int, func(*Row) bool, func(*[]float32) bool, func(int, []float32), func(int, RunSquares), error](&centeredBlockFrom{})
	register.Iter1[[]float32]()
}
