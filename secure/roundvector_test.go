package secure

import (
	"bytes"
	"crypto/ecdh"
	"encoding"
	"encoding/hex"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// roundVector is one whole small round of the default suite, every message as it goes
// over the wire (hex), with the unmasked sum and mean: testdata/round.json, which
// check_vectors.py replays as a server of its own. Five clients on a ring of three,
// threshold two; client 5 drops out before masking, so its pairwise masks are rebuilt
// from shares of its sk1.
type roundVector struct {
	About      string              `json:"about"`
	Clients    []uint64            `json:"clients"`
	Dimension  int                 `json:"dimension"`
	Updates    [][]float32         `json:"updates"`
	Weights    []float64           `json:"weights"`
	DropsAt    map[string]string   `json:"drops_before"`
	Setup      string              `json:"setup"`
	Keys       map[string]string   `json:"keys"`
	ShareKeys  map[string]string   `json:"share_keys_requests"`
	Shares     map[string]string   `json:"shares_replies"`
	MaskReqs   map[string]string   `json:"mask_requests"`
	Masked     map[string]string   `json:"masked_vectors"`
	UnmaskReqs map[string]string   `json:"unmask_requests"`
	Replies    map[string]string   `json:"unmask_replies"`
	Sum        []uint32            `json:"sum"`
	MeanBits   []uint32            `json:"mean_float32_bits"`
	Result     map[string][]uint64 `json:"result"`
}

func wireHex(t *testing.T, m encoding.BinaryMarshaler) string {
	b, err := m.MarshalBinary()
	mustOK(t, err)
	return hex.EncodeToString(b)
}

func playRoundVector(t *testing.T) roundVector {
	ids := []uint64{1, 2, 3, 4, 5}
	v := roundVector{
		About:   "one whole secagg-v1 round: every message in the wire format (hex), the unmasked sum mod 2^32 and the mean; client 5 drops out before masking",
		Clients: ids, Dimension: 4,
		Updates: [][]float32{{0.5, -1, 2, 0}, {1.25, 0.75, -3, 1}, {-0.5, 4, 0.125, -2}, {3, -2.5, 1, 0.5}, {-1, 1, -1, 1}},
		Weights: []float64{10, 20, 30, 40, 50},
		DropsAt: map[string]string{"5": "collect_masked_vectors"},
		Keys:    map[string]string{}, ShareKeys: map[string]string{}, Shares: map[string]string{},
		MaskReqs: map[string]string{}, Masked: map[string]string{}, UnmaskReqs: map[string]string{}, Replies: map[string]string{},
		Result: map[string][]uint64{},
	}
	seeded := func(label string, id uint64) *mrand.ChaCha8 {
		var k [32]byte
		copy(k[:], label)
		k[31] = byte(id)
		return mrand.NewChaCha8(k)
	}
	cfg := Config{Shares: 3, Threshold: 2, QuantizationRange: 1 << 16, MaxWeight: 100}
	srv, setup, err := newServer(cfg, 3, ids, v.Dimension, seeded("server", 0))
	mustOK(t, err)
	v.Setup = wireHex(t, setup)
	key := func(b byte) *ecdh.PrivateKey {
		k, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{b}, 32))
		mustOK(t, err)
		return k
	}
	clients := map[uint64]*Client{}
	name := func(id uint64) string { return strconv.FormatUint(id, 10) }
	for _, id := range ids {
		c, keys, err := newClient(id, setup, seeded("client", id), key(0x10+byte(id)), key(0x20+byte(id)))
		mustOK(t, err)
		clients[id] = c
		v.Keys[name(id)] = wireHex(t, keys)
		mustOK(t, srv.AddKeys(id, keys))
	}
	shareReqs, err := srv.ShareKeys()
	mustOK(t, err)
	for _, id := range ids {
		req := shareReqs[id]
		v.ShareKeys[name(id)] = wireHex(t, req)
		reply, err := clients[id].ShareKeys(req)
		mustOK(t, err)
		v.Shares[name(id)] = wireHex(t, reply)
		mustOK(t, srv.AddShares(id, reply))
	}
	maskReqs, err := srv.CollectMasked()
	mustOK(t, err)
	for i, id := range ids {
		req := maskReqs[id]
		v.MaskReqs[name(id)] = wireHex(t, req)
		if id == 5 {
			continue
		}
		mv, err := clients[id].Mask(req, v.Updates[i], v.Weights[i])
		mustOK(t, err)
		v.Masked[name(id)] = wireHex(t, mv)
		mustOK(t, srv.AddMasked(id, mv))
	}
	unmaskReqs, err := srv.Unmask()
	mustOK(t, err)
	for _, id := range ids[:4] {
		req := unmaskReqs[id]
		v.UnmaskReqs[name(id)] = wireHex(t, req)
		reply, err := clients[id].Unmask(req)
		mustOK(t, err)
		v.Replies[name(id)] = wireHex(t, reply)
		mustOK(t, srv.AddUnmask(id, reply))
	}
	testHookSum = func(s []uint32) { v.Sum = slices.Clone(s) }
	defer func() { testHookSum = nil }()
	mean := make([]float32, v.Dimension)
	res, err := srv.Finalize(mean)
	mustOK(t, err)
	for _, m := range mean {
		v.MeanBits = append(v.MeanBits, math.Float32bits(m))
	}
	v.Result["active"], v.Result["dropped"] = res.Active, res.Dropped
	return v
}

// TestRoundVector pins a whole round to testdata/round.json: the same keys and seeds
// give the same messages, byte for byte, and the same sum.
func TestRoundVector(t *testing.T) { pinned(t, "testdata/round.json", playRoundVector(t)) }
