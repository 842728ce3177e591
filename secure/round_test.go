package secure

import (
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/octomil/secagg"
)

// simulation drives one round in process: clients, their updates and weights, and who
// drops at which stage.
type simulation struct {
	cfg     Config
	ids     []uint64
	dim     int
	updates map[uint64][]float32
	weights map[uint64]float64
	// drop[id] is the stage a client vanishes before (0: answers everything).
	drop map[uint64]int
}

func newSimulation(r *mrand.Rand, n, k, dim int) *simulation {
	sim := &simulation{cfg: Config{Shares: k, Threshold: k/2 + 1, QuantizationRange: 1 << 12, MaxWeight: 100},
		dim: dim, updates: map[uint64][]float32{}, weights: map[uint64]float64{}, drop: map[uint64]int{}}
	for len(sim.ids) < n {
		id := r.Uint64() >> r.IntN(60)
		if slices.Contains(sim.ids, id) {
			continue
		}
		sim.ids = append(sim.ids, id)
		u := make([]float32, dim)
		for i := range u {
			u[i] = float32(r.NormFloat64())
		}
		sim.updates[id] = u
		sim.weights[id] = float64(1 + r.IntN(100))
	}
	return sim
}

// run plays the round; it returns the server's result and the mean, or the first error.
func (sim *simulation) run(t *testing.T) (*Result, []float32, error) {
	t.Helper()
	srv, setup, err := NewServer(sim.cfg, 7, sim.ids, sim.dim)
	if err != nil {
		return nil, nil, err
	}
	clients := map[uint64]*Client{}
	for _, id := range sim.ids {
		if sim.drop[id] == 1 {
			continue
		}
		c, keys, err := NewClient(id, setup, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		clients[id] = c
		if err := srv.AddKeys(id, keys); err != nil {
			t.Fatal(err)
		}
	}
	shareReqs, err := srv.ShareKeys()
	if err != nil {
		return nil, nil, err
	}
	for id, req := range shareReqs {
		if sim.drop[id] == 2 {
			continue
		}
		reply, err := clients[id].ShareKeys(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.AddShares(id, reply); err != nil {
			t.Fatal(err)
		}
	}
	maskReqs, err := srv.CollectMasked()
	if err != nil {
		return nil, nil, err
	}
	// Masked vectors arrive from many goroutines at once.
	var wg sync.WaitGroup
	errs := make(chan error, len(maskReqs))
	for id, req := range maskReqs {
		if sim.drop[id] == 3 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			mv, err := clients[id].Mask(req, sim.updates[id], sim.weights[id])
			if err == nil {
				err = srv.AddMasked(id, mv)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	unmaskReqs, err := srv.Unmask()
	if err != nil {
		return nil, nil, err
	}
	for id, req := range unmaskReqs {
		if sim.drop[id] == 4 {
			continue
		}
		reply, err := clients[id].Unmask(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.AddUnmask(id, reply); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]float32, sim.dim)
	res, err := srv.Finalize(dst)
	return res, dst, err
}

// TestRoundsUnmaskExactly plays many random rounds, SecAgg+ rings and SecAgg (n up to
// 200), with clients dropping at every stage and masked vectors arriving from many
// goroutines, and checks that the unmasked sum is exactly the survivors' quantised sum
// mod 2^b. The updates lie on the quantisation grid at full weight, so each client's
// quantised vector is known exactly.
func TestRoundsUnmaskExactly(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	done := 0
	for trial := 0; trial < 30; trial++ {
		n := 3 + r.IntN(40)
		if trial == 0 {
			n = 200
		}
		k := 3 + 2*r.IntN(5)
		if trial%4 == 1 {
			k = n // SecAgg
		}
		sim := newSimulation(r, n, k, 1+r.IntN(300))
		q := sim.onGrid(r)
		for _, id := range sim.ids {
			if r.IntN(10) == 0 {
				sim.drop[id] = 1 + r.IntN(4)
			}
		}
		var sum []uint32
		testHookSum = func(s []uint32) { sum = slices.Clone(s) }
		res, mean, err := sim.run(t)
		testHookSum = nil
		if err != nil {
			var e *secagg.Error
			if !errors.As(err, &e) || e.Code != secagg.CodeInsufficientClients {
				t.Fatalf("trial %d: %v", trial, err)
			}
			continue // too many dropped near one client: a typed refusal is right
		}
		done++
		want := make([]uint32, sim.dim+1)
		for _, id := range res.Active {
			for i, v := range q[id] {
				want[i] += v
			}
		}
		if !slices.Equal(sum, want) {
			t.Fatalf("trial %d n=%d k=%d: unmasked sum differs from the plaintext quantised sum", trial, n, k)
		}
		for _, id := range res.Active {
			if sim.drop[id] != 0 && sim.drop[id] != 4 {
				t.Fatalf("trial %d: client %d dropped at stage %d but is active", trial, id, sim.drop[id])
			}
		}
		if res.Clients != len(res.Active) || len(res.Active)+len(res.Dropped)+len(res.Excluded) != n || len(mean) != sim.dim {
			t.Fatalf("trial %d: result %+v", trial, res)
		}
	}
	if done < 20 {
		t.Fatalf("only %d of 30 rounds completed", done)
	}
}

// onGrid puts every update on the quantisation grid at full weight and returns each
// client's quantised words (weight ratio T first).
func (sim *simulation) onGrid(r *mrand.Rand) map[uint64][]uint32 {
	cfg := sim.cfg.withDefaults()
	T := cfg.QuantizationRange
	out := map[uint64][]uint32{}
	for _, id := range sim.ids {
		words := []uint32{uint32(T)}
		for i := range sim.updates[id] {
			q := r.Int64N(T + 1)
			sim.updates[id][i] = float32(float64(q)*2*cfg.ClippingRange/float64(T) - cfg.ClippingRange)
			words = append(words, uint32(q))
		}
		sim.weights[id] = cfg.MaxWeight
		out[id] = words
	}
	return out
}
