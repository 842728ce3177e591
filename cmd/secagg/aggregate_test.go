package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

// testRound returns n updates of dimension d near 1, the last f of them far off.
func testRound(n, d, f int) [][]float32 {
	rng := rand.New(rand.NewPCG(3, 4))
	us := make([][]float32, n)
	for i := range us {
		us[i] = make([]float32, d)
		for j := range us[i] {
			us[i][j] = 1 + float32(rng.NormFloat64())*0.1
			if i >= n-f {
				us[i][j] = -50
			}
		}
	}
	return us
}

// saveClients writes each update as its own (d,) float32 file.
func saveClients(t *testing.T, dir string, us [][]float32) []string {
	var paths []string
	for i, u := range us {
		p := filepath.Join(dir, fmt.Sprintf("client%d.npy", i))
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, npyio.Write(f, u))
		require.NoError(t, f.Close())
		paths = append(paths, p)
	}
	return paths
}

// saveRaw writes a .npy file with the given header dictionary and data bytes, for
// the layouts npyio does not write (2-D float32, Fortran order) and for damaged files.
func saveRaw(t *testing.T, path, dict string, data []byte) string {
	hdr := []byte(dict)
	for (10+len(hdr)+1)%64 != 0 {
		hdr = append(hdr, ' ')
	}
	hdr = append(hdr, '\n')
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	b = append(append(b, hdr...), data...)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func loadResult(t *testing.T, path string) []float32 {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []float32
	require.NoError(t, npyio.Read(f, &got))
	return got
}

// Every strategy, from per-client files and from one (N, d) file, writes what
// aggregate.Aggregate computes, bit for bit.
func TestAggregateCommand(t *testing.T) {
	const n, d, f = 12, 1000, 2
	us := testRound(n, d, f)
	dir := t.TempDir()
	clients := saveClients(t, dir, us)
	var flat []float32
	for _, u := range us {
		flat = append(flat, u...)
	}
	block := saveRaw(t, filepath.Join(dir, "round.npy"),
		fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, d), float32Bytes(flat))
	weights := make([]float32, n)
	for i := range weights {
		weights[i] = float32(i + 1)
	}
	wPath := filepath.Join(dir, "w.npy")
	wf, err := os.Create(wPath)
	require.NoError(t, err)
	require.NoError(t, npyio.Write(wf, weights))
	require.NoError(t, wf.Close())
	w64 := make([]float64, n)
	for i, v := range weights {
		w64[i] = float64(v)
	}

	cases := []struct {
		flags   []string
		cfg     aggregate.Config
		weights []float64
	}{
		{[]string{"--strategy", "mean"}, aggregate.Config{Strategy: "mean"}, nil},
		{[]string{"--strategy", "weighted_mean", "--weights", wPath}, aggregate.Config{Strategy: "weighted_mean"}, w64},
		{[]string{"--strategy", "trimmed_mean", "--trim-ratio", "0.2"}, aggregate.Config{Strategy: "trimmed_mean", TrimRatio: 0.2}, nil},
		{[]string{"--strategy", "median"}, aggregate.Config{Strategy: "median"}, nil},
		{[]string{"--strategy", "krum", "--byzantine-clients", "2", "--multi-krum-m", "3"}, aggregate.Config{Strategy: "krum", ByzantineClients: 2, MultiKrumM: 3}, nil},
		{[]string{"--strategy", "bulyan", "--byzantine-clients", "2"}, aggregate.Config{Strategy: "bulyan", ByzantineClients: 2}, nil},
		{[]string{"--strategy", "geometric_median", "--geometric-median-max-iterations", "5"}, aggregate.Config{Strategy: "geometric_median", GeoMaxIterations: 5}, nil},
		{[]string{"--strategy", "norm_bounded_mean", "--clip-norm", "3"}, aggregate.Config{Strategy: "norm_bounded_mean", ClipNorm: 3}, nil},
		{[]string{"--strategy", "centered_clipping", "--centered-clipping-radius", "2", "--centered-clipping-iterations", "3"},
			aggregate.Config{Strategy: "centered_clipping", CenteredClippingRadius: 2, CenteredClippingIterations: 3}, nil},
		{[]string{"--strategy", "dp_mean", "--clip-norm", "10", "--noise-multiplier", "1.1", "--seed", "42"},
			aggregate.Config{Strategy: "dp_mean", ClipNorm: 10, NoiseMultiplier: 1.1}, nil},
	}
	for _, tc := range cases {
		want := make([]float32, d)
		_, err := aggregate.Aggregate(want, us, tc.weights, tc.cfg, dp.InsecureSeededSource(42))
		require.NoError(t, err)
		for _, inputs := range [][]string{clients, {block}} {
			out := filepath.Join(t.TempDir(), "result.npy")
			args := append(append([]string{"aggregate"}, tc.flags...), "--out", out)
			code, stdout, errs := runCmd(append(args, inputs...)...)
			require.Equal(t, 0, code, "%v: %s", tc.flags, errs)
			assert.Contains(t, stdout, string(tc.cfg.Strategy)+" over 12 updates of dimension 1000")
			got := loadResult(t, out)
			require.Len(t, got, d)
			for j := range want {
				require.Equal(t, math.Float32bits(want[j]), math.Float32bits(got[j]), "%v [%d]", tc.flags, j)
			}
		}
	}
}

// Flags after the files, float64 and Fortran-order input, and the JSON summary.
func TestAggregateCommandLayouts(t *testing.T) {
	dir := t.TempDir()
	m := mat.NewDense(3, 2, []float64{1, 10, 2, 20, 6, 60})
	p := filepath.Join(dir, "f8.npy")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, npyio.Write(f, m))
	require.NoError(t, f.Close())
	out := filepath.Join(dir, "r.npy")
	code, stdout, errs := runCmd("aggregate", p, "--out", out, "--strategy", "median", "--json")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, []float32{2, 20}, loadResult(t, out))
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, "median", res["strategy"])
	assert.Equal(t, 3.0, res["clients"])
	assert.Equal(t, 2.0, res["dimension"])

	// The same matrix stored column-major, as np.save writes a transposed view.
	fortran := saveRaw(t, filepath.Join(dir, "fortran.npy"),
		"{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", float32Bytes([]float32{1, 2, 6, 10, 20, 60}))
	code, _, errs = runCmd("aggregate", "--strategy", "mean", "--out", out, fortran)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, []float32{3, 30}, loadResult(t, out))
}

// Each bad input is the platform's JSON error with its exit status, and leaves no output
// behind: neither a new file nor a temporary one, and an existing result untouched.
func TestAggregateCommandRejects(t *testing.T) {
	dir := t.TempDir()
	good := saveClients(t, dir, testRound(5, 4, 1))
	raw := func(name, dict string, data []byte) string { return saveRaw(t, filepath.Join(dir, name), dict, data) }
	nan := raw("nan.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
		float32Bytes([]float32{1, 2, 3, float32(math.NaN())}))
	ints := raw("ints.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", make([]byte, 16))
	cube := raw("cube.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), }", make([]byte, 8))
	short := raw("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", make([]byte, 12))
	long := raw("long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", make([]byte, 20))
	huge := raw("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", nil)
	empty := raw("empty.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", nil)
	other := saveClients(t, t.TempDir(), [][]float32{{1, 2, 3}})[0]
	notNpy := filepath.Join(dir, "text.npy")
	require.NoError(t, os.WriteFile(notNpy, []byte("hello, world"), 0o644))
	out := filepath.Join(dir, "result.npy")
	require.NoError(t, os.WriteFile(out, []byte("previous"), 0o644))

	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--strategy", "median", nan}, 3, "validation_error"},
		{[]string{"--strategy", "median", ints}, 4, "bad_request"},
		{[]string{"--strategy", "median", cube}, 4, "bad_request"},
		{[]string{"--strategy", "median", short}, 4, "bad_request"},
		{[]string{"--strategy", "median", long}, 4, "bad_request"},
		{[]string{"--strategy", "median", huge}, 7, "payload_too_large"},
		{[]string{"--strategy", "median", empty}, 4, "bad_request"},
		{[]string{"--strategy", "median", notNpy}, 4, "bad_request"},
		{[]string{"--strategy", "median", filepath.Join(dir, "missing.npy")}, 4, "bad_request"},
		{append([]string{"--strategy", "mean", other}, good...), 4, "bad_request"},
		{[]string{"--strategy", "mean"}, 4, "bad_request"},
		{append([]string{"--strategy", "fedprox"}, good...), 3, "validation_error"},
		{append([]string{"--strategy", "mean", "--clip-norm", "1"}, good...), 4, "bad_request"},
		{append([]string{"--strategy", "trimmed_mean", "--trim-ratio", "0.5"}, good...), 3, "validation_error"},
		{append([]string{"--strategy", "krum", "--byzantine-clients", "2"}, good...), 5, "insufficient_clients"},
		{append([]string{"--strategy", "weighted_mean", "--weights", good[0]}, good...), 4, "bad_request"},
		{append([]string{"--strategy", "dp_mean", "--noise-multiplier", "1"}, good...), 3, "validation_error"},
	}
	for _, tc := range cases {
		code, _, errs := runCmd(append([]string{"aggregate", "--out", out}, tc.args...)...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, errs)
		var wire map[string]any
		require.NoError(t, json.Unmarshal([]byte(errs), &wire), "stderr is one JSON error: %q", errs)
		assert.Equal(t, tc.err, wire["error"], "%v", tc.args)
		prev, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, "previous", string(prev), "%v overwrote the output", tc.args)
	}
	// An output directory that does not exist: an error, and nothing written anywhere.
	code, _, _ := runCmd(append([]string{"aggregate", "--out", filepath.Join(dir, "no", "r.npy")}, good...)...)
	assert.Equal(t, 4, code)
	code, _, _ = runCmd(append([]string{"aggregate"}, good...)...)
	assert.Equal(t, 4, code, "--out is required")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".tmp-", "a temporary file was left behind")
	}
	code, _, _ = runCmd("aggregate", "-h")
	assert.Equal(t, 0, code)
}

// A --config file gives the settings in the platform's JSON; flags override it; an
// unknown key or a bad file is a bad_request.
func TestAggregateCommandConfig(t *testing.T) {
	dir := t.TempDir()
	us := testRound(12, 500, 2)
	clients := saveClients(t, dir, us)
	cfgPath := filepath.Join(dir, "round.json")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`{"strategy":"trimmed_mean","trim_ratio":0.25,"min_devices_per_round":3}`), 0o644))
	out := filepath.Join(dir, "r.npy")
	for _, tc := range []struct {
		args  []string
		ratio float64
	}{
		{[]string{"--config", cfgPath}, 0.25},
		{[]string{"--config=" + cfgPath, "--trim-ratio", "0.1"}, 0.1},
	} {
		code, stdout, errs := runCmd(append(append([]string{"aggregate", "--out", out}, tc.args...), clients...)...)
		require.Equal(t, 0, code, errs)
		assert.Contains(t, stdout, "trimmed_mean over 12 updates")
		want := make([]float32, 500)
		_, err := aggregate.Aggregate(want, us, nil, aggregate.Config{Strategy: "trimmed_mean", TrimRatio: tc.ratio}, nil)
		require.NoError(t, err)
		assert.Equal(t, want, loadResult(t, out), "%v", tc.args)
	}
	bad := filepath.Join(dir, "bad.json")
	for body, code := range map[string]int{
		`{"strategy":"krum","byzantin_clients":2}`: 4,
		`[1, 2]`: 4,
		`{"strategy":"krum","byzantine_clients":2,"min_clients":20}`: 5,
	} {
		require.NoError(t, os.WriteFile(bad, []byte(body), 0o644))
		got, _, errs := runCmd(append([]string{"aggregate", "--out", out, "--config", bad}, clients...)...)
		assert.Equal(t, code, got, "%s: %s", body, errs)
	}
	got, _, _ := runCmd(append([]string{"aggregate", "--out", out, "--config", filepath.Join(dir, "none.json")}, clients...)...)
	assert.Equal(t, 4, got)
}

// Weights are read as float64 and integers are weights too: float64 weights are not
// rounded to float32 (they changed 29,590 of 100,000 coordinates), Flower's int64
// example counts work, and a finite 1e39 is a weight, not "+Inf".
func TestWeightsAsFloat64(t *testing.T) {
	dir := t.TempDir()
	us := testRound(3, 1000, 0)
	files := saveClients(t, dir, us)
	out := filepath.Join(dir, "r.npy")
	f64 := func(v ...float64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	cases := []struct {
		dict string
		data []byte
		want []float64
	}{
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f64(0.25, 0.4, 0.35), []float64{0.25, 0.4, 0.35}},
		{"{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", f64(math.Float64frombits(50), math.Float64frombits(20), math.Float64frombits(30)), []float64{50, 20, 30}},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f64(1e39, 1, 1), []float64{1e39, 1, 1}},
	}
	for _, c := range cases {
		w := saveRaw(t, filepath.Join(dir, "w.npy"), c.dict, c.data)
		code, _, errs := runCmd(append([]string{"aggregate", "--strategy", "weighted_mean", "--weights", w, "--out", out}, files...)...)
		require.Equal(t, 0, code, errs)
		got, err := readNpy(out)
		require.NoError(t, err)
		want := make([]float32, 1000)
		require.NoError(t, aggregate.WeightedMean(want, us, c.want))
		assert.Equal(t, want, got.data, c.dict)
	}
	// A finite float64 update beyond float32 says so instead of "+Inf".
	big := saveRaw(t, filepath.Join(dir, "big.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f64(1, 1e300))
	code, _, errs := runCmd("aggregate", "--out", out, big, big)
	assert.Equal(t, 3, code)
	assert.Contains(t, errs, "1e+300, which does not fit in float32")
}
