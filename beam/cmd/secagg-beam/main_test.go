package main

import (
	"bytes"
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
		os.Exit(run(os.Args[1:], os.Stderr))
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
	f, err := os.Open(out)
	require.NoError(t, err)
	var got []float32
	require.NoError(t, npyio.Read(f, &got))
	f.Close()
	want := make([]float32, 300)
	require.NoError(t, aggregate.Mean(want, xs))
	assert.Equal(t, want, got)

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"aggregate", "--dim", "301", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 4, "want a 1-D <f4 array of 301 values"},
		{[]string{"aggregate", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 3, "--dim is required"},
		{[]string{"aggregate", "--dim", "300", "--strategy", "median", "--out", filepath.Join(dir, "x.npy"), paths[0]}, 3, "strategy must be mean"},
		{[]string{"aggregate", "--dim", "300", "--nonsense", "--out", filepath.Join(dir, "x.npy")}, 2, "nonsense"},
	} {
		code, stderr := command(t, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		last := strings.TrimSpace(stderr)
		if i := strings.LastIndex(last, "\n"); i >= 0 {
			last = last[i+1:]
		}
		assert.True(t, strings.HasPrefix(last, `{"error":`), last)
		assert.Contains(t, last, c.msg)
		_, err := os.Stat(filepath.Join(dir, "x.npy"))
		assert.True(t, os.IsNotExist(err), "nothing written")
	}
}
