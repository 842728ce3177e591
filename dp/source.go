package dp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"

	"github.com/octomil/secagg"
)

// Source says where noise comes from: SecureSource (the default everywhere) or, for
// tests and notebooks that need to replay a run, InsecureSeededSource. It is safe for
// concurrent use.
type Source struct {
	secure bool
	seed   uint64
	calls  atomic.Uint64 // noise vectors drawn so far: each call gets its own key
}

// SecureSource draws every call's noise from an AES-256-CTR keystream under a key read
// afresh from crypto/rand for that call.
func SecureSource() *Source { return &Source{secure: true} }

// InsecureSeededSource draws noise from AES-256-CTR keystreams keyed by SHA-256 of the
// seed and a call counter: independent from call to call, and the same sequence for the
// same seed on every machine and at every GOMAXPROCS. Anyone who knows the seed can
// subtract the noise: never use it for a real release.
func InsecureSeededSource(seed uint64) *Source { return &Source{seed: seed} }

// noiseChunk is how many values one keystream serves: the chunks, and so the noise, do
// not depend on how many goroutines share them.
const noiseChunk = 1 << 16

// ValidateSource reports a nil noise source as a bad_request: every sampler checks it
// before it draws or writes anything, and so may a caller that writes before it adds
// noise.
func ValidateSource(src *Source) error {
	if src == nil {
		return secagg.Errorf(secagg.CodeBadRequest, "noise", "the noise source is nil: pass dp.SecureSource()")
	}
	return nil
}

// callKey returns the AES-256 key of one call: 32 bytes of crypto/rand for a secure
// source, else SHA-256 of a label, the seed and the call number; a nil source is
// ValidateSource's bad_request.
func (s *Source) callKey() (cipher.Block, error) {
	if err := ValidateSource(s); err != nil {
		return nil, err
	}
	var key [32]byte
	if s.secure {
		if _, err := rand.Read(key[:]); err != nil {
			return nil, secagg.Errorf("internal_error", "", "crypto/rand failed: %v", err)
		}
	} else {
		var in [32]byte
		copy(in[:], "secagg-dp-noise/")
		binary.LittleEndian.PutUint64(in[16:], s.seed)
		binary.LittleEndian.PutUint64(in[24:], s.calls.Add(1)-1)
		key = sha256.Sum256(in[:])
	}
	return aes.NewCipher(key[:])
}

// keystream is one chunk's keystream, read 64 bits at a time: AES-256-CTR under the
// call's key with the chunk's number in the counter block's high half, so no two chunks
// of a call share a block of keystream (a chunk uses far fewer than 2^64 blocks).
type keystream struct {
	ctr   cipher.Stream
	buf   [4096]byte
	words [len(zeros) / 8]uint64 // buf read as little-endian words
	i     int
}

var zeros [4096]byte

func newKeystream(block cipher.Block, chunk int) *keystream {
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[:8], uint64(chunk))
	b := &keystream{ctr: cipher.NewCTR(block, iv[:])}
	b.refill()
	return b
}

//go:noinline
func (b *keystream) refill() {
	b.ctr.XORKeyStream(b.buf[:], zeros[:])
	for i := range b.words {
		b.words[i] = binary.LittleEndian.Uint64(b.buf[8*i:])
	}
	b.i = 0
}

// uint64 returns the next 64 bits of the keystream (small enough to be inlined;
// refilling is the rare call).
func (b *keystream) uint64() uint64 {
	if b.i == len(b.words) {
		b.refill()
	}
	v := b.words[b.i]
	b.i++
	return v
}
