package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, body string) string {
	path := filepath.Join(t.TempDir(), "round.json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestDemoSmallRound(t *testing.T) {
	code, out, errs := runCmd("demo", "-config", writeConfig(t, `{"clients":20,"dimension":5000,"byzantine_clients":4,"seed":1,"repeats":1}`))
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "round: 20 clients x 5000 float32")
	assert.Empty(t, errs, "no progress bar unless stderr is a terminal")
	table, secureRound, _ := strings.Cut(out, "\nsecure round")
	dist := map[string]float64{}
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if d, err := strconv.ParseFloat(f[len(f)-3], 64); err == nil {
			dist[strings.Join(f[:len(f)-3], " ")] = d
		}
	}
	require.Len(t, dist, 11, out)
	// The secure round: 100 clients, a tenth dropping (3 before keys, 3 before shares, 2
	// before masking, 2 before unmask, who are still summed), every stage timed, and the
	// unmasked mean within the quantisation error of the plaintext one.
	assert.Contains(t, secureRound, "100 clients x 5000, weighted): 92 summed, 2 dropped after share_keys, 6 excluded before")
	for _, stage := range []string{"setup", "share_keys", "collect_masked_vectors", "unmask"} {
		assert.Regexp(t, `\n  `+stage+` +[0-9.]+ ms\n`, secureRound)
	}
	m := regexp.MustCompile(`plaintext weighted mean of those clients: ([0-9.e+-]+)`).FindStringSubmatch(secureRound)
	require.Len(t, m, 2, secureRound)
	q, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	assert.Less(t, q, 1e-3, "quantisation error of the secure mean")
	// The attack drags the undefended means far off; every robust rule stays near the
	// honest mean.
	assert.Greater(t, dist["mean"], 10.0)
	for _, robust := range []string{"trimmed_mean r=0.2", "median", "multi_krum", "bulyan f=4", "geometric_median", "centered_clipping"} {
		var got float64
		for name, d := range dist {
			if strings.HasPrefix(name, robust) {
				got = d
			}
		}
		assert.Less(t, got, 0.5, robust)
	}
}

func TestDemoSkipsWhatCannotRun(t *testing.T) {
	code, out, errs := runCmd("demo", "-config", writeConfig(t, `{"clients":5,"dimension":100,"byzantine_clients":2,"seed":1,"repeats":1}`))
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "bulyan f=2                         skipped: insufficient_clients")
	assert.Contains(t, out, "median")
}

// Two billion one-float clients fit 8 GiB of floats but not of bookkeeping: refused,
// where the demo used to run out of memory.
func TestDemoBudgetCountsEachClient(t *testing.T) {
	code, _, errs := runCmd("demo", "-config", writeConfig(t, `{"clients":2000000000,"dimension":1,"byzantine_clients":0,"seed":1,"repeats":1}`))
	assert.Equal(t, 7, code)
	assert.Contains(t, errs, "payload_too_large")
}

func TestEmbeddedDefaultIsValid(t *testing.T) {
	cfg, err := loadConfig("")
	require.NoError(t, err)
	assert.Equal(t, 100, cfg.Clients)
	assert.Equal(t, 1_000_000, cfg.Dimension)
	assert.Equal(t, 10, cfg.Byzantine)
}

func TestErrorsAreJSONWithExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"frobnicate"}, 4, "bad_request"},
		{[]string{"demo", "-config", "/nonexistent/round.json"}, 4, "bad_request"},
		{[]string{"demo", "-config", writeConfig(t, `{"clients":0,"dimension":10,"repeats":1}`)}, 3, "validation_error"},
		{[]string{"demo", "-config", writeConfig(t, `{"clients":2,"dimension":10,"repeats":1,"colour":1}`)}, 4, "bad_request"},
		{[]string{"demo", "-config", writeConfig(t, `{"clients":100000,"dimension":100000000,"repeats":1}`)}, 7, "payload_too_large"},
	}
	for _, tc := range cases {
		code, _, errs := runCmd(tc.args...)
		assert.Equal(t, tc.code, code, "%v", tc.args)
		var wire map[string]any
		require.NoError(t, json.Unmarshal([]byte(errs), &wire), "stderr is one JSON error: %q", errs)
		assert.Equal(t, tc.err, wire["error"], "%v", tc.args)
		assert.Equal(t, []string{"error", "message", "status_code"}, keys(errs))
	}
	code, _, _ := runCmd("demo", "-no-such-flag")
	assert.Equal(t, 2, code)
	code, _, _ = runCmd("demo", "-h")
	assert.Equal(t, 0, code)
}

func TestCPU(t *testing.T) {
	code, out, _ := runCmd("cpu")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "simd path:")
	assert.Contains(t, out, "why:")
}

// keys returns the keys of a JSON object in the order they appear.
func keys(obj string) []string {
	dec := json.NewDecoder(bytes.NewReader([]byte(obj)))
	var ks []string
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		ks = append(ks, k.(string))
		var v any
		dec.Decode(&v)
	}
	return ks
}

func TestPrivacy(t *testing.T) {
	code, out, errs := runCmd("privacy", "--noise-multiplier", "1.1", "--sample-rate", "0.0042666666666666667",
		"--rounds", "14062", "--delta", "1e-5", "--conversion", "classic")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "epsilon 3.0083")

	code, out, _ = runCmd("privacy", "--noise-multiplier", "1.1", "--sample-rate", "0.0042666666666666667",
		"--rounds", "14062", "--json")
	require.Equal(t, 0, code)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.InDelta(t, 2.5966, got["epsilon"], 1e-4)
	assert.Equal(t, "improved", got["conversion"])

	code, out, _ = runCmd("privacy", "--target-epsilon", "8", "--sample-rate", "0.04", "--rounds", "2000", "--json")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.InDelta(t, 1.3562, got["noise_multiplier"], 1e-3)

	code, _, errs = runCmd("privacy", "--noise-multiplier", "1", "--sample-rate", "2", "--rounds", "10")
	assert.Equal(t, 3, code)
	assert.Contains(t, errs, `"error":"validation_error"`)

	// Small ε: the default orders reach far enough (dp_accounting's stop at 1024: 3.70);
	// orders that stop at 63 cannot, and say so in the noise they need.
	code, out, _ = runCmd("privacy", "--target-epsilon", "0.1", "--sample-rate", "0.01", "--rounds", "1", "--json")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.InDelta(t, 2.93, got["noise_multiplier"], 0.01)
	assert.Equal(t, 80.0, got["order"])
	code, out, _ = runCmd("privacy", "--target-epsilon", "0.1", "--sample-rate", "0.01", "--rounds", "1", "--json",
		"--orders", "2, 4, 8, 16, 32, 63")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Greater(t, got["noise_multiplier"], 500.0)
	// Bad values are errors, not "epsilon +Inf, order NaN" with exit 0 or an internal_error.
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--target-epsilon", "-3", "--sample-rate", "0.01", "--rounds", "10"}, 3},
		{[]string{"--target-epsilon", "nan", "--sample-rate", "0.01", "--rounds", "10"}, 3},
		{[]string{"--noise-multiplier", "0", "--sample-rate", "0.01", "--rounds", "10", "--json"}, 3},
		{[]string{"--noise-multiplier", "1", "--sample-rate", "0.01"}, 3},
		{[]string{"--noise-multiplier", "1", "--target-epsilon", "1", "--sample-rate", "0.01", "--rounds", "3"}, 4},
	} {
		code, out, errs := runCmd(append([]string{"privacy"}, c.args...)...)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.Contains(t, errs, `"status_code"`, "%v", c.args)
	}
	for _, bad := range []string{"1.5,x", "0.5", "2,,3"} {
		code, _, errs = runCmd("privacy", "--noise-multiplier", "3", "--sample-rate", "0.01", "--rounds", "1", "--orders", bad)
		assert.Equal(t, 3, code, bad)
		assert.Contains(t, errs, `"message":"orders[`, bad)
	}
}

func TestCPUListsEveryPrimitive(t *testing.T) {
	code, out, errs := runCmd("cpu")
	require.Equal(t, 0, code, errs)
	for _, p := range []string{"features:", "addRows ", "sqDist ", "boundsInsert ", "keptSum "} {
		assert.Contains(t, out, p)
	}
	code, _, _ = runCmd("cpu", "-h")
	assert.Equal(t, 0, code)
}

// No setting is silently ignored at the shell: each case as a user typed it, with the
// exit status and the error's class and field.
func TestCommandLineSettings(t *testing.T) {
	dir := t.TempDir()
	files := saveClients(t, dir, testRound(6, 4, 0))
	out := filepath.Join(dir, "r.npy")
	run := func(args ...string) (int, map[string]any) {
		code, _, errs := runCmd(append([]string{"aggregate", "--out", out}, append(args, files...)...)...)
		var wire map[string]any
		if code != 0 {
			require.NoError(t, json.Unmarshal([]byte(errs), &wire), "one JSON line: %q", errs)
		}
		return code, wire
	}
	cfgFile := func(js string) string {
		p := filepath.Join(dir, fmt.Sprintf("cfg%d.json", len(js)))
		require.NoError(t, os.WriteFile(p, []byte(js), 0o644))
		return p
	}
	for _, c := range []struct {
		args []string
		code int
		err  string
		msg  string
	}{
		{[]string{"--strategy", "trimmed_mean"}, 3, "validation_error", "needs trim_ratio"},
		{[]string{"--strategy", "krum"}, 3, "validation_error", "needs byzantine_clients"},
		{[]string{"--strategy", "bulyan"}, 3, "validation_error", "needs byzantine_clients"},
		{[]string{"--strategy", "dp_mean", "--clip-norm", "1"}, 3, "validation_error", "needs noise_multiplier"},
		{[]string{"--strategy", "mean", "--min-clients", "0"}, 3, "validation_error", "min_devices_per_round must be >= 1"},
		{[]string{"--strategy", "mean", "--min-devices-per-round", "-1"}, 3, "validation_error", "min_devices_per_round"},
		{[]string{"--strategy", "krum", "--trim-ratio", "0.1", "--byzantine-clients", "1"}, 4, "bad_request", "--trim-ratio does not apply to strategy krum"},
		{[]string{"--config", cfgFile(`{"strategy":"krum","byzantine_clients":1,"trim_ratio":0.1}`)}, 4, "bad_request", "trim_ratio does not apply to strategy krum"},
		{[]string{"--config", cfgFile(`{"strategy":"trimmed_mean","trim_raito":0.1}`)}, 4, "bad_request", `unknown setting "trim_raito"`},
		{[]string{"--strategy", "trimmed_mean", "--trim-ratio", "abc"}, 2, "bad_request", "trim_ratio must be a number"},
		{[]string{"--strategy", "trimmed_mean", "--trim-raito", "0.1"}, 2, "bad_request", "-trim-raito"},
		{[]string{"--strategy", "mean", "--seed", "3"}, 4, "bad_request", "--seed does not apply"},
		{[]string{"--strategy", "dp_mean", "--clip-norm", "1", "--noise-multiplier", "1", "--epsilon", "1"}, 2, "bad_request", "-epsilon"},
	} {
		code, wire := run(c.args...)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Equal(t, c.err, wire["error"], "%v", c.args)
		assert.Contains(t, wire["message"], c.msg, "%v", c.args)
		_, err := os.Stat(out)
		assert.True(t, os.IsNotExist(err), "no output after %v", c.args)
	}
	// An explicit 0 is a setting: Krum with f = 0, a trimmed mean trimming nothing.
	code, _ := run("--strategy", "krum", "--byzantine-clients", "0")
	assert.Equal(t, 0, code)
	code, _ = run("--strategy", "trimmed_mean", "--trim-ratio", "0")
	assert.Equal(t, 0, code)

	// Help goes to stdout and lists every strategy of the engine's table.
	code, stdout, _ := runCmd("aggregate", "-h")
	assert.Equal(t, 0, code)
	for _, s := range aggregate.Strategies() {
		assert.Contains(t, stdout, string(s.Name))
	}
	assert.Contains(t, stdout, "--geometric-median-max-iterations")
	// Flags after a positional argument are not dropped: privacy takes none.
	code, _, errs := runCmd("privacy", "extra", "--noise-multiplier", "1", "--sample-rate", "0.1", "--rounds", "1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `privacy takes no arguments`)
}

// Messages keep '<' and '>' as they are on the terminal (numpy's dtype strings).
func TestErrorsPrintPlainly(t *testing.T) {
	var b strings.Builder
	code := report(secagg.Errorf(secagg.CodeBadRequest, "updates", "x.npy holds dtype <i4"), &b)
	assert.Equal(t, 4, code)
	assert.Equal(t, `{"error":"bad_request","message":"x.npy holds dtype <i4","status_code":400}`+"\n", b.String())
}

// TestPrivacyDistributed: --mechanism skellam calibrates gamma and each client's noise to
// a target ε and prints the ε of given ones, agreeing with itself both ways; settings of
// the other mechanism are bad requests naming them, missing ones validation errors.
func TestPrivacyDistributed(t *testing.T) {
	common := []string{"privacy", "--mechanism", "skellam", "--clip-norm", "1", "--bits", "16", "--clients", "100", "--dim", "65536", "--rounds", "1"}
	code, out, errs := runCmd(append(common, "--target-epsilon", "1", "--json")...)
	require.Equal(t, 0, code, errs)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.InDelta(t, 1.0, got["epsilon"], 1e-5)
	assert.InDelta(t, 3.0, got["wrap_sigmas"], 0.01)
	gamma, stddev := got["gamma"].(float64), got["stddev"].(float64)
	code, out, errs = runCmd(append(common, "--gamma", fmt.Sprint(gamma), "--stddev", fmt.Sprint(stddev*2), "--json")...)
	require.Equal(t, 0, code, errs)
	var twice map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &twice))
	assert.Less(t, twice["epsilon"], 0.55, "twice the noise, about half the ε")
	code, out, errs = runCmd(append(common, "--gamma", fmt.Sprint(gamma), "--stddev", fmt.Sprint(stddev), "--sample-rate", "0.1", "--json")...)
	require.Equal(t, 0, code, errs)
	var sampled map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sampled))
	assert.Less(t, sampled["epsilon"], 0.5, "a tenth of the clients sampled: amplified")
	for _, c := range []struct {
		args  []string
		code  int
		field string
	}{
		{append(common, "--noise-multiplier", "1"), 4, "--noise-multiplier does not apply"},
		{append(common, "--orders", "2,3", "--target-epsilon", "1"), 4, "--orders does not apply"},
		{append(common, "--target-epsilon", "1", "--gamma", "0.01"), 4, "not both"},
		{common, 3, "give --gamma and --stddev"},
		{[]string{"privacy", "--mechanism", "skellam", "--bits", "16", "--clients", "100", "--dim", "10", "--rounds", "1", "--target-epsilon", "1"}, 3, "--clip-norm is required"},
		{[]string{"privacy", "--noise-multiplier", "1", "--sample-rate", "1", "--rounds", "1", "--bits", "16"}, 4, "--bits applies to the distributed"},
		{[]string{"privacy", "--mechanism", "laplace", "--rounds", "1"}, 3, "mechanism must be"},
	} {
		code, out, errs := runCmd(c.args...)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.Contains(t, errs, c.field, "%v", c.args)
	}
}
