package secure

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/octomil/secagg/secure/shamir"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from this implementation")

// vectors are the default suite's test vectors (testdata/vectors.json, SPEC.md): fixed
// inputs and every value derived from them, for other implementations to check
// themselves against (testdata/check_vectors.py does, with Python's cryptography).
type vectors struct {
	Suite   string `json:"suite"`
	Session string `json:"session"`
	Round   uint64 `json:"round"`
	Salt    string `json:"salt"`
	I       uint64 `json:"client_i"`
	J       uint64 `json:"client_j"`

	SK1I                string   `json:"sk1_i"`
	SK1J                string   `json:"sk1_j"`
	PK1I                string   `json:"pk1_i"`
	PK1J                string   `json:"pk1_j"`
	Shared1             string   `json:"x25519_sk1_i_pk1_j"`
	PairwiseInfo        string   `json:"pairwise_info"`
	PairwiseMaskKey     string   `json:"pairwise_mask_key"`
	PairwiseWords       []uint32 `json:"pairwise_mask_words_0_8"`
	PairwiseWordsAt1001 []uint32 `json:"pairwise_mask_words_1001_1005"`

	SelfSeed    string   `json:"self_seed"`
	SelfMaskKey string   `json:"self_mask_key"`
	Commitment  string   `json:"self_seed_commitment"`
	SelfWords   []uint32 `json:"self_mask_words_0_8"`

	SK2I        string `json:"sk2_i"`
	SK2J        string `json:"sk2_j"`
	Shared2     string `json:"x25519_sk2_i_pk2_j"`
	ShareBoxKey string `json:"share_box_key"`
	Nonce       string `json:"box_nonce"`
	AD          string `json:"box_additional_data"`
	Plaintext   string `json:"box_plaintext"`
	Box         string `json:"box"`

	ShamirSecret       string   `json:"shamir_secret"`
	ShamirThreshold    int      `json:"shamir_threshold"`
	ShamirPoints       []uint32 `json:"shamir_points"`
	ShamirCoefficients string   `json:"shamir_coefficients"` // per block, the t-1 random coefficients (x^1 first)
	ShamirShares       []string `json:"shamir_shares"`
}

func h(b []byte) string { return hex.EncodeToString(b) }

func scalar(fill byte) []byte { return bytes.Repeat([]byte{fill}, 32) }

func computeVectors(t *testing.T) vectors {
	var session [16]byte
	for i := range session {
		session[i] = byte(i)
	}
	v := vectors{Suite: SuiteName, Session: h(session[:]), Round: 42, I: 1001, J: 77}
	v.Salt = h(salt(session, v.Round))
	key := func(b []byte) *ecdh.PrivateKey {
		k, err := ecdh.X25519().NewPrivateKey(b)
		mustOK(t, err)
		return k
	}
	ski, skj := key(scalar(0x11)), key(scalar(0x22))
	v.SK1I, v.SK1J = h(ski.Bytes()), h(skj.Bytes())
	v.PK1I, v.PK1J = h(ski.PublicKey().Bytes()), h(skj.PublicKey().Bytes())
	shared, err := agree(ski, skj.PublicKey().Bytes())
	mustOK(t, err)
	v.Shared1 = h(shared)
	v.PairwiseInfo = h([]byte(pairInfo(infoPairwiseMask, v.I, v.J)))
	pk := pairwiseMaskKey(shared, session, v.Round, v.I, v.J)
	v.PairwiseMaskKey = h(pk)
	v.PairwiseWords = make([]uint32, 8)
	newKeystream(pk, 0).read(v.PairwiseWords)
	v.PairwiseWordsAt1001 = make([]uint32, 4)
	newKeystream(pk, 1001).read(v.PairwiseWordsAt1001)

	seed := scalar(0x33)
	v.SelfSeed = h(seed)
	sk := selfMaskKey(seed, session, v.Round, v.I)
	v.SelfMaskKey = h(sk)
	c := commitment(seed, session, v.Round, v.I)
	v.Commitment = h(c[:])
	v.SelfWords = make([]uint32, 8)
	newKeystream(sk, 0).read(v.SelfWords)

	s2i, s2j := key(scalar(0x44)), key(scalar(0x55))
	v.SK2I, v.SK2J = h(s2i.Bytes()), h(s2j.Bytes())
	shared2, err := agree(s2i, s2j.PublicKey().Bytes())
	mustOK(t, err)
	v.Shared2 = h(shared2)
	bk := shareBoxKey(shared2, session, v.Round, v.I, v.J)
	v.ShareBoxKey = h(bk)
	nonce := bytes.Repeat([]byte{0x66}, nonceSize)
	v.Nonce = h(nonce)
	ad := shareAD(session, v.Round, v.I, v.J)
	v.AD = h(ad)
	pt := sharePlaintext(v.I, v.J, scalar(0x77), scalar(0x88))
	v.Plaintext = h(pt)
	box, err := seal(bk, pt, ad, bytes.NewReader(nonce))
	mustOK(t, err)
	v.Box = h(box)

	v.ShamirSecret, v.ShamirThreshold, v.ShamirPoints = h(seed), 3, []uint32{1, 2, 3, 4, 5}
	coeffs := make([]byte, 2*2*16)
	for i := range coeffs {
		coeffs[i] = byte(0xa0 + i)
	}
	v.ShamirCoefficients = h(coeffs)
	shares, err := shamir.Split(seed, 3, v.ShamirPoints, bytes.NewReader(coeffs))
	mustOK(t, err)
	for _, s := range shares {
		v.ShamirShares = append(v.ShamirShares, h(s))
	}
	return v
}

// TestVectors pins the suite to testdata/vectors.json: a change to any derivation fails
// here, and the same file is what other implementations test against.
func TestVectors(t *testing.T) { pinned(t, "testdata/vectors.json", computeVectors(t)) }

// pinned compares v, as indented JSON, with the file at path (rewriting it with
// -update): a change to the suite fails here, and the file is what other
// implementations test against.
func pinned(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	mustOK(t, err)
	got = append(got, '\n')
	if *update {
		mustOK(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	mustOK(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("this implementation differs from %s (run with -update only for a new suite version)", path)
	}
}

// TestKeystreamAtAnyOffset: a mask made from any word on equals the same words of the
// whole stream, which is crypto/cipher's AES-CTR from a zero counter.
func TestKeystreamAtAnyOffset(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 16)
	whole := make([]uint32, 5000)
	newKeystream(key, 0).read(whole)
	for _, off := range []int{0, 1, 3, 4, 5, 1001, 4095, 4096, 4097} {
		part := make([]uint32, 7)
		s := newKeystream(key, uint64(off))
		s.read(part[:3]) // in two reads, as applyMasks reads chunk after chunk
		s.read(part[3:])
		for i, w := range part {
			if w != whole[off+i] {
				t.Fatalf("word %d from offset %d differs", off+i, off)
			}
		}
	}
}
