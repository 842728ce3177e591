package trimmedmean_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/trimmedmean"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func batch(t *testing.T, us [][]float32, k int) []float32 {
	t.Helper()
	dst := make([]float32, len(us[0]))
	require.NoError(t, trimmedmean.TrimmedMean(dst, us, ratioFor(t, k, len(us))))
	return dst
}

func streamOf(t *testing.T, us [][]float32, k int, order []int) *trimmedmean.Stream {
	t.Helper()
	s, err := trimmedmean.NewStream(len(us[0]), k)
	require.NoError(t, err)
	for _, i := range order {
		require.NoError(t, s.Add(us[i]))
	}
	return s
}

func result(t *testing.T, s *trimmedmean.Stream) []float32 {
	t.Helper()
	dst := make([]float32, s.Dim())
	require.NoError(t, s.Result(dst))
	return dst
}

func sameBits(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	for j := range want {
		if math.Float32bits(want[j]) != math.Float32bits(got[j]) {
			t.Fatalf("%s: coordinate %d: want %v, got %v", append([]any{msg}, args...), j, want[j], got[j])
		}
	}
}

// TestStreamEqualsBatch feeds the same updates to the batch kernel and to streams in
// shuffled orders, split into shards merged in random trees, with a serialisation
// round trip on the way, and demands the batch bits.
func TestStreamEqualsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	for _, name := range []string{"grid", "ties", "constant columns", "signed zeros"} {
		for _, n := range []int{1, 2, 3, 7, 20, 33} {
			for _, d := range []int{1, 15, 16, 17, 100} {
				us := generators[name](rng, n, d)
				for k := 0; 2*k < n; k++ {
					want := batch(t, us, k)
					for trial := range 4 {
						order := rng.Perm(n)
						if trial == 0 {
							for i := range order {
								order[i] = i
							}
						}
						// Split the order into shards, stream each, merge in a random tree.
						var shards []*trimmedmean.Stream
						for len(order) > 0 {
							cut := 1 + rng.IntN(len(order))
							shards = append(shards, streamOf(t, us, k, order[:cut]))
							order = order[cut:]
						}
						for len(shards) > 1 {
							i := rng.IntN(len(shards) - 1)
							a, b := shards[i], shards[i+1]
							if rng.IntN(2) == 0 {
								blob, err := b.MarshalBinary()
								require.NoError(t, err)
								b = new(trimmedmean.Stream)
								require.NoError(t, b.UnmarshalBinary(blob))
							}
							require.NoError(t, a.Merge(b))
							shards = append(shards[:i+1], shards[i+2:]...)
						}
						require.Equal(t, n, shards[0].Count())
						sameBits(t, want, result(t, shards[0]), "%s n=%d d=%d k=%d trial %d", name, n, d, k, trial)
					}
				}
			}
		}
	}
}

// TestStreamOnGeneralData: with values whose float64 sums round, the stream still
// equals the batch in arrival order for k = 0 (both add in client order) and agrees to
// float64 rounding otherwise.
func TestStreamOnGeneralData(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 33))
	for _, name := range []string{"normal", "byzantine", "subnormal and huge"} {
		us := generators[name](rng, 25, 300)
		order := make([]int, 25)
		for i := range order {
			order[i] = i
		}
		sameBits(t, batch(t, us, 0), result(t, streamOf(t, us, 0, order)), "%s k=0", name)
		for _, k := range []int{1, 5, 12} {
			checkAgainstReference(t, us, k, result(t, streamOf(t, us, k, rng.Perm(25))), name)
		}
	}
}

func TestStreamRejectsWithoutChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(34, 35))
	us := generators["normal"](rng, 6, 40)
	s := streamOf(t, us, 2, []int{0, 1, 2})
	before, err := s.MarshalBinary()
	require.NoError(t, err)
	bad := append([]float32(nil), us[3]...)
	bad[33] = float32(math.NaN())
	other, _ := trimmedmean.NewStream(40, 3)
	cases := []struct {
		err  error
		code secagg.Code
		msg  string
	}{
		{s.Add(us[3][:39]), secagg.CodeBadRequest, "update has length 39, the round's dimension is 40"},
		{s.Add(bad), secagg.CodeValidation, "update[33] must be finite, got NaN"},
		{s.Merge(other), secagg.CodeBadRequest, "cannot merge a stream of dim 40 and k 3 into one of dim 40 and k 2"},
		{s.Merge(s), secagg.CodeBadRequest, "cannot merge a stream into itself"},
		{s.Result(make([]float32, 40)), secagg.CodeInsufficientClients, "a trimmed mean trimming 2 from each end needs at least 5 updates, got 3"},
		{s.Result(make([]float32, 3)), secagg.CodeBadRequest, "dst has length 3, the stream's dimension is 40"},
	}
	for _, c := range cases {
		var e *secagg.Error
		require.True(t, errors.As(c.err, &e), "%v", c.err)
		assert.Equal(t, c.code, e.Code)
		assert.Equal(t, c.msg, e.Message)
	}
	after, err := s.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, before, after, "rejected calls leave the stream as it was")

	_, err = trimmedmean.NewStream(0, 1)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	_, err = trimmedmean.NewStream(10, -1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

// TestStreamMemory measures the heap a stream takes for n1000_d100k at trim ratio 0.01
// (k = 10): 20·d float32 extremes, d float64 sums, and nothing that grows with updates.
func TestStreamMemory(t *testing.T) {
	const d, n = 100_000, 1000
	k, err := trimmedmean.K(0.01, n)
	require.NoError(t, err)
	require.Equal(t, 10, k)
	bound := uint64(20*d*4 + d*8)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := trimmedmean.NewStream(d, k)
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	// O(1) more: the struct, and the allocator rounding each of the two buffers up to
	// whole 8 KiB pages.
	assert.LessOrEqual(t, allocated, bound+2*8192+1024, "NewStream allocated %d bytes", allocated)
	assert.Equal(t, int(bound), s.MemoryBytes())

	rng := rand.New(rand.NewPCG(36, 37))
	u := make([]float32, d)
	runtime.ReadMemStats(&before)
	for range 30 {
		for j := range u {
			u[j] = float32(rng.NormFloat64())
		}
		require.NoError(t, s.Add(u))
	}
	runtime.ReadMemStats(&after)
	// Add spreads coordinates over goroutines: a little bookkeeping per call, nothing
	// that grows with d or with the updates taken.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(30*2048), "Add allocates O(1) per call")
	t.Logf("k=%d d=%d: %d bytes held (bound %d = 20·d·4 + d·8)", k, d, s.MemoryBytes(), bound)
}

func TestUnmarshalRejectsCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(38, 39))
	us := generators["normal"](rng, 9, 33)
	s := streamOf(t, us, 3, rng.Perm(9))
	blob, err := s.MarshalBinary()
	require.NoError(t, err)
	var ok trimmedmean.Stream
	require.NoError(t, ok.UnmarshalBinary(blob))
	sameBits(t, result(t, s), result(t, &ok), "round trip")

	for cut := range len(blob) {
		var x trimmedmean.Stream
		require.ErrorIs(t, x.UnmarshalBinary(blob[:cut]), secagg.ErrBadRequest, "truncated at %d", cut)
	}
	for i := range blob {
		flipped := append([]byte(nil), blob...)
		flipped[i] ^= 0x10
		var x trimmedmean.Stream
		require.ErrorIs(t, x.UnmarshalBinary(flipped), secagg.ErrBadRequest, "bit flipped in byte %d", i)
	}
	require.ErrorIs(t, ok.UnmarshalBinary(append(blob, 0)), secagg.ErrBadRequest, "trailing byte")

	// Forged state under a recomputed checksum: a sum of 1e300 with a count of 2^62 (it
	// gave +Inf), a count no round reaches, a sum beyond what the values between the
	// kept extremes can add up to, and one just inside.
	forge := func(count uint64, sum0 float64) []byte {
		b := append([]byte(nil), blob...)
		binary.LittleEndian.PutUint64(b[24:], count)
		sumAt := len(b) - 4 - 33*8
		binary.LittleEndian.PutUint64(b[sumAt:], math.Float64bits(sum0))
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	var x trimmedmean.Stream
	assert.ErrorIs(t, x.UnmarshalBinary(forge(1<<62, 1e300)), secagg.ErrBadRequest)
	assert.ErrorIs(t, x.UnmarshalBinary(forge(1<<41, 0)), secagg.ErrBadRequest)
	assert.ErrorIs(t, x.UnmarshalBinary(forge(9, 1e300)), secagg.ErrBadRequest)
	assert.ErrorIs(t, x.UnmarshalBinary(forge(9, 1e3)), secagg.ErrBadRequest, "3 values between the extremes of N(0,1) data cannot sum to 1000")
	require.NoError(t, x.UnmarshalBinary(forge(9, math.Float64frombits(binary.LittleEndian.Uint64(blob[len(blob)-4-33*8:])))), "the blob as it was")

	// An infinite value in a filled slot, in order (-Inf first among the smallest, +Inf
	// first among the largest): Push never keeps one, and ResultK's kernels read them.
	for _, slot := range []struct {
		plane int
		v     float32
	}{{0, float32(math.Inf(-1))}, {3, float32(math.Inf(1))}} {
		b := append([]byte(nil), blob...)
		binary.LittleEndian.PutUint32(b[32+slot.plane*16*4:], math.Float32bits(slot.v))
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
		assert.ErrorIs(t, x.UnmarshalBinary(b), secagg.ErrBadRequest, "%v in plane %d", slot.v, slot.plane)
	}
}

// Sizes no machine holds are payload_too_large before any allocation; merging nil is a
// bad_request.
func TestStreamSizes(t *testing.T) {
	_, err := trimmedmean.NewStream(1<<62, 1000)
	assert.ErrorIs(t, err, secagg.ErrPayloadTooLarge)
	_, err = trimmedmean.NewStream(1<<40, 100)
	assert.ErrorIs(t, err, secagg.ErrPayloadTooLarge)
	n, ok := trimmedmean.StreamBytes(100_000, 100)
	assert.True(t, ok)
	assert.Equal(t, int64(100_000*200*4+100_000*8), n)
	s, err := trimmedmean.NewStream(10, 1)
	require.NoError(t, err)
	assert.ErrorIs(t, s.Merge(nil), secagg.ErrBadRequest)
}

// A stream holding a maximum k gives the batch result for any smaller k, on data whose
// float64 sums are exact, whatever the count.
func TestStreamResultK(t *testing.T) {
	rng := rand.New(rand.NewPCG(44, 45))
	const kMax = 4
	for _, n := range []int{1, 3, 5, 8, 9, 20} {
		us := generators["grid"](rng, n, 37)
		s := streamOf(t, us, kMax, rng.Perm(n))
		for k := 0; 2*k < n && k <= kMax; k++ {
			got := make([]float32, 37)
			require.NoError(t, s.ResultK(got, k), "n=%d k=%d", n, k)
			sameBits(t, batch(t, us, k), got, "n=%d k=%d of a stream holding %d", n, k, kMax)
		}
	}
	s, _ := trimmedmean.NewStream(2, 2)
	assert.ErrorIs(t, s.ResultK(make([]float32, 2), 3), secagg.ErrValidation)
	assert.ErrorIs(t, s.ResultK(make([]float32, 2), 0), secagg.ErrInsufficientClients)
}

// AddRows is Add in order, bit for bit, in the state and the serialised form, at sizes
// across the push tiles (k = 10: tiles of 2976 coordinates) and for any grouping; a bad
// update among them leaves the stream unchanged.
func TestStreamAddRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(36, 37))
	for _, d := range []int{1, 17, 2976 + 5, 40_000} {
		for _, k := range []int{0, 1, 10} {
			us := generators["normal"](rng, 23, d)
			one, err := trimmedmean.NewStream(d, k)
			require.NoError(t, err)
			for _, u := range us {
				require.NoError(t, one.Add(u))
			}
			many, err := trimmedmean.NewStream(d, k)
			require.NoError(t, err)
			for lo := 0; lo < len(us); {
				hi := min(len(us), lo+1+rng.IntN(6))
				require.NoError(t, many.AddRows(us[lo:hi]))
				lo = hi
			}
			a, err := one.MarshalBinary()
			require.NoError(t, err)
			b, err := many.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, a, b, "d %d k %d", d, k)
			assert.Equal(t, len(us), many.Count())

			bad := append([]float32(nil), us[0]...)
			bad[d-1] = float32(math.Inf(-1))
			err = many.AddRows([][]float32{us[1], bad, us[2]})
			var e *secagg.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, secagg.CodeValidation, e.Code)
			assert.Contains(t, e.Message, "updates[1]")
			after, err := many.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, b, after, "a rejected AddRows changed the stream")
		}
	}
}

// BenchmarkNewStream times making the state of a round with k = 10 (n100_d1m at r = 0.1):
// 80 MB of extremes set to ±Inf and 8 MB of sums.
func BenchmarkNewStream(b *testing.B) {
	for b.Loop() {
		if _, err := trimmedmean.NewStream(1_000_000, 10); err != nil {
			b.Fatal(err)
		}
	}
}

// A Reset stream is a new one: the same result, bits and memory as a fresh stream fed
// the same updates.
func TestStreamReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 51))
	const n, d, k = 11, 77, 3
	s, err := trimmedmean.NewStream(d, k)
	require.NoError(t, err)
	for _, u := range generators["normal"](rng, n, d) {
		require.NoError(t, s.Add(u))
	}
	s.Reset()
	assert.Equal(t, 0, s.Count())
	fresh, err := trimmedmean.NewStream(d, k)
	require.NoError(t, err)
	second := generators["grid"](rng, n, d)
	for _, u := range second {
		require.NoError(t, s.Add(u))
		require.NoError(t, fresh.Add(u))
	}
	a, err := s.MarshalBinary()
	require.NoError(t, err)
	b, err := fresh.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, b, a, "a reset stream holds what a fresh one holds")
	assert.Equal(t, fresh.MemoryBytes(), s.MemoryBytes())
}
