package dp

import (
	"math"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testScales = []struct {
	sh shape
	s  float64
}{
	{poissonShape, 1e-3}, {poissonShape, 0.7}, {poissonShape, 5}, {poissonShape, 130.5},
	{poissonShape, 4000}, {poissonShape, 2.5e5}, {poissonShape, 1e9},
	{gaussianShape, 1e-3}, {gaussianShape, 0.4}, {gaussianShape, 3.5}, {gaussianShape, 127.9},
	{gaussianShape, 128}, {gaussianShape, 1e6}, {gaussianShape, 0x1p39 * 1.37}, {gaussianShape, MaxIntegerScale},
	{laplaceShape, 1e-3}, {laplaceShape, 2.5}, {laplaceShape, 31.9}, {laplaceShape, 1e5},
	{laplaceShape, 0x1p39 * 1.37}, {laplaceShape, MaxIntegerScale},
}

// The alias table proposes each block with probability exactly Q_b/2^63: summed in
// integers over the columns, every entry's share is its weight.
func TestAliasTableIsExact(t *testing.T) {
	for _, c := range testScales {
		smp := newSampler(c.sh, c.s)
		cap := smp.vMask + 1
		got := make([]uint64, len(smp.thresh))
		for j, th := range smp.thresh {
			require.LessOrEqual(t, th, cap)
			got[j] += th
			got[smp.alias[j]] += cap - th
		}
		var sum uint64
		for b, blk := range smp.blocks {
			require.Equal(t, blk.q, got[b], "shape %d s=%v block %d", c.sh, c.s, b)
			sum += blk.q
		}
		assert.Equal(t, uint64(1<<63)-sum, got[len(smp.blocks)], "the rejection entry")
		for j := len(smp.blocks) + 1; j < len(got); j++ {
			require.Zero(t, got[j])
		}
		// Proposals waste little: the rejection entry holds about 2^-20 of the mass.
		assert.Less(t, float64(got[len(smp.blocks)])/0x1p63, 0x1p-19)
	}
}

// Every weight bounds its block from above (acceptance <= 1) and every squeeze from
// below: checked exactly at the blocks' nearest and farthest points.
func TestSamplerBoundsAreRigorous(t *testing.T) {
	for _, c := range testScales {
		smp := newSampler(c.sh, c.s)
		for _, b := range checkedBlocks(len(smp.blocks)) {
			blk := smp.blocks[b]
			if blk.q == 0 {
				continue
			}
			near, far := smp.blockEnds(b)
			_, hi := smp.acceptBounds(near, blk.q, 128)
			one := big.NewFloat(1)
			require.LessOrEqual(t, hi.Cmp(one), 0, "s=%v block %d: acceptance above 1", c.s, b)
			alo, _ := smp.acceptBounds(far, blk.q, 128)
			sq := new(big.Float).SetUint64(blk.sq)
			sq.SetMantExp(sq, -64)
			require.LessOrEqual(t, sq.Cmp(alo), 0, "s=%v block %d: squeeze above the acceptance", c.s, b)
		}
	}
}

// checkedBlocks lists the blocks worth checking exactly: the 64 at each tail's end
// (largest φ, so largest float error), the 64 either side of the middle, and every 7th
// (fewer under -race).
func checkedBlocks(n int) []int {
	edge, every := 64, 7
	if raceEnabled {
		edge, every = 8, 97
	}
	var bs []int
	for b := range n {
		if b < edge || b >= n-edge || (b >= n/2-edge && b < n/2+edge) || b%every == 0 {
			bs = append(bs, b)
		}
	}
	return bs
}

// The fast decision never contradicts the exact one: for points across the blocks and
// draws placed just around the fast path's thresholds and anywhere.
func TestFastAcceptAgreesWithExact(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	key, err := InsecureSeededSource(5).callKey()
	require.NoError(t, err)
	src := newKeystream(key, 0)
	decided := 0
	for _, c := range testScales {
		smp := newSampler(c.sh, c.s)
		W := int64(1) << smp.w
		draws := 300
		if raceEnabled {
			draws = 30
		}
		for range draws {
			b := r.IntN(len(smp.blocks))
			blk := &smp.blocks[b]
			if blk.q == 0 {
				continue
			}
			k := smp.lo + int64(b)*W + r.Int64N(W)
			p := math.Exp(-smp.phi(k)) * blk.scale * 0x1p64
			for _, u := range []uint64{
				r.Uint64(),
				uint64(math.Min(p*(1-fastMargin), 0x1p64-2048)) - 1,
				uint64(math.Min(p*(1-fastMargin), 0x1p64-2048)),
				uint64(math.Min(math.Ceil(p*(1+fastMargin)), 0x1p64-2048)),
				uint64(math.Min(p, 0x1p64-2048)),
			} {
				fast := smp.accept(k, blk, u, src)
				exact := smp.exactAccept(k, blk.q, u, src)
				if u < blk.sq {
					require.True(t, exact, "squeeze accepted what the exact test refuses: s=%v k=%d", c.s, k)
				}
				// Where the fast path decides on the first 64 bits of U, so does the exact
				// one, and they must agree.
				lo, hi := p*(1-fastMargin), math.Ceil(p*(1+fastMargin))
				if (lo >= 1 && u < uint64(math.Min(lo, 0x1p64-2048))) || (hi < 0x1p64 && u >= uint64(hi)) {
					require.Equal(t, exact, fast, "s=%v k=%d u=%d p=%v", c.s, k, u, p/0x1p64)
					decided++
				}
			}
		}
	}
	assert.Greater(t, decided, 100)
}

// The cut tails hold less than TailMass: summed in float64 from the cuts outward.
func TestTailMass(t *testing.T) {
	for _, c := range testScales {
		smp := newSampler(c.sh, c.s)
		var inside, beyond float64
		step := max(int64(1), (smp.maxK-smp.minK)/200000)
		for k := smp.minK; k <= smp.maxK; k += step {
			inside += math.Exp(-smp.phi(k)) * float64(step)
		}
		// Beyond each cut the terms fall at least geometrically (log-concave pmfs).
		tail := func(first, next int64) float64 {
			a, b := math.Exp(-smp.phi(first)), math.Exp(-smp.phi(next))
			if a == 0 {
				return 0
			}
			return a / (1 - b/a)
		}
		beyond = tail(smp.maxK+1, smp.maxK+2)
		if smp.minK > 0 {
			beyond += tail(smp.minK-1, smp.minK-2)
		} else if c.sh != poissonShape {
			beyond *= 2
		}
		assert.Less(t, beyond/inside, TailMass, "shape %d s=%v", c.sh, c.s)
	}
}

// Poisson's float64 φ is within 2^-39 of the exact bounds (its margin is 2^-32), across
// means and all the way out to the cuts.
func TestPoissonPhiAccuracy(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	worst := 0.0
	for _, mu := range []float64{1e-3, 0.5, 1, 7.3, 35.5, 36, 99.9, 1000, 3600, 5000.5, 1e5, 3e6, 1e9, 0x1p40} {
		smp := newSampler(poissonShape, mu)
		ks := []int64{smp.minK, smp.maxK, smp.mode, smp.mode + 1, max(0, smp.mode-1)}
		for range 40 {
			ks = append(ks, smp.minK+r.Int64N(smp.maxK-smp.minK+1))
		}
		for _, k := range ks {
			lo, hi := smp.phiBounds(k, 128)
			l, _ := lo.Float64()
			h, _ := hi.Float64()
			require.Less(t, h-l, 1e-15*(1+h), "bounds too loose at μ=%v k=%d", mu, k)
			err := math.Abs(smp.phi(k) - (l+h)/2)
			worst = math.Max(worst, err)
			require.Less(t, err, 0x1p-39, "μ=%v k=%d: φ %v, exact %v", mu, k, smp.phi(k), l)
		}
	}
	t.Logf("worst |φ error| %.3g (2^%.1f)", worst, math.Log2(worst))
}

// The exact path's logarithms: lnBounds brackets math.Log, and Stirling's series agrees
// with the exact product of the factorials' ratio.
func TestExactLogarithms(t *testing.T) {
	for _, y := range []float64{1, 0.5, 0.75, 2, 3, 1e-300, 7.5e12, 0x1p40 * 1.37, 1e300} {
		lo, hi := lnBounds(big.NewFloat(y), 200)
		l, _ := lo.Float64()
		h, _ := hi.Float64()
		assert.LessOrEqual(t, lo.Cmp(hi), 0)
		assert.InDelta(t, math.Log(y), l, 1e-15*math.Max(1, math.Abs(math.Log(y))), "log %v", y)
		assert.InDelta(t, math.Log(y), h, 1e-15*math.Max(1, math.Abs(math.Log(y))), "log %v", y)
	}
	for _, c := range [][2]int64{{4096, 9000}, {5000, 5100}, {123456, 130000}} {
		r := new(big.Int).MulRange(c[0]+1, c[1])
		pLo, _ := lnBounds(newFloat(300, big.ToNegativeInf).SetInt(r), 300)
		_, pHi := lnBounds(newFloat(300, big.ToPositiveInf).SetInt(r), 300)
		aLo, aHi, okA := stirlingLnFactorial(c[0], 256)
		bLo, bHi, okB := stirlingLnFactorial(c[1], 256)
		require.True(t, okA && okB)
		sLo := newFloat(256, big.ToNegativeInf).Sub(bLo, aHi)
		sHi := newFloat(256, big.ToPositiveInf).Sub(bHi, aLo)
		// The two brackets overlap and each is tight.
		assert.LessOrEqual(t, sLo.Cmp(pHi), 0, "%v", c)
		assert.LessOrEqual(t, pLo.Cmp(sHi), 0, "%v", c)
		gap := newFloat(256, big.ToNearestEven).Sub(sHi, sLo)
		g, _ := gap.Float64()
		assert.Less(t, g, 1e-60, "%v", c)
	}
}
