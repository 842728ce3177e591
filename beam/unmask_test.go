package secaggbeam

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/secure"
	"github.com/octomil/secagg/simd"
)

// secureRound is a secure round of 16 clients of d values, one dropping at each stage,
// played with the server recording the masked vectors, which are written to dir as the
// clients sent them; want is the same round unmasked by secure.Server.Finalize.
func secureRound(t testing.TB, dir string, d int, cfg secure.Config) (u *secure.Unmasking, files map[uint64]string, want []float32, res *secure.Result) {
	t.Helper()
	r := rand.New(rand.NewPCG(6, uint64(d)))
	n := 16
	updates := make([][]float32, n)
	weights := make([]float64, n)
	drops := make([]secure.Stage, n)
	for i := range updates {
		updates[i] = make([]float32, d)
		for j := range updates[i] {
			updates[i][j] = float32(r.NormFloat64())
		}
		weights[i] = 1 + 9*r.Float64()
	}
	for i, stage := range []secure.Stage{secure.BeforeKeys, secure.BeforeShares, secure.BeforeMasking, secure.BeforeUnmask} {
		drops[3*i+2] = stage
	}
	want = make([]float32, d)
	_, err := secure.Simulate(want, cfg, updates, weights, drops, 21)
	require.NoError(t, err)
	held, u, res, err := secure.SimulateHeld(cfg, updates, weights, drops, 21)
	require.NoError(t, err)
	files = map[uint64]string{}
	for id, mv := range held {
		b, err := mv.MarshalBinary()
		require.NoError(t, err)
		files[id] = filepath.Join(dir, fmt.Sprintf("masked-%d.bin", id))
		require.NoError(t, os.WriteFile(files[id], b, 0o644))
	}
	return u, files, want, res
}

// runUnmask runs Unmask on Prism (the Unmasking from the file at, if not empty) and
// writes the mean to dir/mean.npy.
func runUnmask(t testing.TB, dir string, u *secure.Unmasking, at string, files map[uint64]string, block int) ([]float32, error) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	blocks, err := Unmask(s, u, at, files, block)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "mean.npy")
	os.Remove(out)
	WriteNpy(s, out, Assemble(s, blocks, u.Dim(), block))
	if err := ptest.Run(p); err != nil {
		_, statErr := os.Stat(out)
		assert.True(t, os.IsNotExist(statErr), "a failed unmasking wrote %s", out)
		return nil, err
	}
	return readNpyFile(t, out), nil
}

// TestUnmaskOnPrism: a secure round's masked vectors, summed and unmasked by blocks on
// Prism, give Finalize's mean to the bit, for blocks on AES blocks and off them, and one
// block larger than the vector; with a 20-bit modulus too.
func TestUnmaskOnPrism(t *testing.T) {
	for _, c := range []struct {
		d, block int
		cfg      secure.Config
	}{
		{5000, 1024, secure.Config{Shares: 9, MaxWeight: 10}},
		{5000, 333, secure.Config{Shares: 9, MaxWeight: 10}},
		{700, 1000, secure.Config{Shares: 9, MaxWeight: 10, ModulusBits: 24, QuantizationRange: 1 << 12}},
	} {
		dir := t.TempDir()
		u, files, want, res := secureRound(t, dir, c.d, c.cfg)
		require.Len(t, res.Active, 13)
		require.Len(t, res.Dropped, 1)
		// The Unmasking in the pipeline, then read by the workers from a file.
		enc, err := u.MarshalBinary()
		require.NoError(t, err)
		at := filepath.Join(dir, "round.unmasking")
		require.NoError(t, os.WriteFile(at, enc, 0o600))
		for _, from := range []string{"", at} {
			got, err := runUnmask(t, dir, u, from, files, c.block)
			require.NoError(t, err)
			require.Len(t, got, c.d)
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("d %d block %d from %q: value %d is %v, Finalize's %v", c.d, c.block, from, j, got[j], want[j])
				}
			}
		}
	}
}

// TestUnmaskRejects plays a coordinator that hands the pipeline the wrong vectors: an
// active client's file left out, a dropped client's vector added (its masks are not in
// the Unmasking: the sum would unmask to noise), one file named for two clients, and
// files that are not the round's masked vectors. Each is a bad_request naming the
// client, and a failed pipeline writes nothing; an Unmasking file swapped under the
// workers is a conflict.
func TestUnmaskRejects(t *testing.T) {
	dir := t.TempDir()
	cfg := secure.Config{Shares: 9, MaxWeight: 10, ModulusBits: 24, QuantizationRange: 1 << 12}
	u, files, _, res := secureRound(t, dir, 300, cfg)
	active := u.Clients()
	code := func(err error) secagg.Code {
		var e *secagg.Error
		if assert.ErrorAs(t, err, &e) {
			return e.Code
		}
		return ""
	}

	missing := maps.Clone(files)
	delete(missing, active[3])
	_, err := runUnmask(t, dir, u, "", missing, 100)
	assert.Equal(t, secagg.CodeBadRequest, code(err))
	assert.ErrorContains(t, err, fmt.Sprintf("client %d is active and has no masked vector file", active[3]))

	extra := maps.Clone(files)
	extra[res.Dropped[0]] = files[active[0]]
	_, err = runUnmask(t, dir, u, "", extra, 100)
	assert.Equal(t, secagg.CodeBadRequest, code(err))
	assert.ErrorContains(t, err, fmt.Sprintf("client %d (%s) is not an active client", res.Dropped[0], files[active[0]]))

	twice := maps.Clone(files)
	twice[active[1]] = files[active[2]]
	_, err = runUnmask(t, dir, u, "", twice, 100)
	assert.Equal(t, secagg.CodeBadRequest, code(err))
	assert.ErrorContains(t, err, "name the same file")

	_, err = runUnmask(t, dir, u, "", files, 0)
	assert.Equal(t, secagg.CodeValidation, code(err))

	// The workers read another round's Unmasking than the driver built with: refused.
	other, _, _, _ := secureRound(t, t.TempDir(), 300, cfg)
	enc, err := other.MarshalBinary()
	require.NoError(t, err)
	at := filepath.Join(dir, "swapped.unmasking")
	require.NoError(t, os.WriteFile(at, enc, 0o600))
	_, err = runUnmask(t, dir, u, at, files, 100)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "conflict")
	assert.Contains(t, err.Error(), "holds another Unmasking than the pipeline was built with")

	good, err := os.ReadFile(files[active[5]])
	require.NoError(t, err)
	short := secure.MaskedVector{Words: make([]uint32, 300)} // one word short
	shortBytes, _ := short.MarshalBinary()
	high := append([]byte(nil), good...)
	high[secure.MaskedVectorPrefix+4*7+3] = 0x01 // word 7 at 2^24 or more
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"npy", []byte("\x93NUMPY an .npy file"), "not a masked vector"},
		{"short", shortBytes, "holds 300 words, want 301"},
		{"truncated", good[:len(good)-5], "truncated at word 201"},
		{"long", append(append([]byte(nil), good...), 0), "has bytes after its 301 words"},
		{"high", high, fmt.Sprintf("word 7 is %d, not below 2^24", binary.LittleEndian.Uint32(high[secure.MaskedVectorPrefix+4*7:]))},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := maps.Clone(files)
			bad[active[5]] = filepath.Join(dir, "bad.bin")
			require.NoError(t, os.WriteFile(bad[active[5]], c.data, 0o644))
			_, err := runUnmask(t, dir, u, "", bad, 100)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "bad_request")
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), fmt.Sprintf("client %d's %s", active[5], bad[active[5]]))
		})
	}
}

// BenchmarkUnmask is the sharded unmasking's cost: a secure round of n clients of d
// values (SECAGG_BEAM_UNMASK_N, _D: 100 and 2^20 by default), its masked vectors in
// files, unmasked on Prism by blocks of 65,536 words (prism), next to one machine
// reading the same files whole, adding them and unmasking the sum (one_machine), and to
// one worker unmasking one block of the sum (unmask_block). Both results are checked
// against Finalize's, bit for bit.
func BenchmarkUnmask(b *testing.B) {
	n, d := envInt("SECAGG_BEAM_UNMASK_N", 100), envInt("SECAGG_BEAM_UNMASK_D", 1<<20)
	const block = 1 << 16
	r := rand.New(rand.NewPCG(9, 9))
	updates := make([][]float32, n)
	for i := range updates {
		updates[i] = make([]float32, d)
		for j := range updates[i] {
			updates[i][j] = float32(r.NormFloat64())
		}
	}
	drops := make([]secure.Stage, n)
	for i := 9; i < n; i += 10 {
		drops[i] = secure.BeforeMasking // a tenth drop: their pairwise masks are in the Unmasking
	}
	cfg := secure.Config{Shares: 15}
	want := make([]float32, d)
	if _, err := secure.Simulate(want, cfg, updates, nil, drops, 5); err != nil {
		b.Fatal(err)
	}
	held, u, res, err := secure.SimulateHeld(cfg, updates, nil, drops, 5)
	if err != nil {
		b.Fatal(err)
	}
	updates = nil
	dir := b.TempDir()
	files := map[uint64]string{}
	for id, mv := range held {
		enc, _ := mv.MarshalBinary()
		files[id] = filepath.Join(dir, fmt.Sprintf("masked-%d.bin", id))
		if err := os.WriteFile(files[id], enc, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	held = nil
	check := func(got []float32) {
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				b.Fatalf("value %d is %v, Finalize's %v", j, got[j], want[j])
			}
		}
	}
	bytes := int64(len(files)) * int64(d+1) * 4
	b.Logf("%d active clients, %d masks", len(res.Active), res.Masks)
	b.Run("prism", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			got, err := runUnmask(b, dir, u, "", files, block)
			if err != nil {
				b.Fatal(err)
			}
			check(got)
		}
		// One WordsSumFn accumulator per block per bundle (one bundle on Prism), and the
		// weights' word.
		acc, _ := (&Words{Sum: make([]uint32, block)}).MarshalBinary()
		b.ReportMetric(float64(len(acc))*float64((d+block-1)/block)/float64(len(files)), "shuffled_B/client")
	})
	b.Run("one_machine", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			sum := make([]uint32, d+1)
			for _, path := range files {
				enc, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				var mv secure.MaskedVector
				if err := mv.UnmarshalBinary(enc); err != nil {
					b.Fatal(err)
				}
				simd.AddWords(sum, [][]uint32{mv.Words}, 0)
			}
			if err := u.Unmask(sum, 0); err != nil {
				b.Fatal(err)
			}
			got := make([]float32, d)
			if err := u.Mean(got, sum[1:], sum[0]); err != nil {
				b.Fatal(err)
			}
			check(got)
		}
	})
	b.Run("unmask_block", func(b *testing.B) {
		words := make([]uint32, block)
		b.SetBytes(4 * block)
		for b.Loop() {
			if err := u.Unmask(words, 1+block); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(res.Masks), "masks")
	})
}
