package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"unsafe"

	"github.com/octomil/secagg"
)

// checkOut refuses an output path that the command must not replace: anything that
// exists and is not a regular file (a device such as /dev/null, a FIFO, a symlink, a
// directory), a regular file the user cannot write, and any of the inputs (by inode, so
// another name for an input counts). It runs before any input is read.
func checkOut(path string, inputs []string) error {
	st, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot check --out %s: %v", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "--out %s exists and is not a regular file (%s); it is not replaced", path, st.Mode().Type())
	}
	if err := syscall.Access(path, 2 /* W_OK */); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "--out %s is not writable: %v", path, err)
	}
	for _, in := range inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return secagg.Errorf(secagg.CodeBadRequest, "out", "--out %s is the input %s; the result would overwrite it", path, in)
		}
	}
	return nil
}

// npyHeader is the .npy version 1.0 header of a C-order array of dtype descr (such as
// '<f4') and the given shape, padded with spaces and a newline to a multiple of 64
// bytes, as numpy writes it.
func npyHeader(descr string, shape ...int) []byte {
	dims := ""
	for _, d := range shape {
		dims += fmt.Sprintf("%d, ", d)
	}
	if len(shape) > 1 {
		dims = dims[:len(dims)-2] // numpy writes (3,) but (2, 3)
	} else {
		dims = dims[:len(dims)-1]
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims)
	total := (10 + len(dict) + 1 + 63) / 64 * 64
	h := make([]byte, 0, total)
	h = append(h, "\x93NUMPY\x01\x00"...)
	h = append(h, byte(total-10), byte((total-10)>>8))
	h = append(h, dict...)
	for len(h) < total-1 {
		h = append(h, ' ')
	}
	return append(h, '\n')
}

// writeNpyAtomic writes v as a one-dimensional float32 .npy file at path: the header,
// then the data in one write (numpy's own layout, as fast as np.save), by writeAtomic.
func writeNpyAtomic(path string, v []float32) error {
	data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	if !littleEndianHost {
		data = make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
	}
	return writeAtomic(path, npyHeader("<f4", len(v)), data)
}

// writeAtomic writes parts, one after the other, into a temporary file beside path that
// is renamed over it at the end, so a failure, or SIGINT or SIGTERM, leaves no file
// behind and never a half-written one under path. The file gets the mode np.save would
// give it: an existing file's, else 0666 less the umask.
func writeAtomic(path string, parts ...[]byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot write beside %s: %v", path, unwrapPath(err))
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			os.Remove(tmp.Name())
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(signals)
		close(done)
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	mode := os.FileMode(0o666) &^ umask()
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err = tmp.Chmod(mode); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot write %s: %v", path, unwrapPath(err))
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	// Reserve the file's blocks first, as numpy's tofile does: the write then only
	// copies (a third faster here). Where the file system cannot, it is skipped.
	_ = syscall.Fallocate(int(tmp.Fd()), 1 /* FALLOC_FL_KEEP_SIZE */, 0, int64(size))
	if err = writeAll(tmp, parts...); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot write %s: %v", path, unwrapPath(err))
	}
	if err = tmp.Close(); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot write %s: %v", path, unwrapPath(err))
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "out", "cannot write %s: %v", path, unwrapPath(err))
	}
	return nil
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// umask reads the process's umask (setting it back at once).
func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
