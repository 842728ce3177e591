package secaggbeam

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // paths without a scheme
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
)

// ReadBlocks reads one update per .npy file of paths (1-D, little-endian float32, C
// order, Dim values each) a block of Block coordinates at a time, and returns them keyed
// by block: KV<int, []float32>. A path is local, or of any filesystem Beam has
// registered (gs:// with beam/io/filesystem/gcs imported, as secagg-beam does). No worker holds a whole update, nor a whole round: a
// combine per key (MeanFn{} and the others) then aggregates each block on one worker,
// and Assemble puts the blocks together. A file that is not such an array fails the
// pipeline with a bad_request naming it.
func ReadBlocks(s beam.Scope, paths []string, dim, block int) beam.PCollection {
	s = s.Scope("ReadBlocks")
	return beam.ParDo(s, &readBlocks{Dim: dim, Block: block}, files(s, paths))
}

// ReadRows is ReadBlocks keeping each block's client, KV<int, Row>: the input of the
// strategies that look at every client of a block together (CoordinateWise, Distances).
func ReadRows(s beam.Scope, paths []string, dim, block int) beam.PCollection {
	s = s.Scope("ReadRows")
	return beam.ParDo(s, &readRows{Dim: dim, Block: block}, files(s, paths))
}

// ReadWeighted is ReadBlocks with each client's weight, KV<int, Weighted>, the input of
// WeightedMeanFn: weights[i] is the weight of paths[i] (such as its example count).
func ReadWeighted(s beam.Scope, paths []string, weights []float64, dim, block int) beam.PCollection {
	s = s.Scope("ReadWeighted")
	return beam.ParDo(s, &readWeighted{Dim: dim, Block: block, Weights: weights}, files(s, paths))
}

// File is one client's update file and the client's position in the round.
type File struct {
	Client int
	Path   string
}

func files(s beam.Scope, paths []string) beam.PCollection {
	fs := make([]File, len(paths))
	for i, p := range paths {
		fs[i] = File{Client: i, Path: p}
	}
	return beam.CreateList(s, fs)
}

// Row is one client's values of one block of coordinates.
type Row struct {
	Client int // the update's position in the round: its file's in the list
	Values []float32
}

type readBlocks struct{ Dim, Block int }

func (f *readBlocks) ProcessElement(ctx context.Context, file File, emit func(int, []float32)) error {
	return readByBlocks(ctx, file.Path, f.Dim, f.Block, emit)
}

type readRows struct{ Dim, Block int }

func (f *readRows) ProcessElement(ctx context.Context, file File, emit func(int, Row)) error {
	return readByBlocks(ctx, file.Path, f.Dim, f.Block, func(b int, v []float32) { emit(b, Row{Client: file.Client, Values: v}) })
}

type readWeighted struct {
	Dim, Block int
	Weights    []float64
}

func (f *readWeighted) ProcessElement(ctx context.Context, file File, emit func(int, Weighted)) error {
	if file.Client >= len(f.Weights) {
		return secagg.Errorf(secagg.CodeBadRequest, "weights", "%d weights for client %d (%s)", len(f.Weights), file.Client, file.Path)
	}
	w := f.Weights[file.Client]
	return readByBlocks(ctx, file.Path, f.Dim, f.Block, func(b int, v []float32) { emit(b, Weighted{Update: v, Weight: w}) })
}

// readByBlocks reads the .npy update at path a block at a time, in one pass, through
// Beam's filesystems (a local path, or gs:// and the others a program registers),
// checking its header first: a file that is not a 1-D <f4 array of dim values is a
// bad_request naming it.
func readByBlocks(ctx context.Context, path string, dim, block int, emit func(int, []float32)) error {
	bad := func(format string, a ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "update", "%s: "+format, append([]any{path}, a...)...)
	}
	if dim < 1 || block < 1 {
		return secagg.Errorf(secagg.CodeValidation, "block", "dim and block must be >= 1, got %d and %d", dim, block)
	}
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return bad("%v", err)
	}
	defer fsys.Close()
	size, err := fsys.Size(ctx, path)
	if err != nil {
		return bad("%v", err)
	}
	rc, err := fsys.OpenRead(ctx, path)
	if err != nil {
		return bad("%v", err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64<<10) // blocks larger than this are read past it, without a copy
	h, offset, err := npyHeader(r)
	if err != nil {
		return bad("not a .npy file: %v", err)
	}
	if dtype := strings.Trim(h.Descr.Type, `'"`); dtype != "<f4" || h.Descr.Fortran || len(h.Descr.Shape) != 1 || h.Descr.Shape[0] != dim {
		return bad("want a 1-D <f4 array of %d values, got %s shape %v", dim, dtype, h.Descr.Shape)
	}
	if size != offset+4*int64(dim) {
		return bad("holds %d bytes; its header declares %d values of 4 bytes after %d", size, dim, offset)
	}
	for b, lo := 0, 0; lo < dim; b, lo = b+1, lo+block {
		values := make([]float32, min(block, dim-lo))
		if err := readLittleEndian(r, values); err != nil {
			return bad("truncated at value %d: %v", lo, err)
		}
		emit(b, values)
	}
	return nil
}

// maxHeader bounds the .npy header a file may declare, so that a damaged one cannot make
// a worker read without limit.
const maxHeader = 1 << 16

// npyHeader reads a .npy header from r with npyio, within maxHeader bytes (npyio panics
// on some damaged headers: that is an error here too), and returns it with the offset
// of the data, where r now is.
func npyHeader(r io.Reader) (h npyio.Header, offset int64, err error) {
	pre := make([]byte, 10, 12) // magic, version, and a 2-byte length (4 bytes from version 2)
	if _, err := io.ReadFull(r, pre); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return h, 0, errors.New("no .npy magic")
	}
	n := int64(binary.LittleEndian.Uint16(pre[8:]))
	if pre[6] >= 2 {
		pre = pre[:12]
		if _, err := io.ReadFull(r, pre[10:]); err != nil {
			return h, 0, errors.New("truncated header")
		}
		n = int64(binary.LittleEndian.Uint32(pre[8:]))
	}
	if n > maxHeader {
		return h, 0, fmt.Errorf("its header declares %d bytes", n)
	}
	header := append(pre, make([]byte, n)...)
	if _, err := io.ReadFull(r, header[len(pre):]); err != nil {
		return h, 0, errors.New("truncated header")
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged header (%v)", p)
		}
	}()
	nr, err := npyio.NewReader(bytes.NewReader(header))
	if err != nil {
		return h, 0, err
	}
	return nr.Header, int64(len(header)), nil
}

// weightSizes are the bytes of each dtype ReadWeights takes.
var weightSizes = map[string]int{"<f4": 4, "<f8": 8, "<i4": 4, "<i8": 8, "<u4": 4, "<u8": 8}

// ReadWeights reads the n weights of a weighted_mean round (such as example counts) from
// a 1-D .npy file of little-endian float32/64 or 32/64-bit integers, through Beam's
// filesystems. Anything else is a bad_request naming the file; the weights' range is
// AggregateFiles' to check.
func ReadWeights(ctx context.Context, path string, n int) ([]float64, error) {
	bad := func(format string, a ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "weights", "%s: "+format, append([]any{path}, a...)...)
	}
	rc, err := openRead(ctx, path)
	if err != nil {
		return nil, bad("%v", err)
	}
	defer rc.Close()
	r := bufio.NewReader(rc)
	h, _, err := npyHeader(r)
	if err != nil {
		return nil, bad("not a .npy file: %v", err)
	}
	dtype := strings.Trim(h.Descr.Type, `'"`)
	size, ok := weightSizes[dtype]
	if !ok || len(h.Descr.Shape) != 1 || h.Descr.Shape[0] != n {
		return nil, bad("has dtype %s and shape %v; want (%d,) of float32/64 or 32/64-bit integers, one weight per update", dtype, h.Descr.Shape, n)
	}
	b := make([]byte, size*n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, bad("truncated: %v", err)
	}
	if k, _ := r.Read(make([]byte, 1)); k > 0 {
		return nil, bad("has bytes after its %d values", n)
	}
	w := make([]float64, n)
	for i := range w {
		switch dtype {
		case "<f4":
			w[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		case "<f8":
			w[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		case "<i4":
			w[i] = float64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		case "<i8":
			w[i] = float64(int64(binary.LittleEndian.Uint64(b[8*i:])))
		case "<u4":
			w[i] = float64(binary.LittleEndian.Uint32(b[4*i:]))
		case "<u8":
			w[i] = float64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return w, nil
}

// ExpandPatterns returns the files a round's arguments name, in order: each path as it
// is, each glob pattern (*, ?, [) replaced by the files it matches through Beam's
// filesystems, sorted. A pattern that matches nothing is a bad_request.
func ExpandPatterns(ctx context.Context, args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		if !strings.ContainsAny(a, "*?[") {
			paths = append(paths, a)
			continue
		}
		fsys, err := filesystem.New(ctx, a)
		if err != nil {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "%s: %v", a, err)
		}
		matches, err := fsys.List(ctx, a)
		fsys.Close()
		if err != nil {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "%s: %v", a, err)
		}
		if len(matches) == 0 {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "%s matches no file", a)
		}
		slices.Sort(matches)
		paths = append(paths, matches...)
	}
	return paths, nil
}

// Assemble puts a result's blocks (KV<int, []float32>, block b holding the coordinates
// from b·Block) back into one vector of Dim values, on one worker.
func Assemble(s beam.Scope, blocks beam.PCollection, dim, block int) beam.PCollection {
	s = s.Scope("Assemble")
	one := beam.ParDo(s, toBlock, blocks)
	return beam.ParDo(s, &assemble{Dim: dim, Block: block}, beam.GroupByKey(s, one))
}

// toBlock keys every block by 0, so that one worker assembles them.
func toBlock(b int, v []float32) (int, Block) { return 0, Block{Index: b, Values: v} }

// Block is one block of a result: its index and its values.
type Block struct {
	Index  int
	Values []float32
}

type assemble struct{ Dim, Block int }

func (f *assemble) ProcessElement(_ int, blocks func(*Block) bool, emit func([]float32)) error {
	out := make([]float32, f.Dim)
	seen := make([]bool, (f.Dim+f.Block-1)/f.Block)
	var b Block
	for blocks(&b) {
		lo := b.Index * f.Block
		if b.Index < 0 || b.Index >= len(seen) || seen[b.Index] || len(b.Values) != min(f.Block, f.Dim-lo) {
			return secagg.Errorf(secagg.CodeBadRequest, "block", "block %d of %d values does not fit a result of %d in blocks of %d", b.Index, len(b.Values), f.Dim, f.Block)
		}
		seen[b.Index] = true
		copy(out[lo:], b.Values)
	}
	if i := slices.Index(seen, false); i >= 0 {
		return secagg.Errorf(secagg.CodeBadRequest, "block", "block %d of the result is missing", i)
	}
	emit(out)
	return nil
}

// WriteNpy writes the one vector of results to path as a 1-D float32 .npy file, through a
// temporary file beside it renamed into place: an existing path is replaced only if it
// is a regular file, and a failed pipeline writes nothing.
func WriteNpy(s beam.Scope, path string, results beam.PCollection) {
	beam.ParDo0(s.Scope("WriteNpy"), &writeNpy{Path: path}, results)
}

type writeNpy struct{ Path string }

func (f *writeNpy) ProcessElement(v []float32) error {
	return writeFileAtomic(f.Path, "out", appendFloat32s(npyHeaderOf(len(v)), v))
}

// npyHeaderOf is the .npy header (format 1.0) of a 1-D little-endian float32 array of n
// values: the magic, the version, the header's length, and its dict padded with spaces
// to a newline, so that the data starts on a multiple of 64 bytes, as numpy writes it.
// (npyio.Write takes the values one by one through reflection: 0.9 s for 2^20 of them.)
func npyHeaderOf(n int) []byte {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n)
	pad := 63 - (10+len(dict))%64 // spaces, then the newline ends it on a multiple of 64
	b := make([]byte, 0, 10+len(dict)+pad+1+4*n)
	b = append(b, "\x93NUMPY\x01\x00"...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)+pad+1))
	b = append(b, dict...)
	b = append(b, bytes.Repeat([]byte{' '}, pad)...)
	return append(b, '\n')
}

// writeFileAtomic writes data to path through a temporary file beside it renamed into
// place, replacing path only if it is a regular file; key names the setting in errors.
func writeFileAtomic(path, key string, data []byte) error {
	if strings.Contains(path, "://") {
		return writeRemote(path, key, data)
	}
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		return secagg.Errorf(secagg.CodeBadRequest, key, "%s exists and is not a regular file", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, key, "cannot write beside %s: %v", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return secagg.Errorf(secagg.CodeBadRequest, key, "cannot write %s: %v", path, err)
	}
	return nil
}

// writeRemote writes data to a path of another of Beam's filesystems (gs://, ...),
// whose objects appear whole when the writer closes.
func writeRemote(path, key string, data []byte) error {
	ctx := context.Background()
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, key, "%s: %v", path, err)
	}
	defer fsys.Close()
	w, err := fsys.OpenWrite(ctx, path)
	if err == nil {
		_, err = w.Write(data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, key, "cannot write %s: %v", path, err)
	}
	return nil
}

func init() {
	register.DoFn3x1[context.Context, File, func(int, []float32), error](&readBlocks{})
	register.DoFn3x1[context.Context, File, func(int, Row), error](&readRows{})
	register.DoFn3x1[context.Context, File, func(int, Weighted), error](&readWeighted{})
	register.Emitter2[int, Row]()
	register.Emitter2[int, Weighted]()
	beam.RegisterType(reflect.TypeOf((*File)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Row)(nil)).Elem())
	register.DoFn3x1[int, func(*Block) bool, func([]float32), error](&assemble{})
	register.DoFn1x1[[]float32, error](&writeNpy{})
	register.Function2x2(toBlock)
	register.Emitter2[int, []float32]()
	register.Emitter1[[]float32]()
	register.Iter1[*Block]()
}

// openRead opens path for reading through Beam's filesystems; closing the file closes
// its filesystem too.
func openRead(ctx context.Context, path string) (io.ReadCloser, error) {
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, err
	}
	rc, err := fsys.OpenRead(ctx, path)
	if err != nil {
		fsys.Close()
		return nil, err
	}
	return fileCloser{rc, fsys}, nil
}

type fileCloser struct {
	io.ReadCloser
	fsys filesystem.Interface
}

func (f fileCloser) Close() error {
	err := f.ReadCloser.Close()
	if ferr := f.fsys.Close(); err == nil {
		err = ferr
	}
	return err
}
