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
		W := int64(1) << smp.w
		for _, b := range checkedBlocks(len(smp.blocks)) {
			blk := smp.blocks[b]
			if blk.q == 0 {
				continue
			}
			lo := (int64(b) - smp.nb) * W
			near, far := lo, lo+W-1
			if lo < 0 {
				near, far = far, lo
			}
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
// (largest φ, so largest float error), the 64 either side of zero, and every 7th.
func checkedBlocks(n int) []int {
	var bs []int
	for b := range n {
		if b < 64 || b >= n-64 || (b >= n/2-64 && b < n/2+64) || b%7 == 0 {
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
			k := (int64(b)-smp.nb)*W + r.Int64N(W)
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

// The cut tails hold less than TailMass: summed in float64 from the cut outward.
func TestTailMass(t *testing.T) {
	for _, c := range testScales {
		smp := newSampler(c.sh, c.s)
		cut := int64(math.Ceil(tailOf(c.sh) * c.s))
		var inside, beyond float64
		step := max(int64(1), cut/100000)
		for k := int64(0); k <= cut; k += step {
			inside += math.Exp(-smp.phi(k)) * float64(step)
		}
		// Beyond the cut the terms fall at least geometrically from exp(−φ(cut+1)).
		first, next := math.Exp(-smp.phi(cut+1)), math.Exp(-smp.phi(cut+2))
		ratio := next / first
		if first > 0 {
			beyond = first / (1 - ratio)
		}
		assert.Less(t, 2*beyond/inside, TailMass, "shape %d s=%v", c.sh, c.s)
	}
}

func tailOf(sh shape) float64 {
	if sh == gaussianShape {
		return gaussianTail
	}
	return laplaceTail
}
