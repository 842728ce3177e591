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
	"slices"
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

// numbers is the element types the command reads: their size and their value as a
// float64 (exact for every one of them but 64-bit integers beyond 2^53).
var numbers = map[string]struct {
	size  int64
	value func([]byte) float64
}{
	"<f4": {4, func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }},
	"<f8": {8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }},
	"<i8": {8, func(b []byte) float64 { return float64(int64(binary.LittleEndian.Uint64(b))) }},
	"<i4": {4, func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) }},
	"<i2": {2, func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) }},
	"|i1": {1, func(b []byte) float64 { return float64(int8(b[0])) }},
	"<u8": {8, func(b []byte) float64 { return float64(binary.LittleEndian.Uint64(b)) }},
	"<u4": {4, func(b []byte) float64 { return float64(binary.LittleEndian.Uint32(b)) }},
	"<u2": {2, func(b []byte) float64 { return float64(binary.LittleEndian.Uint16(b)) }},
	"|u1": {1, func(b []byte) float64 { return float64(b[0]) }},
}

// npyData is an opened .npy file past its header: its shape, element type and count, and
// a reader of exactly its data.
type npyData struct {
	shape   []int
	dtype   string
	fortran bool
	n       int64
	src     io.Reader
}

// openNpy reads a .npy header with npyio and checks it: one or two dimensions, a dtype
// among allowed, an element count that fits (checked before it is multiplied out), and,
// for a regular file, exactly that much data before anything is allocated. A pipe's data
// is read as it comes, so what it may allocate is what it sends, not what its header
// declares. Anything else is a bad_request naming the file.
func openNpy(f *os.File, path string, allowed []string, want string) (npyData, error) {
	r := bufio.NewReaderSize(f, 1<<20)
	header, err := readHeader(r)
	if err != nil {
		return npyData{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s is not a NumPy .npy file: %v", path, err)
	}
	h := header.Descr
	a := npyData{shape: h.Shape, dtype: strings.Trim(h.Type, `'"`), fortran: h.Fortran, n: 1}
	if len(h.Shape) != 1 && len(h.Shape) != 2 {
		return npyData{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s holds an array of shape %v; want %s", path, h.Shape, want)
	}
	for _, s := range h.Shape {
		if s < 1 {
			return npyData{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s has an empty shape %v", path, h.Shape)
		}
		if int64(s) > maxElements/a.n { // checked before multiplying: (2^32, 2^32) wrapped to 0
			return npyData{}, secagg.Errorf(secagg.CodePayloadTooLarge, "file",
				"%s declares shape %v, over the %d elements one file may hold", path, h.Shape, int64(maxElements))
		}
		a.n *= int64(s)
	}
	if !slices.Contains(allowed, a.dtype) {
		return npyData{}, secagg.Errorf(secagg.CodeBadRequest, "file", "%s holds dtype %s; want %s", path, a.dtype, strings.Join(allowed, ", "))
	}
	size := a.n * numbers[a.dtype].size
	st, err := f.Stat()
	if regular := err == nil && st.Mode().IsRegular(); regular {
		pos, err := f.Seek(0, io.SeekCurrent)
		if rest := st.Size() - (pos - int64(r.Buffered())); err == nil && rest != size {
			return npyData{}, secagg.Errorf(secagg.CodeBadRequest, "file",
				"%s holds %d bytes of data, its header declares shape %v of %s (%d bytes)", path, rest, h.Shape, a.dtype, size)
		}
		a.src = r
		return a, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return npyData{}, secagg.Errorf(secagg.CodeBadRequest, "file", "cannot read %s: %v", path, unwrapPath(err))
	}
	if int64(len(raw)) != size {
		return npyData{}, truncated(path, h.Shape)
	}
	a.src = io.MultiReader(bytes.NewReader(raw), r)
	return a, nil
}

func truncated(path string, shape []int) error {
	return secagg.Errorf(secagg.CodeBadRequest, "file", "%s is truncated: its header declares shape %v", path, shape)
}

// finish checks that the data ended where the header said, and names a short read.
func (a npyData) finish(path string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return truncated(path, a.shape)
	}
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "file", "cannot read %s: %v", path, unwrapPath(err))
	}
	if _, err := a.src.Read(make([]byte, 1)); err != io.EOF {
		return secagg.Errorf(secagg.CodeBadRequest, "file", "%s has bytes after the %v array its header declares", path, a.shape)
	}
	return nil
}

// readNpy reads a .npy file of updates: float32 ('<f4', read in bulk) or float64 ('<f8',
// rounded to float32 as numpy's astype does, except that a finite value beyond float32's
// range is an error naming it rather than +Inf), with one or two dimensions, in C or
// Fortran order.
func readNpy(path string) (npyArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return npyArray{}, secagg.Errorf(secagg.CodeBadRequest, "file", "cannot open %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	d, err := openNpy(f, path, []string{"<f4", "<f8"}, "(d,) for one client or (N, d) for a round")
	if err != nil {
		return npyArray{}, err
	}
	a := npyArray{shape: d.shape, data: make([]float32, d.n)}
	if d.dtype == "<f4" && littleEndianHost {
		_, err = io.ReadFull(d.src, unsafe.Slice((*byte)(unsafe.Pointer(&a.data[0])), 4*d.n))
	} else {
		err = decode(d.src, d.n, numbers[d.dtype].size, func(i int, b []byte) error {
			v := numbers[d.dtype].value(b)
			a.data[i] = float32(v)
			if math.IsInf(float64(a.data[i]), 0) && !math.IsInf(v, 0) {
				return secagg.Errorf(secagg.CodeValidation, "updates", "%s[%d] is %v, which does not fit in float32", path, i, v)
			}
			return nil
		})
	}
	var se *secagg.Error
	if errors.As(err, &se) {
		return npyArray{}, se
	}
	if err := d.finish(path, err); err != nil {
		return npyArray{}, err
	}
	if d.fortran && len(d.shape) == 2 { // column-major, as np.save writes a transposed array
		a.data = transpose(a.data, d.shape[1], d.shape[0])
	}
	return a, nil
}

// readWeights reads a (N,) .npy file of weights as float64: floats as they are (not
// rounded to float32), and integers such as Flower's example counts.
func readWeights(path string) ([]int, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, secagg.Errorf(secagg.CodeBadRequest, "weights", "cannot open %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	dtypes := make([]string, 0, len(numbers))
	for k := range numbers {
		dtypes = append(dtypes, k)
	}
	slices.Sort(dtypes)
	d, err := openNpy(f, path, dtypes, "(N,), one weight per update")
	if err != nil {
		return nil, nil, err
	}
	w := make([]float64, d.n)
	err = decode(d.src, d.n, numbers[d.dtype].size, func(i int, b []byte) error {
		w[i] = numbers[d.dtype].value(b)
		return nil
	})
	if err := d.finish(path, err); err != nil {
		return nil, nil, err
	}
	return d.shape, w, nil
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

// decode reads n numbers of size bytes each from r and hands each to put, in order,
// stopping at the first error put returns.
func decode(r io.Reader, n, size int64, put func(i int, b []byte) error) error {
	var buf [8 << 10]byte
	for i := int64(0); i < n; {
		chunk := buf[:size*min(int64(len(buf))/size, n-i)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return err
		}
		for j := int64(0); j < int64(len(chunk)); j, i = j+size, i+1 {
			if err := put(int(i), chunk[j:j+size]); err != nil {
				return err
			}
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
