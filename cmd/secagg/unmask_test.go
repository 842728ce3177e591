package main

import (
	"archive/zip"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/secure/flower"
)

// flowerFixtures are the rounds Flower's own clients produced, kept beside the suite.
func flowerFixtures(t *testing.T) []string {
	files, err := filepath.Glob("../../secure/flower/testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func flowerResult(t *testing.T, path string) (*flower.Round, [][]float64) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rd, err := flower.ReadRound(f)
	require.NoError(t, err)
	return rd, rd.FlowerResult
}

func sameBits(t *testing.T, got, want []float64, name string) {
	require.Len(t, got, len(want), name)
	for i := range want {
		require.Equal(t, math.Float64bits(want[i]), math.Float64bits(got[i]), "%s[%d]", name, i)
	}
}

// TestUnmaskFlowerFixtures: secagg unmask --suite flower writes Flower's own result bit
// for bit, as the flat .npy and as a .npz of arrays in their shapes.
func TestUnmaskFlowerFixtures(t *testing.T) {
	for _, path := range flowerFixtures(t) {
		rd, want := flowerResult(t, path)
		dir := t.TempDir()
		flat := filepath.Join(dir, "r.npy")
		code, out, errs := runCmd("unmask", "--suite", "flower", "--out", flat, path)
		require.Equal(t, 0, code, errs)
		assert.Contains(t, out, "bit for bit with flower_result: true")
		shape, got, err := readWeights(flat)
		require.NoError(t, err)
		var all []float64
		for _, w := range want {
			all = append(all, w...)
		}
		assert.Equal(t, []int{len(all)}, shape)
		sameBits(t, got, all, path)

		arch := filepath.Join(dir, "r.npz")
		code, _, errs = runCmd("unmask", "--suite", "flower", "--json", "--out", arch, path)
		require.Equal(t, 0, code, errs)
		zr, err := zip.OpenReader(arch)
		require.NoError(t, err)
		require.Len(t, zr.File, len(want))
		for i, zf := range zr.File {
			assert.Equal(t, "arr_"+string(rune('0'+i))+".npy", zf.Name)
			rc, err := zf.Open()
			require.NoError(t, err)
			part := filepath.Join(dir, zf.Name)
			b, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(part, b, 0o644))
			shape, got, err := readWeights(part)
			require.NoError(t, err)
			assert.Equal(t, rd.Shapes[i], shape)
			sameBits(t, got, want[i], zf.Name)
		}
		zr.Close()
	}
}

// TestUnmaskRefuses: each bad command line or round is its typed error and exit status,
// and writes nothing.
func TestUnmaskRefuses(t *testing.T) {
	fixture := flowerFixtures(t)[0]
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"clipping_range": 8}`), 0o644))
	out := filepath.Join(dir, "r.npy")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--out", out, fixture}, 3},                               // no suite
		{[]string{"--suite", "default", "--out", out, fixture}, 3},         // not a file suite
		{[]string{"--suite", "flower", fixture}, 3},                        // no --out
		{[]string{"--suite", "flower", "--out", out}, 4},                   // no round
		{[]string{"--suite", "flower", "--out", out, fixture, fixture}, 4}, // two rounds
		{[]string{"--suite", "flower", "--out", out, bad}, 3},              // settings missing
		{[]string{"--suite", "flower", "--out", out, filepath.Join(dir, "none.json")}, 4},
		{[]string{"--suite", "flower", "--out", fixture, fixture}, 4},            // output over the input
		{[]string{"--suite", "flower", "--seed", "1", "--out", out, fixture}, 2}, // no such flag
	} {
		code, _, errs := runCmd(append([]string{"unmask"}, c.args...)...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errs)
		assert.Regexp(t, `^\{"error":"[a-z_]+","message":".*","status_code":\d+\}\n$`, errs)
		_, err := os.Stat(out)
		assert.True(t, os.IsNotExist(err), "%v wrote %s", c.args, out)
	}
}
