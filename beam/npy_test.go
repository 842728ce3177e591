package secaggbeam

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
)

// writeUpdates writes one .npy file per update into dir and returns their paths.
func writeUpdates(t testing.TB, dir string, xs [][]float32) []string {
	t.Helper()
	var paths []string
	for i, x := range xs {
		var b bytes.Buffer
		require.NoError(t, npyio.Write(&b, x))
		p := filepath.Join(dir, fmt.Sprintf("client-%03d.npy", i))
		require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
		paths = append(paths, p)
	}
	return paths
}

// blockMean is the pipeline a coordinator runs on files: read by blocks, mean per block,
// assemble, write.
func blockMean(paths []string, dim, block int, out string) error {
	p, s := beam.NewPipelineWithRoot()
	blocks := beam.CombinePerKey(s, &MeanFn{}, ReadBlocks(s, paths, dim, block))
	WriteNpy(s, out, Assemble(s, blocks, dim, block))
	return ptest.Run(p)
}

// TestFilesByBlocks: updates read from .npy files a block at a time (the last block
// short), averaged per block and assembled, are the engine's mean bit for bit (exact
// sums), written as a .npy file; a NaN in one file or a file of the wrong shape fails the
// pipeline with a typed error naming it and writes nothing.
func TestFilesByBlocks(t *testing.T) {
	dir := t.TempDir()
	xs := updates(40, 1000, true, 13)
	paths := writeUpdates(t, dir, xs)
	want := make([]float32, 1000)
	require.NoError(t, aggregate.Mean(want, xs))
	out := filepath.Join(dir, "mean.npy")
	require.NoError(t, blockMean(paths, 1000, 128, out))
	f, err := os.Open(out)
	require.NoError(t, err)
	var got []float32
	require.NoError(t, npyio.Read(f, &got))
	f.Close()
	require.Equal(t, want, got)

	bad := filepath.Join(dir, "bad.npy")
	xs[5][999] = float32(math.NaN())
	writeUpdates(t, t.TempDir(), nil)
	paths = writeUpdates(t, dir, xs)
	err = blockMean(paths, 1000, 128, bad)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "validation_error") && strings.Contains(err.Error(), "is NaN"), err.Error())
	_, statErr := os.Stat(bad)
	assert.True(t, os.IsNotExist(statErr), "nothing written")

	short := writeUpdates(t, t.TempDir(), [][]float32{make([]float32, 999)})
	err = blockMean(append(paths[:3:3], short...), 1000, 128, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want a 1-D <f4 array of 1000 values")
	_, statErr = os.Stat(bad)
	assert.True(t, os.IsNotExist(statErr), "nothing written")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "adir.npy"), 0o755))
	xs[5][999] = 0
	paths = writeUpdates(t, dir, xs)
	err = blockMean(paths, 1000, 128, filepath.Join(dir, "adir.npy"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not a regular file")
}

// A round on another of Beam's filesystems (memfs://, as gs:// would be) reads and
// writes through it; patterns expand to their files, sorted, and one that matches
// nothing is a bad_request.
func TestOtherFilesystemsAndPatterns(t *testing.T) {
	xs := updates(7, 100, true, 51)
	var paths []string
	for i, x := range xs {
		var b bytes.Buffer
		require.NoError(t, npyio.Write(&b, x))
		p := fmt.Sprintf("memfs://round/client-%d.npy", i)
		memfs.Write(p, b.Bytes())
		paths = append(paths, p)
	}
	expanded, err := ExpandPatterns(context.Background(), []string{"memfs://round/client-*.npy"})
	require.NoError(t, err)
	assert.Equal(t, paths, expanded)
	_, err = ExpandPatterns(context.Background(), []string{"memfs://round/none-*.npy"})
	assert.ErrorIs(t, err, secagg.ErrBadRequest)

	require.NoError(t, blockMean(expanded, 100, 30, "memfs://result.npy"))
	want := make([]float32, 100)
	require.NoError(t, aggregate.Mean(want, xs))
	fsys := memfs.New(context.Background())
	r, err := fsys.OpenRead(context.Background(), "memfs://result.npy")
	require.NoError(t, err)
	var got []float32
	require.NoError(t, npyio.Read(r, &got))
	assert.Equal(t, want, got)

	dir := t.TempDir()
	local := writeUpdates(t, dir, xs)
	expanded, err = ExpandPatterns(context.Background(), []string{local[0], filepath.Join(dir, "client-00[3-5].npy")})
	require.NoError(t, err)
	assert.Equal(t, []string{local[0], local[3], local[4], local[5]}, expanded)
}

// ReadWeights takes floats and integers of 4 and 8 bytes, and refuses other shapes and
// dtypes, truncated files and bytes after the values.
func TestReadWeights(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string {
		var b bytes.Buffer
		require.NoError(t, npyio.Write(&b, v))
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
		return p
	}
	want := []float64{3, 0, 7}
	for name, v := range map[string]any{
		"f8": []float64{3, 0, 7}, "f4": []float32{3, 0, 7}, "i4": []int32{3, 0, 7},
		"i8": []int64{3, 0, 7}, "u4": []uint32{3, 0, 7}, "u8": []uint64{3, 0, 7},
	} {
		got, err := ReadWeights(context.Background(), write(name+".npy", v), 3)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	f8 := write("w.npy", []float64{3, 0, 7})
	for name, path := range map[string]string{
		"count":  f8,
		"dtype":  write("c.npy", []complex64{1, 2, 3}),
		"four":   write("m.npy", []float64{1, 2, 3, 4}),
		"absent": filepath.Join(dir, "none.npy"),
	} {
		n := 3
		if name == "count" {
			n = 4
		}
		_, err := ReadWeights(context.Background(), path, n)
		assert.ErrorIs(t, err, secagg.ErrBadRequest, name)
	}
	b, err := os.ReadFile(f8)
	require.NoError(t, err)
	for name, data := range map[string][]byte{"truncated": b[:len(b)-1], "trailing": append(b, 0)} {
		p := filepath.Join(dir, name+".npy")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		_, err := ReadWeights(context.Background(), p, 3)
		assert.ErrorIs(t, err, secagg.ErrBadRequest, name)
	}
}

// TestNpyHeaderOf: the result's .npy header is numpy's format 1.0 for a 1-D <f4 array:
// npyio reads it back, values and all, and the data starts on a multiple of 64 bytes,
// for lengths whose dicts end either side of a 64-byte boundary.
func TestNpyHeaderOf(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000, 123456, 1 << 30} {
		h := npyHeaderOf(n)
		assert.Zero(t, len(h)%64, "n %d: header of %d bytes", n, len(h))
		assert.Equal(t, byte('\n'), h[len(h)-1])
		if n > 1<<20 {
			continue
		}
		want := make([]float32, n)
		for i := range want {
			want[i] = float32(i) - 0.5
		}
		var got []float32
		require.NoError(t, npyio.Read(bytes.NewReader(appendFloat32s(h, want)), &got), "n %d", n)
		assert.Equal(t, want, append([]float32{}, got...), "n %d", n)
	}
}
