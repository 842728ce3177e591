package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// keystream reads the mask of one AES-128 key: AES-CTR from a zero counter block, as
// little-endian uint32 words, from any word on.
type keystream struct {
	ctr  cipher.Stream
	skip int // words to drop before the first read: off mod 4
}

func newKeystream(key []byte, off uint64) *keystream {
	block, _ := aes.NewCipher(key) // 16 bytes: cannot fail
	var iv [16]byte
	// The block holding word off: 4 words a block; the counter is big-endian.
	binary.BigEndian.PutUint64(iv[8:], off/4)
	return &keystream{ctr: cipher.NewCTR(block, iv[:]), skip: int(off % 4)}
}

// zeros is the plaintext a keystream is read through: CTR encryption of zeros is the
// keystream itself. Never written.
var zeros [4 * maskChunk]byte

// read writes the next len(dst) words of the stream into dst. On a little-endian
// machine the keystream is written straight into dst's bytes.
func (k *keystream) read(dst []uint32) {
	if k.skip > 0 {
		var drop [16]byte
		k.ctr.XORKeyStream(drop[:4*k.skip], zeros[:4*k.skip])
		k.skip = 0
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst))
	for p := b; len(p) > 0; {
		n := min(len(p), len(zeros))
		k.ctr.XORKeyStream(p[:n], zeros[:n])
		p = p[n:]
	}
	if !littleEndian {
		for i := range dst {
			dst[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	}
}

// littleEndian reports whether a uint32's bytes in memory are its little-endian encoding.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// mask is one term of a masked vector: the key of its keystream, and whether it is
// subtracted.
type mask struct {
	key      []byte
	subtract bool
}

// maskChunk is how many words of the vector every mask is applied to at a time: the
// chunk and its keystream stay in cache while all the masks pass over it.
const maskChunk = 1 << 12

// maskPiece is the words one core takes at a time: each piece starts every mask's
// keystream at its own offset, so the pieces need nothing of each other.
const maskPiece = 1 << 16

// maskGroup is how many keystream chunks are added to the vector's chunk in one pass
// (simd.AddWords over that many rows), so the chunk is read and written once a group.
const maskGroup = 8

// applyMasks adds (or subtracts) every mask's words [base, base+len(words)) to words mod
// 2^32 and reduces the result mod 2^b (modMask = 2^b - 1), across the cores by pieces
// and chunk by chunk within a piece, so the vector crosses memory once and each
// keystream is made once. A base above 0 unmasks one block of a sum held in blocks.
func applyMasks(words []uint32, base uint64, masks []mask, modMask uint32) {
	if simd.AESCTR() {
		applyMasksVAES(words, base, masks, modMask)
		return
	}
	// The added masks first, then the subtracted, so that groups share a sign.
	order := make([]mask, 0, len(masks))
	for _, sub := range []bool{false, true} {
		for _, m := range masks {
			if m.subtract == sub {
				order = append(order, m)
			}
		}
	}
	parallel.Ranges(parallel.Workers(), len(words), maskPiece, func(_, lo, hi int) {
		streams := make([]*keystream, len(order))
		for i, m := range order {
			streams[i] = newKeystream(m.key, base+uint64(lo))
		}
		size := min(maskChunk, hi-lo)
		bufs := make([][]uint32, maskGroup)
		for i := range bufs {
			bufs[i] = make([]uint32, size)
		}
		rows := make([][]uint32, 0, maskGroup)
		for off := lo; off < hi; off += maskChunk {
			w := words[off:min(off+maskChunk, hi)]
			for g := 0; g < len(order); {
				rows = rows[:0]
				sub := order[g].subtract
				for ; g < len(order) && len(rows) < maskGroup && order[g].subtract == sub; g++ {
					r := bufs[len(rows)][:len(w)]
					streams[g].read(r)
					rows = append(rows, r)
				}
				if sub {
					simd.SubWords(w, rows, 0)
				} else {
					simd.AddWords(w, rows, 0)
				}
			}
			if modMask != 1<<32-1 {
				for j := range w {
					w[j] &= modMask
				}
			}
		}
	})
}

// applyMasksVAES is applyMasks with VAES: each mask's keystream is made in registers
// and added to the chunk as it is made (simd.AddAESCTR), never stored; a chunk's words
// before its first whole AES block, and its last short of 16 blocks, take the
// crypto/cipher path.
func applyMasksVAES(words []uint32, base uint64, masks []mask, modMask uint32) {
	enc := make([][176]byte, len(masks))
	for i, m := range masks {
		simd.ExpandAESKey(&enc[i], (*[16]byte)(m.key))
	}
	parallel.Ranges(parallel.Workers(), len(words), maskPiece, func(_, lo, hi int) {
		for off := lo; off < hi; off += maskChunk {
			w := words[off:min(off+maskChunk, hi)]
			at := base + uint64(off)
			head := min(len(w), int(-at%4)) // words before at's next AES block
			applyMasksCTR(w[:head], at, masks)
			bulk := head + (len(w)-head)&^(simd.AESBlockWords-1)
			for i, m := range masks {
				if bulk == head {
					break // no whole AES block in the chunk
				}
				if m.subtract {
					simd.SubAESCTR(w[head:bulk], &enc[i], (at+uint64(head))/4)
				} else {
					simd.AddAESCTR(w[head:bulk], &enc[i], (at+uint64(head))/4)
				}
			}
			applyMasksCTR(w[bulk:], at+uint64(bulk), masks)
			if modMask != 1<<32-1 {
				for j := range w {
					w[j] &= modMask
				}
			}
		}
	})
}

// applyMasksCTR adds the masks' words [from, from+len(w)) to w, through crypto/cipher.
func applyMasksCTR(w []uint32, from uint64, masks []mask) {
	if len(w) == 0 {
		return
	}
	ks := make([]uint32, len(w))
	row := [][]uint32{ks}
	for _, m := range masks {
		newKeystream(m.key, from).read(ks)
		if m.subtract {
			simd.SubWords(w, row, 0)
		} else {
			simd.AddWords(w, row, 0)
		}
	}
}

// addWords adds the rows into sum mod 2^32 across the cores: a core takes 1 MiB of
// the sum (it stays in L2) and adds the rows into it two at a time, so that each row is
// read in runs of 1 MiB. The memory streams more of them that way than when all the
// rows pass 128 bytes at a time (BenchmarkSecAggSum, interleaved, 6 runs each: +10% at
// n = 100, d = 10^6 and +12-17% at n = 32, d = 4·10^6; one row at a time was 12-18%
// slower, four no faster).
func addWords(sum []uint32, rows [][]uint32) {
	parallel.Ranges(parallel.Workers(), len(sum), sumPiece, func(_, lo, hi int) {
		for i := 0; i < len(rows); i += 2 {
			simd.AddWords(sum[lo:hi], rows[i:min(i+2, len(rows))], lo)
		}
	})
}

// sumPiece is the words of the sum one core takes at a time in addWords.
const sumPiece = 1 << 18

// firstOverBits is simd.FirstOverBits over every core, for the server's check of a
// whole masked vector.
func firstOverBits(words []uint32, bits int) int {
	return parallel.First(parallel.Workers(), len(words), sumPiece, func(lo, hi int) int {
		if i := simd.FirstOverBits(words[lo:hi], bits); i >= 0 {
			return lo + i
		}
		return -1
	})
}

// addChecked adds row into sum mod 2^32 on every core, checking each cache-sized part
// of it below 2^bits just before adding it, so that the row crosses memory once. At a
// word not below, it subtracts what it had added (exact, mod 2^32) and returns that
// word's index, the first of the row: the sum is as it was.
func addChecked(sum, row []uint32, bits int) int {
	tasks := (len(sum) + sumPiece - 1) / sumPiece
	reached := make([]int, tasks) // piece t holds row's words [t·sumPiece, reached[t])
	var failed atomic.Bool
	rows := [][]uint32{row}
	parallel.Ranges(parallel.Workers(), len(sum), sumPiece, func(_, lo, hi int) {
		pos := lo
		for pos < hi && !failed.Load() {
			end := min(pos+checkPiece, hi)
			if simd.FirstOverBits(row[pos:end], bits) >= 0 {
				failed.Store(true)
				break
			}
			simd.AddWords(sum[pos:end], rows, pos)
			pos = end
		}
		reached[lo/sumPiece] = pos
	})
	if !failed.Load() {
		return -1
	}
	for t, end := range reached {
		lo := t * sumPiece
		simd.SubWords(sum[lo:end], rows, lo)
	}
	return firstOverBits(row, bits) // the first: another piece may have stopped short of its own
}

// checkPiece is how many words addChecked checks and then adds, while they are in L1.
const checkPiece = 1 << 13
