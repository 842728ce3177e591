package simd

import "github.com/klauspost/cpuid/v2"

// hasVAES is whether the CPU has VAES and AES-NI, read once.
var hasVAES = cpuid.CPU.Supports(cpuid.VAES, cpuid.AESNI)

// AESCTR reports whether ExpandAESKey, AddAESCTR and SubAESCTR run here: on the AVX-512
// path of a CPU with VAES. Elsewhere a caller makes the keystream with crypto/cipher.
func AESCTR() bool { return hasVAES && active.Load().k.addAESCTR != nil }

// AESBlockWords is how many words AddAESCTR takes at a time: 16 AES blocks.
const AESBlockWords = 64

// ExpandAESKey writes the AES-128 key schedule of key (FIPS-197: 11 round keys) into
// enc, by AESKEYGENASSIST, constant-time. It panics where !AESCTR().
func ExpandAESKey(enc *[176]byte, key *[16]byte) { active.Load().k.expandAESKey(key, enc) }

// AddAESCTR adds to words[i], mod 2^32, the i-th little-endian uint32 of the AES-128-CTR
// keystream of the schedule enc from AES block `block` on: what crypto/cipher's CTR
// writes from the IV whose high 64 bits are zero and low 64 bits block, read as words,
// made and added in registers without storing it. len(words) must be a multiple of
// AESBlockWords; it panics where !AESCTR().
func AddAESCTR(words []uint32, enc *[176]byte, block uint64) {
	aesCTR(words, enc, block, active.Load().k.addAESCTR)
}

// SubAESCTR is AddAESCTR subtracting the keystream.
func SubAESCTR(words []uint32, enc *[176]byte, block uint64) {
	aesCTR(words, enc, block, active.Load().k.subAESCTR)
}

func aesCTR(words []uint32, enc *[176]byte, block uint64, kernel func([]uint32, *[176]byte, uint64)) {
	if len(words)%AESBlockWords != 0 {
		panic("simd: AES-CTR words not a multiple of 64")
	}
	if !hasVAES || kernel == nil {
		panic("simd: no VAES kernel on this path")
	}
	kernel(words, enc, block)
}
