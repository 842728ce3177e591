package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// keystream reads the mask of one AES-128 key: AES-CTR from a zero counter block, as
// little-endian uint32 words, from any word on.
type keystream struct {
	ctr  cipher.Stream
	skip int    // words to drop before the first read: off mod 4
	buf  []byte // scratch, kept between reads
}

func newKeystream(key []byte, off uint64) *keystream {
	block, _ := aes.NewCipher(key) // 16 bytes: cannot fail
	var iv [16]byte
	// The block holding word off: 4 words a block; the counter is big-endian.
	binary.BigEndian.PutUint64(iv[8:], off/4)
	return &keystream{ctr: cipher.NewCTR(block, iv[:]), skip: int(off % 4)}
}

// read writes the next len(dst) words of the stream into dst.
func (k *keystream) read(dst []uint32) {
	n := 4 * (len(dst) + k.skip)
	if cap(k.buf) < n {
		k.buf = make([]byte, n)
	}
	b := k.buf[:n]
	clear(b)
	k.ctr.XORKeyStream(b, b)
	b = b[4*k.skip:]
	k.skip = 0
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
}

// mask is one term of a masked vector: the key of its keystream, and whether it is
// subtracted.
type mask struct {
	key      []byte
	subtract bool
}

// maskChunk is how many words of the vector every mask is applied to at a time: the
// chunk and its keystream stay in cache while all the masks pass over it.
const maskChunk = 1 << 12

// applyMasks adds (or subtracts) every mask to words mod 2^32 and reduces the result
// mod 2^b (modMask = 2^b - 1), chunk by chunk, so the vector crosses memory once.
func applyMasks(words []uint32, masks []mask, modMask uint32) {
	streams := make([]*keystream, len(masks))
	for i, m := range masks {
		streams[i] = newKeystream(m.key, 0)
	}
	buf := make([]uint32, min(maskChunk, len(words)))
	for off := 0; off < len(words); off += maskChunk {
		w := words[off:min(off+maskChunk, len(words))]
		ks := buf[:len(w)]
		for i, s := range streams {
			s.read(ks)
			if masks[i].subtract {
				for j := range w {
					w[j] -= ks[j]
				}
			} else {
				for j := range w {
					w[j] += ks[j]
				}
			}
		}
		for j := range w {
			w[j] &= modMask
		}
	}
}
