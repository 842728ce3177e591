package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/secure"
)

// TestUnmask: the command unmasks a secure round whose masked vectors a coordinator
// stored, one file per active client, to Finalize's mean bit for bit; a file missing, a
// --vectors without {client} and an --out naming an input are the platform's JSON
// errors, and write nothing.
func TestUnmask(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	n, d := 10, 900
	updates := make([][]float32, n)
	for i := range updates {
		updates[i] = make([]float32, d)
		for j := range updates[i] {
			updates[i][j] = float32(r.NormFloat64())
		}
	}
	drops := make([]secure.Stage, n)
	drops[4] = secure.BeforeMasking
	cfg := secure.Config{Shares: 7}
	want := make([]float32, d)
	_, err := secure.Simulate(want, cfg, updates, nil, drops, 3)
	require.NoError(t, err)
	held, u, _, err := secure.SimulateHeld(cfg, updates, nil, drops, 3)
	require.NoError(t, err)
	for id, mv := range held {
		b, err := mv.MarshalBinary()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("masked-%d.bin", id)), b, 0o644))
	}
	plan := filepath.Join(dir, "round.unmasking")
	b, err := u.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(plan, b, 0o600))
	vectors := filepath.Join(dir, "masked-{client}.bin")
	out := filepath.Join(dir, "mean.npy")
	code, stderr := command(t, "unmask", "--unmasking", plan, "--vectors", vectors, "--block", "100", "--out", out)
	require.Equal(t, 0, code, stderr)
	got := readNpy(t, out)
	require.Len(t, got, d)
	for j := range want {
		require.Equal(t, math.Float32bits(want[j]), math.Float32bits(got[j]), "value %d", j)
	}

	x := filepath.Join(dir, "x.npy")
	require.NoError(t, os.Remove(filepath.Join(dir, "masked-3.bin")))
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"unmask", "--unmasking", plan, "--vectors", vectors, "--out", x}, 4, "client 3's " + filepath.Join(dir, "masked-3.bin")},
		{[]string{"unmask", "--unmasking", plan, "--vectors", filepath.Join(dir, "masked.bin"), "--out", x}, 4, "must hold {client} once"},
		{[]string{"unmask", "--unmasking", plan, "--vectors", vectors, "--out", plan}, 4, "is an input of the round"},
		{[]string{"unmask", "--unmasking", filepath.Join(dir, "masked-1.bin"), "--vectors", vectors, "--out", x}, 4, "not an Unmasking"},
		{[]string{"unmask", "--vectors", vectors, "--out", x}, 3, "--unmasking is required"},
		{[]string{"unmask", "--unmasking", plan, "--vectors", vectors, "--out", x, "extra.bin"}, 4, "takes no arguments"},
		{[]string{"unmask", "--unmasking", plan, "--vectors", vectors, "--out", x, "--dim", "3"}, 2, "dim"},
	} {
		code, stderr := command(t, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		assert.Contains(t, errorLine(t, stderr), c.msg)
		_, err := os.Stat(x)
		assert.True(t, os.IsNotExist(err), "nothing written")
	}
}
