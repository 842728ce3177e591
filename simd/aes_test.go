package simd_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg/simd"
)

// ctrWords is the definition: crypto/cipher's AES-CTR keystream from block b (IV high
// 64 bits zero, low 64 bits b), n words of it little-endian, key schedule included.
func ctrWords(key []byte, b uint64, n int) []uint32 {
	block, _ := aes.NewCipher(key)
	iv := make([]byte, 16)
	binary.BigEndian.PutUint64(iv[8:], b)
	buf := make([]byte, 4*n)
	cipher.NewCTR(block, iv).XORKeyStream(buf, buf)
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(buf[4*i:])
	}
	return out
}

// TestAESCTRAgainstCryptoCipher: VAES's keystream, added and subtracted, equals
// crypto/cipher's for random keys, lengths and starting blocks (across 2^32 blocks and
// near 2^64 - 2^20), with canaries around the words.
func TestAESCTRAgainstCryptoCipher(t *testing.T) {
	if !simd.AESCTR() {
		t.Skipf("no VAES kernel on path %s", simd.Active())
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := range 200 {
		key := make([]byte, 16)
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		var enc [176]byte
		k := [16]byte(key)
		simd.ExpandAESKey(&enc, &k)
		n := simd.AESBlockWords * rng.IntN(40)
		blk := rng.Uint64N(1 << 40)
		switch trial % 4 {
		case 1:
			blk = 1<<32 - uint64(rng.IntN(8)) // the low word of the counter carries
		case 2:
			blk = 0
		case 3:
			blk = 1<<64 - 1<<20
		}
		want := ctrWords(key, blk, n)
		for _, sub := range []bool{false, true} {
			buf := make([]uint32, n+16)
			for i := range buf {
				buf[i] = 0xabad1dea
			}
			w := buf[8 : 8+n]
			start := make([]uint32, n)
			for i := range w {
				w[i] = rng.Uint32()
				start[i] = w[i]
			}
			if sub {
				simd.SubAESCTR(w, &enc, blk)
			} else {
				simd.AddAESCTR(w, &enc, blk)
			}
			for i := range w {
				e := start[i] + want[i]
				if sub {
					e = start[i] - want[i]
				}
				if w[i] != e {
					t.Fatalf("trial %d sub=%v block %d word %d: %#x, want %#x", trial, sub, blk, i, w[i], e)
				}
			}
			for i, v := range buf {
				if (i < 8 || i >= 8+n) && v != 0xabad1dea {
					t.Fatalf("canary %d overwritten", i)
				}
			}
		}
	}
}
