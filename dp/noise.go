package dp

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	mrand "math/rand/v2"
	"sync/atomic"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// Source says where noise comes from: SecureSource (the default everywhere) or, for
// tests and notebooks that need to replay a run, InsecureSeededSource. It is safe for
// concurrent use.
type Source struct {
	secure bool
	seed   uint64
	calls  atomic.Uint64 // noise vectors drawn so far: each call gets its own keys
}

// SecureSource draws every noise vector from ChaCha8 generators (math/rand/v2's
// cryptographically strong generator) keyed afresh from crypto/rand.
func SecureSource() *Source { return &Source{secure: true} }

// InsecureSeededSource draws noise from ChaCha8 generators keyed by the seed and a call
// counter: independent from call to call, and the same sequence for the same seed on
// every machine and at every GOMAXPROCS. Anyone who knows the seed can subtract the
// noise: never use it for a real release.
func InsecureSeededSource(seed uint64) *Source { return &Source{seed: seed} }

// noiseChunk is how many coordinates one generator serves: the chunks, and so the noise,
// do not depend on how many goroutines share them.
const noiseChunk = 1 << 16

// generator returns the generator of chunk c for one call: fresh crypto/rand key material
// for a secure source, else a key derived from the seed, the call number and c.
func (s *Source) generator(salt uint64, c int) (*mrand.ChaCha8, error) {
	var key [32]byte
	if s.secure {
		if _, err := rand.Read(key[:]); err != nil {
			return nil, secagg.Errorf("internal_error", "", "crypto/rand failed: %v", err)
		}
	} else {
		binary.LittleEndian.PutUint64(key[0:], s.seed)
		binary.LittleEndian.PutUint64(key[8:], salt)
		binary.LittleEndian.PutUint64(key[16:], uint64(c))
		copy(key[24:], "secagg-n")
	}
	return mrand.NewChaCha8(key), nil
}

// Granularity returns the grid the noise of scale `scale` lives on: the smallest power
// of two at least scale·2^-40, and at least 2^-800 so that no float32 divided by it
// overflows. Both the input and the noise are put on this grid, so the set of possible
// outputs is the same lattice whatever the input was (see AddGaussian).
func Granularity(scale float64) float64 {
	_, e := math.Frexp(scale * 0x1p-40)
	g := math.Ldexp(1, e)
	if g/2 >= scale*0x1p-40 {
		g /= 2
	}
	return math.Max(g, 0x1p-800)
}

// AddGaussian adds Gaussian noise of standard deviation sigma to every coordinate of x.
//
// Textbook floating-point samplers leak the input through the low bits of their output
// (Mironov 2012): the set of floats that x + noise can produce depends on x. Here each
// coordinate becomes round(x/g)·g + g·K, with g = Granularity(sigma) and K = round(σZ/g)
// for a standard normal Z drawn independently of x, the sum formed exactly in float64
// and rounded once to float32. The output's support is the lattice gℤ, whatever x was;
// rounding x to the grid moves it by at most g/2 = σ·2^-41 (charge it to the sensitivity
// if that matters); and the float32 rounding is post-processing. What remains of the
// floating-point sampler is K's distribution: the discretised Gaussian up to the
// sampler's relative error (about 2^-50 where it matters) and its tail cut near 9σ,
// which costs far less than any practical δ. sigma == 0 adds nothing.
func AddGaussian(x []float32, sigma float64, src *Source) error {
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return secagg.Errorf(secagg.CodeValidation, "sigma", "sigma must be finite and non-negative, got %v", sigma)
	}
	if sigma == 0 {
		return nil
	}
	return addNoise(x, Granularity(sigma), src, func(r *mrand.Rand) float64 { return sigma * r.NormFloat64() })
}

// AddLaplace adds Laplace noise of scale b to every coordinate of x, on the grid
// Granularity(b) by the same construction as AddGaussian (it is Mironov's snapping
// idea without the clamp): the exponential draws come from 53-bit uniforms, so the tail
// is cut near 37b.
func AddLaplace(x []float32, b float64, src *Source) error {
	if !(b >= 0) || math.IsInf(b, 0) {
		return secagg.Errorf(secagg.CodeValidation, "scale", "scale must be finite and non-negative, got %v", b)
	}
	if b == 0 {
		return nil
	}
	return addNoise(x, Granularity(b), src, func(r *mrand.Rand) float64 { return b * (r.ExpFloat64() - r.ExpFloat64()) })
}

// addNoise puts every coordinate on the grid g and adds g·round(draw()/g), chunk by
// chunk on all workers, each chunk with its own generator.
func addNoise(x []float32, g float64, src *Source, draw func(*mrand.Rand) float64) error {
	if i := simd.FirstNonFinite(x); i >= 0 {
		return secagg.NonFiniteValue("x", i, x[i])
	}
	salt := src.calls.Add(1) - 1
	gens := make([]*mrand.ChaCha8, (len(x)+noiseChunk-1)/noiseChunk)
	for c := range gens {
		gen, err := src.generator(salt, c)
		if err != nil {
			return err
		}
		gens[c] = gen
	}
	parallel.Ranges(parallel.Workers(), len(x), noiseChunk, func(_, lo, hi int) {
		r := mrand.New(gens[lo/noiseChunk])
		for i := lo; i < hi; i++ {
			onGrid := math.RoundToEven(float64(x[i])/g) * g
			x[i] = float32(onGrid + math.RoundToEven(draw(r)/g)*g)
		}
	})
	return nil
}
