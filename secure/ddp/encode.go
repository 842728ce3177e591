package ddp

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/simd"
)

// Encoded is what encoding one update did, for the client to report.
type Encoded struct {
	Norm      float64 `json:"norm"`      // the update's L2 norm before clipping
	Clipped   bool    `json:"clipped"`   // whether it was scaled down to the clip
	Roundings int     `json:"roundings"` // stochastic roundings drawn until one met the norm bound (>= 1)
}

// roundingChunk is how many values one rounding stream serves.
const roundingChunk = 1 << 15

// maxRoundings bounds the draws of conditional rounding: each one fails with probability
// at most Beta (TFF's e^-1/2: 0.61), so 2000 all failing is below 2^-1400.
const maxRoundings = 2000

// Encode writes the client's integers mod 2^Bits into dst (of length p.Padded()): x
// clipped, rotated, over gamma, rounded stochastically until its norm is within
// NormBound, plus the client's noise. rounding draws the rounding (a CSPRNG: seed it
// from crypto/rand, or fix it in tests); noise draws the noise. x is not changed. A
// refused call writes nothing.
func Encode(dst []uint32, x []float32, p Params, rounding *rand.ChaCha8, noise *dp.Source) (Encoded, error) {
	var e Encoded
	if err := p.Validate(); err != nil {
		return e, err
	}
	d := p.Padded()
	if len(x) != p.Dim || len(dst) != d {
		return e, secagg.Errorf(secagg.CodeBadRequest, "update", "update of %d values into %d words, want %d into %d", len(x), len(dst), p.Dim, d)
	}
	if i := secagg.FirstNonFinite(x); i >= 0 {
		return e, secagg.Errorf(secagg.CodeValidation, "update", "update[%d] is %v: not finite", i, x[i])
	}
	yb := scratch.Get(d)
	defer scratch.Put(yb)
	y := *yb
	rotate(y, x, signs(p.Rotation, d))
	e.Norm = math.Sqrt(simd.SumSquares(y))
	scale := 1 / p.Gamma
	if e.Norm > p.Clip {
		e.Clipped = true
		scale = p.Clip / e.Norm / p.Gamma
	}
	// The rounded integers mod 2^32 (the noise is added, and the sum taken, mod 2^Bits:
	// the low bits are all that count), kept apart from dst until the call succeeds.
	zb := rounded.Get(d)
	defer rounded.Put(zb)
	z := *zb
	bound := p.NormBound()
	parts := make([]float64, (d+roundingChunk-1)/roundingChunk)
	for {
		e.Roundings++
		// Each chunk rounds from its own ChaCha8 stream, keyed from the client's
		// rounding stream and the chunk's number, so the rounding does not depend on
		// the cores; the chunks' squared norms are added in order, exactly.
		var key [32]byte
		for i := range 4 {
			binary.LittleEndian.PutUint64(key[8*i:], rounding.Uint64())
		}
		parallel.Ranges(parallel.Workers(), d, roundingChunk, func(_, lo, hi int) {
			k := key
			binary.LittleEndian.PutUint64(k[24:], binary.LittleEndian.Uint64(k[24:])^uint64(lo/roundingChunk))
			r := rand.NewChaCha8(k)
			var norm2 float64
			for i := lo; i < hi; i++ {
				f := float64(y[i]) * scale
				fl := math.Floor(f)
				v := int64(fl)
				if float64(r.Uint64()>>11)*0x1p-53 < f-fl { // 53 bits uniform in [0, 1)
					v++
				}
				z[i] = uint32(v)
				norm2 += float64(v * v)
			}
			parts[lo/roundingChunk] = norm2
		})
		var norm2 float64
		for _, v := range parts {
			norm2 += v
		}
		if norm2 <= bound*bound {
			break
		}
		if e.Roundings == maxRoundings {
			return e, secagg.Errorf("internal_error", "update", "%d stochastic roundings all exceeded the norm bound %v", maxRoundings, bound)
		}
	}
	var n []int64
	if p.Stddev > 0 {
		nb := noises.Get(d)
		defer noises.Put(nb)
		n = *nb
		s := p.Stddev / p.Gamma
		var err error
		if p.Mechanism == Skellam {
			err = dp.Skellam(n, s*s/2, noise)
		} else {
			err = dp.DiscreteGaussian(n, s, noise)
		}
		if err != nil {
			return e, err
		}
	}
	mask := uint32(uint64(1)<<p.Bits - 1)
	parallel.Ranges(parallel.Workers(), d, roundingChunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			w := z[i]
			if n != nil {
				w += uint32(n[i])
			}
			dst[i] = w & mask
		}
	})
	return e, nil
}

// Decode writes into dst (of length p.Dim) the mean the sum mod 2^Bits of the clients'
// encodings stands for: each word centred into [-2^(Bits-1), 2^(Bits-1)), times gamma,
// rotated back, over divisor (the clients, or their total weight).
func Decode(dst []float32, sum []uint32, p Params, divisor float64) error {
	if err := p.Validate(); err != nil {
		return err
	}
	d := p.Padded()
	if len(dst) != p.Dim || len(sum) != d {
		return secagg.Errorf(secagg.CodeBadRequest, "sum", "a sum of %d words into %d values, want %d into %d", len(sum), len(dst), d, p.Dim)
	}
	if !(divisor > 0) || math.IsInf(divisor, 0) {
		return secagg.Errorf(secagg.CodeValidation, "divisor", "divisor must be finite and > 0, got %v", divisor)
	}
	y := dst // the transform's scratch: dst itself when no padding is cut off
	if d != len(dst) {
		buf := scratch.Get(d)
		defer scratch.Put(buf)
		y = *buf
	}
	// Each word centred, a piece at a time as the transform takes it.
	unrotate(dst, y, signs(p.Rotation, d), 1/divisor, func(lo, hi int) {
		simd.Dequantize(y[lo:hi], sum[lo:hi], p.Bits, p.Gamma)
	})
	return nil
}

// The buffers of Encode and Decode between calls: the rotated update (Decode's
// transform), the rounded integers and the noise. Fresh ones of a few MB each cost more
// in page faults than the loops that fill them.
var (
	scratch pool.Slices[float32]
	rounded pool.Slices[uint32]
	noises  pool.Slices[int64]
)
