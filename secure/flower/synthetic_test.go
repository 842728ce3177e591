package flower

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/octomil/secagg/secure/shamir"
)

// syntheticRound is a Flower round as its server holds it at unmask, made here the way
// Flower's clients make theirs (P-384 keys in PEM, 32-byte seeds, pycryptodome-encoded
// Shamir shares of the PKCS#7-padded secrets at the neighbours' positions), for
// benchmarks of a size no fixture has: n nodes on a ring of k (itself included), every
// dead-th node dropped after share_keys. The masked vectors are uniform values (all a
// server sees), so the result is not meaningful, only the work.
func syntheticRound(tb testing.TB, n, k, t, dead, d int) *Round {
	tb.Helper()
	rng := mrand.New(mrand.NewPCG(uint64(n), uint64(d)))
	rd := &Round{
		ClippingRange: 8, QuantizationRange: 1 << 22, ModulusRange: 1 << 32, MaxWeight: 1000,
		NumShares: k, Threshold: t, Shapes: [][]int{{d}},
		Neighbours: map[uint64][]uint64{}, PublicKeys: map[uint64]PublicKeys{},
		Masked: map[uint64][][]uint32{}, Replies: map[uint64]Reply{},
		publicKey1: map[uint64]*ecdh.PublicKey{},
	}
	for i := range n {
		rd.NodeIDs = append(rd.NodeIDs, uint64(1000+i))
	}
	seeds, sk1s := map[uint64][]byte{}, map[uint64][]byte{}
	for i, id := range rd.NodeIDs {
		hood := []uint64{id}
		for s := 1; s <= (k-1)/2; s++ {
			hood = append(hood, rd.NodeIDs[(i+s)%n], rd.NodeIDs[(i-s+n)%n])
		}
		slices.Sort(hood)
		rd.Neighbours[id] = hood
		key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		sk1s[id] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		pk := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
		rd.PublicKeys[id] = PublicKeys{PK1: pk, PK2: pk}
		rd.publicKey1[id], _ = key.PublicKey.ECDH()
		seeds[id] = make([]byte, 32)
		rand.Read(seeds[id])
		if i%dead == dead-1 {
			rd.Dropped = append(rd.Dropped, id)
			continue
		}
		w := make([]uint32, 1)
		v := make([]uint32, d)
		for j := range v {
			v[j] = rng.Uint32()
		}
		rd.Masked[id] = [][]uint32{w, v}
	}
	// share[owner][p] is the share of the owner's seed (active) or sk1 (dropped) for the
	// neighbour at position p of its neighbourhood, in Flower's encoding.
	for _, owner := range rd.NodeIDs {
		secret := seeds[owner]
		if _, active := rd.Masked[owner]; !active {
			secret = sk1s[owner]
		}
		hood := rd.Neighbours[owner]
		xs := make([]uint32, len(hood))
		for p := range xs {
			xs[p] = uint32(p + 1)
		}
		shares, err := shamir.Split(pkcs7(secret), t, xs, rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		for p, holder := range hood {
			if _, active := rd.Masked[holder]; !active {
				continue
			}
			rep := rd.Replies[holder]
			rep.NodeIDs = append(rep.NodeIDs, owner)
			rep.Shares = append(rep.Shares, binary.LittleEndian.AppendUint32(nil, xs[p])[:4:4])
			rep.Shares[len(rep.Shares)-1] = append(rep.Shares[len(rep.Shares)-1], shares[p]...)
			rd.Replies[holder] = rep
		}
	}
	return rd
}

// pkcs7 pads to whole 16-byte blocks, as Flower's create_shares does.
func pkcs7(b []byte) []byte {
	p := 16 - len(b)%16
	out := slices.Clone(b)
	for range p {
		out = append(out, byte(p))
	}
	return out
}

// TestSyntheticRoundRecovers: the synthetic round's secrets are recovered (its shares
// are right), so its benchmark measures a real unmask.
func TestSyntheticRoundRecovers(t *testing.T) {
	rd := syntheticRound(t, 20, 7, 4, 10, 100)
	res, err := Unmask(rd)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 2 || len(res.Active) != 18 || res.Rejected != nil {
		t.Fatalf("%+v", res)
	}
}

// BenchmarkFlowerUnmask is Flower's own reference figure's round (20 clients, k = 7,
// 2 dead, d = 10^6; Flower's server-side unmask took 0.58 s here): the bytes are the
// mask words expanded, 4 each.
func BenchmarkFlowerUnmask(b *testing.B) {
	rd := syntheticRound(b, 20, 7, 4, 10, 1_000_000)
	for b.Loop() {
		res, err := Unmask(rd)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(res.Masks) * 1_000_001 * 4)
	}
}

// BenchmarkFlowerDequantize is the last step of BenchmarkFlowerUnmask's round alone:
// two workers' word sums of 10^6 values added and dequantised into a fresh float64
// array. The bytes are the result's.
func BenchmarkFlowerDequantize(b *testing.B) {
	rd := &Round{ClippingRange: 8, QuantizationRange: 1 << 22, Shapes: [][]int{{1_000_000}}}
	parts := [][]uint32{make([]uint32, 1_000_001), make([]uint32, 1_000_001)}
	for i := range parts[1] {
		parts[0][i], parts[1][i] = uint32(i)*2654435761, uint32(i)*40503
	}
	b.SetBytes(1_000_000 * 8)
	for b.Loop() {
		rd.dequantize(1, parts, 18)
	}
}
