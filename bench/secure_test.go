package bench_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/octomil/secagg/secure"
)

// secureRound is a secure round of n clients with neighbourhoods of k, taken through
// setup and share_keys with real clients, at the start of collect_masked_vectors.
type secureRound struct {
	srv     *secure.Server
	clients map[uint64]*secure.Client
	masks   map[uint64]secure.MaskRequest
	ids     []uint64
}

// newSecureRound sets up a round of n clients, k shares and dimension dim, its sums mod
// 2^bits (0: the default, 32), through share_keys.
func newSecureRound(b *testing.B, n, k, dim, bits int) *secureRound {
	b.Helper()
	r := &secureRound{clients: map[uint64]*secure.Client{}}
	for i := range n {
		r.ids = append(r.ids, uint64(1000+i))
	}
	srv, setup, err := secure.NewServer(secure.Config{Shares: k, Threshold: k/2 + 1, ModulusBits: bits}, 1, r.ids, dim)
	if err != nil {
		b.Fatal(err)
	}
	r.srv = srv
	for _, id := range r.ids {
		c, keys, err := secure.NewClient(id, setup, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		r.clients[id] = c
		if err := srv.AddKeys(id, keys); err != nil {
			b.Fatal(err)
		}
	}
	reqs, err := srv.ShareKeys()
	if err != nil {
		b.Fatal(err)
	}
	for id, req := range reqs {
		reply, err := r.clients[id].ShareKeys(req)
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.AddShares(id, reply); err != nil {
			b.Fatal(err)
		}
	}
	if r.masks, err = srv.CollectMasked(); err != nil {
		b.Fatal(err)
	}
	return r
}

// reply answers unmask with every client asked.
func (r *secureRound) reply(b *testing.B, reqs map[uint64]secure.UnmaskRequest) {
	for id, req := range reqs {
		reply, err := r.clients[id].Unmask(req)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.srv.AddUnmask(id, reply); err != nil {
			b.Fatal(err)
		}
	}
}

// randomWords stands for a masked vector: uniform words are what the server sees.
func randomWords(n int, seed uint64) []uint32 {
	rng := mrand.New(mrand.NewPCG(1, seed))
	w := make([]uint32, n)
	for i := range w {
		w[i] = rng.Uint32()
	}
	return w
}

// BenchmarkSecAggSum is the server taking n masked vectors of d+1 words into its sum
// (AddMasked, then Unmask, which adds the last ones; every core): n·(d+1)·4 bytes of
// input. Modulus 2^32, and 2^24 (the _b24 runs), where each word is checked below 2^b
// before any is added, as a distributed-DP round's are. Each iteration is a new round, set up and finished outside
// the timer, as a coordinator runs one round after another (so the sum's buffer is the
// last round's, whose pages are already touched).
func BenchmarkSecAggSum(b *testing.B) {
	for _, w := range []struct {
		name         string
		n, dim, bits int
	}{
		{"n100_d1m", 100, 1_000_000, 32}, {"n32_d4m", 32, 4_000_000, 32},
		{"n100_d1m_b24", 100, 1_000_000, 24}, {"n32_d4m_b24", 32, 4_000_000, 24},
	} {
		b.Run(w.name, func(b *testing.B) {
			vecs := make([][]uint32, w.n) // one each, so that they come from memory
			for i := range vecs {
				vecs[i] = randomWords(w.dim+1, uint64(i))
				for j := range vecs[i] {
					vecs[i][j] >>= 32 - w.bits
				}
			}
			dst := make([]float32, w.dim)
			b.SetBytes(int64(w.n) * int64(w.dim+1) * 4)
			for b.Loop() {
				b.StopTimer()
				r := newSecureRound(b, w.n, 7, w.dim, w.bits)
				for _, id := range r.ids {
					if _, err := r.clients[id].Mask(r.masks[id], []float32{0.5}, 1); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				for i, id := range r.ids {
					if err := r.srv.AddMasked(id, secure.MaskedVector{Words: vecs[i]}); err != nil {
						b.Fatal(err)
					}
				}
				reqs, err := r.srv.Unmask() // closes collection: the last fold
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				r.finish(b, reqs, dst)
				b.StartTimer()
			}
		})
	}
}

// finish answers unmask with every client and finalises the round.
func (r *secureRound) finish(b *testing.B, reqs map[uint64]secure.UnmaskRequest, dst []float32) *secure.Result {
	r.reply(b, reqs)
	res, err := r.srv.Finalize(dst)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkSecAggUnmask times the server's Finalize for n clients, neighbourhoods of k,
// of whom 5% (every 20th) dropped after share_keys: recovering the secrets and expanding
// one self mask per survivor and one pairwise mask per (dropped, surviving neighbour).
// The bytes are the keystream expanded, so MB/s compares with BenchmarkAESCTR times the
// cores. The survivors' masked vectors are uniform words (what the server sees; their
// clients masked a one-value update, so that setting up 1000 clients stays cheap), and
// server_s is the server's time for the round: its AddMasked, Unmask and Finalize calls.
func BenchmarkSecAggUnmask(b *testing.B) {
	for _, w := range []struct {
		name      string
		n, k, dim int
	}{{"n1000_d1m_k21_drop5", 1000, 21, 1_000_000}, {"n100_d1m_k9_drop5", 100, 9, 1_000_000}} {
		b.Run(w.name, func(b *testing.B) {
			vec := randomWords(w.dim+1, 0) // the same for all: the benchmark is the masks
			dst := make([]float32, w.dim)
			var server float64
			for b.Loop() {
				b.StopTimer()
				r := newSecureRound(b, w.n, w.k, w.dim, 0)
				for i, id := range r.ids {
					if i%20 == 19 {
						continue // dropped after share_keys
					}
					if _, err := r.clients[id].Mask(r.masks[id], []float32{0.5}, 1); err != nil {
						b.Fatal(err)
					}
					t0 := time.Now()
					if err := r.srv.AddMasked(id, secure.MaskedVector{Words: vec}); err != nil {
						b.Fatal(err)
					}
					server += time.Since(t0).Seconds()
				}
				t0 := time.Now()
				reqs, err := r.srv.Unmask()
				if err != nil {
					b.Fatal(err)
				}
				server += time.Since(t0).Seconds()
				r.reply(b, reqs)
				b.StartTimer()
				t0 = time.Now()
				res, err := r.srv.Finalize(dst)
				if err != nil {
					b.Fatal(err)
				}
				server += time.Since(t0).Seconds()
				b.SetBytes(int64(res.Masks) * int64(w.dim+1) * 4)
			}
			b.ReportMetric(server/float64(b.N), "server_s")
		})
	}
}

// BenchmarkAESCTR is the baseline of masks: crypto/cipher's AES-128-CTR keystream on one
// core, 16 KiB at a time (the chunk a mask is made in).
func BenchmarkAESCTR(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 16))
	ctr := cipher.NewCTR(block, make([]byte, 16))
	buf := make([]byte, 1<<14)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		ctr.XORKeyStream(buf, buf)
	}
}

// BenchmarkAESCTRAllCores is BenchmarkAESCTR on every core at once (GOMAXPROCS streams):
// the keystream rate times the cores, as this machine delivers it.
func BenchmarkAESCTRAllCores(b *testing.B) {
	b.SetBytes(1 << 14)
	b.RunParallel(func(pb *testing.PB) {
		block, _ := aes.NewCipher(make([]byte, 16))
		ctr := cipher.NewCTR(block, make([]byte, 16))
		buf := make([]byte, 1<<14)
		for pb.Next() {
			ctr.XORKeyStream(buf, buf)
		}
	})
}
