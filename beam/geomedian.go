package secaggbeam

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/simd"
)

// The geometric median's Weiszfeld steps each need every client's distance to the last
// step's result, which depends on the whole round, so no one pipeline holds the
// iteration: the driver runs aggregate.Weiszfeld, and each step is a pipeline of its
// own. A step groups each block's rows on one worker (as median does), which computes
// the block of the step's weighted mean and each client's squared distance to it per
// run of aggregate.SqDistRange coordinates; the runs are added in order per client, and
// the round's distances come back to the driver through a file.

// RunSquares is one client's squared distance over one run of aggregate.SqDistRange
// coordinates (Run r covers [r·SqDistRange, (r+1)·SqDistRange)).
type RunSquares struct {
	Run     int
	Squares float64
}

// measureRuns emits each client's squared distance from its row of block b (us, blocks of
// block coordinates) to ref, one per run of SqDistRange coordinates the block covers.
// With block a multiple of SqDistRange, each run lies in one block and its sum is the
// one aggregate.Distance takes; otherwise a run's parts from two blocks are added.
func measureRuns(b, block int, us [][]float32, ref []float32, emit func(int, RunSquares)) {
	start := b * block
	for lo := 0; lo < len(ref); {
		run := (start + lo) / aggregate.SqDistRange
		hi := min(len(ref), (run+1)*aggregate.SqDistRange-start)
		for i, u := range us {
			emit(i, RunSquares{Run: run, Squares: simd.SqDist(u[lo:hi], ref[lo:hi])})
		}
		lo = hi
	}
}

// ClientDistances returns the round's distances (one []float64 in client order) from
// the runs' squared distances (KV<int, RunSquares>, keyed by client): each client's runs
// added in run order, as aggregate.Distance adds them.
func ClientDistances(s beam.Scope, runs beam.PCollection, clients int) beam.PCollection {
	s = s.Scope("ClientDistances")
	each := beam.ParDo(s, sumRuns, beam.GroupByKey(s, runs))
	return beam.ParDo(s, firstFigures, beam.Combine(s, &gatherFn{Clients: clients}, each))
}

func sumRuns(client int, runs func(*RunSquares) bool, emit func(ClientFigures)) {
	var all []RunSquares
	var r RunSquares
	for runs(&r) {
		all = append(all, r)
	}
	slices.SortStableFunc(all, func(a, b RunSquares) int { return a.Run - b.Run })
	sum := 0.0
	for _, r := range all {
		sum += r.Squares
	}
	emit(ClientFigures{Client: client, Figures: []float64{math.Sqrt(sum)}})
}

// firstFigures is each client's one figure, in client order.
func firstFigures(figures [][]float64) []float64 {
	out := make([]float64, len(figures))
	for i, f := range figures {
		out[i] = f[0]
	}
	return out
}

// GeometricMedian runs the engine's geometric_median (cfg's geometric_median settings,
// r.Weights or equal weights) over the round by blocks: aggregate.Weiszfeld drives the
// steps from here, run runs each step's pipeline (beamx.Run in a command), and each
// step's distances come back through a file under scratch, a directory (or prefix) of
// one of Beam's filesystems that the driver and the workers both reach; the files are
// removed as they are read. A last pipeline computes the last step's mean again and
// hands it (one []float32) to write (WriteNpy, say), so nothing is written unless every
// step succeeded. It returns the Weiszfeld steps taken. With r.Block a multiple of
// aggregate.SqDistRange (the default 65,536 is), the steps and the result are the
// engine's bit for bit.
func GeometricMedian(ctx context.Context, r Round, cfg aggregate.Config, scratch string,
	run func(context.Context, *beam.Pipeline) error, write func(beam.Scope, beam.PCollection)) (steps int, err error) {
	if cfg.Strategy != aggregate.StrategyGeoMedian {
		return 0, secagg.Errorf(secagg.CodeBadRequest, "strategy", "GeometricMedian runs geometric_median, not %s", cfg.Strategy)
	}
	if cfg, err = checkRound(r, cfg); err != nil {
		return 0, err
	}
	n := len(r.Paths)
	opt := aggregate.GeometricMedianOptions{MaxIterations: cfg.GeoMaxIterations, Tolerance: cfg.GeoTolerance}
	pass := 0
	betas, steps, err := aggregate.Weiszfeld(r.Weights, n, opt, func(betas []float64) ([]float64, error) {
		p, s := beam.NewPipelineWithRoot()
		_, runs := weiszfeldStep(s, r, betas, true)
		path := strings.TrimSuffix(scratch, "/") + fmt.Sprintf("/distances-%04d.bin", pass)
		pass++
		return passDistances(ctx, p, s, runs, n, path, run)
	})
	if err != nil {
		return steps, err
	}
	p, s := beam.NewPipelineWithRoot()
	blocks, _ := weiszfeldStep(s, r, betas, false)
	write(s, Assemble(s, blocks, r.Dim, r.Block))
	return steps, run(ctx, p)
}

// weiszfeldStep adds one step with betas: the blocks of its weighted mean, and with
// measure each client's squared distances to it by runs.
func weiszfeldStep(s beam.Scope, r Round, betas []float64, measure bool) (blocks, runs beam.PCollection) {
	s = s.Scope("WeiszfeldStep")
	grouped := beam.GroupByKey(s, ReadRows(s, r.Paths, r.Dim, r.Block))
	return beam.ParDo2(s, &weightedBlock{Betas: betas, Clients: len(r.Paths), Block: r.Block, Measure: measure}, grouped)
}

type weightedBlock struct {
	Betas          []float64
	Clients, Block int
	Measure        bool
}

func (f *weightedBlock) ProcessElement(b int, rows func(*Row) bool, emitBlock func(int, []float32), emitRuns func(int, RunSquares)) error {
	us, err := blockRows(b, rows, f.Clients)
	if err != nil {
		return err
	}
	out := make([]float32, len(us[0]))
	if err := aggregate.WeightedMean(out, us, f.Betas); err != nil {
		return err
	}
	emitBlock(b, out)
	if f.Measure {
		measureRuns(b, f.Block, us, out, emitRuns)
	}
	return nil
}

// passDistances runs p, whose runs (KV<int, RunSquares>, in scope s) are the clients'
// squared distances by runs, and returns the n distances through the file at path.
func passDistances(ctx context.Context, p *beam.Pipeline, s beam.Scope, runs beam.PCollection, n int, path string,
	run func(context.Context, *beam.Pipeline) error) ([]float64, error) {
	beam.ParDo0(s, &writeDistances{Path: path}, ClientDistances(s, runs, n))
	if err := run(ctx, p); err != nil {
		return nil, err
	}
	return readDistances(ctx, path, n)
}

// The distances cross from the workers to the driver as n float64s, little-endian.
type writeDistances struct{ Path string }

func (f *writeDistances) ProcessElement(dists []float64) error {
	b := make([]byte, 0, 8*len(dists))
	for _, d := range dists {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(d))
	}
	return writeFileAtomic(f.Path, "scratch", b)
}

// readDistances reads and removes a step's distances file of n float64s.
func readDistances(ctx context.Context, path string, n int) ([]float64, error) {
	bad := func(format string, a ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "scratch", "%s: "+format, append([]any{path}, a...)...)
	}
	rc, err := openRead(ctx, path)
	if err != nil {
		return nil, bad("%v", err)
	}
	b, err := io.ReadAll(io.LimitReader(rc, 8*int64(n)+1))
	rc.Close()
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(b) != 8*n {
		return nil, bad("%d bytes, want %d distances", len(b), n)
	}
	removeFile(ctx, path)
	dists := make([]float64, n)
	for i := range dists {
		dists[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return dists, nil
}

// removeFile removes a scratch file, where its filesystem can.
func removeFile(ctx context.Context, path string) {
	if !strings.Contains(path, "://") {
		os.Remove(path)
		return
	}
	if fsys, err := filesystem.New(ctx, path); err == nil {
		if rm, ok := fsys.(filesystem.Remover); ok {
			rm.Remove(ctx, path)
		}
		fsys.Close()
	}
}

func init() {
	register.Function3x0(sumRuns)
	register.Function1x1(firstFigures)
	register.DoFn4x1[int, func(*Row) bool, func(int, []float32), func(int, RunSquares), error](&weightedBlock{})
	register.DoFn1x1[[]float64, error](&writeDistances{})
	register.Iter1[*RunSquares]()
	register.Emitter2[int, RunSquares]()
	beam.RegisterType(reflect.TypeOf(RunSquares{}))
}
