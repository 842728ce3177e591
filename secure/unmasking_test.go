package secure

import (
	"bytes"
	"errors"
	"math"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/simd"
)

// heldRound is a round of 24 clients of 70,000 values (more than a core's piece of the
// unmasking, 65,536 words), one dropping at each stage.
func heldRound() (updates [][]float32, weights []float64, drops []Stage, cfg Config) {
	r := mrand.New(mrand.NewPCG(8, 8))
	n, d := 24, 70000
	updates = make([][]float32, n)
	weights = make([]float64, n)
	drops = make([]Stage, n)
	for i := range updates {
		updates[i] = make([]float32, d)
		for j := range updates[i] {
			updates[i][j] = float32(r.NormFloat64())
		}
		weights[i] = 1 + 9*r.Float64()
		if i%6 == 5 {
			drops[i] = Stage(1 + i/6)
		}
	}
	return updates, weights, drops, Config{Shares: 15, MaxWeight: 10}
}

// sumHeld adds the held masked vectors mod 2^32, as the workers that hold them would.
func sumHeld(held map[uint64]MaskedVector, words int) []uint32 {
	sum := make([]uint32, words)
	for _, mv := range held {
		for i, w := range mv.Words {
			sum[i] += w
		}
	}
	return sum
}

// TestUnmaskingByBlocks: a round whose masked vectors are held elsewhere, unmasked and
// dequantized block by block at random offsets (most not on an AES block, 4 words),
// gives Simulate's mean to the bit and its clients (the masks differ: each server draws
// its own ring), on every SIMD path.
func TestUnmaskingByBlocks(t *testing.T) {
	updates, weights, drops, cfg := heldRound()
	d := len(updates[0])
	want := make([]float32, d)
	wantRes, err := Simulate(want, cfg, updates, weights, drops, 11)
	mustOK(t, err)
	for _, path := range simd.Supported() {
		prev, err := simd.Select(path)
		mustOK(t, err)
		held, u, res, err := SimulateHeld(cfg, updates, weights, drops, 11)
		mustOK(t, err)
		if !slices.Equal(u.Clients(), res.Active) || u.Dim() != d || len(held) != len(res.Active) {
			t.Fatalf("%s: unmasking of %d clients, dim %d, for %d held and active %v", path, len(u.Clients()), u.Dim(), len(held), res.Active)
		}
		for _, f := range []struct {
			name      string
			got, want any
		}{{"active", res.Active, wantRes.Active}, {"dropped", res.Dropped, wantRes.Dropped},
			{"excluded", res.Excluded, wantRes.Excluded}, {"clipped", res.Clipped, wantRes.Clipped}} {
			if !equalAny(f.got, f.want) {
				t.Fatalf("%s: %s %v, Simulate's %v", path, f.name, f.got, f.want)
			}
		}
		sum := sumHeld(held, d+1)
		r := mrand.New(mrand.NewPCG(uint64(len(path)), 9))
		var weight uint32
		got := make([]float32, d)
		for lo := 0; lo < d+1; {
			hi := min(d+1, lo+1+r.IntN(9000))
			mustOK(t, u.Unmask(sum[lo:hi], lo))
			values := sum[lo:hi]
			if lo == 0 {
				weight, values = sum[0], sum[1:hi]
			}
			mustOK(t, u.Mean(got[max(lo, 1)-1:hi-1], values, weight))
			lo = hi
		}
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("%s: value %d unmasked by blocks is %v, Finalize's %v", path, j, got[j], want[j])
			}
		}
		_, err = simd.Select(prev)
		mustOK(t, err)
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []uint64:
		return slices.Equal(a, b.([]uint64))
	default:
		return a == b
	}
}

// TestUnmaskingHidesEachClient plays a worker that holds the Unmasking and the masked
// vectors. For one active client's vector it removes every mask the Unmasking holds, and
// every one and every two of them on their own (its self mask, and a pairwise mask of a
// dropped neighbour): the words must say nothing of the client's values, for its
// pairwise masks with the active clients are in no key here. The sum of all but one
// vector, unmasked, must look uniform too. A client that leaves out its pairwise masks
// fails it.
func TestUnmaskingHidesEachClient(t *testing.T) {
	updates, weights, drops, cfg := heldRound()
	held, u, _, err := SimulateHeld(cfg, updates, weights, drops, 12)
	mustOK(t, err)
	// The attacker's guess of the words: what the values quantise to, within a step
	// (the rounding is stochastic).
	quantised := func(id uint64, j int) float64 {
		i := int(id - 1)
		ratio := math.Round(weights[i]/cfg.MaxWeight*DefaultQuantizationRange) / DefaultQuantizationRange
		y := math.Max(-DefaultClippingRange, math.Min(DefaultClippingRange, ratio*float64(updates[i][j])))
		return (y + DefaultClippingRange) * DefaultQuantizationRange / (2 * DefaultClippingRange)
	}
	const look = 1024 // values the attacker compares
	var tries [][]mask
	tries = append(tries, u.masks)
	for i := range u.masks {
		tries = append(tries, u.masks[i:i+1])
		for j := i + 1; j < len(u.masks); j++ {
			tries = append(tries, []mask{u.masks[i], u.masks[j]})
		}
	}
	clients := u.Clients()
	for _, id := range clients[:4] {
		for _, try := range tries {
			words := slices.Clone(held[id].Words[:look+1])
			applyMasks(words, 0, try, math.MaxUint32)
			near := 0
			for j := range look {
				if math.Abs(float64(words[j+1])-quantised(id, j)) <= 1 {
					near++
				}
			}
			// Uniform words land within a step of a value 3 times in 2^32.
			if near > 0 {
				t.Fatalf("client %d's vector less %d of the masks shows %d of its first %d values", id, len(try), near, look)
			}
		}
	}
	d := len(updates[0])
	allBut := sumHeld(held, d+1)
	for i, w := range held[clients[0]].Words {
		allBut[i] -= w
	}
	mustOK(t, u.Unmask(allBut, 0))
	if top := topBitBalance(allBut[1:]); math.Abs(top-0.5) > 0.01 {
		t.Fatalf("the sum less one client, unmasked, has its top bit set in %.3f of the words", top)
	}
}

// topBitBalance is the fraction of the words whose top bit is set: 0.5 for uniform words,
// 0 for quantised values far below 2^31.
func topBitBalance(words []uint32) float64 {
	set := 0
	for _, w := range words {
		set += int(w >> 31)
	}
	return float64(set) / float64(len(words))
}

// TestUnmaskingRefusals: a round takes its vectors one way only; Finalize and Unmasking
// each refuse the other's round; blocks outside the sum, a weight of 0 and mismatched
// lengths are refused; a refused Unmasking (too few shares) leaves the round open, and
// the next reply lets it finish.
func TestUnmaskingRefusals(t *testing.T) {
	st := newStaged(t, 7, 5)
	for i, id := range st.sim.ids {
		mv, err := st.clients[id].Mask(st.masks[id], st.sim.updates[id], st.sim.weights[id])
		mustOK(t, err)
		if i > 0 {
			wantCode(t, st.srv.AddMasked(id, mv), secagg.CodeConflict, "AddMasked in a round of held vectors")
			wantCode(t, st.srv.RecordMasked(id, -1), secagg.CodeBadRequest, "-1 values clipped")
		}
		mustOK(t, st.srv.RecordMasked(id, mv.Clipped))
		wantCode(t, st.srv.RecordMasked(id, mv.Clipped), secagg.CodeConflict, "RecordMasked twice")
	}
	unmasks, err := st.srv.Unmask()
	mustOK(t, err)
	replies := 0
	for id, req := range unmasks {
		reply, err := st.clients[id].Unmask(req)
		mustOK(t, err)
		mustOK(t, st.srv.AddUnmask(id, reply))
		if replies++; replies == 1 { // t = 3
			_, _, err := st.srv.Unmasking()
			wantCode(t, err, secagg.CodeInsufficientClients, "Unmasking with 1 reply of t = 3")
		}
	}
	_, err = st.finalize()
	wantCode(t, err, secagg.CodeConflict, "Finalize of held vectors")
	u, res, err := st.srv.Unmasking()
	mustOK(t, err)
	if len(res.Active) != 7 || len(u.Clients()) != 7 {
		t.Fatalf("%d active, %d in the unmasking", len(res.Active), len(u.Clients()))
	}
	_, _, err = st.srv.Unmasking()
	wantCode(t, err, secagg.CodeConflict, "a second Unmasking")
	for _, c := range []struct{ n, off int }{{1, -1}, {2, 50}, {52, 0}} {
		wantCode(t, u.Unmask(make([]uint32, c.n), c.off), secagg.CodeBadRequest, "words outside the sum")
	}
	wantCode(t, u.Mean(make([]float32, 3), make([]uint32, 3), 0), secagg.CodeValidation, "weight 0")
	wantCode(t, u.Mean(make([]float32, 2), make([]uint32, 3), 1), secagg.CodeBadRequest, "2 values for 3 sums")

	// A round that summed its vectors refuses Unmasking, and RecordMasked.
	st = newStaged(t, 7, 5)
	id := st.sim.ids[0]
	mv, err := st.clients[id].Mask(st.masks[id], st.sim.updates[id], st.sim.weights[id])
	mustOK(t, err)
	mustOK(t, st.srv.AddMasked(id, mv))
	wantCode(t, st.srv.RecordMasked(st.sim.ids[1], 0), secagg.CodeConflict, "RecordMasked in a summed round")
	st.mask(id)
	for id, rep := range st.replies {
		mustOK(t, st.srv.AddUnmask(id, rep))
	}
	_, _, err = st.srv.Unmasking()
	wantCode(t, err, secagg.CodeConflict, "Unmasking of a summed round")
	_, err = st.finalize()
	mustOK(t, err)
}

// TestUnmaskingEncoding: an Unmasking crosses to a worker and back unchanged, unmasking
// the same words; truncations, a bad sign byte, unsorted ids and settings out of range are
// refused with a bad_request.
func TestUnmaskingEncoding(t *testing.T) {
	updates, weights, drops, cfg := heldRound()
	cfg.Shares = 7
	held, u, _, err := SimulateHeld(cfg, updates[:8], weights[:8], drops[:8], 13)
	mustOK(t, err)
	b, err := u.MarshalBinary()
	mustOK(t, err)
	var back Unmasking
	mustOK(t, back.UnmarshalBinary(b))
	sum := sumHeld(held, len(updates[0])+1)
	again := slices.Clone(sum)
	mustOK(t, u.Unmask(sum, 0))
	mustOK(t, back.Unmask(again, 0))
	if !slices.Equal(sum, again) {
		t.Fatal("the decoded Unmasking unmasks other words")
	}
	b2, _ := back.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("the decoded Unmasking encodes differently")
	}
	for n := range len(b) {
		if err := new(Unmasking).UnmarshalBinary(b[:n]); !errors.Is(err, secagg.ErrBadRequest) {
			t.Fatalf("%d of %d bytes: %v", n, len(b), err)
		}
	}
	ids := 4 + 8*4 + 4 // the active ids' list starts here
	for name, edit := range map[string]func(p []byte){
		"sign 2":         func(p []byte) { p[len(p)-1] = 2 },
		"ids unsorted":   func(p []byte) { p[ids], p[ids+8] = p[ids+8], p[ids] },
		"dim 0":          func(p []byte) { clear(p[4:12]) },
		"modulus 33":     func(p []byte) { p[12] = 33 },
		"clipping -8":    func(p []byte) { p[35] ^= 0x80 },
		"another type":   func(p []byte) { p[3] = wireMaskedVector },
		"byte left over": nil,
	} {
		p := slices.Clone(b)
		if edit == nil {
			p = append(p, 0)
		} else {
			edit(p)
		}
		if err := new(Unmasking).UnmarshalBinary(p); !errors.Is(err, secagg.ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
