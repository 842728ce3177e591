package secaggbeam

import (
	"math"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/trimmedmean"
)

// Weighted is one client's update with its weight (such as its example count), the
// input of WeightedMeanFn.
type Weighted struct {
	Update []float32
	Weight float64
}

// MeanFn is the coordinate-wise mean of updates of Dim values (the engine's mean); Dim 0
// takes the first update's length (a block of coordinates, keyed by block).
type MeanFn struct{ Dim int }

func (f *MeanFn) CreateAccumulator() *Sums { return newSums(f.Dim) }

func (f *MeanFn) AddInput(a *Sums, x []float32) (*Sums, error) { return a, a.add(x, 1, 1) }

func (f *MeanFn) MergeAccumulators(a, b *Sums) (*Sums, error) { return a, a.merge(b) }

func (f *MeanFn) ExtractOutput(a *Sums) ([]float32, error) { return a.mean() }

// WeightedMeanFn is FedAvg over updates of Dim values: Σ w·x / Σ w (the engine's
// weighted_mean). Weights must be finite and >= 0. Dim 0 takes the first update's
// length, as MeanFn's does.
type WeightedMeanFn struct{ Dim int }

func (f *WeightedMeanFn) CreateAccumulator() *Sums { return newSums(f.Dim) }

func (f *WeightedMeanFn) AddInput(a *Sums, x Weighted) (*Sums, error) {
	if !(x.Weight >= 0) || math.IsInf(x.Weight, 0) {
		return a, secagg.Errorf(secagg.CodeValidation, "weights", "weight must be finite and >= 0, got %v", x.Weight)
	}
	return a, a.add(x.Update, x.Weight, x.Weight)
}

func (f *WeightedMeanFn) MergeAccumulators(a, b *Sums) (*Sums, error) { return a, a.merge(b) }

func (f *WeightedMeanFn) ExtractOutput(a *Sums) ([]float32, error) { return a.mean() }

// TrimmedMeanFn is the coordinate-wise trimmed mean trimming floor(TrimRatio·n) values
// from each end, for rounds of at most MaxClients updates of Dim values: its
// accumulator is the engine's trimmedmean.Stream, keeping floor(TrimRatio·MaxClients)
// extremes, whose merges in any tree order keep the same extremes. The result is
// bit-identical to the engine's wherever the float64 sums of the kept values are exact.
type TrimmedMeanFn struct {
	Dim        int
	TrimRatio  float64
	MaxClients int
}

func (f *TrimmedMeanFn) CreateAccumulator() (*trimmedmean.Stream, error) {
	if f.MaxClients < 1 {
		return nil, secagg.Errorf(secagg.CodeValidation, "max_clients", "max_clients must be >= 1, got %d", f.MaxClients)
	}
	k, err := trimmedmean.K(f.TrimRatio, f.MaxClients)
	if err != nil {
		return nil, err
	}
	return trimmedmean.NewStream(f.Dim, k)
}

func (f *TrimmedMeanFn) AddInput(s *trimmedmean.Stream, x []float32) (*trimmedmean.Stream, error) {
	return s, s.Add(x)
}

func (f *TrimmedMeanFn) MergeAccumulators(a, b *trimmedmean.Stream) (*trimmedmean.Stream, error) {
	return a, a.Merge(b)
}

func (f *TrimmedMeanFn) ExtractOutput(s *trimmedmean.Stream) ([]float32, error) {
	n := s.Count()
	if n > f.MaxClients {
		return nil, secagg.Errorf(secagg.CodeValidation, "max_clients", "%d updates, more than max_clients %d", n, f.MaxClients)
	}
	k, err := trimmedmean.K(f.TrimRatio, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, s.Dim())
	return out, s.ResultK(out, k)
}

func init() {
	register.Combiner3[*Sums, []float32, []float32](&MeanFn{})
	register.Combiner3[*Sums, Weighted, []float32](&WeightedMeanFn{})
	register.Combiner3[*trimmedmean.Stream, []float32, []float32](&TrimmedMeanFn{})
	register.Combiner3[*Sums, []float32, []float32](&DPMeanFn{})
	register.Combiner3[*Words, []uint32, []uint32](&WordsSumFn{})
	beam.RegisterType(reflect.TypeOf((*Weighted)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*Sums)(nil)), encodeSums, decodeSums)
	beam.RegisterCoder(reflect.TypeOf((*trimmedmean.Stream)(nil)), encodeStream, decodeStream)
	beam.RegisterCoder(reflect.TypeOf((*Words)(nil)), encodeWords, decodeWords)
}

func encodeWords(w *Words) ([]byte, error) { return w.MarshalBinary() }

func decodeWords(b []byte) (*Words, error) {
	w := &Words{}
	return w, w.UnmarshalBinary(b)
}

func encodeSums(s *Sums) ([]byte, error) { return s.MarshalBinary() }

func decodeSums(b []byte) (*Sums, error) {
	s := &Sums{}
	return s, s.UnmarshalBinary(b)
}

func encodeStream(s *trimmedmean.Stream) ([]byte, error) { return s.MarshalBinary() }

func decodeStream(b []byte) (*trimmedmean.Stream, error) {
	s := &trimmedmean.Stream{}
	return s, s.UnmarshalBinary(b)
}
