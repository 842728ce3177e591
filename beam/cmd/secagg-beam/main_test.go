package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/beam/internal/netns"
)

// TestMain runs the command's tests in a loopback-only network namespace (netns). Each
// test runs the command as a process of its own, as an operator does: this binary,
// re-executed with asCommand set, is the command.
func TestMain(m *testing.M) {
	netns.Isolate("secagg-beam")
	if os.Getenv(asCommand) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const asCommand = "SECAGG_BEAM_AS_COMMAND"

// command runs secagg-beam with args and returns its exit status and stderr.
func command(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asCommand+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stderr.String()
}

// TestAggregate: the command averages .npy files through Prism into a .npy result equal to
// the engine's mean; bad input is the platform's JSON error with its exit status and
// writes nothing.
func TestAggregate(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	var xs [][]float32
	for i := range 12 {
		x := make([]float32, 300)
		for j := range x {
			x[j] = float32((i*31 + j*7) % 97)
		}
		xs = append(xs, x)
		var b bytes.Buffer
		require.NoError(t, npyio.Write(&b, x))
		p := filepath.Join(dir, fmt.Sprintf("c%02d.npy", i))
		require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "mean.npy")
	code, stderr := command(t, append([]string{"aggregate", "--dim", "300", "--block", "64", "--out", out}, paths...)...)
	require.Equal(t, 0, code, stderr)
	want := make([]float32, 300)
	require.NoError(t, aggregate.Mean(want, xs))
	assert.Equal(t, want, readNpy(t, out))

	// A pattern names the same files, in order.
	code, stderr = command(t, "aggregate", "--dim", "300", "--out", out, filepath.Join(dir, "c*.npy"))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want, readNpy(t, out))

	// Multi-Krum writes the clients it chose; weighted_mean takes integer weights.
	sel := filepath.Join(dir, "selected.json")
	code, stderr = command(t, append([]string{"aggregate", "--strategy", "krum", "--byzantine-clients", "2",
		"--multi-krum-m", "3", "--selected-out", sel, "--dim", "300", "--block", "64", "--out", out}, paths...)...)
	require.Equal(t, 0, code, stderr)
	res, err := aggregate.Aggregate(want, xs, nil, config(t, "krum", "byzantine_clients", "2", "multi_krum_m", "3"), nil)
	require.NoError(t, err)
	assert.Equal(t, want, readNpy(t, out))
	b, err := os.ReadFile(sel)
	require.NoError(t, err)
	var report struct{ Selected []struct{ Client int } }
	require.NoError(t, json.Unmarshal(b, &report))
	var chosen []string
	for _, c := range report.Selected {
		chosen = append(chosen, fmt.Sprint(c.Client))
	}
	assert.Equal(t, res.Selected, chosen)

	ws := []int64{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8}
	var wb bytes.Buffer
	require.NoError(t, npyio.Write(&wb, ws))
	wPath := filepath.Join(dir, "weights.npy")
	require.NoError(t, os.WriteFile(wPath, wb.Bytes(), 0o644))
	code, stderr = command(t, append([]string{"aggregate", "--strategy", "weighted_mean", "--weights", wPath,
		"--dim", "300", "--block", "64", "--out", out}, paths...)...)
	require.Equal(t, 0, code, stderr)
	w64 := make([]float64, len(ws))
	for i, w := range ws {
		w64[i] = float64(w)
	}
	require.NoError(t, aggregate.WeightedMean(want, xs, w64))
	assert.Equal(t, want, readNpy(t, out))

	// norm_bounded_mean clips as the engine does (to a float32 step: the clipped sums
	// are added in the runner's order); dp_mean's --seed replays its noise.
	code, stderr = command(t, append([]string{"aggregate", "--strategy", "norm_bounded_mean", "--clip-norm", "600",
		"--dim", "300", "--block", "64", "--out", out}, paths...)...)
	require.Equal(t, 0, code, stderr)
	_, err = aggregate.NormBoundedMean(want, xs, 600)
	require.NoError(t, err)
	assert.InDeltaSlice(t, want, readNpy(t, out), 1e-4)
	noisy := func(seed string) []float32 {
		code, stderr := command(t, append([]string{"aggregate", "--strategy", "dp_mean", "--clip-norm", "600",
			"--noise-multiplier", "1", "--seed", seed, "--dim", "300", "--block", "64", "--out", out}, paths...)...)
		require.Equal(t, 0, code, stderr)
		return readNpy(t, out)
	}
	first := noisy("3")
	assert.Equal(t, first, noisy("3"))
	assert.NotEqual(t, first, noisy("4"))

	// geometric_median, weighted, one pipeline per step: the engine's bits, and no
	// scratch left beside the result.
	code, stderr = command(t, append([]string{"aggregate", "--strategy", "geometric_median", "--weights", wPath,
		"--dim", "300", "--out", out}, paths...)...)
	require.Equal(t, 0, code, stderr)
	res, err = aggregate.Aggregate(want, xs, w64, config(t, "geometric_median"), nil)
	require.NoError(t, err)
	require.Greater(t, res.Iterations, 1)
	assert.Equal(t, want, readNpy(t, out))
	left, err := filepath.Glob(filepath.Join(dir, ".mean.npy.steps-*"))
	require.NoError(t, err)
	assert.Empty(t, left)

	// centered_clipping, two passes from the first client's update as the center: the
	// engine's bits, and no scratch left.
	code, stderr = command(t, append([]string{"aggregate", "--strategy", "centered_clipping", "--centered-clipping-radius", "30",
		"--centered-clipping-iterations", "2", "--center", paths[0], "--dim", "300", "--out", out}, paths...)...)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, aggregate.CenteredClipping(want, xs, aggregate.CenteredClippingOptions{Radius: 30, Iterations: 2, Center: xs[0]}))
	assert.Equal(t, want, readNpy(t, out))
	left, err = filepath.Glob(filepath.Join(dir, ".mean.npy.steps-*"))
	require.NoError(t, err)
	assert.Empty(t, left)

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"aggregate", "--dim", "300", "--seed", "1", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "only dp_mean draws noise"},
		{[]string{"aggregate", "--dim", "301", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "want a 1-D <f4 array of 301 values"},
		{[]string{"aggregate", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 3, "--dim is required"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "centered_clipping", "--centered-clipping-radius", "1", "--center", paths[0] + ".none", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, ".none"},
		{[]string{"aggregate", "--dim", "300", "--center", paths[1], "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "only centered_clipping starts from one"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "geometric_median", "--geometric-median-tolerance", "-1", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 3, "tolerance"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "median", "--trim-ratio", "0.1", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "--trim-ratio does not apply to strategy median"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "trimmed_mean", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 3, "trim_ratio"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "median", "--selected-out", filepath.Join(dir, "s.json"), "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "--selected-out does not apply"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "weighted_mean", "--weights", paths[1], "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "want (1,) of float32/64 or 32/64-bit integers, one weight per update"},
		{[]string{"aggregate", "--dim", "300", "--out", paths[1], paths[0], paths[1]}, 4, "is an input of the round"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "krum", "--byzantine-clients", "1", "--selected-out", filepath.Join(dir, "x.npy"), "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "both name"},
		{[]string{"aggregate", "--dim", "300", "--out", filepath.Join(dir, "x.npy"), filepath.Join(dir, "none*.npy")}, 4, "matches no file"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "krum", "--byzantine-clients", "5", "--out", filepath.Join(dir, "x.npy"), paths[0], paths[1]}, 5, "needs more than 12 updates"},
		{[]string{"aggregate", "--dim", "300", "--nonsense", "--out", filepath.Join(dir, "x.npy")}, 2, "nonsense"},
	} {
		code, stderr := command(t, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		assert.Contains(t, errorLine(t, stderr), c.msg)
		_, err := os.Stat(filepath.Join(dir, "x.npy"))
		assert.True(t, os.IsNotExist(err), "nothing written")
	}
}

// errorLine is the command's last line on stderr, checked to be the platform's JSON error.
func errorLine(t *testing.T, stderr string) string {
	t.Helper()
	last := strings.TrimSpace(stderr)
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	assert.True(t, strings.HasPrefix(last, `{"error":`), last)
	return last
}

func readNpy(t *testing.T, path string) []float32 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []float32
	require.NoError(t, npyio.Read(f, &got))
	return got
}

// config is a Config of the strategy with key, value pairs set.
func config(t *testing.T, strategy string, kv ...string) aggregate.Config {
	t.Helper()
	cfg := aggregate.Config{Strategy: aggregate.Strategy(strategy)}
	for i := 0; i < len(kv); i += 2 {
		require.NoError(t, cfg.Set(kv[i], kv[i+1]))
	}
	return cfg
}
