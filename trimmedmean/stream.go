package trimmedmean

import (
	"math"
	"strconv"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// lanes is the width of a block of the stream's layout (simd.Push's): the extremes of 16
// coordinates lie together, so one update touches each block's thresholds in one cache
// line.
const lanes = simd.PushLanes

// Stream is the streaming trimmed mean for a fixed k: it takes updates one at a time and
// keeps, per coordinate, the k smallest and k largest values seen and a float64 sum of
// every value pushed out between them: (2k+1)·d numbers instead of N·d. Streams of the
// same dimension and k merge, so shards or machines can combine partial aggregates in
// any order.
//
// A Stream is not safe for concurrent use; a coordinator serialises Add (or keeps one
// stream per goroutine and merges them).
type Stream struct {
	dim, k int
	count  int
	// ext holds, per block of 16 coordinates, k planes of the smallest values in
	// ascending order (+Inf marks an empty slot), then k planes of the largest in
	// descending order (-Inf marks an empty slot).
	ext []float32
	sum []float64
	// unordered says Fold wrote the lists in no order; order sorts them.
	unordered bool
}

// NewStream returns an empty stream for updates of dimension dim that will trim k values
// from each end of every coordinate.
func NewStream(dim, k int) (*Stream, error) {
	if dim < 1 {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "dim", "dim must be >= 1, got %d", dim)
	}
	if k < 0 || k > maxK {
		return nil, secagg.Errorf(secagg.CodeValidation, "k", "k must be in [0, %d], got %d", maxK, k)
	}
	if _, ok := StreamBytes(dim, k); !ok {
		return nil, secagg.Errorf(secagg.CodePayloadTooLarge, "dim",
			"a stream of dimension %d keeping %d extremes a side cannot be held: it needs more than %d bytes", dim, k, int64(maxStreamBytes))
	}
	blocks := (dim + lanes - 1) / lanes
	s := &Stream{dim: dim, k: k, ext: make([]float32, blocks*2*k*lanes), sum: make([]float64, dim)}
	s.clearExtremes()
	return s, nil
}

// Reset empties the stream and keeps its dimension, k and memory, so a coordinator can
// run round after round on one stream's (2k+1)·d numbers instead of allocating them each
// time (at d = 10^6 and k = 10, 88 MB whose first touch alone costs tens of ms).
func (s *Stream) Reset() {
	s.count = 0
	s.unordered = false
	s.clearExtremes()
	clear(s.sum)
}

// maxStreamBytes bounds what a stream may ask for, so that a dimension or k beyond any
// machine is refused instead of overflowing a size or failing the allocation: 2^46 bytes.
const maxStreamBytes = 1 << 46

// StreamBytes returns what NewStream(dim, k) holds, (2k·⌈d/16⌉·16)·4 + d·8 bytes, and
// false when that exceeds 2^46 bytes (or dim or k is negative), computed without
// overflow.
func StreamBytes(dim, k int) (int64, bool) {
	if dim < 0 || k < 0 || dim > maxStreamBytes/8 || k > maxK {
		return 0, false
	}
	padded := int64((dim + lanes - 1) / lanes * lanes)
	ext := padded * int64(2*k) // <= 2^43 · 2^17: fits
	if ext > (maxStreamBytes-int64(dim)*8)/4 {
		return 0, false
	}
	return ext*4 + int64(dim)*8, true
}

// maxK bounds k so that the extremes of one block stay addressable and a serialised
// stream stays sane to allocate.
const maxK = 1 << 16

// clearExtremes marks every slot empty: +Inf in the k planes of smallest values, -Inf in
// the k planes of largest. Each worker writes one block and doubles it by copy through
// its chunk of blocks, so a round's state (80 MB at d = 10^6, k = 10) is set at the
// speed of memmove on every core rather than one store at a time.
func (s *Stream) clearExtremes() {
	plane := s.k * lanes
	block := 2 * plane
	if block == 0 {
		return
	}
	perChunk := max(1, clearChunkBytes/(4*block))
	parallel.Ranges(parallel.Workers(), len(s.ext)/block, perChunk, func(_, lo, hi int) {
		ext := s.ext[lo*block : hi*block]
		inf := float32(math.Inf(1))
		for i := range plane {
			ext[i], ext[plane+i] = inf, -inf
		}
		for n := block; n < len(ext); n *= 2 {
			copy(ext[n:], ext[:n])
		}
	})
}

// clearChunkBytes is how much of the extremes one worker clears at a time.
const clearChunkBytes = 1 << 20

// Dim returns the dimension of the updates.
func (s *Stream) Dim() int { return s.dim }

// K returns how many values are trimmed from each end.
func (s *Stream) K() int { return s.k }

// Count returns how many updates the stream has taken, merged streams included.
func (s *Stream) Count() int { return s.count }

// MemoryBytes returns the bytes the stream holds: 2k float32 extremes (rounded up to
// whole blocks of 16 coordinates) and one float64 sum per coordinate.
func (s *Stream) MemoryBytes() int { return len(s.ext)*4 + len(s.sum)*8 }

// Add takes one update. A wrong length is a bad_request, a NaN or ±Inf a
// validation_error naming the coordinate; a rejected update leaves the stream as it was.
func (s *Stream) Add(update []float32) error {
	if err := secagg.ValidateUpdateLength("update", update, s.dim); err != nil {
		return err
	}
	if j := simd.FirstNonFinite(update); j >= 0 {
		return secagg.NonFiniteValue("update", j, update[j])
	}
	s.push(update)
	s.count++
	return nil
}

// AddRows takes several updates at once, as many calls of Add in their order would, bit
// for bit; if any is rejected (the first bad one is reported), none is taken. The
// extremes and sums of a few thousand coordinates stay in cache while every update
// passes through them, so the state crosses memory once per call rather than once per
// update: with k = 10, the state is 21 numbers per coordinate against the update's one.
func (s *Stream) AddRows(updates [][]float32) error {
	if err := s.checkRows(updates); err != nil {
		return err
	}
	s.push(updates...)
	s.count += len(updates)
	return nil
}

// checkRows refuses the first update of a wrong length or with a NaN or ±Inf, naming it.
func (s *Stream) checkRows(updates [][]float32) error {
	for i, u := range updates {
		name := "updates[" + strconv.Itoa(i) + "]"
		if err := secagg.ValidateUpdateLength(name, u, s.dim); err != nil {
			return err
		}
		if j := simd.FirstNonFinite(u); j >= 0 {
			return secagg.NonFiniteValue(name, j, u[j])
		}
	}
	return nil
}

// pushChunk is how many coordinates one worker pushes at a time: a multiple of the
// block width, so no two workers share a block.
const pushChunk = 1 << 14

// pushTileBytes is how much of the state (extremes and sums) the updates of one push
// pass through together, sized for the core's L2.
const pushTileBytes = 256 << 10

// push passes each x through every coordinate's extremes and sum, in order, tile by tile
// of coordinates, the tiles spread over the workers (coordinates are independent, so the
// result does not depend on how).
func (s *Stream) push(xs ...[]float32) {
	s.order()
	blockLen := 2 * s.k * lanes
	tile := max(lanes, pushTileBytes/(8*s.k+8)/lanes*lanes)
	parallel.Ranges(parallel.Workers(), s.dim, pushChunk, func(_, lo, hi int) {
		for t := lo; t < hi; t += tile {
			e := min(t+tile, hi)
			for _, x := range xs {
				simd.Push(s.ext[t/lanes*blockLen:], s.sum[t:e], x[t:e], s.k)
			}
		}
	})
}

// Merge adds everything o has taken into s. o must have the same dimension and k
// (else bad_request, and s is unchanged); o itself is not modified.
func (s *Stream) Merge(o *Stream) error {
	if o == nil {
		return secagg.Errorf(secagg.CodeBadRequest, "stream", "cannot merge a nil stream")
	}
	if o == s {
		return secagg.Errorf(secagg.CodeBadRequest, "stream", "cannot merge a stream into itself")
	}
	if o.dim != s.dim || o.k != s.k {
		return secagg.Errorf(secagg.CodeBadRequest, "stream",
			"cannot merge a stream of dim %d and k %d into one of dim %d and k %d", o.dim, o.k, s.dim, s.k)
	}
	for j := range s.sum {
		s.sum[j] += o.sum[j]
	}
	// Push o's kept values, plane by plane; its empty slots become +Inf, which Push
	// passes over.
	k, inf := s.k, float32(math.Inf(1))
	plane := make([]float32, s.dim)
	for i := range 2 * k {
		for j := range plane {
			v := o.ext[j/lanes*2*k*lanes+i*lanes+j%lanes]
			if math.IsInf(float64(v), 0) {
				v = inf
			}
			plane[j] = v
		}
		s.push(plane)
	}
	s.count += o.count
	return nil
}

// Result writes the trimmed mean of everything taken into dst (of length Dim), trimming
// the stream's k from each end. It needs more than 2k updates: fewer is
// insufficient_clients.
func (s *Stream) Result(dst []float32) error { return s.ResultK(dst, s.k) }

// ResultK writes the trimmed mean trimming only k' <= K() from each end: the stream's k
// is then a maximum, fixed before the number of updates is known (say floor(ratio·the
// most clients a round may have)), and k' follows from the count at the end. The kept
// extremes beyond k' are added back to the sum as simd.KeptSum adds the kept values of
// rows: the kept extremes, trimmed k' from each end, in its fixed order.
func (s *Stream) ResultK(dst []float32, k int) error {
	if len(dst) != s.dim {
		return secagg.Errorf(secagg.CodeBadRequest, "dst", "dst has length %d, the stream's dimension is %d", len(dst), s.dim)
	}
	if k < 0 || k > s.k {
		return secagg.Errorf(secagg.CodeValidation, "k", "k must be in [0, %d], got %d", s.k, k)
	}
	if s.count <= 2*k {
		return secagg.Errorf(secagg.CodeInsufficientClients, "updates",
			"a trimmed mean trimming %d from each end needs at least %d updates, got %d", k, 2*k+1, s.count)
	}
	scale := 1 / float64(s.count-2*k)
	if k == s.k {
		simd.Finish(dst, s.sum, scale)
		return nil
	}
	// The values kept at k are kept at k' too, and so are the kept extremes but the k'
	// smallest and largest of them: their kept sum (KeptSum's fixed order) goes on top.
	sum := make([]float64, s.dim)
	s.tiles(0, func(sc *foldScratch, t, e int) {
		rows := s.keptRows(sc, t, e)
		m := e - t
		simd.Bounds(sc.low[:m], sc.high[:m], rows, 0, k)
		simd.KeptSum(sc.sum[:m], rows, 0, k, sc.low[:m], sc.high[:m])
		for j, v := range sc.sum[:m] {
			sum[t+j] = s.sum[t+j] + v
		}
	})
	simd.Finish(dst, sum, scale)
	return nil
}
