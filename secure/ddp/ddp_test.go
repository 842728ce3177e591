package ddp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/secure"
	"github.com/octomil/secagg/simd"
)

func params(dim int) Params {
	return Params{Mechanism: Skellam, Dim: dim, Clip: 1, Gamma: 1.0 / 256, Bits: 20, Beta: math.Exp(-0.5),
		Rotation: [32]byte{1, 2, 3}}
}

func chacha(seed byte) *rand.ChaCha8 { return rand.NewChaCha8([32]byte{seed}) }

// centred reads an encoding's words back as the integers they are mod 2^Bits.
func centred(w []uint32, bits int) []int64 {
	out := make([]int64, len(w))
	for i, v := range w {
		x := int64(v)
		if x >= 1<<(bits-1) {
			x -= 1 << bits
		}
		out[i] = x
	}
	return out
}

// TestRotationInverts: unrotate(rotate(x)) is x exactly for small integers when D is a
// power of 4 (1/sqrt(D) a power of two, every step exact), and the rotation keeps the
// norm; the signs depend on the seed.
func TestRotationInverts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, d := range []int{1, 4, 16, 1024, 1 << 14, 1 << 16} { // 2^16: pieces past the end of x
		x := make([]float32, d-d/3)
		for i := range x {
			x[i] = float32(rng.IntN(64) - 32)
		}
		s := signs([32]byte{7}, d)
		y := make([]float32, d)
		rotate(y, x, s)
		assert.InDelta(t, norm(x), norm(y), 1e-9*norm(x), "d=%d", d)
		unrotate(y, y, s, 1, nil)
		assert.Equal(t, x, y[:len(x)], "d=%d", d)
		assert.Equal(t, make([]float32, d-len(x)), y[len(x):], "the padding")
	}
	assert.NotEqual(t, signs([32]byte{7}, 256), signs([32]byte{8}, 256))
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// onGrid returns a client's update whose rotation is exactly gamma·k for the integers
// k: x = S·H·k·gamma/sqrt(D), D a power of 4.
func onGrid(k []int64, p Params) []float32 {
	y := make([]float32, len(k))
	for i, v := range k {
		y[i] = float32(float64(v) * p.Gamma)
	}
	unrotate(y, y, signs(p.Rotation, len(y)), 1, nil)
	return y
}

// TestEncodeDecodeExact: without noise, updates whose rotations lie on the grid encode
// to exactly their integers, and the decoded mean of many clients is exact even where
// each client's words wrap mod 2^Bits (8 bits here) and only the sum fits: rotation,
// scaling and the modular wrap invert exactly. The inputs include all zeros and a norm
// of exactly the clip.
func TestEncodeDecodeExact(t *testing.T) {
	p := params(64)
	p.Bits, p.Clip, p.Gamma = 8, 2e4, 0.5
	rng := rand.New(rand.NewPCG(2, 2))
	n := 5
	sum := make([]uint32, 64)
	want := make([]float64, 64)
	total := make([]int64, 64)
	for c := range n {
		k := make([]int64, 64)
		for i := range k {
			switch c {
			case 0: // all zeros
			case 1: // norm exactly the clip
				if i == 0 {
					k[i] = int64(p.Clip / p.Gamma)
				}
			case n - 1: // the sum ends in [-100, 100]: it fits 8 bits though no client does
				k[i] = int64(rng.IntN(201)) - 100 - total[i]
			default:
				k[i] = int64(rng.IntN(400)) - 200 // beyond ±2^7: each client wraps
			}
			total[i] += k[i]
		}
		x := onGrid(k, p)
		words := make([]uint32, 64)
		e, err := Encode(words, x, p, chacha(byte(c)), dp.InsecureSeededSource(1))
		require.NoError(t, err)
		assert.False(t, e.Clipped, "client %d", c)
		for i, v := range words {
			assert.Equal(t, uint32(k[i])&0xff, v, "client %d word %d", c, i)
			sum[i] += v
			want[i] += float64(x[i])
		}
	}
	got := make([]float32, 64)
	require.NoError(t, Decode(got, sum, p, float64(n)))
	for i := range got {
		assert.InDelta(t, want[i]/float64(n), float64(got[i]), 1e-5, "value %d", i)
	}
}

// TestDecodeAsSpecified: Decode on every core equals its definition written out one
// value at a time (centre each word, times gamma, simd.FWHT on one goroutine, flip the
// signs, times 1/(divisor·sqrt(D))) bit for bit, for dimensions cut from their padding
// and whole powers of two past FWHT's pieces, at 20 and 32 bits.
func TestDecodeAsSpecified(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, dim := range []int{100, simd.HadamardPiece, 3*simd.HadamardPiece + 5, 4 * simd.HadamardPiece, 1 << 17} {
		for _, b := range []int{20, 32} {
			p := params(dim)
			p.Bits = b
			d := p.Padded()
			sum := make([]uint32, d)
			for i := range sum {
				sum[i] = rng.Uint32()
			}
			y := make([]float32, d)
			for i, w := range sum {
				v := int64(uint64(w) & (1<<b - 1))
				if v >= 1<<(b-1) {
					v -= 1 << b
				}
				y[i] = float32(float64(v) * p.Gamma)
			}
			simd.FWHT(y)
			c := float32(1 / 7.0 / math.Sqrt(float64(d)))
			s := signs(p.Rotation, d)
			want := make([]float32, dim)
			for i := range want {
				if s[i/8]>>(i%8)&1 == 1 {
					want[i] = y[i] * -c
				} else {
					want[i] = y[i] * c
				}
			}
			got := make([]float32, dim)
			require.NoError(t, Decode(got, sum, p, 7))
			for i := range got {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "dim %d bits %d value %d", dim, b, i)
			}
		}
	}
}

// TestEncodeNoiseless: random updates (some far beyond the clip) decode to the mean of
// the clipped updates within the rounding's error, and every encoding's integers are
// within the norm bound the accountant charges for.
func TestEncodeNoiseless(t *testing.T) {
	p := params(1000)
	rng := rand.New(rand.NewPCG(3, 3))
	n := 20
	sum := make([]uint32, p.Padded())
	want := make([]float64, p.Dim)
	for c := range n {
		x := make([]float32, p.Dim)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.05) // norm about 1.6: clipped
			if c%4 == 0 {
				x[i] *= 1e6 // huge coordinates
			}
		}
		words := make([]uint32, p.Padded())
		e, err := Encode(words, x, p, chacha(byte(c)), nil)
		require.NoError(t, err)
		assert.True(t, e.Clipped)
		z := centred(words, p.Bits)
		var sq float64
		for _, v := range z {
			sq += float64(v * v)
		}
		require.LessOrEqual(t, sq, p.NormBound()*p.NormBound(), "client %d", c)
		for i, v := range x {
			want[i] += float64(v) * p.Clip / e.Norm
		}
		for i, v := range words {
			sum[i] += v
		}
	}
	got := make([]float32, p.Dim)
	require.NoError(t, Decode(got, sum, p, float64(n)))
	var err2 float64
	for i := range got {
		d := float64(got[i]) - want[i]/float64(n)
		err2 += d * d
	}
	// Rounding adds variance at most γ²/4 per coordinate and client; the rotation keeps
	// it: E||err||² <= D·n·γ²/4 / n².
	bound := float64(p.Padded()) * float64(n) * p.Gamma * p.Gamma / 4 / float64(n*n)
	assert.Less(t, err2, 2*bound)
	assert.Greater(t, err2, bound/20, "the rounding is stochastic, not nearest")
}

// TestConditionalRounding: with the rotated update on half-integers (so every rounding
// moves each value by exactly 1/2) at norm exactly the clip and beta near 1, the tight
// bound leaves little slack and many roundings exceed it and are drawn again, every
// accepted one within it; with the plain bound (beta 0) none ever is.
func TestConditionalRounding(t *testing.T) {
	p := params(1 << 12)
	p.Gamma, p.Beta = 1.0/16, 0.99
	rng := rand.New(rand.NewPCG(4, 4))
	var redrawn int
	for c := range 40 {
		y := make([]float32, p.Padded())
		var sq float64
		for i := range y {
			v := float64(rng.IntN(7)-3) + 0.5
			y[i] = float32(v * p.Gamma)
			sq += v * v
		}
		unrotate(y, y, signs(p.Rotation, len(y)), 1, nil)
		p.Clip = math.Sqrt(sq) * p.Gamma * (1 + 1e-6)
		words := make([]uint32, p.Padded())
		e, err := Encode(words, y, p, chacha(byte(c)), nil)
		require.NoError(t, err)
		redrawn += e.Roundings - 1
		var got float64
		for _, v := range centred(words, p.Bits) {
			got += float64(v * v)
		}
		require.LessOrEqual(t, got, p.NormBound()*p.NormBound())
		p0 := p
		p0.Beta = 0
		e0, err := Encode(words, y, p0, chacha(byte(c)), nil)
		require.NoError(t, err)
		assert.Equal(t, 1, e0.Roundings)
	}
	assert.Greater(t, redrawn, 5, "the tighter bound binds")
}

// TestNoiseAdded: the decoded noise of n Skellam clients has the variance it should,
// n(σ/γ)²γ² per rotated coordinate, so (σ²·n)/n² per coordinate of the mean.
func TestNoiseAdded(t *testing.T) {
	for _, m := range []Mechanism{Skellam, DiscreteGaussian} {
		p := params(1 << 12)
		p.Mechanism, p.Stddev = m, 0.05
		n := 10
		sum := make([]uint32, p.Padded())
		zero := make([]float32, p.Dim)
		for c := range n {
			words := make([]uint32, p.Padded())
			_, err := Encode(words, zero, p, chacha(byte(c)), dp.InsecureSeededSource(uint64(c)))
			require.NoError(t, err)
			for i, v := range words {
				sum[i] += v
			}
		}
		got := make([]float32, p.Dim)
		require.NoError(t, Decode(got, sum, p, float64(n)))
		var v float64
		for _, g := range got {
			v += float64(g) * float64(g)
		}
		v /= float64(len(got))
		want := p.Stddev * p.Stddev / float64(n)
		assert.InEpsilon(t, want, v, 0.1, "%s", m)
	}
}

func TestValidate(t *testing.T) {
	for field, mutate := range map[string]func(*Params){
		"mechanism": func(p *Params) { p.Mechanism = "gaussian" },
		"dim":       func(p *Params) { p.Dim = 0 },
		"clip":      func(p *Params) { p.Clip = math.NaN() },
		"gamma":     func(p *Params) { p.Gamma = 0 },
		"bits":      func(p *Params) { p.Bits = 33 },
		"beta":      func(p *Params) { p.Beta = 1 },
		"stddev":    func(p *Params) { p.Stddev = -1 },
	} {
		p := params(10)
		mutate(&p)
		err := p.Validate()
		var e *secagg.Error
		require.ErrorAs(t, err, &e, field)
		assert.Equal(t, field, e.Field)
		words := []uint32{12345}
		_, err = Encode(words, make([]float32, 10), p, chacha(0), nil)
		assert.Error(t, err)
		assert.Equal(t, []uint32{12345}, words, "a refused call writes nothing")
	}
	p := params(10)
	_, err := Encode(make([]uint32, 16), []float32{1, 2, float32(math.Inf(1)), 0, 0, 0, 0, 0, 0, 0}, p, chacha(0), nil)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = Encode(make([]uint32, 10), make([]float32, 10), p, chacha(0), nil)
	assert.ErrorIs(t, err, secagg.ErrBadRequest, "dst must be the padded length")
}

// BenchmarkEncode is one client's encoding of an update of 2^20 values with Skellam
// noise (the bytes are the update's); BenchmarkDecode the server's decoding of the sum.
func BenchmarkEncode(b *testing.B) {
	p := params(1 << 20)
	p.Stddev = 0.01
	x := make([]float32, p.Dim)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 1e-3)
	}
	words := make([]uint32, p.Padded())
	src := dp.InsecureSeededSource(1)
	b.SetBytes(int64(p.Dim) * 4)
	for b.Loop() {
		if _, err := Encode(words, x, p, chacha(1), src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, dim := range []int{1 << 20, 1_000_000} { // a power of two; one padded to it
		b.Run(fmt.Sprintf("d%d", dim), func(b *testing.B) {
			p := params(dim)
			sum := make([]uint32, p.Padded())
			dst := make([]float32, p.Dim)
			b.SetBytes(int64(p.Dim) * 4)
			for b.Loop() {
				if err := Decode(dst, sum, p, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSimulateWithDropouts: a noiseless distributed-DP round through secure aggregation,
// clients dropping before each stage, decodes to the mean of the active clients' updates
// within the rounding's error (the divisor is the active count the weight words give);
// secure settings that do not apply are refused naming them.
func TestSimulateWithDropouts(t *testing.T) {
	p := params(3000)
	n := 30
	rng := rand.New(rand.NewPCG(6, 6))
	updates := make([][]float32, n)
	drops := make([]secure.Stage, n)
	for i := range updates {
		updates[i] = make([]float32, p.Dim)
		for j := range updates[i] {
			updates[i][j] = float32(rng.NormFloat64() * 0.01)
		}
		if i%6 == 5 {
			drops[i] = secure.Stage(1 + (i/6)%4)
		}
	}
	got := make([]float32, p.Dim)
	res, err := Simulate(got, p, secure.Config{Shares: 15}, updates, drops, 3)
	require.NoError(t, err)
	require.Len(t, res.Active, n-4)
	want := make([]float64, p.Dim)
	for _, id := range res.Active {
		for j, v := range updates[id-1] {
			want[j] += float64(v) / float64(len(res.Active))
		}
	}
	var err2 float64
	for j := range got {
		d := float64(got[j]) - want[j]
		err2 += d * d
	}
	bound := float64(p.Padded()) * p.Gamma * p.Gamma / 4 / float64(len(res.Active))
	assert.Less(t, err2, 2*bound)
	for _, c := range []secure.Config{{ClippingRange: 8}, {QuantizationRange: 100}, {MaxWeight: 2}, {ModulusBits: 16}} {
		_, err := Simulate(got, p, c, updates, nil, 3)
		assert.Error(t, err, "%+v", c)
	}
}
