package secaggbeam

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func maskedVectors(n, d, bits int, seed uint64) ([][]uint32, []uint32) {
	rng := rand.New(rand.NewPCG(seed, 2))
	xs := make([][]uint32, n)
	want := make([]uint32, d)
	for i := range xs {
		xs[i] = make([]uint32, d)
		for j := range xs[i] {
			xs[i][j] = rng.Uint32N(1 << bits)
			want[j] = (want[j] + xs[i][j]) & (1<<bits - 1)
		}
	}
	return xs, want
}

// TestWordsSumOnPrism: masked vectors summed mod 2^20 on Prism equal the sum taken word by
// word; merged in random trees through the coder too; a word at 2^20 fails the pipeline
// naming it.
func TestWordsSumOnPrism(t *testing.T) {
	xs, want := maskedVectors(150, 333, 20, 12)
	f := &WordsSumFn{Dim: 333, Bits: 20}
	p, s := beam.NewPipelineWithRoot()
	passert.Equals(s, beam.Combine(s, f, parts(s, xs)), want)
	require.NoError(t, ptest.Run(p))

	var accs []*Words
	for c := range 7 {
		a := f.CreateAccumulator()
		for _, x := range xs[c*150/7 : (c+1)*150/7] {
			var err error
			a, err = f.AddInput(a, x)
			require.NoError(t, err)
		}
		accs = append(accs, shuffled(t, a, encodeWords, decodeWords))
	}
	assert.Equal(t, want, f.ExtractOutput(mergeTree(t, accs, rand.New(rand.NewPCG(2, 2)).Perm(7), f.MergeAccumulators)))

	xs[40][7] = 1 << 20
	p, s = beam.NewPipelineWithRoot()
	beam.Combine(s, f, parts(s, xs))
	err := ptest.Run(p)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "bad_request") && strings.Contains(err.Error(), "word 7 is 1048576"), err.Error())
}

// TestWordsEncoding: Words round-trip through their encoding; every flipped byte and
// every truncation is refused.
func TestWordsEncoding(t *testing.T) {
	w := &Words{Sum: []uint32{0, 1, 0xffffffff, 12345}}
	b, err := w.MarshalBinary()
	require.NoError(t, err)
	var got Words
	require.NoError(t, got.UnmarshalBinary(b))
	assert.Equal(t, *w, got)
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x10
		assert.Error(t, new(Words).UnmarshalBinary(bad), "byte %d flipped", i)
	}
	for n := range len(b) {
		assert.Error(t, new(Words).UnmarshalBinary(b[:n]), "%d bytes", n)
	}
}
