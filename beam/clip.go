package secaggbeam

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/simd"
)

// norm_bounded_mean and dp_mean by blocks take two passes over the round: the first
// sums each client's squares block by block into its norm and clip factor (Clip), the
// second adds each block scaled by its client's factor (ClippedMeanFn), and dp_mean
// then adds its noise to each block of the result on the block's worker (AddNoise). No
// worker holds more than a block of an update.

// Clipping is each client's norm before clipping and the factor that clips it, in
// client order: one per round, the side input of the second pass.
type Clipping struct{ Norms, Factors []float64 }

// Clip returns the round's Clipping (one element) for clipNorm from its rows (ReadRows
// of r). The factors are dp.ClipFactor's: the squares summed by blocks in the runner's
// order give the norm to float64 rounding, which decides every factor except for a
// norm within that rounding of clipNorm; such a client's file is read again, by blocks,
// into a dp.ExactSquares, so the decision at the bound is the engine's exactly. A NaN or
// ±Inf is the engine's validation_error naming the client and coordinate.
func Clip(s beam.Scope, rows beam.PCollection, r Round, clipNorm float64) beam.PCollection {
	s = s.Scope("Clip")
	squares := beam.ParDo(s, &blockSquares{Block: r.Block}, rows)
	norms := beam.ParDo(s, &clipFactor{Paths: r.Paths, Dim: r.Dim, Block: r.Block, ClipNorm: clipNorm},
		beam.CombinePerKey(s, addFloat64, squares))
	return beam.ParDo(s, toClipping, beam.Combine(s, &gatherFn{Clients: len(r.Paths)}, norms))
}

// toClipping is the gathered [norm, factor] of each client.
func toClipping(figures [][]float64) Clipping {
	c := Clipping{Norms: make([]float64, len(figures)), Factors: make([]float64, len(figures))}
	for i, f := range figures {
		c.Norms[i], c.Factors[i] = f[0], f[1]
	}
	return c
}

type blockSquares struct{ Block int }

func (f *blockSquares) ProcessElement(b int, r Row, emit func(int, float64)) error {
	if err := checkFinite(b, f.Block, r.Client, r.Values); err != nil {
		return err
	}
	emit(r.Client, simd.SumSquares(r.Values))
	return nil
}

// checkFinite refuses a NaN or ±Inf in client's row of block b (blocks of block
// coordinates) with the engine's validation_error, naming the update and coordinate.
func checkFinite(b, block, client int, values []float32) error {
	if i := simd.FirstNonFinite(values); i >= 0 {
		return secagg.NonFiniteValue("updates["+strconv.Itoa(client)+"]", b*block+i, values[i])
	}
	return nil
}

func addFloat64(a, b float64) float64 { return a + b }

type clipFactor struct {
	Paths      []string
	Dim, Block int
	ClipNorm   float64
}

func (f *clipFactor) ProcessElement(ctx context.Context, client int, squares float64, emit func(ClientFigures)) error {
	if client < 0 || client >= len(f.Paths) {
		return secagg.Errorf(secagg.CodeBadRequest, "block", "client %d out of [0, %d)", client, len(f.Paths))
	}
	norm := math.Sqrt(squares)
	factor, err := dp.ClipFactorOf(norm, f.ClipNorm, f.Dim, func() (bool, error) {
		var exact dp.ExactSquares
		err := readByBlocks(ctx, f.Paths[client], f.Dim, f.Block, func(_ int, v []float32) { exact.Add(v) })
		return exact.AtMost(f.ClipNorm), err
	})
	if err != nil {
		return err
	}
	emit(ClientFigures{Client: client, Figures: []float64{norm, factor}})
	return nil
}

// ClientFigures is what one client's pass measured: its norm and clip factor, or its
// distance to a step's result. gatherFn puts the clients' together.
type ClientFigures struct {
	Client  int
	Figures []float64
}

// gatherFn gathers the clients' figures into one [][]float64 in client order, refusing
// a client missing or seen twice.
type gatherFn struct{ Clients int }

// gathered is gatherFn's accumulator: nil where a client is not seen yet.
type gathered struct{ Figures [][]float64 }

func (f *gatherFn) CreateAccumulator() *gathered {
	return &gathered{Figures: make([][]float64, f.Clients)}
}

func (f *gatherFn) AddInput(a *gathered, c ClientFigures) (*gathered, error) {
	if c.Client < 0 || c.Client >= len(a.Figures) || a.Figures[c.Client] != nil || c.Figures == nil {
		return a, secagg.Errorf(secagg.CodeBadRequest, "block", "client %d twice or out of [0, %d)", c.Client, len(a.Figures))
	}
	a.Figures[c.Client] = c.Figures
	return a, nil
}

func (f *gatherFn) MergeAccumulators(a, b *gathered) (*gathered, error) {
	for i, figures := range b.Figures {
		if figures != nil {
			if _, err := f.AddInput(a, ClientFigures{Client: i, Figures: figures}); err != nil {
				return a, err
			}
		}
	}
	return a, nil
}

func (f *gatherFn) ExtractOutput(a *gathered) ([][]float64, error) {
	for i, figures := range a.Figures {
		if figures == nil {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "block", "no values of client %d", i)
		}
	}
	return a.Figures, nil
}

// ClippedMeanFn is the mean of updates each scaled by its weight, Σ w·x / n: with the
// clip factors as the weights, the engine's norm_bounded_mean and dp_mean before noise
// (each product rounded once into the float64 sum, as the engine's). Its accumulator is
// Sums with the count as its weight. Dim 0 takes the first update's length.
type ClippedMeanFn struct{ Dim int }

func (f *ClippedMeanFn) CreateAccumulator() *Sums { return newSums(f.Dim) }

func (f *ClippedMeanFn) AddInput(a *Sums, x Weighted) (*Sums, error) {
	return a, a.add(x.Update, x.Weight, 1)
}

func (f *ClippedMeanFn) MergeAccumulators(a, b *Sums) (*Sums, error) { return a, a.merge(b) }

func (f *ClippedMeanFn) ExtractOutput(a *Sums) ([]float32, error) { return a.mean() }

// ClippedMean returns the result's blocks, KV<int, []float32>, of the mean of the rows
// (ReadRows) each scaled by its client's factor in clipping (Clip's output).
func ClippedMean(s beam.Scope, rows, clipping beam.PCollection) beam.PCollection {
	s = s.Scope("ClippedMean")
	scaled := beam.ParDo(s, scaleRow, rows, beam.SideInput{Input: clipping})
	return beam.CombinePerKey(s, &ClippedMeanFn{}, scaled)
}

func scaleRow(b int, r Row, c Clipping, emit func(int, Weighted)) error {
	if r.Client < 0 || r.Client >= len(c.Factors) {
		return secagg.Errorf(secagg.CodeBadRequest, "block", "client %d out of [0, %d)", r.Client, len(c.Factors))
	}
	emit(b, Weighted{Update: r.Values, Weight: c.Factors[r.Client]})
	return nil
}

// AddNoise adds Gaussian noise of standard deviation sigma to each block of a result
// (KV<int, []float32>) on the block's worker, from the secure source, or, for tests and
// notebooks only, from a replayable one seeded with seed plus the block's index when
// seed is not nil. Coordinates are independent, so noise drawn by blocks is the
// engine's noise in distribution.
func AddNoise(s beam.Scope, blocks beam.PCollection, sigma float64, seed *uint64) beam.PCollection {
	return beam.ParDo(s.Scope("AddNoise"), &addNoise{Sigma: sigma, Seed: seed}, blocks)
}

type addNoise struct {
	Sigma float64
	Seed  *uint64
}

func (f *addNoise) ProcessElement(b int, v []float32, emit func(int, []float32)) error {
	v = slices.Clone(v) // an input element is the runner's, not this function's to change
	src := dp.SecureSource()
	if f.Seed != nil {
		src = dp.InsecureSeededSource(*f.Seed + uint64(b))
	}
	if err := dp.AddGaussian(v, f.Sigma, src); err != nil {
		return err
	}
	emit(b, v)
	return nil
}

func init() {
	register.DoFn3x1[int, Row, func(int, float64), error](&blockSquares{})
	register.DoFn4x1[context.Context, int, float64, func(ClientFigures), error](&clipFactor{})
	register.Function2x1(addFloat64)
	register.Combiner3[*gathered, ClientFigures, [][]float64](&gatherFn{})
	register.Function1x1(toClipping)
	register.Combiner3[*Sums, Weighted, []float32](&ClippedMeanFn{})
	register.Function4x1(scaleRow)
	register.DoFn3x1[int, []float32, func(int, []float32), error](&addNoise{})
	register.Emitter2[int, float64]()
	register.Emitter1[ClientFigures]()
	register.Emitter2[int, Weighted]()
	for _, t := range []any{Clipping{}, ClientFigures{}, gathered{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}
