package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
)

// SuiteName names the default suite, specified with its test vectors in SPEC.md.
const SuiteName = "secagg-v1"

// The default suite's primitives, as SPEC.md writes them down: X25519 raw keys, HKDF-SHA256
// with a salt bound to the session and round and an info string naming the purpose and
// the ordered pair of clients, AES-128-CTR keystream as masks, AES-256-GCM for shares.
const (
	infoPairwiseMask    = "secagg-pairwise-mask"
	infoShareEncryption = "secagg-share-encryption"
	infoSelfMask        = "secagg-self-mask"
	commitmentLabel     = "secagg-self-seed-commitment"
	shareLabel          = "secagg-share"

	keySize   = 32 // X25519 keys, self-mask seeds
	maskKey   = 16 // AES-128-CTR key of a mask
	boxKey    = 32 // AES-256-GCM key of a pair's shares
	nonceSize = 12
	tagSize   = 16
)

// salt binds every key of a round to it: the suite's name, the session and the round.
func salt(session [16]byte, round uint64) []byte {
	s := append([]byte(SuiteName), session[:]...)
	return binary.BigEndian.AppendUint64(s, round)
}

// pairInfo is an info string for the unordered pair {i, j}: the purpose, then the smaller
// id and the larger, big-endian, so both clients derive the same key.
func pairInfo(purpose string, i, j uint64) string {
	lo, hi := min(i, j), max(i, j)
	b := binary.BigEndian.AppendUint64([]byte(purpose), lo)
	return string(binary.BigEndian.AppendUint64(b, hi))
}

// agree is X25519 of a private key and a peer's public key; crypto/ecdh refuses the
// low-order points whose shared secret would be all zeros.
func agree(sk *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pk, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, err
	}
	return sk.ECDH(pk)
}

// pairwiseMaskKey is the AES-128 key of the mask clients i and j share.
func pairwiseMaskKey(shared []byte, session [16]byte, round, i, j uint64) []byte {
	k, _ := hkdf.Key(sha256.New, shared, salt(session, round), pairInfo(infoPairwiseMask, i, j), maskKey)
	return k
}

// selfMaskKey is the AES-128 key of client i's self mask, from its seed.
func selfMaskKey(seed []byte, session [16]byte, round, i uint64) []byte {
	info := binary.BigEndian.AppendUint64([]byte(infoSelfMask), i)
	k, _ := hkdf.Key(sha256.New, seed, salt(session, round), string(info), maskKey)
	return k
}

// shareBoxKey is the AES-256-GCM key of the shares clients i and j send each other.
func shareBoxKey(shared []byte, session [16]byte, round, i, j uint64) []byte {
	k, _ := hkdf.Key(sha256.New, shared, salt(session, round), pairInfo(infoShareEncryption, i, j), boxKey)
	return k
}

// commitment binds client i to its self-mask seed, so that the server can check the seed
// it recovers from shares: SHA-256(label || salt || i || seed).
func commitment(seed []byte, session [16]byte, round, i uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte(commitmentLabel))
	h.Write(salt(session, round))
	h.Write(binary.BigEndian.AppendUint64(nil, i))
	h.Write(seed)
	return [32]byte(h.Sum(nil))
}

// shareAD is the additional data of a share box from one client to another.
func shareAD(session [16]byte, round, from, to uint64) []byte {
	b := append([]byte(shareLabel), session[:]...)
	b = binary.BigEndian.AppendUint64(b, round)
	b = binary.BigEndian.AppendUint64(b, from)
	return binary.BigEndian.AppendUint64(b, to)
}

// seal encrypts plaintext as nonce || ciphertext || tag, the nonce from rand.
func seal(key, plaintext, ad []byte, rand io.Reader) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plaintext, ad), nil
}

var errOpen = errors.New("the share box does not authenticate")

// open decrypts a box from seal.
func open(key, box, ad []byte) ([]byte, error) {
	if len(box) < nonceSize+tagSize {
		return nil, errOpen
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, box[:nonceSize], box[nonceSize:], ad)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
