package flower

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/secure/shamir"
	"github.com/octomil/secagg/simd"
)

// Result is an unmasked round: Flower's weighted average of the active clients' arrays,
// computed as Flower's server computes it, and what it took.
type Result struct {
	Arrays       [][]float64 `json:"-"`             // one per model array, C order, of Round.Shapes
	Active       []uint64    `json:"active"`        // the nodes whose vectors are in the sum, ascending
	Dropped      []uint64    `json:"dropped"`       // the nodes whose pairwise masks were removed, ascending
	WeightFactor int64       `json:"weight_factor"` // the quantised sum of the active clients' weight factors
	// Rejected names the nodes whose shares were off the polynomial of a secret that
	// the others recovered; their shares were not used.
	Rejected []uint64      `json:"rejected,omitempty"`
	Masks    int           `json:"masks"`      // PRG expansions: one per active node, one per (dropped, active neighbour)
	Elapsed  time.Duration `json:"elapsed_ns"` // the whole unmask
}

// Unmask recovers the round's secrets from the replies (each active node's self-mask
// seed, each dropped node's sk1, checked against its pk1), removes the masks from the
// sum of the masked vectors and dequantises it as Flower does, bit for bit. A secret
// with fewer than threshold shares, or with shares too inconsistent to decide, is
// insufficient_clients naming its node.
func Unmask(rd *Round) (*Result, error) {
	start := time.Now()
	res := &Result{Dropped: append([]uint64{}, slices.Sorted(slices.Values(rd.Dropped))...)}
	for id := range rd.Masked {
		res.Active = append(res.Active, id)
	}
	slices.Sort(res.Active)
	if len(res.Active) == 0 {
		return nil, secagg.Errorf(secagg.CodeInsufficientClients, "masked_vectors", "no node sent a masked vector")
	}
	secrets, sk1, rejected, err := rd.recoverSecrets(res.Active, res.Dropped)
	if err != nil {
		return nil, err
	}
	res.Rejected = rejected

	// The expansions: every active node's self mask (subtracted), and the pairwise mask of
	// each dropped node with each active neighbour, with the sign that neighbour gave it.
	var jobs []expansion
	for _, id := range res.Active {
		jobs = append(jobs, expansion{seed: secrets[id], subtract: true})
	}
	for _, dead := range res.Dropped {
		for _, nb := range rd.Neighbours[dead] {
			if _, active := rd.Masked[nb]; active { // two dropped nodes' masks are in no vector
				// nb added the mask if nb > dead (the server subtracts it), subtracted
				// it otherwise.
				jobs = append(jobs, expansion{pair: &[2]uint64{dead, nb}, subtract: nb > dead})
			}
		}
	}
	res.Masks = len(jobs)

	total := 1
	for _, s := range rd.Shapes {
		total += elements(s)
	}
	m := uint64(rd.ModulusRange)
	vectors := make([][][]uint32, len(res.Active))
	for i, id := range res.Active {
		vectors[i] = rd.Masked[id]
	}
	workers := min(parallel.Workers(), len(jobs)+len(res.Active))
	acc := make([]*sums, workers)
	errs := make([]error, workers)
	parallel.Ranges(workers, workers, 1, func(_, w, _ int) {
		// Worker w takes every workers-th masked vector and expansion; sums mod m
		// commute, so the split changes no bit of the result. It goes over the values a
		// window at a time, adding every one of its vectors and masks into it, so that
		// its sums cross memory once rather than once a mask: MT19937 cannot skip ahead,
		// so each mask's generator keeps its state from one window to the next.
		var mine [][][]uint32
		for i := w; i < len(vectors); i += workers {
			mine = append(mine, vectors[i])
		}
		var gens []*maskGen
		for i := w; i < len(jobs); i += workers {
			seed, err := rd.seed(jobs[i], sk1)
			if err != nil {
				errs[w] = err
				return
			}
			gens = append(gens, newMaskGen(seed, jobs[i].subtract, m))
		}
		a := newSums(total, m)
		for lo := 0; lo < total; lo += window {
			a.sum(lo, min(lo+window, total), mine, gens)
		}
		acc[w] = a
	})
	defer func() {
		for _, a := range acc {
			if a != nil {
				a.release() // after the sums are dequantised
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	parts := make([][]uint32, len(acc))
	if acc[0].words != nil {
		for i, a := range acc {
			parts[i] = a.words // mod 2^32: dequantize adds them
		}
	} else {
		for _, a := range acc[1:] {
			acc[0].merge(a)
		}
		parts = [][]uint32{acc[0].reduce()}
	}
	var q uint32
	for _, p := range parts {
		q += p[0]
	}
	res.WeightFactor = int64(q)
	if q == 0 {
		return nil, secagg.Errorf(secagg.CodeValidation, "masked_vectors", "the active nodes' weight factors sum to 0 (mod %d): nothing to divide by", m)
	}
	res.Arrays = rd.dequantize(q, parts, len(res.Active))
	res.Elapsed = time.Since(start)
	return res, nil
}

// expansion is one mask to expand: a self mask's seed, or the pair (dead, neighbour)
// whose agreement is the seed of their pairwise mask.
type expansion struct {
	seed     []byte
	pair     *[2]uint64
	subtract bool
}

// seed is an expansion's PRG seed: for a pair, Flower's, the base64 of HKDF-SHA256 of the
// P-384 agreement of the dead node's sk1 with its neighbour's pk1.
func (rd *Round) seed(e expansion, sk1 map[uint64]*ecdh.PrivateKey) ([]byte, error) {
	if e.pair == nil {
		return e.seed, nil
	}
	dead, nb := e.pair[0], e.pair[1]
	shared, err := sk1[dead].ECDH(rd.publicKey1[nb])
	if err != nil {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "public_keys", "key agreement of dropped node %d with %d: %v", dead, nb, err)
	}
	key, _ := hkdf.Key(sha256.New, shared, nil, "", 32) // 32 bytes of SHA-256: cannot fail
	return []byte(base64.URLEncoding.EncodeToString(key)), nil
}

func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// sums are a worker's sums mod m of masked vectors and masks: uint32 words wrapping at
// 2^32 (simd's word kernels) when m = 2^32, Flower's default; otherwise uint64s reduced
// at the end, every addition below 2^33, so that 2^31 of them fit.
type sums struct {
	m     uint64
	words []uint32 // m = 2^32
	wide  []uint64 // any other m
}

// wordSums keeps the word sums of finished unmasks for the next: a fresh buffer's page
// faults cost more than the sums themselves (BenchmarkFlowerUnmask: the first touch of
// two 4 MB buffers took most of its 35 ms).
var wordSums pool.Slices[uint32]

// newSums returns sums of n values mod m, to be set window by window by sum.
func newSums(n int, m uint64) *sums {
	s := &sums{m: m}
	if m == 1<<32 {
		s.words = *wordSums.Get(n) // cleared window by window
	} else {
		s.wide = make([]uint64, n)
	}
	return s
}

// window is how many values a worker sums at a time: with the states of its masks'
// generators (5 KiB each), they stay in its core's L2.
const window = 1 << 15

// sum sets the sums [lo, hi) to those of masked vectors and masks: the vectors' values
// there and the masks' next draws. The window is cleared first, in cache.
func (s *sums) sum(lo, hi int, vectors [][][]uint32, masks []*maskGen) {
	if s.words != nil {
		clear(s.words[lo:hi])
	} else {
		clear(s.wide[lo:hi])
	}
	s.addVectors(vectors, lo, hi)
	for _, g := range masks {
		s.expand(g, lo, hi)
	}
}

// addVectors adds the values [lo, hi) of masked vectors (each an array list, every
// vector's arrays of the same lengths, values in [0, m)).
func (s *sums) addVectors(vectors [][][]uint32, lo, hi int) {
	if len(vectors) == 0 {
		return
	}
	rows := make([][]uint32, len(vectors))
	start := 0 // of array k
	for k := range vectors[0] {
		n := len(vectors[0][k])
		a, b := max(lo, start), min(hi, start+n)
		if a < b {
			for i, v := range vectors {
				rows[i] = v[k][a-start : b-start]
			}
			s.add(a, rows)
		}
		start += n
	}
}

// add adds rows of equal length into the sums from position off.
func (s *sums) add(off int, rows [][]uint32) {
	if s.words != nil {
		simd.AddWords(s.words[off:off+len(rows[0])], rows, 0)
		return
	}
	for _, r := range rows {
		for k, x := range r {
			s.wide[off+k] += uint64(x)
		}
	}
}

// maskGen is one of Flower's masks being expanded: its generator and its sign.
type maskGen struct {
	g        *mt19937
	subtract bool
}

// newMaskGen starts the mask of seed. The PRG: the seed read as little-endian uint32
// words XOR-folded into one, seeding MT19937, each value randint(0, m - 1), i.e. in
// [0, m - 2]. A subtracted mask is added as m - mask.
func newMaskGen(seed []byte, subtract bool, m uint64) *maskGen {
	var s32 uint32
	for i := 0; i+4 <= len(seed); i += 4 {
		s32 ^= binary.LittleEndian.Uint32(seed[i:])
	}
	return &maskGen{newMT19937(s32, uint32(m-2)), subtract}
}

// expand adds (or subtracts) the mask's values [lo, hi), the generator's next draws:
// for word sums, whole blocks fused with the twist where they fit.
func (s *sums) expand(mg *maskGen, lo, hi int) {
	row := [][]uint32{nil}
	for off := lo; off < hi; {
		if s.words != nil && mg.g.addBlock(s.words[off:hi], mg.subtract) {
			off += mtN
			continue
		}
		b := mg.g.draws(hi - off)
		switch {
		case s.words != nil && mg.subtract:
			row[0] = b
			simd.SubWords(s.words[off:off+len(b)], row, 0)
		case s.words != nil:
			row[0] = b
			simd.AddWords(s.words[off:off+len(b)], row, 0)
		case mg.subtract:
			for k, v := range b {
				s.wide[off+k] += s.m - uint64(v)
			}
		default:
			for k, v := range b {
				s.wide[off+k] += uint64(v)
			}
		}
		off += len(b)
	}
}

// release hands the word sums back for the next unmask.
func (s *sums) release() {
	if s.words != nil {
		done := s.words
		wordSums.Put(&done)
		s.words = nil
	}
}

// merge adds another worker's sums (uint64 ones: word sums are added as they are
// dequantised).
func (s *sums) merge(o *sums) {
	for i, v := range o.wide {
		s.wide[i] += v
	}
}

// reduce returns the sums mod m (below 2^32): the words themselves when m = 2^32.
func (s *sums) reduce() []uint32 {
	if s.words != nil {
		return s.words
	}
	out := make([]uint32, len(s.wide))
	for i, v := range s.wide {
		out[i] = uint32(v % s.m)
	}
	return out
}

// dequantize is Flower's: x·(2c/T) - c per value, plus -(active-1)·c, times T/q where q
// is the weight factors' sum, each step rounded in float64 as numpy rounds it
// (the conversions keep Go from fusing a multiply and an add). The sums x come in parts
// that add up mod 2^32, the weight factors' sum first; they are added into the first
// part, which is left holding them.
func (rd *Round) dequantize(q uint32, parts [][]uint32, active int) [][]float64 {
	c, T := rd.ClippingRange, float64(rd.QuantizationRange)
	quantizer := (2 * c) / T
	shift := -c
	offset := float64(-(active - 1)) * c
	scale := T / float64(q)
	out := make([][]float64, len(rd.Shapes))
	off := 1
	for i, s := range rd.Shapes {
		a := make([]float64, elements(s))
		// Value by value, so the split over the cores changes no bit.
		parallel.Ranges(parallel.Workers(), len(a), 1<<16, func(_, lo, hi int) {
			// The parts added into the first by the word kernel, a cache-sized range
			// at a time, and dequantised from there: BenchmarkFlowerDequantize 2.54 ->
			// 1.65 ms against the parts added value by value in this loop.
			sums := parts[0][off+lo : off+hi]
			if len(parts) > 1 {
				simd.AddWords(sums, parts[1:], off+lo)
			}
			for k, sum := range sums {
				x := float64(float64(sum)*quantizer) + shift
				x += offset
				a[lo+k] = x * scale
			}
		})
		out[i] = a
		off += len(a)
	}
	return out
}

// recoverSecrets combines each active node's self-mask seed and each dropped node's sk1
// (returned parsed, as its check against pk1 parsed it) from the replies. It never
// combines both secrets of one node: a node is active or dropped, and what is combined
// follows from that alone.
func (rd *Round) recoverSecrets(active, dropped []uint64) (map[uint64][]byte, map[uint64]*ecdh.PrivateKey, []uint64, error) {
	byOwner := map[uint64][]share{}
	senders := slices.Sorted(func(yield func(uint64) bool) {
		for id := range rd.Replies {
			if !yield(id) {
				return
			}
		}
	})
	for _, from := range senders {
		rep := rd.Replies[from]
		for i, owner := range rep.NodeIDs {
			b := rep.Shares[i]
			if len(b) < 4+shamir.BlockSize || (len(b)-4)%shamir.BlockSize != 0 {
				return nil, nil, nil, secagg.Errorf(secagg.CodeBadRequest, "unmask_replies",
					"node %d's share of node %d is %d bytes, not a point and whole 16-byte blocks", from, owner, len(b))
			}
			byOwner[owner] = append(byOwner[owner], share{from, binary.LittleEndian.Uint32(b), b[4:]})
		}
	}
	// Each secret is recovered on its own, the dropped nodes' first: checking a key
	// against its pk1 is a P-384 scalar multiplication, most of the work. They are
	// gathered in order after, so the answer is the same at every GOMAXPROCS.
	owners := slices.Concat(active, dropped)
	got := make([]recovered, len(owners))
	parallel.Ranges(parallel.Workers(), len(owners), 1, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			i := (j + len(active)) % len(owners)
			_, isActive := rd.Masked[owners[i]]
			got[i] = rd.recoverOne(owners[i], byOwner[owners[i]], isActive)
		}
	})
	secrets, sk1 := map[uint64][]byte{}, map[uint64]*ecdh.PrivateKey{}
	var rejected []uint64
	var short []string
	for i, g := range got {
		switch {
		case g.err != nil:
			return nil, nil, nil, g.err
		case g.short != "":
			short = append(short, g.short)
		case g.sk1 != nil:
			sk1[owners[i]] = g.sk1
		default:
			secrets[owners[i]] = g.secret
		}
		rejected = append(rejected, g.rejected...)
	}
	if short != nil {
		return nil, nil, nil, secagg.Errorf(secagg.CodeInsufficientClients, "unmask_replies",
			"too few shares to recover the secrets of node %s", strings.Join(short, ", node "))
	}
	slices.Sort(rejected)
	return secrets, sk1, slices.Compact(rejected), nil
}

// share is one node's share of another's secret: its point and its value.
type share struct {
	from uint64
	x    uint32
	y    []byte
}

// recovered is what the shares of one node's secret gave: the secret (an active
// node's self-mask seed) or its sk1 (a dropped node's, checked against its pk1), the
// senders whose shares were off its polynomial; or why not: too few shares that agree
// (short, naming the node), or malformed ones (err).
type recovered struct {
	secret   []byte
	sk1      *ecdh.PrivateKey
	rejected []uint64
	short    string
	err      error
}

// recoverOne combines the shares of owner's secret.
func (rd *Round) recoverOne(owner uint64, shares []share, isActive bool) recovered {
	if len(shares) < rd.Threshold {
		return recovered{short: fmt.Sprintf("%d (%d of %d shares)", owner, len(shares), rd.Threshold)}
	}
	xs := make([]uint32, len(shares))
	ys := make([][]byte, len(shares))
	for i, s := range shares {
		xs[i], ys[i] = s.x, s.y
		if len(s.y) != len(shares[0].y) {
			return recovered{err: secagg.Errorf(secagg.CodeBadRequest, "unmask_replies",
				"the shares of node %d differ in length (node %d's and node %d's)", owner, shares[0].from, s.from)}
		}
	}
	basis, err := shamir.NewBasis(rd.Threshold, xs)
	if err != nil {
		return recovered{err: secagg.Errorf(secagg.CodeBadRequest, "unmask_replies", "the shares of node %d: %v", owner, err)}
	}
	var r recovered
	verify := func(padded []byte) bool {
		secret, ok := unpad(padded)
		if !ok {
			return false
		}
		if isActive {
			return len(secret) == 32 // Flower's rd_seed
		}
		sk, err := parsePrivateKey(secret)
		if err != nil || !bytes.Equal(sk.PublicKey().Bytes(), rd.publicKey1[owner].Bytes()) {
			return false
		}
		r.sk1 = sk
		return true
	}
	padded, bad, err := basis.Recover(ys, verify)
	if errors.Is(err, shamir.ErrTooFew) {
		return recovered{short: fmt.Sprintf("%d (its %d shares do not agree on a secret)", owner, len(shares))}
	}
	if err != nil {
		return recovered{err: secagg.Errorf(secagg.CodeBadRequest, "unmask_replies", "the shares of node %d: %v", owner, err)}
	}
	for _, i := range bad {
		r.rejected = append(r.rejected, shares[i].from)
	}
	if isActive {
		r.secret, _ = unpad(padded)
	}
	return r
}

// unpad removes PKCS#7 padding to 16-byte blocks.
func unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	p := int(b[len(b)-1])
	if p < 1 || p > 16 || p > len(b) {
		return nil, false
	}
	for _, v := range b[len(b)-p:] {
		if int(v) != p {
			return nil, false
		}
	}
	return b[:len(b)-p], true
}
