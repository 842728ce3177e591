package secure

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/octomil/secagg"
)

// staged is a round advanced stage by stage, for tests that misbehave in one of them.
type staged struct {
	t       *testing.T
	sim     *simulation
	srv     *Server
	clients map[uint64]*Client
	masks   map[uint64]MaskRequest
	unmasks map[uint64]UnmaskRequest
	replies map[uint64]UnmaskReply
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code secagg.Code, what string) {
	t.Helper()
	var e *secagg.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
}

// newStaged runs setup and share_keys with every client, then opens collection. The
// clients' ids and updates depend on n and k only; edit changes the settings.
func newStaged(t *testing.T, n, k int, edit ...func(*Config)) *staged {
	r := mrand.New(mrand.NewPCG(uint64(n), uint64(k)))
	st := &staged{t: t, sim: newSimulation(r, n, k, 50), clients: map[uint64]*Client{}}
	for _, e := range edit {
		e(&st.sim.cfg)
	}
	var setup Setup
	var err error
	st.srv, setup, err = NewServer(st.sim.cfg, 1, st.sim.ids, st.sim.dim)
	mustOK(t, err)
	for _, id := range st.sim.ids {
		c, keys, err := NewClient(id, setup, rand.Reader)
		mustOK(t, err)
		st.clients[id] = c
		mustOK(t, st.srv.AddKeys(id, keys))
	}
	reqs, err := st.srv.ShareKeys()
	mustOK(t, err)
	for id, req := range reqs {
		reply, err := st.clients[id].ShareKeys(req)
		mustOK(t, err)
		mustOK(t, st.srv.AddShares(id, reply))
	}
	st.masks, err = st.srv.CollectMasked()
	mustOK(t, err)
	return st
}

// mask sends every client's masked vector but those in skip, then opens unmask.
func (st *staged) mask(skip ...uint64) {
	for id, req := range st.masks {
		if slices.Contains(skip, id) {
			continue
		}
		mv, err := st.clients[id].Mask(req, st.sim.updates[id], st.sim.weights[id])
		mustOK(st.t, err)
		mustOK(st.t, st.srv.AddMasked(id, mv))
	}
	var err error
	st.unmasks, err = st.srv.Unmask()
	mustOK(st.t, err)
	st.replies = map[uint64]UnmaskReply{}
	for id, req := range st.unmasks {
		st.replies[id], err = st.clients[id].Unmask(req)
		mustOK(st.t, err)
	}
}

func (st *staged) finalize() (*Result, error) {
	return st.srv.Finalize(make([]float32, st.sim.dim))
}

// TestStageAndDuplicateConflicts: a message twice, or in another stage, is a conflict,
// and the round goes on as if it had not been sent.
func TestStageAndDuplicateConflicts(t *testing.T) {
	st := newStaged(t, 9, 5)
	id := st.sim.ids[0]
	wantCode(t, st.srv.AddKeys(id, Keys{}), secagg.CodeConflict, "keys after setup")
	wantCode(t, st.srv.AddShares(id, SharesReply{}), secagg.CodeConflict, "shares after share_keys")
	_, err := st.srv.ShareKeys()
	wantCode(t, err, secagg.CodeConflict, "share_keys twice")
	mv, err := st.clients[id].Mask(st.masks[id], st.sim.updates[id], st.sim.weights[id])
	mustOK(t, err)
	_, err = st.clients[id].Mask(st.masks[id], st.sim.updates[id], st.sim.weights[id])
	wantCode(t, err, secagg.CodeConflict, "a client masking twice")
	mustOK(t, st.srv.AddMasked(id, mv))
	wantCode(t, st.srv.AddMasked(id, mv), secagg.CodeConflict, "a masked vector twice")
	short := MaskedVector{Words: mv.Words[1:]}
	wantCode(t, st.srv.AddMasked(st.sim.ids[1], short), secagg.CodeBadRequest, "a short masked vector")
	wantCode(t, st.srv.AddMasked(999, mv), secagg.CodeBadRequest, "a stranger's masked vector")
	st.mask(id) // id's vector is in already
	for id, rep := range st.replies {
		mustOK(t, st.srv.AddUnmask(id, rep))
	}
	res, err := st.finalize()
	mustOK(t, err)
	if res.Clients != 9 {
		t.Fatalf("%d clients in the sum, want 9", res.Clients)
	}
	_, err = st.finalize()
	wantCode(t, err, secagg.CodeConflict, "finalize twice")
}

// TestTamperedBoxIsRefused plays a server that alters a share box in transit: the
// recipient's check fails and it names the sender.
func TestTamperedBoxIsRefused(t *testing.T) {
	st := newStaged(t, 7, 5)
	id := st.sim.ids[0]
	req := st.masks[id]
	req.Boxes = slices.Clone(req.Boxes)
	req.Boxes[0].Data = slices.Clone(req.Boxes[0].Data)
	req.Boxes[0].Data[20] ^= 1
	_, err := st.clients[id].Mask(req, st.sim.updates[id], st.sim.weights[id])
	wantCode(t, err, secagg.CodeBadRequest, "a tampered box")
	if !strings.Contains(err.Error(), "fails authentication") {
		t.Fatalf("err = %v", err)
	}
	// A box replayed as if from another client fails too: the sender is bound in.
	req = st.masks[id]
	req.Boxes = slices.Clone(req.Boxes)
	req.Boxes[0].Data = req.Boxes[1].Data
	_, err = st.clients[id].Mask(req, st.sim.updates[id], st.sim.weights[id])
	wantCode(t, err, secagg.CodeBadRequest, "a box under another sender's name")
}

// TestBothSecretsNeverRevealed plays a server that asks a client for the seed share and
// the sk1 share of the same neighbour, or asks about strangers: the client refuses.
// And the server refuses a reply holding shares it did not ask for.
func TestBothSecretsNeverRevealed(t *testing.T) {
	st := newStaged(t, 7, 5)
	st.mask(st.sim.ids[3]) // one client dead after share_keys
	id := st.sim.ids[0]
	req := st.unmasks[id]
	c := st.clients[id]
	c.stage = stageUnmask // the client answered once in mask(); let it be asked again
	evil := UnmaskRequest{Active: req.Active, Dead: append(slices.Clone(req.Dead), req.Active[0])}
	_, err := c.Unmask(evil)
	wantCode(t, err, secagg.CodeConflict, "seed and sk1 of one client")
	_, err = c.Unmask(UnmaskRequest{Active: append(slices.Clone(req.Active), 12345)})
	wantCode(t, err, secagg.CodeConflict, "a stranger's share")
	// The server side: a reply with an sk1 share of an active client is refused.
	other := st.sim.ids[1]
	reply := st.replies[other]
	bad := UnmaskReply{Seeds: reply.Seeds, Keys: append(slices.Clone(reply.Keys), Share{Owner: reply.Seeds[0].Owner})}
	wantCode(t, st.srv.AddUnmask(other, bad), secagg.CodeConflict, "an sk1 share of an active client")
	for id, r := range st.replies {
		mustOK(t, st.srv.AddUnmask(id, r))
	}
	wantCode(t, st.srv.AddUnmask(other, reply), secagg.CodeConflict, "a reply twice")
	res, err := st.finalize()
	mustOK(t, err)
	if !slices.Equal(res.Dropped, []uint64{st.sim.ids[3]}) {
		t.Fatalf("dropped %v", res.Dropped)
	}
}

// TestMaliciousShare plays a survivor that returns wrong shares: where the secret has
// more than threshold shares the round recovers and names it; where too few honest
// shares remain it is insufficient_clients naming the owner, never a wrong sum.
func TestMaliciousShare(t *testing.T) {
	st := newStaged(t, 9, 9) // SecAgg: 9 shares of every secret, threshold 5
	st.mask(st.sim.ids[4])
	liar := st.sim.ids[0]
	r := st.replies[liar]
	for i := range r.Seeds {
		r.Seeds[i].Y[3] ^= 0xff
	}
	for i := range r.Keys {
		r.Keys[i].Y[31] ^= 0x01
	}
	for id, rep := range st.replies {
		mustOK(t, st.srv.AddUnmask(id, rep))
	}
	res, err := st.finalize()
	mustOK(t, err)
	if !slices.Equal(res.Rejected, []uint64{liar}) {
		t.Fatalf("rejected %v, want %d", res.Rejected, liar)
	}

	// Only threshold replies, one of them lying: the commitment catches it.
	st = newStaged(t, 9, 9)
	st.mask()
	th := st.sim.cfg.withDefaults().Threshold
	ids := slices.Sorted(func(yield func(uint64) bool) {
		for id := range st.replies {
			yield(id)
		}
	})
	rep := st.replies[ids[0]]
	rep.Seeds[0].Y[0] ^= 1
	for _, id := range ids[:th] {
		mustOK(t, st.srv.AddUnmask(id, st.replies[id]))
	}
	_, err = st.finalize()
	wantCode(t, err, secagg.CodeInsufficientClients, "a lie among threshold shares")
	if !strings.Contains(err.Error(), "do not agree on a secret") {
		t.Fatalf("err = %v", err)
	}
}

// TestTooFewShares: with fewer than threshold replies the secrets cannot be recovered,
// and the error names the clients.
func TestTooFewShares(t *testing.T) {
	st := newStaged(t, 7, 5)
	st.mask()
	n := 0
	for id, rep := range st.replies {
		if n++; n > 2 {
			break
		}
		mustOK(t, st.srv.AddUnmask(id, rep))
	}
	_, err := st.finalize()
	wantCode(t, err, secagg.CodeInsufficientClients, "two replies for threshold 3")
	if !strings.Contains(err.Error(), "too few shares to recover the secrets of client") {
		t.Fatalf("err = %v", err)
	}
}

// TestConfigValidation: the settings are refused as a whole before a round starts.
func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		n   int
		key string
	}{
		{Config{Shares: 4}, 10, "shares"},
		{Config{Shares: 5, Threshold: 2}, 10, "threshold"},
		{Config{Shares: 5, Threshold: 6}, 10, "threshold"},
		{Config{ModulusBits: 33}, 10, "modulus_bits"},
		{Config{QuantizationRange: 1 << 16, ModulusBits: 20}, 20, "quantization_range"},
		{Config{ClippingRange: -1}, 10, "clipping_range"},
		{Config{MinClients: 11}, 10, "min_devices_per_round"},
	} {
		err := c.cfg.Validate(c.n)
		var e *secagg.Error
		if !errors.As(err, &e) || e.Code != secagg.CodeValidation || e.Field != c.key {
			t.Errorf("%+v for %d clients: %v, want a validation_error on %s", c.cfg, c.n, err, c.key)
		}
	}
	if err := (Config{QuantizationRange: 1 << 16, ModulusBits: 20}).Validate(15); err != nil {
		t.Errorf("15 · 2^16 < 2^20 refused: %v", err)
	}
	var cfg Config
	if err := cfg.UnmarshalJSON([]byte(`{"shares": 5, "clip": 1}`)); !errors.Is(err, secagg.ErrBadRequest) {
		t.Errorf("an unknown key: %v", err)
	}
	if err := cfg.UnmarshalJSON([]byte(`{"shares": null}`)); !errors.Is(err, secagg.ErrBadRequest) {
		t.Errorf("a null setting: %v", err)
	}
	mustOK(t, cfg.UnmarshalJSON([]byte(`{"min_devices_per_round": 5, "min_clients": 3}`)))
	if cfg.MinClients != 5 {
		t.Errorf("min_clients beside min_devices_per_round: %d, want the platform's key, 5", cfg.MinClients)
	}
	mustOK(t, cfg.UnmarshalJSON([]byte(`{"min_clients": 3}`)))
	if cfg.MinClients != 3 {
		t.Errorf("the alias alone: %d, want 3", cfg.MinClients)
	}
}

// TestRefusedVectorChangesNothing: a masked vector with a word at or above 2^b is a
// bad_request, and the sum afterwards is exactly as if it had never arrived; a client
// whose update holds a NaN is refused and can mask a good update after.
func TestRefusedVectorChangesNothing(t *testing.T) {
	st := newStaged(t, 7, 5, func(c *Config) { c.ModulusBits, c.QuantizationRange = 20, 1<<12 })
	id := st.sim.ids[0]
	bad := slices.Clone(st.sim.updates[id])
	bad[7] = float32(math.NaN())
	_, err := st.clients[id].Mask(st.masks[id], bad, st.sim.weights[id])
	wantCode(t, err, secagg.CodeValidation, "a NaN in the update")
	mv, err := st.clients[id].Mask(st.masks[id], st.sim.updates[id], st.sim.weights[id])
	mustOK(t, err)
	wide := MaskedVector{Words: slices.Clone(mv.Words)}
	wide.Words[len(wide.Words)-1] |= 1 << 20
	before := slices.Clone(st.srv.sum)
	err = st.srv.AddMasked(id, wide)
	wantCode(t, err, secagg.CodeBadRequest, "a word of 2^20 for modulus 2^20")
	if want := fmt.Sprintf("word %d is", len(wide.Words)-1); !strings.Contains(err.Error(), want) {
		t.Fatalf("%v: does not name the word (%q)", err, want)
	}
	if !slices.Equal(st.srv.sum, before) {
		t.Fatal("a refused masked vector changed the sum")
	}
	mustOK(t, st.srv.AddMasked(id, mv))
	st.mask(id)
	for id, rep := range st.replies {
		mustOK(t, st.srv.AddUnmask(id, rep))
	}
	_, err = st.finalize()
	mustOK(t, err)
}

// TestWideWordUndone: below 2^32 the server checks a masked vector a piece at a time on
// every core, adding each piece as it passes. A word not below 2^b in a late piece
// leaves the sum exactly as it was (the pieces added before are subtracted again), and
// the error names the vector's first such word, not the first some core found.
func TestWideWordUndone(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	n := 3*sumPiece + 5
	s0, row := make([]uint32, n), make([]uint32, n)
	for i := range s0 {
		s0[i] = rng.Uint32()
		row[i] = rng.Uint32() & (1<<20 - 1)
	}
	for _, wide := range [][]int{{2*sumPiece + 9, 3 * sumPiece}, {sumPiece + 3, 2*sumPiece + 9}, {n - 1}, {0, n - 1}} {
		bad := slices.Clone(row)
		for _, i := range wide {
			bad[i] |= 1 << (20 + rng.IntN(12))
		}
		sum := slices.Clone(s0)
		if got := addChecked(sum, bad, 20); got != wide[0] {
			t.Fatalf("wide words at %v: named word %d", wide, got)
		}
		if !slices.Equal(sum, s0) {
			t.Fatalf("wide words at %v: the refused vector changed the sum", wide)
		}
	}
	sum := slices.Clone(s0)
	if got := addChecked(sum, row, 20); got != -1 {
		t.Fatalf("named word %d, below 2^20", got)
	}
	for i := range sum {
		if sum[i] != s0[i]+row[i] {
			t.Fatalf("sum[%d] = %d, want %d", i, sum[i], s0[i]+row[i])
		}
	}
}

// TestBoxFromAnotherRound plays a server replaying a box from an earlier round of the
// same clients: keys are fresh each round and the salt and the box's additional data
// bind session and round, so it fails authentication.
func TestBoxFromAnotherRound(t *testing.T) {
	old, st := newStaged(t, 7, 5), newStaged(t, 7, 5) // the same clients, two sessions
	id := st.sim.ids[0]
	req := st.masks[id]
	req.Boxes = slices.Clone(req.Boxes)
	req.Boxes[0] = old.masks[id].Boxes[0]
	_, err := st.clients[id].Mask(req, st.sim.updates[id], st.sim.weights[id])
	wantCode(t, err, secagg.CodeBadRequest, "a box replayed from another round")
}

// TestLowOrderKey plays a client (or a server) that hands out a low-order X25519 point
// as pk2, whose shared secret would be all zeros whatever the other key: the client
// that would seal shares under it refuses, naming the key's owner.
func TestLowOrderKey(t *testing.T) {
	srv, setup, err := NewServer(Config{Shares: 3, Threshold: 2}, 1, []uint64{1, 2, 3}, 4)
	mustOK(t, err)
	_ = srv
	c, keys, err := NewClient(1, setup, rand.Reader)
	mustOK(t, err)
	var order4 [32]byte
	order4[0] = 1 // u = 1, a point of order 4
	_, other, _ := NewClient(2, setup, rand.Reader)
	hood := []ClientKeys{{1, keys}, {2, Keys{PK1: other.PK1, PK2: order4}}}
	_, err = c.ShareKeys(ShareKeysRequest{Neighbours: hood})
	wantCode(t, err, secagg.CodeBadRequest, "a low-order pk2")
	if !strings.Contains(err.Error(), "pk2 of client 2") {
		t.Fatalf("err = %v", err)
	}
}
