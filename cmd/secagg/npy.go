package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unsafe"

	"codeberg.org/sbinet/npyio"

	"github.com/octomil/secagg"
)

// maxElements bounds what one .npy file may declare (2^34 float32, 64 GiB), so a
// corrupt or hostile header cannot make the command allocate without limit.
const maxElements = 1 << 34

// npyArray is a float32 array read from a .npy file: its shape (one or two dimensions)
// and its elements in C order.
type npyArray struct {
	shape []int
	data  []float32
}

// readNpy reads a .npy file of float32 ('<f4', read in bulk) or float64 ('<f8', rounded
// to float32 as numpy's astype does), with one or two dimensions, in C or Fortran order. npyio
// parses the header; the data, which npyio reads four bytes at a time, is read here in
// one piece. Anything else is a bad_request naming the file.
func readNpy(path string) (npyArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "cannot open %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	header, err := readHeader(r)
	if err != nil {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s is not a NumPy .npy file: %v", path, err)
	}
	h := header.Descr
	dtype := strings.Trim(h.Type, `'"`)
	if len(h.Shape) != 1 && len(h.Shape) != 2 {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file",
			"%s holds an array of shape %v; want (d,) for one client or (N, d) for a round", path, h.Shape)
	}
	n := int64(1)
	for _, s := range h.Shape {
		if s < 1 {
			return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s has an empty shape %v", path, h.Shape)
		}
		if int64(s) > maxElements/n { // checked before multiplying: (2^32, 2^32) wrapped to 0
			return npyArray{}, secagg.Errorf(secagg.CodePayloadTooLarge, "file",
				"%s declares shape %v, over the %d elements one file may hold", path, h.Shape, int64(maxElements))
		}
		n *= int64(s)
	}
	size := map[string]int64{"<f4": 4, "<f8": 8}[dtype]
	if size == 0 {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file",
			"%s holds dtype %s; want float32 ('<f4') or float64 ('<f8')", path, dtype)
	}
	// The data must be exactly what the header declares. A regular file's size says so
	// before anything is allocated; a pipe's data is read as it comes, so what it may
	// allocate is what it sends, not what its header declares.
	st, err := f.Stat()
	regular := err == nil && st.Mode().IsRegular()
	if regular {
		pos, err := f.Seek(0, io.SeekCurrent)
		if rest := st.Size() - (pos - int64(r.Buffered())); err == nil && rest != n*size {
			return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file",
				"%s holds %d bytes of data, its header declares shape %v of %s (%d bytes)", path, rest, h.Shape, dtype, n*size)
		}
	}
	var src io.Reader = r
	if !regular {
		raw, err := io.ReadAll(io.LimitReader(r, n*size))
		if err != nil {
			return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "cannot read %s: %v", path, unwrapPath(err))
		}
		if int64(len(raw)) != n*size {
			return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s is truncated: its header declares shape %v", path, h.Shape)
		}
		src = io.MultiReader(bytes.NewReader(raw), r)
	}
	a := npyArray{shape: h.Shape, data: make([]float32, n)}
	switch {
	case dtype == "<f4" && littleEndianHost:
		_, err = io.ReadFull(src, unsafe.Slice((*byte)(unsafe.Pointer(&a.data[0])), 4*n))
	case dtype == "<f4":
		err = decode(src, a.data, 4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case dtype == "<f8":
		err = decode(src, a.data, 8, func(b []byte) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(b))) })
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s is truncated: its header declares shape %v", path, h.Shape)
	}
	if err != nil {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "cannot read %s: %v", path, unwrapPath(err))
	}
	if _, err := src.Read(make([]byte, 1)); err != io.EOF {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s has bytes after the %v array its header declares", path, h.Shape)
	}
	if h.Fortran && len(h.Shape) == 2 { // column-major, as np.save writes a transposed array
		a.data = transpose(a.data, h.Shape[1], h.Shape[0])
	}
	return a, nil
}

// transpose returns the rows x cols matrix m, stored row-major, as its transpose.
func transpose(m []float32, rows, cols int) []float32 {
	t := make([]float32, len(m))
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = m[i*cols+j]
		}
	}
	return t
}

// maxHeader bounds the header a file may declare; numpy writes well under 1 KiB.
const maxHeader = 1 << 20

// readHeader parses the .npy header with npyio, after checking that its declared length
// is sane (npyio would allocate whatever a damaged file declares). npyio panics on some
// damaged headers (a slice out of range when the newline is missing); that is a
// damaged file like any other here.
func readHeader(r *bufio.Reader) (h npyio.Header, err error) {
	pre, err := r.Peek(12)
	if err != nil || string(pre[:6]) != "\x93NUMPY" {
		return h, errors.New("no .npy magic")
	}
	n := int64(binary.LittleEndian.Uint16(pre[8:]))
	if pre[6] >= 2 {
		n = int64(binary.LittleEndian.Uint32(pre[8:]))
	}
	if n > maxHeader {
		return h, fmt.Errorf("its header declares %d bytes", n)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged header (%v)", p)
		}
	}()
	nr, err := npyio.NewReader(r)
	if err != nil {
		return h, err
	}
	return nr.Header, nil
}

// littleEndianHost reports whether '<f4' data can be read straight into a []float32.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decode fills dst with numbers of size bytes each read from r, converted by conv.
func decode(r io.Reader, dst []float32, size int, conv func([]byte) float32) error {
	var buf [8 << 10]byte
	for i := 0; i < len(dst); {
		chunk := buf[:size*min(len(buf)/size, len(dst)-i)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return err
		}
		for j := 0; j < len(chunk); j, i = j+size, i+1 {
			dst[i] = conv(chunk[j : j+size])
		}
	}
	return nil
}

// rows splits a two-dimensional array into its rows, without copying.
func (a npyArray) rows() [][]float32 {
	d := a.shape[len(a.shape)-1]
	out := make([][]float32, 0, len(a.data)/d)
	for lo := 0; lo < len(a.data); lo += d {
		out = append(out, a.data[lo:lo+d:lo+d])
	}
	return out
}

// unwrapPath drops the operation and path that os errors repeat, since the messages
// here name the file already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
