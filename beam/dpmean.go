package secaggbeam

import (
	"math"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
)

// DPMeanFn is the engine's dp_mean (DP-FedAvg): each update clipped to ClipNorm in
// AddInput, the clipped updates' mean, and Gaussian noise of standard deviation
// NoiseMultiplier·ClipNorm/n drawn once, in ExtractOutput, from the secure source (or,
// for tests and notebooks only, from InsecureSeed when it is set: the zero value draws
// securely). Its accumulator is Sums with the count as its weight. The privacy ledger is
// the pipeline driver's: DPMean charges it once, before the pipeline runs.
type DPMeanFn struct {
	Dim             int
	ClipNorm        float64
	NoiseMultiplier float64
	InsecureSeed    *uint64
}

func (f *DPMeanFn) CreateAccumulator() *Sums { return &Sums{Sum: make([]float64, f.Dim)} }

func (f *DPMeanFn) AddInput(a *Sums, x []float32) (*Sums, error) {
	if len(x) != len(a.Sum) {
		return a, secagg.Errorf(secagg.CodeBadRequest, "update", "update has %d values, want %d", len(x), len(a.Sum))
	}
	norm := dp.Norm(x)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return a, a.add(x, 1, 1) // names the first non-finite value
	}
	return a, a.add(x, dp.ClipFactor(x, norm, f.ClipNorm), 1)
}

func (f *DPMeanFn) MergeAccumulators(a, b *Sums) (*Sums, error) { return a, a.merge(b) }

func (f *DPMeanFn) ExtractOutput(a *Sums) ([]float32, error) {
	out, err := a.mean()
	if err != nil {
		return nil, err
	}
	src := dp.SecureSource()
	if f.InsecureSeed != nil {
		src = dp.InsecureSeededSource(*f.InsecureSeed)
	}
	return out, dp.AddGaussian(out, dp.GaussianNoiseSigma(f.NoiseMultiplier, f.ClipNorm/a.Weight, len(out)), src)
}

// DPMean adds a dp_mean of the updates (n of them expected, each taking part with
// probability q) to the pipeline after charging the ledger for the round: a round over
// the budget is refused before the pipeline exists (nil ledger: the caller accounts).
func DPMean(s beam.Scope, updates beam.PCollection, f *DPMeanFn, ledger *dp.Ledger, q float64) (beam.PCollection, error) {
	if err := secagg.ValidateClipNorm(f.ClipNorm); err != nil {
		return beam.PCollection{}, err
	}
	if err := secagg.ValidateNoiseMultiplier(f.NoiseMultiplier); err != nil {
		return beam.PCollection{}, err
	}
	if ledger != nil {
		if _, err := ledger.Charge(q, f.NoiseMultiplier, f.Dim); err != nil {
			return beam.PCollection{}, err
		}
	}
	return beam.Combine(s, f, updates), nil
}
