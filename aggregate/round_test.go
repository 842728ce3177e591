package aggregate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/trimmedmean"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newRound(t *testing.T, cfg aggregate.Config, dim int) *aggregate.Round {
	t.Helper()
	e, err := aggregate.New(cfg)
	require.NoError(t, err)
	r, err := e.NewRound(dim)
	require.NoError(t, err)
	return r
}

// A round fed in order equals the batch kernel over the same updates, bit for bit.
func TestRoundEqualsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(100, 101))
	const n, d = 23, 5000
	us := round(rng, n, d)
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Floor(rng.Float64()*500) + 1
	}
	for _, s := range []aggregate.Strategy{aggregate.StrategyMean, aggregate.StrategyWeightedMean} {
		r := newRound(t, aggregate.Config{Strategy: s, MinClients: 1}, d)
		for i, u := range us {
			require.NoError(t, r.Add(fmt.Sprint("c", i), u, w[i]))
		}
		got := make([]float32, d)
		res, err := r.Finalize(got)
		require.NoError(t, err)
		assert.Equal(t, n, res.Clients)
		want := make([]float32, d)
		if s == aggregate.StrategyMean {
			require.NoError(t, aggregate.Mean(want, us))
		} else {
			require.NoError(t, aggregate.WeightedMean(want, us, w))
		}
		bitsEqual(t, want, got, "%s round vs batch", s)
	}
}

// Many goroutines add at once; every update counts once and the result is the mean to
// float64 rounding (the order of additions is theirs).
func TestRoundConcurrentAdds(t *testing.T) {
	rng := rand.New(rand.NewPCG(102, 103))
	const n, d = 64, 3000
	// Ordinary values: with ±MaxFloat32 the order of adds could matter a lot.
	us := fill(n, d, func(int, int) float32 { return float32(rng.NormFloat64()) })
	r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: n}, d)
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range 2 * n { // every client twice: exactly one of each pair is accepted
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.Add(fmt.Sprint("c", i%n), us[i%n], 1)
		}()
	}
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, secagg.ErrConflict)
			conflicts++
		}
	}
	assert.Equal(t, n, conflicts)
	got := make([]float32, d)
	_, err := r.Finalize(got)
	require.NoError(t, err)
	want := make([]float32, d)
	require.NoError(t, aggregate.Mean(want, us))
	for j := range want {
		require.LessOrEqual(t, ulps(want[j], got[j]), int64(1), "coordinate %d", j)
	}
}

func TestRoundErrors(t *testing.T) {
	cfg := aggregate.Config{Strategy: aggregate.StrategyWeightedMean, MinClients: 2}
	r := newRound(t, cfg, 3)
	expect := func(err error, code secagg.Code, msg string) {
		t.Helper()
		var e *secagg.Error
		require.True(t, errors.As(err, &e), "%v", err)
		assert.Equal(t, code, e.Code)
		assert.Equal(t, msg, e.Message)
	}
	require.NoError(t, r.Add("a", []float32{1, 2, 3}, 2))
	expect(r.Add("a", []float32{1, 2, 3}, 1), secagg.CodeConflict, `client "a" already submitted an update this round`)
	expect(r.Add("b", []float32{1, 2}, 1), secagg.CodeBadRequest, `update of client "b" has length 2, the round's dimension is 3`)
	expect(r.Add("b", nil, 1), secagg.CodeBadRequest, `update of client "b" must not be empty`)
	expect(r.Add("b", []float32{1, float32(math.Inf(-1)), 3}, 1), secagg.CodeValidation, `update[1] of client "b" must be finite, got -Inf`)
	expect(r.Add("b", []float32{1, 2, 3}, -1), secagg.CodeValidation, `weight of client "b" must be finite, >= 0 and at most 2^850, got -1`)
	expect(r.Add("b", []float32{1, 2, 3}, math.NaN()), secagg.CodeValidation, `weight of client "b" must be finite, >= 0 and at most 2^850, got NaN`)
	dst := make([]float32, 3)
	_, err := r.Finalize(dst)
	expect(err, secagg.CodeInsufficientClients, "the round has 1 updates, min_devices_per_round is 2")
	b, _ := json.Marshal(err)
	assert.Contains(t, string(b), `"status_code":400`)
	_, err = r.Finalize(make([]float32, 2))
	expect(err, secagg.CodeBadRequest, "dst has length 2, the round's dimension is 3")

	// Nothing rejected changed the round: one more client and it finalises to the
	// weighted mean of the two accepted updates.
	require.NoError(t, r.Add("b", []float32{4, 5, 6}, 1))
	assert.Equal(t, 2, r.Clients())
	res, err := r.Finalize(dst)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Clients)
	assert.Equal(t, []float32{2, 3, 4}, dst)
	expect(r.Add("c", []float32{1, 2, 3}, 1), secagg.CodeConflict, `the round is finalised; client "c" is too late`)
	_, err = r.Finalize(dst)
	expect(err, secagg.CodeConflict, "the round is already finalised")

	// Zero total weight.
	z := newRound(t, aggregate.Config{Strategy: aggregate.StrategyWeightedMean, MinClients: 1}, 1)
	require.NoError(t, z.Add("a", []float32{1}, 0))
	_, err = z.Finalize(make([]float32, 1))
	expect(err, secagg.CodeValidation, "the sum of weights must be positive and finite, got 0")

	// The memory budget.
	e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1, MaxRoundBytes: 1 << 20})
	require.NoError(t, err)
	_, err = e.NewRound(1 << 20)
	expect(err, secagg.CodePayloadTooLarge, "a round of dimension 1048576 would hold 8388608 bytes, over max_round_bytes 1048576")
	// Dimensions no machine here holds are refused before anything is allocated: the
	// size overflowing int64 even with a bound set, and past the default bound without.
	_, err = e.NewRound(1 << 62)
	expect(err, secagg.CodePayloadTooLarge, "a round of dimension 4611686018427387904 would hold more than 2^63 bytes, over max_round_bytes 1048576")
	big, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1})
	require.NoError(t, err)
	_, err = big.NewRound(4_000_000_000)
	expect(err, secagg.CodePayloadTooLarge, "a round of dimension 4000000000 would hold 32000000000 bytes, over max_round_bytes 17179869184")
	tm, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, TrimRatio: 0.1, MinClients: 1, MaxClients: 1000})
	require.NoError(t, err)
	_, err = tm.NewRound(1 << 62)
	expect(err, secagg.CodePayloadTooLarge, "a round of dimension 4611686018427387904 would hold more than 2^63 bytes, over max_round_bytes 17179869184")
	_, err = e.NewRound(0)
	expect(err, secagg.CodeBadRequest, "dim must be >= 1, got 0")
}

func TestConfig(t *testing.T) {
	var c aggregate.Config
	require.NoError(t, json.Unmarshal([]byte(`{"strategy":"weighted_mean","min_clients":3,"max_round_bytes":100}`), &c))
	assert.Equal(t, aggregate.StrategyWeightedMean, c.Strategy)
	assert.Equal(t, 3, c.MinClients)
	assert.Equal(t, int64(100), c.MaxRoundBytes)
	assert.True(t, c.Given("max_round_bytes"))
	require.NoError(t, json.Unmarshal([]byte(`{"strategy":"mean","min_devices_per_round":5,"min_clients":3}`), &c))
	assert.Equal(t, 5, c.MinClients, "the platform's key wins over the alias")
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"strategy":5}`), &c), secagg.ErrBadRequest)

	for _, bad := range []struct {
		cfg   aggregate.Config
		field string
	}{
		{aggregate.Config{Strategy: "krum!", MinClients: 1}, "strategy"},
		{aggregate.Config{Strategy: aggregate.StrategyMean}, "min_devices_per_round"},
		{aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1, MaxRoundBytes: -1}, "max_round_bytes"},
	} {
		_, err := aggregate.New(bad.cfg)
		var e *secagg.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, secagg.CodeValidation, e.Code)
		assert.Equal(t, bad.field, e.Field)
	}
}

// A mean round over 1000 clients of d = 10^6 holds its float64 sum and the client ids:
// under 3·d·8 bytes, measured on the heap.
func TestRoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("adds 1000 updates of 10^6")
	}
	const n, d = 1000, 1_000_000
	u := make([]float32, d)
	for j := range u {
		u[j] = float32(j%17) - 8
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: n}, d)
	for i := range n {
		require.NoError(t, r.Add(fmt.Sprint("client-", i), u, 1))
	}
	runtime.ReadMemStats(&after)
	held := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, held, uint64(3*d*8), "allocated %d bytes for the round", held)
	assert.Equal(t, int64(d*8), r.StateBytes())
	t.Logf("mean round, %d clients x %d: %d bytes allocated (bound 3·d·8 = %d)", n, d, held, 3*d*8)
	dst := make([]float32, d)
	_, err := r.Finalize(dst)
	require.NoError(t, err)
	assert.Equal(t, float32(-8), dst[0])
}

// A dp_mean round equals aggregate.DPMean over the same updates and noise seed, bit for
// bit, and reports the norms it clipped by.
func TestDPRoundEqualsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(104, 105))
	const n, d = 12, 4000
	us := fill(n, d, func(i, _ int) float32 { return float32(rng.NormFloat64() * float64(i+1) * 0.01) })
	cfg := aggregate.Config{Strategy: aggregate.StrategyDPMean, MinClients: n, ClipNorm: 2, NoiseMultiplier: 1.1}
	e, err := aggregate.New(cfg)
	require.NoError(t, err)
	e.SetNoiseSource(dp.InsecureSeededSource(42))
	r, err := e.NewRound(d)
	require.NoError(t, err)
	for i, u := range us {
		require.NoError(t, r.Add(fmt.Sprint("c", i), u, 1))
	}
	got := make([]float32, d)
	res, err := r.Finalize(got)
	require.NoError(t, err)
	want := make([]float32, d)
	norms, err := aggregate.DPMean(want, us, 2, 1.1, dp.InsecureSeededSource(42))
	require.NoError(t, err)
	bitsEqual(t, want, got, "dp_mean round vs DPMean")
	assert.Equal(t, norms, res.Norms)
	assert.InEpsilon(t, 1.1*2/n, res.NoiseSigma, 1e-9) // a hair more for the grid: dp.GaussianNoiseSigma
	assert.Equal(t, dp.GaussianNoiseSigma(1.1, 2/float64(n), d), res.NoiseSigma)
}

// The ledger refuses the round that would overspend, before noise; the round stays open
// and dst untouched.
func TestDPRoundLedger(t *testing.T) {
	cfg := aggregate.Config{Strategy: aggregate.StrategyDPMean, MinClients: 1, ClipNorm: 1, NoiseMultiplier: 2.0,
		Epsilon: 1.5, Delta: 1e-5, SampleRate: 0.02}
	e, err := aggregate.New(cfg)
	require.NoError(t, err)
	rounds := 0
	for {
		r, err := e.NewRound(2)
		require.NoError(t, err)
		require.NoError(t, r.Add("a", []float32{3, 4}, 1))
		dst := []float32{7, 7}
		res, err := r.Finalize(dst)
		if err != nil {
			require.ErrorIs(t, err, secagg.ErrConflict)
			assert.Equal(t, []float32{7, 7}, dst, "no noise, no result for a refused round")
			assert.Equal(t, 1, r.Clients(), "the refused round stays open")
			break
		}
		rounds++
		assert.LessOrEqual(t, res.EpsilonSpent, 1.5)
		require.Less(t, rounds, 10000)
	}
	spent, charged := e.Ledger().Spent()
	assert.Equal(t, rounds, charged)
	assert.Greater(t, rounds, 5, "the budget fits several rounds before it refuses one")
	t.Logf("budget ε=1.5 at δ=1e-5, q=0.02, z=2: %d rounds, ε spent %.4f", rounds, spent)

	for _, bad := range []aggregate.Config{
		{Strategy: aggregate.StrategyDPMean, MinClients: 1, NoiseMultiplier: 1},
		{Strategy: aggregate.StrategyDPMean, MinClients: 1, ClipNorm: 1, NoiseMultiplier: -1},
		{Strategy: aggregate.StrategyDPMean, MinClients: 1, ClipNorm: 1, Epsilon: 1, Delta: 2, SampleRate: 0.1},
		{Strategy: aggregate.StrategyDPMean, MinClients: 1, ClipNorm: 1, Epsilon: 1, Delta: 1e-5},
	} {
		_, err := aggregate.New(bad)
		assert.ErrorIs(t, err, secagg.ErrValidation, "%+v", bad)
	}
}

// A trimmed_mean round keeps floor(ratio·max_clients) extremes and trims floor(ratio·N)
// at the end: on exact (grid) data it equals the batch kernel bit for bit, whatever N.
func TestTrimmedRound(t *testing.T) {
	rng := rand.New(rand.NewPCG(106, 107))
	const d = 300
	// A round whose max_clients updates fit max_round_bytes holds them (the default
	// bound); a budget of 20000 bytes, under 30·300·4, makes it stream (k = 6:
	// 12·304·4 + 300·8 = 16992 bytes), and one of 26592 leaves room for 8 updates,
	// which it does not buffer: k is too small for folding to pay. All give
	// TrimmedMean's bits on exact sums, the updates borrowed or owned in any mix.
	for _, budget := range []int64{0, 20_000, 26_592} {
		cfg := aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.2, MaxClients: 30, MaxRoundBytes: budget}
		for _, n := range []int{1, 4, 5, 13, 30} {
			us := fill(n, d, func(int, int) float32 { return float32(rng.IntN(1<<20)-1<<19) / 256 })
			r := newRound(t, cfg, d)
			scratch := make([]float32, d) // a borrowed update's buffer, reused by its caller
			for i, u := range us {
				if budget == 26_592 && rng.IntN(2) == 0 {
					require.NoError(t, r.AddOwned(fmt.Sprint("c", i), append([]float32(nil), u...), 1))
				} else {
					copy(scratch, u)
					require.NoError(t, r.Add(fmt.Sprint("c", i), scratch, 1))
					scratch[i%d] = 1e30
				}
				assert.LessOrEqual(t, r.StateBytes(), max(budget, int64(n*d*4)))
			}
			switch budget {
			case 0:
				assert.Equal(t, int64(n*d*4), r.StateBytes(), "a holding round holds the updates")
			case 20_000:
				assert.Equal(t, int64(16992), r.StateBytes(), "a streaming round holds its stream")
			default:
				assert.LessOrEqual(t, r.StateBytes(), int64(16992+4*d*4), "a streaming round holds its stream and up to four owned updates")
			}
			got := make([]float32, d)
			_, err := r.Finalize(got)
			require.NoError(t, err)
			want := make([]float32, d)
			require.NoError(t, trimmedmean.TrimmedMean(want, us, 0.2))
			bitsEqual(t, want, got, "trimmed round of %d clients, budget %d", n, budget)
		}
	}
	// max_clients holds either way: 3 updates of 1 float hold 12 bytes, a stream with
	// k = floor(0.1·3) = 0 holds 8, so a budget of 10 streams.
	for _, budget := range []int64{0, 10} {
		r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.1, MaxClients: 3, MaxRoundBytes: budget}, 1)
		for _, c := range []string{"a", "b", "c"} {
			require.NoError(t, r.Add(c, []float32{1}, 1))
		}
		assert.ErrorIs(t, r.Add("d", []float32{3}, 1), secagg.ErrConflict, "max_clients, budget %d", budget)
		assert.Equal(t, map[int64]int64{0: 12, 10: 8}[budget], r.StateBytes())
	}
	_, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 5, TrimRatio: 0.1, MaxClients: 3})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = aggregate.New(aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.5, MaxClients: 3})
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

// A median round holds the updates: Add copies them (the caller may reuse its buffer),
// AddOwned keeps the caller's buffer; the result is trimmedmean.Median's, and holding
// more than max_round_bytes is payload_too_large.
func TestMedianRound(t *testing.T) {
	rng := rand.New(rand.NewPCG(108, 109))
	const n, d = 9, 257
	us := round(rng, n, d)
	want := make([]float32, d)
	require.NoError(t, trimmedmean.Median(want, us))

	r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMedian, MinClients: n}, d)
	buf := make([]float32, d)
	for i, u := range us {
		copy(buf, u)
		require.NoError(t, r.Add(fmt.Sprint("c", i), buf, 1)) // the same buffer every time: Add copies
	}
	assert.Equal(t, int64(n*d*4), r.StateBytes())
	got := make([]float32, d)
	_, err := r.Finalize(got)
	require.NoError(t, err)
	bitsEqual(t, want, got, "median round")

	owned := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMedian, MinClients: n}, d)
	bufs := make([][]float32, n)
	for i, u := range us {
		bufs[i] = append([]float32(nil), u...)
		require.NoError(t, owned.AddOwned(fmt.Sprint("c", i), bufs[i], 1))
	}
	_, err = owned.Finalize(got)
	require.NoError(t, err)
	bitsEqual(t, want, got, "median round over owned buffers")

	small := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMedian, MinClients: 1, MaxRoundBytes: 3 * d * 4}, d)
	for i := range 3 {
		require.NoError(t, small.Add(fmt.Sprint("c", i), us[i], 1))
	}
	err = small.Add("c3", us[3], 1)
	var e *secagg.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, secagg.CodePayloadTooLarge, e.Code)
	assert.Equal(t, 413, e.Status)
	assert.Equal(t, 3, small.Clients(), "the rejected update is not held")
}

// Krum, Bulyan and geometric-median rounds hold the updates and give the batch results,
// naming the selected clients; too few clients for the strategy leaves the round open.
func TestRobustRounds(t *testing.T) {
	us := [][]float32{{0}, {1}, {2}, {3}, {4}, {50}, {-40}}
	ids := []string{"a", "b", "c", "d", "e", "evil-1", "evil-2"}
	run := func(cfg aggregate.Config, n int) (aggregate.Result, []float32, error) {
		r := newRound(t, cfg, 1)
		for i := range n {
			require.NoError(t, r.Add(ids[i], us[i], 1))
		}
		dst := make([]float32, 1)
		res, err := r.Finalize(dst)
		return res, dst, err
	}
	res, dst, err := run(aggregate.Config{Strategy: aggregate.StrategyKrum, MinClients: 1, ByzantineClients: 1}, 7)
	require.NoError(t, err)
	want := make([]float32, 1)
	sel, err := aggregate.Krum(want, us, 1)
	require.NoError(t, err)
	assert.Equal(t, want, dst)
	assert.Equal(t, []string{ids[sel]}, res.Selected)

	res, dst, err = run(aggregate.Config{Strategy: aggregate.StrategyBulyan, MinClients: 1, ByzantineClients: 1}, 7)
	require.NoError(t, err)
	assert.Equal(t, []float32{2}, dst)
	assert.ElementsMatch(t, []string{"a", "b", "c", "d", "e"}, res.Selected)

	_, _, err = run(aggregate.Config{Strategy: aggregate.StrategyBulyan, MinClients: 1, ByzantineClients: 1}, 6)
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients, "Bulyan with f = 1 needs 7")

	res, dst, err = run(aggregate.Config{Strategy: aggregate.StrategyGeoMedian, MinClients: 1,
		GeoMaxIterations: 1000, GeoTolerance: 1e-12}, 7)
	require.NoError(t, err)
	assert.InDelta(t, 2, dst[0], 1e-3)
	assert.Greater(t, res.Iterations, 1)

	_, err = aggregate.New(aggregate.Config{Strategy: aggregate.StrategyKrum, MinClients: 1, ByzantineClients: -1})
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

// Owned updates wait in threes before they are added; mixed with borrowed ones, in any
// pattern and count, every summing round still equals its batch kernel bit for bit, and
// the state stays under its bound.
func TestRoundOwnedEqualsBatch(t *testing.T) {
	// Sums that fit in cache take owned updates three at a time, folded behind the
	// adder; larger ones hold them for Finalize's batch pass, or as many as
	// max_round_bytes leaves room for. Both paths at each size.
	const big = 1<<18 + 100
	for _, holdFrom := range []int64{2 << 20, 16 << 20} {
		old := aggregate.SetHoldFromBytes(holdFrom)
		for _, c := range []struct {
			d      int
			budget int64
		}{{5000, 0}, {big, 0}, {big, 8*big + 10*4*big}} {
			t.Run(fmt.Sprint(holdFrom, "_", c.d, "_", c.budget), func(t *testing.T) { roundOwnedEqualsBatch(t, c.d, c.budget, holdFrom) })
		}
		aggregate.SetHoldFromBytes(old)
	}
}

func roundOwnedEqualsBatch(t *testing.T, d int, budget, holdFrom int64) {
	rng := rand.New(rand.NewPCG(106, 107))
	const n = 23
	us := round(rng, n, d)
	for i := range us { // keep the norms and sums finite for the clipping strategies
		for j := range us[i] {
			if math.Abs(float64(us[i][j])) > 1e30 {
				us[i][j] = 1
			}
		}
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Floor(rng.Float64()*500) + 1
	}
	batch := map[aggregate.Strategy]func(dst []float32) error{
		aggregate.StrategyMean:         func(dst []float32) error { return aggregate.Mean(dst, us) },
		aggregate.StrategyWeightedMean: func(dst []float32) error { return aggregate.WeightedMean(dst, us, w) },
		aggregate.StrategyNormBoundedMean: func(dst []float32) error {
			_, err := aggregate.NormBoundedMean(dst, us, 3)
			return err
		},
		aggregate.StrategyDPMean: func(dst []float32) error {
			_, err := aggregate.DPMean(dst, us, 3, 0.5, dp.InsecureSeededSource(9))
			return err
		},
	}
	for s, want := range batch {
		for pattern := range 4 { // 0: all owned; 1: all borrowed; 2, 3: mixed
			cfg := aggregate.Config{Strategy: s, MinClients: 1, MaxRoundBytes: budget}
			switch s {
			case aggregate.StrategyDPMean:
				cfg.ClipNorm, cfg.NoiseMultiplier = 3, 0.5
			case aggregate.StrategyNormBoundedMean:
				cfg.ClipNorm = 3
			}
			e, err := aggregate.New(cfg)
			require.NoError(t, err)
			e.SetNoiseSource(dp.InsecureSeededSource(9))
			r, err := e.NewRound(d)
			require.NoError(t, err)
			for i, u := range us {
				owned := pattern == 0 || pattern >= 2 && (i*pattern)%5 < 3
				if owned {
					require.NoError(t, r.AddOwned(fmt.Sprint("c", i), u, w[i]))
				} else {
					require.NoError(t, r.Add(fmt.Sprint("c", i), u, w[i]))
				}
				if budget > 0 {
					assert.LessOrEqual(t, r.StateBytes(), budget)
				} else if int64(8*d) <= holdFrom {
					assert.LessOrEqual(t, r.StateBytes(), int64(8*d+aggregate.BehindMax*4*d))
				}
			}
			got := make([]float32, d)
			_, err = r.Finalize(got)
			require.NoError(t, err)
			exp := make([]float32, d)
			require.NoError(t, want(exp))
			bitsEqual(t, exp, got, "%s round, pattern %d", s, pattern)
		}
	}
}

// The clipping rounds check finiteness through the norm: a NaN or ±Inf anywhere is
// still the validation_error naming the first one, and the round does not change.
func TestClippingRoundsRejectNonFinite(t *testing.T) {
	for _, s := range []aggregate.Strategy{aggregate.StrategyDPMean, aggregate.StrategyNormBoundedMean} {
		cfg := aggregate.Config{Strategy: s, MinClients: 1, ClipNorm: 1}
		if s == aggregate.StrategyDPMean {
			require.NoError(t, cfg.Set("noise_multiplier", "0")) // given: no noise
		}
		r := newRound(t, cfg, 40)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			u := make([]float32, 40)
			u[7], u[30] = bad, float32(math.NaN())
			err := r.AddOwned("c", u, 1)
			var e *secagg.Error
			require.True(t, errors.As(err, &e), "%s: %v", s, err)
			assert.Equal(t, secagg.CodeValidation, e.Code)
			assert.Contains(t, e.Message, "update[7] of client \"c\"")
		}
		assert.Zero(t, r.Clients())
		big := make([]float32, 40)
		for j := range big {
			big[j] = math.MaxFloat32 // finite: its norm must not overflow into a rejection
		}
		require.NoError(t, r.Add("c", big, 1))
	}
}

// A trimmed_mean round fed owned and borrowed updates in any pattern equals the same
// round fed one at a time with Add, bit for bit (the stream's own order of arrival).
func TestTrimmedRoundOwned(t *testing.T) {
	rng := rand.New(rand.NewPCG(108, 109))
	const n, d = 27, 3100
	us := round(rng, n, d)
	for _, budget := range []int64{0, n * d * 3} { // holding, then streaming
		trimmedRoundOwned(t, us, aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.2, MaxClients: n, MaxRoundBytes: budget})
	}
}

func trimmedRoundOwned(t *testing.T, us [][]float32, cfg aggregate.Config) {
	n, d := len(us), len(us[0])
	want := make([]float32, d)
	r := newRound(t, cfg, d)
	for i, u := range us {
		require.NoError(t, r.Add(fmt.Sprint("c", i), u, 1))
	}
	_, err := r.Finalize(want)
	require.NoError(t, err)
	for pattern := range 3 {
		r := newRound(t, cfg, d)
		for i, u := range us {
			if pattern == 0 || pattern == 2 && i%7 < 5 {
				require.NoError(t, r.AddOwned(fmt.Sprint("c", i), u, 1))
			} else {
				require.NoError(t, r.Add(fmt.Sprint("c", i), u, 1))
			}
		}
		assert.Equal(t, n, r.Clients())
		got := make([]float32, d)
		_, err := r.Finalize(got)
		require.NoError(t, err)
		bitsEqual(t, want, got, "trimmed_mean round, pattern %d", pattern)
	}
}

// An engine hands a finalised round's state (a trimmed_mean stream, a mean's sums) to
// the next round of the same shape: nothing of the first round may leak into the
// second, which must equal a round of a fresh engine bit for bit, whatever shapes come
// between.
func TestEngineReusesRoundState(t *testing.T) {
	rng := rand.New(rand.NewPCG(120, 121))
	for _, cfg := range []aggregate.Config{
		{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.2, MaxClients: 12},
		// streaming at d = 333 (8040 bytes of stream, 15984 of updates), holding at d = 50
		{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.2, MaxClients: 12, MaxRoundBytes: 10_000},
		{Strategy: aggregate.StrategyMean, MinClients: 1},
		{Strategy: aggregate.StrategyWeightedMean, MinClients: 1},
	} {
		e, err := aggregate.New(cfg)
		require.NoError(t, err)
		run := func(e *aggregate.Engine, us [][]float32, owned bool) []float32 {
			r, err := e.NewRound(len(us[0]))
			require.NoError(t, err)
			for i, u := range us {
				add := r.Add
				if owned {
					add = r.AddOwned
				}
				require.NoError(t, add(fmt.Sprint("c", i), u, float64(1+i%3)))
			}
			dst := make([]float32, len(us[0]))
			_, err = r.Finalize(dst)
			require.NoError(t, err)
			return dst
		}
		for i, shape := range []struct{ n, d int }{{12, 333}, {9, 333}, {12, 50}, {7, 333}, {12, 333}} {
			us := round(rng, shape.n, shape.d)
			got := run(e, us, i%2 == 0)
			fresh, err := aggregate.New(cfg)
			require.NoError(t, err)
			bitsEqual(t, run(fresh, us, false), got, "%s round %d (%d x %d) on a reused engine", cfg.Strategy, i, shape.n, shape.d)
		}
	}
}

// Concurrent adders, borrowed and owned mixed, on every summing strategy: with values
// whose float64 sums are exact, whatever order the adds were folded in, the result is
// the batch kernel's bit for bit, every update counted once and duplicates refused.
func TestRoundConcurrentFoldsAreExact(t *testing.T) {
	const n, d = 96, 5000
	rng := rand.New(rand.NewPCG(7, 8))
	us := fill(n, d, func(int, int) float32 { return float32(rng.IntN(2001) - 1000) })
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(1 + i%4)
	}
	for _, s := range []aggregate.Strategy{aggregate.StrategyMean, aggregate.StrategyWeightedMean, aggregate.StrategyNormBoundedMean} {
		cfg := aggregate.Config{Strategy: s, MinClients: n}
		if s == aggregate.StrategyNormBoundedMean {
			cfg.ClipNorm = 1e9 // no clipping: the factors are exactly 1
		}
		r := newRound(t, cfg, d)
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < 2*n; i += 16 {
					c := i % n
					var err error
					if i%3 == 0 {
						err = r.AddOwned(fmt.Sprint("c", c), append([]float32(nil), us[c]...), w[c])
					} else {
						err = r.Add(fmt.Sprint("c", c), us[c], w[c])
					}
					if err != nil && !errors.Is(err, secagg.ErrConflict) {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		got := make([]float32, d)
		_, err := r.Finalize(got)
		require.NoError(t, err)
		want := make([]float32, d)
		switch s {
		case aggregate.StrategyWeightedMean:
			require.NoError(t, aggregate.WeightedMean(want, us, w))
		default:
			require.NoError(t, aggregate.Mean(want, us))
		}
		bitsEqual(t, want, got, "%s with 16 concurrent adders", s)
	}
}

// Finalize racing concurrent adds: every Add either lands in the result or is too late
// (a conflict), none waits forever for a fold Finalize took over, and the result is the
// mean of exactly the updates accepted (exact sums, so their order does not matter),
// for sums that take updates three at a time and for sums that hold them.
func TestRoundFinalizeRacesAdds(t *testing.T) {
	for _, d := range []int{3000, 1<<18 + 16} {
		const n = 40
		rng := rand.New(rand.NewPCG(9, uint64(d)))
		us := fill(n, d, func(int, int) float32 { return float32(rng.IntN(2001) - 1000) })
		for trial := range 4 {
			r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1}, d)
			accepted := make([]bool, n)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for c := g; c < n; c += 8 {
						var err error
						if c%2 == 0 {
							err = r.AddOwned(fmt.Sprint("c", c), us[c], 1)
						} else {
							err = r.Add(fmt.Sprint("c", c), us[c], 1)
						}
						switch {
						case err == nil:
							accepted[c] = true
						case !errors.Is(err, secagg.ErrConflict):
							t.Error(err)
						}
					}
				}()
			}
			for r.Clients() < 4*(trial+1) {
				runtime.Gosched()
			}
			got := make([]float32, d)
			res, err := r.Finalize(got)
			require.NoError(t, err)
			wg.Wait()
			var in [][]float32
			for c, ok := range accepted {
				if ok {
					in = append(in, us[c])
				}
			}
			require.Equal(t, len(in), res.Clients, "d=%d trial %d", d, trial)
			want := make([]float32, d)
			require.NoError(t, aggregate.Mean(want, in))
			bitsEqual(t, want, got, "d=%d trial %d: %d accepted", d, trial, len(in))
		}
	}
}

// A sequential adder's owned updates are folded behind it, on another goroutine, while
// it goes on; Finalize right after the last Add (which started a fold) still has every
// update, summed in the order added, and the round never holds more than behindMax
// updates beside its sums. Values of ±2^60 cancel among small ones, so a float64 sum in
// another order, or missing one, changes the float32 result.
func TestRoundFoldsBehindTheAdder(t *testing.T) {
	const n, d = 30, 1 << 17
	rng := rand.New(rand.NewPCG(4, 4))
	us := fill(n, d, func(int, int) float32 {
		switch rng.IntN(3) {
		case 0:
			return 0x1p60
		case 1:
			return -0x1p60
		}
		return float32(rng.NormFloat64())
	})
	want := make([]float32, d)
	require.NoError(t, aggregate.Mean(want, us))
	e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1})
	require.NoError(t, err)
	for trial := range 10 {
		r, err := e.NewRound(d)
		require.NoError(t, err)
		for i, u := range us {
			require.NoError(t, r.AddOwned(fmt.Sprint("c", i), u, 1))
			require.LessOrEqual(t, r.StateBytes(), int64(8*d+aggregate.BehindMax*4*d))
		}
		got := make([]float32, d)
		res, err := r.Finalize(got)
		require.NoError(t, err)
		require.Equal(t, n, res.Clients)
		bitsEqual(t, want, got, "trial %d", trial)
	}
}

// A holding round copies each borrowed update into a buffer the engine's earlier rounds
// left, and a refused update's copy goes back: over rounds that reuse the buffers, with
// the caller writing every update into one buffer of its own and a duplicate refused in
// the middle, each round's median is the median of exactly its own updates.
func TestHoldingRoundReusesItsCopies(t *testing.T) {
	const n, d = 7, 3000
	e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMedian, MinClients: 1})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(8, 8))
	buf := make([]float32, d) // the caller's one buffer
	for round := range 4 {
		us := fill(n, d, func(int, int) float32 { return float32(rng.NormFloat64()) })
		r, err := e.NewRound(d)
		require.NoError(t, err)
		for i, u := range us {
			copy(buf, u)
			require.NoError(t, r.Add(fmt.Sprint("c", i), buf, 1))
			if i == 2 {
				copy(buf, us[0])
				require.ErrorIs(t, r.Add("c1", buf, 1), secagg.ErrConflict)
			}
		}
		clear(buf)
		got := make([]float32, d)
		_, err = r.Finalize(got)
		require.NoError(t, err)
		want := make([]float32, d)
		require.NoError(t, trimmedmean.Median(want, us))
		bitsEqual(t, want, got, "round %d", round)
	}
}

// A holding round checks a borrowed update as it copies it: a NaN late in the update is
// refused with its index, the client is not taken (it may add again) and the round's
// state is as it was, and the refused copy goes back to the engine's pool, so refusals
// allocate no buffers (counted where the race detector does not empty the pool).
func TestHoldingRoundCopyIsTheCheck(t *testing.T) {
	const n, d = 5, 1<<18 + 3 // copied by streaming stores
	e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMedian, MinClients: 1})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(9, 9))
	us := fill(n, d, func(int, int) float32 { return float32(rng.NormFloat64()) })
	r, err := e.NewRound(d)
	require.NoError(t, err)
	bad := append([]float32(nil), us[0]...)
	bad[d-40] = float32(math.NaN())
	require.NoError(t, r.Add("c0", us[0], 1))
	state := r.StateBytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 50 {
		err := r.Add("c1", bad, 1)
		require.ErrorIs(t, err, secagg.ErrValidation)
		require.Contains(t, err.Error(), fmt.Sprintf("update[%d] of client \"c1\"", d-40))
	}
	runtime.ReadMemStats(&after)
	if !raceEnabled {
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4*d*4), "50 refused copies allocated")
	}
	assert.Equal(t, 1, r.Clients())
	assert.Equal(t, state, r.StateBytes())
	for i := 1; i < n; i++ {
		require.NoError(t, r.Add(fmt.Sprint("c", i), us[i], 1))
	}
	got := make([]float32, d)
	_, err = r.Finalize(got)
	require.NoError(t, err)
	want := make([]float32, d)
	require.NoError(t, trimmedmean.Median(want, us))
	bitsEqual(t, want, got, "median")
}

// SetNoiseSource(nil) puts the secure source back rather than leaving a dp_mean round
// without one: the round finalises, with noise (two rounds over the same updates differ).
func TestSetNoiseSourceNil(t *testing.T) {
	cfg := aggregate.Config{Strategy: aggregate.StrategyDPMean, MinClients: 1, ClipNorm: 1, NoiseMultiplier: 1}
	e, err := aggregate.New(cfg)
	require.NoError(t, err)
	e.SetNoiseSource(nil)
	var results [2][]float32
	for i := range results {
		r, err := e.NewRound(64)
		require.NoError(t, err)
		require.NoError(t, r.Add("c", make([]float32, 64), 1))
		results[i] = make([]float32, 64)
		_, err = r.Finalize(results[i])
		require.NoError(t, err)
	}
	assert.NotEqual(t, results[0], results[1])
}

// A large update is checked on every worker; the error still names its first non-finite
// value, whichever chunk holds it.
func TestRoundNamesFirstNonFiniteOfALargeUpdate(t *testing.T) {
	const d = 3<<17 + 5
	r := newRound(t, aggregate.Config{Strategy: aggregate.StrategyMedian, MinClients: 1}, d)
	u := make([]float32, d)
	u[d-1] = float32(math.Inf(1))
	u[2<<17+3] = float32(math.NaN())
	u[1<<17+9] = float32(math.Inf(-1))
	err := r.Add("big", u, 1)
	require.ErrorIs(t, err, secagg.ErrValidation)
	assert.Contains(t, err.Error(), fmt.Sprintf("update[%d] of client \"big\"", 1<<17+9))
	assert.Zero(t, r.Clients())
}

// A trimmed_mean round over its budget streams in (2k+1)·d numbers: n1000_d100k at
// r = 0.1 (k = 100) under a 100 MB bound holds the stream's 80.8 MB, not the 400 MB
// of the updates, and adding updates allocates nothing that grows with them.
func TestTrimmedRoundStreamMemory(t *testing.T) {
	const n, d = 1000, 100_000
	cfg := aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.1, MaxClients: n, MaxRoundBytes: 100_000_000}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := newRound(t, cfg, d)
	runtime.ReadMemStats(&after)
	const stream = 200*d*4 + d*8
	assert.Equal(t, int64(stream), r.StateBytes())
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(stream+1<<20))
	u := make([]float32, d)
	runtime.ReadMemStats(&before)
	for i := range 40 {
		u[i] = float32(i)
		require.NoError(t, r.Add(fmt.Sprint("c", i), u, 1))
	}
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "adds allocate no state")
	assert.Equal(t, int64(stream), r.StateBytes())
}

// With room for 2k = 200 more updates (80 MB), the round folds them 200 at a time: its
// state is the stream, the copies it reuses (made once) and the owned updates waiting,
// never more than the bound whatever mix arrives; the result is the batch's on exact
// data.
func TestTrimmedRoundFoldMemory(t *testing.T) {
	const n, d = 1000, 100_000
	const stream, buffer = 200*d*4 + d*8, 200 * d * 4
	cfg := aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.1, MaxClients: n, MaxRoundBytes: stream + buffer}
	r := newRound(t, cfg, d)
	rng := rand.New(rand.NewPCG(120, 121))
	us := fill(n, d, func(int, int) float32 { return float32(rng.IntN(1<<16)) / 64 })
	u := make([]float32, d) // a borrowed update's buffer, reused by its caller
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		if i >= 300 && i%3 == 0 {
			require.NoError(t, r.AddOwned(fmt.Sprint("c", i), us[i], 1))
		} else {
			copy(u, us[i])
			require.NoError(t, r.Add(fmt.Sprint("c", i), u, 1))
		}
		require.LessOrEqual(t, r.StateBytes(), int64(stream+buffer), "after %d updates", i+1)
	}
	runtime.ReadMemStats(&after)
	assert.Greater(t, r.StateBytes(), int64(stream), "the copies it keeps")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(buffer+8<<20), "200 copies, made once")
	got, want := make([]float32, d), make([]float32, d)
	_, err := r.Finalize(got)
	require.NoError(t, err)
	require.NoError(t, trimmedmean.TrimmedMean(want, us, 0.1))
	bitsEqual(t, want, got, "a folding round of n1000_d100k")
}

// A streaming trimmed_mean round folds a buffer where it pays (foldPays): at k = 25 a
// buffer of 2k updates, not one of 2k − 1, which pushes each update. Borrowed updates
// show which: a folding round copies them into its buffer, a pushing one holds only its
// stream (and a few owned updates). Either way the result is the batch's bits on exact data, the last buffer left
// to Finalize.
func TestTrimmedRoundFoldsWherePays(t *testing.T) {
	const n, d, k = 250, 16, 25
	stream := int64(2*k*d*4 + d*8)
	rng := rand.New(rand.NewPCG(122, 123))
	us := fill(n, d, func(int, int) float32 { return float32(rng.IntN(1<<12)) / 16 })
	want := make([]float32, d)
	require.NoError(t, trimmedmean.TrimmedMean(want, us, 0.1))
	for _, room := range []int64{2*k - 1, 2 * k} {
		cfg := aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, MinClients: 1, TrimRatio: 0.1, MaxClients: n,
			MaxRoundBytes: stream + room*d*4}
		r := newRound(t, cfg, d)
		u := make([]float32, d)
		for i := range n - 10 {
			copy(u, us[i])
			require.NoError(t, r.Add(fmt.Sprint("c", i), u, 1))
		}
		for i := n - 10; i < n; i++ {
			require.NoError(t, r.AddOwned(fmt.Sprint("c", i), us[i], 1))
		}
		if room < 2*k {
			assert.LessOrEqual(t, r.StateBytes(), stream+4*d*4, "pushing: the stream and up to four owned updates")
		} else {
			assert.Greater(t, r.StateBytes(), stream+4*d*4, "folding: the copies in its buffer")
			assert.LessOrEqual(t, r.StateBytes(), stream+room*d*4)
		}
		got := make([]float32, d)
		_, err := r.Finalize(got)
		require.NoError(t, err)
		bitsEqual(t, want, got, "room for %d updates", room)
	}
}
