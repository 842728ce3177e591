// AddAESCTR, SubAESCTR and ExpandAESKey (simd/aes.go): secure aggregation's masks made
// with VAES and added to the words as they are made, on AVX-512 only.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// aesBlocksPerVec is the AES blocks one ZMM register holds; aesVecs the registers one
// iteration encrypts, so 16 blocks (64 words) an iteration.
const aesBlocksPerVec, aesVecs = 4, 4

// genExpandAESKey emits the AES-128 key schedule by AESKEYGENASSIST (constant-time,
// unlike a table): the 11 round keys, 176 bytes, FIPS-197's order.
func genExpandAESKey(s isaSpec) {
	name := "expandAESKey" + s.suffix
	text(name, NOSPLIT, "func(key *[16]byte, enc *[176]byte)")
	Pragma("noescape")
	Doc(name + " is  the AES-128 key expansion of key into enc (FIPS-197, 5.2).")
	key := Load(Param("key"), GP64())
	enc := Load(Param("enc"), GP64())
	k, t, a := XMM(), XMM(), XMM()
	VMOVDQU(Mem{Base: key}, k)
	VMOVDQU(k, Mem{Base: enc})
	for i, rcon := range []uint8{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36} {
		VAESKEYGENASSIST(U8(rcon), k, a)
		VPSHUFD(U8(0xff), a, a) // RotWord(SubWord(w3)) ^ rcon in every word
		for range 3 {           // w0, w0^w1, w0^w1^w2, w0^..^w3
			VPSLLDQ(U8(4), k, t)
			VPXOR(t, k, k)
		}
		VPXOR(a, k, k)
		VMOVDQU(k, Mem{Base: enc, Disp: 16 * (i + 1)})
	}
	RET()
}

// genAESCTR emits the AES-128-CTR keystream added to (sub: subtracted from) uint32
// words: the counter block of block b is 8 zero bytes and b big-endian (crypto/cipher's
// CTR from a zero IV), its 16 keystream bytes are 4 little-endian words, and the
// keystream's words are added to the vector's as they come, never stored.
func genAESCTR(s isaSpec, sub bool) {
	name, op := "addAESCTR"+s.suffix, "+="
	if sub {
		name, op = "subAESCTR"+s.suffix, "-="
	}
	text(name, NOSPLIT, "func(words []uint32, enc *[176]byte, block uint64)")
	Pragma("noescape")
	Doc(name+" is  for i := range words { words[i] "+op+" keystream word i, from AES block `block` on }",
		"for len(words) a multiple of 64 (16 blocks), enc the key schedule of expandAESKey.")
	w := Load(Param("words").Base(), GP64())
	n := Load(Param("words").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(6), n)
	enc := Load(Param("enc"), GP64())
	blk := Load(Param("block"), GP64())
	rk := make([]reg.VecVirtual, 11)
	for i := range rk {
		rk[i] = ZMM()
		VBROADCASTI32X4(Mem{Base: enc, Disp: 16 * i}, rk[i])
	}
	tables := aesTables()
	shuf, step := ZMM(), ZMM()
	VMOVDQU64(tables.Offset(0), shuf)
	VPBROADCASTQ(U64ToGP(uint64(aesBlocksPerVec*aesVecs)), step)
	VPANDQ(tables.Offset(64), step, step) // (0, 16) in every 128-bit lane
	ctr := make([]reg.VecVirtual, aesVecs)
	base := ZMM()
	VPBROADCASTQ(blk, base)
	for v := range ctr {
		ctr[v] = ZMM()
		VPADDQ(tables.Offset(128+64*v), base, ctr[v]) // (b, b+4v+j) in lane j
		VPANDQ(tables.Offset(64), ctr[v], ctr[v])     // (0, b+4v+j)
	}
	forEach(n, "loop", func() {
		x := make([]reg.VecVirtual, aesVecs)
		for v := range x {
			x[v] = ZMM()
			VPSHUFB(shuf, ctr[v], x[v]) // the block number big-endian in bytes 8-15
			VPXORQ(rk[0], x[v], x[v])
		}
		for r := 1; r < 10; r++ {
			for v := range x {
				VAESENC(rk[r], x[v], x[v])
			}
		}
		for v := range x {
			VAESENCLAST(rk[10], x[v], x[v])
			m := Mem{Base: w, Disp: 64 * v}
			if sub {
				t := ZMM()
				VMOVDQU32(m, t)
				VPSUBD(x[v], t, t)
				VMOVDQU32(t, m)
			} else {
				VPADDD(m, x[v], x[v])
				VMOVDQU32(x[v], m)
			}
			VPADDQ(step, ctr[v], ctr[v])
		}
		ADDQ(U32(64*aesVecs), w)
	})
	VZEROUPPER()
	RET()
}

// aesTables lays down, once: the VPSHUFB pattern that byte-swaps the high quadword of
// each 128-bit lane (offset 0), the quadword mask (0, ^0) per lane (64), and the block
// offsets of the four counter registers, (0, 4v+j) for lane j of register v (128 on).
func aesTables() Mem {
	if aesTablesData == nil {
		m := GLOBL("aesctr", RODATA|NOPTR)
		for l := range 64 {
			b := l % 16
			if b >= 8 {
				b = 8 + 15 - b
			}
			DATA(l, U8(uint8(b)))
		}
		for q := range 8 {
			v := uint64(0)
			if q%2 == 1 {
				v = ^uint64(0)
			}
			DATA(64+8*q, U64(v))
		}
		for v := range aesVecs {
			for j := range aesBlocksPerVec {
				DATA(128+64*v+16*j, U64(0))
				DATA(128+64*v+16*j+8, U64(uint64(aesBlocksPerVec*v+j)))
			}
		}
		aesTablesData = &m
	}
	return *aesTablesData
}

var aesTablesData *Mem

// U64ToGP is a register holding the constant v.
func U64ToGP(v uint64) reg.GPVirtual {
	g := GP64()
	MOVQ(U64(v), g)
	return g.(reg.GPVirtual)
}
