package main

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --out replaces only a regular file the user named, never an input, a device, a FIFO,
// a symlink or a directory; every such file is left as it was. The special files are
// made in a temporary directory.
func TestOutRefusesWhatItMustNotReplace(t *testing.T) {
	dir := t.TempDir()
	files := saveClients(t, dir, testRound(4, 3, 0))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	link := filepath.Join(dir, "link.npy")
	require.NoError(t, os.Symlink(files[1], link))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	hard := filepath.Join(dir, "hard.npy")
	require.NoError(t, os.Link(files[2], hard))
	for _, out := range []string{fifo, link, sub, files[0], hard} {
		before, err := os.Lstat(out)
		require.NoError(t, err)
		code, _, errs := runCmd(append([]string{"aggregate", "--out", out}, files...)...)
		assert.Equal(t, 4, code, out)
		assert.Contains(t, errs, `"error":"bad_request"`, out)
		after, err := os.Lstat(out)
		require.NoError(t, err)
		assert.Equal(t, before.Mode(), after.Mode(), "%s keeps its type and mode", out)
		assert.Equal(t, before.ModTime(), after.ModTime(), "%s untouched", out)
	}
	// A new file gets 0666 less the umask, as np.save's; an existing one keeps its mode.
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	fresh := filepath.Join(dir, "fresh.npy")
	code, _, errs := runCmd(append([]string{"aggregate", "--out", fresh}, files...)...)
	require.Equal(t, 0, code, errs)
	st, err := os.Stat(fresh)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	require.NoError(t, os.Chmod(fresh, 0o604))
	code, _, errs = runCmd(append([]string{"aggregate", "--out", fresh}, files...)...)
	require.Equal(t, 0, code, errs)
	st, err = os.Stat(fresh)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o604), st.Mode().Perm())
	got, err := readNpy(fresh)
	require.NoError(t, err)
	assert.Equal(t, []int{3}, got.shape)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*"))
	assert.Empty(t, leftovers, "no temporary file left")
}

// A header whose shape overflows int64 is refused, not a panic; a pipe that declares
// 64 GiB and sends 64 bytes fails as truncated without allocating what it declared.
func TestNpyHeadersThatLie(t *testing.T) {
	dir := t.TempDir()
	wrap := filepath.Join(dir, "wrap.npy")
	require.NoError(t, os.WriteFile(wrap, rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", nil), 0o600))
	_, err := readNpy(wrap)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over the")

	fifo := filepath.Join(dir, "pipe.npy")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (131072, 131072), }", make([]byte, 64)))
		w.Close()
	}()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = readNpy(fifo)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "truncated")
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<30), "allocated what it received, not the 64 GiB declared")
}

// BenchmarkWriteNpy writes a d = 3·10^7 result, the case that took 6.7 s through
// npyio's per-element writer; compare with np.save of the same array to a new path.
func BenchmarkWriteNpy(b *testing.B) {
	v := make([]float32, 30_000_000)
	for i := range v {
		v[i] = float32(i)
	}
	path := filepath.Join(b.TempDir(), "r.npy")
	b.SetBytes(int64(4 * len(v)))
	for b.Loop() {
		b.StopTimer()
		os.Remove(path) // a new file each time, as np.save to a new path; replacing one adds its unlink
		b.StartTimer()
		if err := writeNpyAtomic(path, v); err != nil {
			b.Fatal(err)
		}
	}
}
