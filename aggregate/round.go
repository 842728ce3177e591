package aggregate

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
	"github.com/octomil/secagg/trimmedmean"
)

// Strategy names an aggregation rule of a round.
type Strategy string

// The strategies; Strategies() is their table (kind, weights, parameters, kernel).
const (
	StrategyMean         Strategy = "mean"          // coordinate-wise mean
	StrategyWeightedMean Strategy = "weighted_mean" // FedAvg: Σ w x / Σ w, weights such as example counts
	StrategyDPMean       Strategy = "dp_mean"       // DP-FedAvg: updates clipped to clip_norm, mean, Gaussian noise
	StrategyTrimmedMean  Strategy = "trimmed_mean"  // coordinate-wise trimmed mean, k = floor(trim_ratio·N)
	StrategyMedian       Strategy = "median"        // coordinate-wise median (numpy's convention); holds the updates
	StrategyKrum         Strategy = "krum"          // Krum, or Multi-Krum with multi_krum_m > 1; holds the updates
	StrategyBulyan       Strategy = "bulyan"        // Bulyan; holds the updates
	StrategyGeoMedian    Strategy = "geometric_median"
	// StrategyCenteredClipping is centered clipping; it holds the updates, and the
	// engine keeps each round's result as the next round's center.
	StrategyCenteredClipping Strategy = "centered_clipping"
	// StrategyNormBoundedMean is the mean of the updates clipped to clip_norm, no noise.
	StrategyNormBoundedMean Strategy = "norm_bounded_mean"
)

// holds reports whether the strategy keeps every update until Finalize.
func (s Strategy) holds() bool {
	info, _ := Lookup(s)
	return info.Kind == Holds
}

// Config configures the rounds of an Engine. Its JSON uses the platform's snake_case keys;
// "min_clients" is accepted as an alias of "min_devices_per_round". An unknown key, or one
// that does not apply to the strategy, is a bad_request naming it; a parameter the
// strategy requires and that is missing a validation_error. In a Config built in Go a
// parameter is given when it is not zero; JSON and Set also tell an explicit 0.
type Config struct {
	Strategy Strategy `json:"strategy"`
	// MinClients is the fewest updates a round may be finalised with (at least 1).
	MinClients int `json:"min_devices_per_round"`
	// MaxRoundBytes bounds the memory a round holds: its sums or stream, or the updates
	// it holds (0: DefaultMaxRoundBytes, which a coordinator with more memory raises).
	MaxRoundBytes int64 `json:"max_round_bytes,omitempty"`

	// For trimmed_mean: the fraction trimmed from each end, and the most clients a round
	// may take, which fixes the extremes a streaming round keeps: floor(trim_ratio ·
	// max_clients) from each end, (2k+1)·d numbers in all.
	TrimRatio  float64 `json:"trim_ratio,omitempty"`
	MaxClients int     `json:"max_clients,omitempty"`

	// For krum and bulyan: f, the Byzantine clients to tolerate; for krum, how many
	// updates Multi-Krum averages (0 or 1: plain Krum).
	ByzantineClients int `json:"byzantine_clients,omitempty"`
	MultiKrumM       int `json:"multi_krum_m,omitempty"`
	// For geometric_median: the Weiszfeld iteration's cap and tolerance (0: defaults).
	GeoMaxIterations int     `json:"geometric_median_max_iterations,omitempty"`
	GeoTolerance     float64 `json:"geometric_median_tolerance,omitempty"`
	// For centered_clipping: τ, how far one update can pull the center per pass, and
	// the passes (0: 1).
	CenteredClippingRadius     float64 `json:"centered_clipping_radius,omitempty"`
	CenteredClippingIterations int     `json:"centered_clipping_iterations,omitempty"`

	// For dp_mean and norm_bounded_mean: the L2 clip norm C. For dp_mean: the noise
	// multiplier z (noise σ = z·C/N on the mean) and, with Epsilon > 0, a privacy ledger
	// with budget (Epsilon, Delta), charged once per finalised round at SampleRate (the
	// probability that a client takes part), which refuses a round that would exceed it.
	ClipNorm        float64 `json:"clip_norm,omitempty"`
	NoiseMultiplier float64 `json:"noise_multiplier,omitempty"`
	Epsilon         float64 `json:"epsilon,omitempty"`
	Delta           float64 `json:"delta,omitempty"`
	SampleRate      float64 `json:"sample_rate,omitempty"`

	given map[string]bool // the keys its JSON or Set gave, explicit zeros included
}

// UnmarshalJSON reads a Config, taking "min_clients" where "min_devices_per_round" is
// absent. A key that no strategy takes is a bad_request naming it.
func (c *Config) UnmarshalJSON(b []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "config", "config is not a JSON object: %v", err)
	}
	given := map[string]bool{}
	for k, raw := range keys {
		if string(raw) == "null" {
			return secagg.Errorf(secagg.CodeBadRequest, k, "%s is null: leave it out or give a value", k)
		}
		switch _, known := paramByKey(k); {
		case k == "min_clients":
			given["min_devices_per_round"] = true
		case k == "strategy" || known:
			given[k] = true
		default:
			return secagg.Errorf(secagg.CodeBadRequest, k, "unknown setting %q: the keys are strategy, min_clients and %s", k, paramKeys())
		}
	}
	type plain Config
	var v struct {
		plain
		MinClientsAlias *int `json:"min_clients"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "config", "config is not valid: %v", err)
	}
	*c = Config(v.plain)
	if _, both := keys["min_devices_per_round"]; !both && v.MinClientsAlias != nil {
		c.MinClients = *v.MinClientsAlias
	}
	c.given = given
	return nil
}

// paramKeys lists every parameter key for messages.
func paramKeys() string {
	var keys []string
	for _, p := range AllParams() {
		keys = append(keys, p.Key)
	}
	return strings.Join(keys, ", ")
}

// Validate checks the configuration as a whole against the strategy's row of the
// table, naming the first bad field.
func (c Config) Validate() error {
	info, ok := Lookup(c.Strategy)
	if !ok {
		return secagg.Errorf(secagg.CodeValidation, "strategy",
			"strategy must be one of %s, got %q", strategyNames(), string(c.Strategy))
	}
	return c.validateParams(info)
}

// DefaultMaxRoundBytes is the memory a round may hold when max_round_bytes is 0: 16 GiB,
// so that a dimension no machine here could hold is payload_too_large at NewRound instead
// of an out-of-memory crash. A coordinator with more memory sets max_round_bytes higher.
const DefaultMaxRoundBytes = 16 << 30

// roundBytes is the bound in force.
func (c Config) roundBytes() int64 {
	if c.MaxRoundBytes > 0 {
		return c.MaxRoundBytes
	}
	return DefaultMaxRoundBytes
}

// bytesText is a size for messages: "34359738368 bytes", or "more than 2^63 bytes".
func bytesText(n int64) string {
	if n == math.MaxInt64 {
		return "more than 2^63 bytes"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Engine makes rounds that share one configuration, and for dp_mean the privacy ledger
// and the noise source they share.
type Engine struct {
	cfg    Config
	ledger *dp.Ledger // nil without a budget
	noise  *dp.Source

	mu     sync.Mutex
	center []float32 // centered_clipping: the last finalised round's result (nil: zeros)
	// The state of the last round finalised, which the next round of the same shape
	// takes instead of allocating (and first touching) its own.
	spareStream *trimmedmean.Stream
	spareSum    []float64
	// The copies holding rounds made of borrowed updates, once their round is
	// finalised, for the next round's copies: no allocation (and no first touch) of
	// d·4 bytes per Add; the garbage collector may take them back between rounds.
	copies sync.Pool
}

// buffer returns a buffer of length n from the engine's pool, or a new one, for a copy.
func (e *Engine) buffer(n int) []float32 {
	if p, _ := e.copies.Get().(*[]float32); p != nil && len(*p) == n {
		return *p
	}
	return make([]float32, n)
}

// keepCopies puts the copies a round made back in the engine's pool.
func (e *Engine) keepCopies(bufs [][]float32) {
	for i := range bufs {
		e.copies.Put(&bufs[i])
	}
}

// takeState hands a new round the last finalised round's state if its shape fits: a
// stream of this dimension and k, or sums of length dim (an engine keeps one or the
// other, by its strategy). The caller empties what it gets.
func (e *Engine) takeState(dim, k int) (*trimmedmean.Stream, []float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, sum := e.spareStream, e.spareSum
	e.spareStream, e.spareSum = nil, nil
	if s != nil && (s.Dim() != dim || s.K() != k) {
		s = nil
	}
	if len(sum) != dim {
		sum = nil
	}
	return s, sum
}

// keepState keeps a finalised round's stream or sums for the next round.
func (e *Engine) keepState(stream *trimmedmean.Stream, sum []float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if stream != nil {
		e.spareStream = stream
	}
	if sum != nil {
		e.spareSum = sum
	}
}

// New returns an engine for a valid configuration. Noise comes from dp.SecureSource.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, noise: dp.SecureSource()}
	if cfg.Strategy == StrategyDPMean {
		// A round of min_devices_per_round updates has the most noise: refuse an engine
		// whose noisy mean could not be a float32 then.
		if err := validateNoiseRange(cfg.ClipNorm, cfg.NoiseMultiplier, cfg.MinClients, 1); err != nil {
			return nil, err
		}
	}
	if cfg.Strategy == StrategyDPMean && cfg.Epsilon > 0 {
		l, err := dp.NewLedger(cfg.Epsilon, cfg.Delta, dp.Improved, nil)
		if err != nil {
			return nil, err
		}
		e.ledger = l
	}
	return e, nil
}

// SetNoiseSource replaces the engine's noise source, for tests and notebooks that need
// to replay a run (dp.InsecureSeededSource); nil restores dp.SecureSource.
func (e *Engine) SetNoiseSource(src *dp.Source) {
	if src == nil {
		src = dp.SecureSource()
	}
	e.noise = src
}

// Center returns a copy of the center the next centered_clipping round starts from: the
// result of the last round finalised, or nil (zeros) before the first.
func (e *Engine) Center() []float32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]float32(nil), e.center...)
}

// SetCenter sets where the next centered_clipping round starts, for a coordinator that
// restarts from a saved model; nil starts from zeros. The engine keeps a copy.
func (e *Engine) SetCenter(center []float32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.center = append([]float32(nil), center...)
}

// Ledger returns the engine's privacy ledger, or nil if it keeps none.
func (e *Engine) Ledger() *dp.Ledger { return e.ledger }

// NewRound starts a round for updates of dimension dim. A round whose state would exceed
// MaxRoundBytes is payload_too_large.
func (e *Engine) NewRound(dim int) (*Round, error) {
	if dim < 1 {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "dim", "dim must be >= 1, got %d", dim)
	}
	state, err := newRoundState(e, dim)
	if err != nil {
		return nil, err
	}
	r := &Round{engine: e, cfg: e.cfg, dim: dim, clients: map[string]struct{}{}, state: state}
	r.foldDone = sync.NewCond(&r.mu)
	r.inFlight = make(chan struct{}, 2*parallel.Workers())
	return r, nil
}

// maxWeight bounds a weight so that weight·x summed over any realistic round stays finite
// in float64 for every float32 x (2^850 times 2^128, times up to 2^40 clients).
const maxWeight = 0x1p850

// Round collects the updates of one training round and turns them into one vector. Add
// is safe to call from many goroutines at once; a rejected call leaves the round as it
// was. What a round keeps depends on its strategy's Kind (roundstate.go): mean,
// weighted_mean, norm_bounded_mean and dp_mean rounds keep a float64 running sum (d·8
// bytes) and the client ids (and norms), and their result is bit-identical to Mean,
// WeightedMean, NormBoundedMean or DPMean over the updates in the order they were added;
// trimmed_mean rounds hold the updates where max_clients of them fit max_round_bytes
// and else keep a trimmedmean.Stream, equal to TrimmedMean where its sums are exact; the
// other strategies hold the updates and run their batch kernel at Finalize.
type Round struct {
	engine    *Engine
	cfg       Config
	dim       int
	mu        sync.Mutex
	clients   map[string]struct{}
	state     roundState
	finalized bool
	// Summing rounds fold updates into their sums outside the lock, one fold at a time:
	// whoever needs its update added takes every update queued so far and folds them
	// together, while later adders queue theirs and wait (a combining lock), so many
	// concurrent adders share each pass over the sums; owned updates go to a fold
	// behind the adder instead (foldBehind). queued and folded count updates in the
	// order accepted; folding is set while a fold runs, and foldDone signals its end.
	folding        bool
	queued, folded uint64
	foldDone       *sync.Cond
	// inFlight bounds the adds under way, between their first read of an update and
	// their return, to twice the workers, so that a borrowed update scanned at Add is
	// still in cache when it is folded however many goroutines add at once.
	inFlight chan struct{}
}

// Result describes a finalised round.
type Result struct {
	Strategy Strategy      `json:"strategy"`
	Clients  int           `json:"clients"`
	Elapsed  time.Duration `json:"elapsed_ns"` // time Finalize took
	// For dp_mean: each client's norm before clipping (arrival order), the noise σ
	// added, and the ε spent so far if the engine keeps a ledger.
	Norms        []float64 `json:"norms,omitempty"`
	NoiseSigma   float64   `json:"noise_sigma,omitempty"`
	EpsilonSpent float64   `json:"epsilon_spent,omitempty"`
	// For krum and bulyan: the clients whose updates were selected; for
	// geometric_median: the Weiszfeld steps taken.
	Selected   []string `json:"selected,omitempty"`
	Iterations int      `json:"iterations,omitempty"`
}

// Add takes the update of one client; weight is used by weighted strategies (pass 1
// otherwise). A strategy that holds updates (median) copies it, so the caller may reuse
// its buffer at once; AddOwned avoids the copy. The same client twice, or any call after Finalize, is a conflict; a wrong
// length a bad_request; a NaN or ±Inf, or a weight that is negative, not finite or above
// 2^850, a validation_error naming the client.
func (r *Round) Add(clientID string, update []float32, weight float64) error {
	return r.add(clientID, update, weight, false)
}

// AddOwned is Add for a caller that hands the buffer over: the caller must not touch it
// again until the round is finalised. A strategy that holds updates keeps it as it is,
// without copying. Mean, weighted_mean, dp_mean and norm_bounded_mean keep such updates
// and add them together: where their sums fit in half the L3 (d up to 2^21 with 32 MiB),
// three at a time on a goroutine of their own, so that the caller's next Add overlaps
// the fold; else all at Finalize in the batch kernel's one tiled pass, as many as
// max_round_bytes leaves room for beside the sums (more are added as they come). A
// streaming trimmed_mean round keeps them until its fold buffer is full (or, with no
// room for one, four of them) and passes them through its stream together.
func (r *Round) AddOwned(clientID string, update []float32, weight float64) error {
	return r.add(clientID, update, weight, true)
}

func (r *Round) add(clientID string, update []float32, weight float64, owned bool) error {
	r.inFlight <- struct{}{}
	defer func() { <-r.inFlight }()
	name := "update of client " + strconv.Quote(clientID)
	if err := secagg.ValidateUpdateLength(name, update, r.dim); err != nil {
		return err
	}
	if r.cfg.Strategy == StrategyWeightedMean && (!(weight >= 0) || weight > maxWeight) {
		return secagg.Errorf(secagg.CodeValidation, "weight",
			"weight of client %q must be finite, >= 0 and at most 2^850, got %v", clientID, weight)
	}
	// The clipping strategies take the norm here, outside the lock, so clipping costs no
	// pass at Finalize; it is also the finiteness check (a float32's square cannot
	// overflow a float64 sum, so the norm is finite exactly when every value is), and
	// the values are searched only when it is not.
	norm, clipped := 0.0, r.cfg.Strategy == StrategyDPMean || r.cfg.Strategy == StrategyNormBoundedMean
	if clipped {
		norm = dp.Norm(update)
	}
	var copied []float32
	if _, holds := r.state.(*holding); holds && !owned {
		// A holding round keeps a copy of a borrowed update, and the copy is the check:
		// one read of the caller's buffer, before the lock, so adders copy in parallel.
		copied = r.engine.buffer(len(update))
		if i := copyFinite(copied, update); i >= 0 {
			r.engine.keepCopies([][]float32{copied})
			return nonFiniteUpdate(clientID, i, update[i])
		}
		update, owned = copied, true
	} else if !clipped || math.IsNaN(norm) || math.IsInf(norm, 0) {
		if i := firstNonFinite(update); i >= 0 {
			return nonFiniteUpdate(clientID, i, update[i])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.admit(clientID, update, weight, norm, owned); err != nil {
		if copied != nil {
			r.engine.keepCopies([][]float32{copied}) // a refused update's copy goes back
		}
		return err
	}
	if copied != nil {
		h := r.state.(*holding)
		h.copies = append(h.copies, copied)
	}
	if s, sums := r.state.(*summing); sums {
		// A borrowed update is added before Add returns. Owned ones wait for company,
		// then go to a fold that runs behind the adder while it checks the next; it
		// waits for the folds only when the round holds all the updates it may.
		r.queued++
		switch {
		case !owned || s.over():
			r.foldUntil(s, r.queued)
		case s.full():
			r.foldBehind(s)
		}
	}
	return nil
}

// admit takes a checked update into the round's state, with the round's lock held,
// unless the round is finalised, the client has already added, or the state refuses it.
func (r *Round) admit(clientID string, update []float32, weight, norm float64, owned bool) error {
	if r.finalized {
		return secagg.Errorf(secagg.CodeConflict, "round", "the round is finalised; client %q is too late", clientID)
	}
	if _, dup := r.clients[clientID]; dup {
		return secagg.Errorf(secagg.CodeConflict, "client_id", "client %q already submitted an update this round", clientID)
	}
	if err := r.state.add(clientID, update, weight, norm, owned); err != nil {
		return err
	}
	r.clients[clientID] = struct{}{}
	return nil
}

// scanChunk is how many values one worker checks at a time in scan.
const scanChunk = 1 << 17

// firstNonFinite is simd.FirstNonFinite over all workers for a large update: a round's
// check at Add is a whole read of the update.
func firstNonFinite(x []float32) int {
	return scan(len(x), func(lo, hi int) int { return simd.FirstNonFinite(x[lo:hi]) })
}

// copyFinite is simd.CopyFinite over all workers, the check of an update that a round
// copies; from streamFrom values on its stores bypass the cache, which a round's copies
// would mostly leave before Finalize reads them. With one adder, a median or
// trimmed_mean round of borrowed updates at n1000_d10k or n1000_d100k was measured 16-22%
// faster than the check then copy before, 9-13% faster than streaming only from 1 MiB
// (where Go's copy starts to).
func copyFinite(dst, x []float32) int {
	copyChunk := simd.CopyFinite
	if len(x) >= streamFrom {
		copyChunk = simd.CopyFiniteStream
	}
	return scan(len(x), func(lo, hi int) int { return copyChunk(dst[lo:hi], x[lo:hi]) })
}

// streamFrom is the update length (16 KiB of values) from which copyFinite streams.
const streamFrom = 1 << 12

// scan runs find, which reports the first index of [lo, hi) it looks for relative to
// lo (or -1), over [0, n) in chunks on all workers, and returns the first index found.
func scan(n int, find func(lo, hi int) int) int {
	return parallel.First(parallel.Workers(), n, scanChunk, func(lo, hi int) int {
		if i := find(lo, hi); i >= 0 {
			return lo + i
		}
		return -1
	})
}

// nonFiniteUpdate is Add's validation_error for a NaN or ±Inf at update[i].
func nonFiniteUpdate(clientID string, i int, v float32) error {
	return secagg.Errorf(secagg.CodeValidation, "update", "update[%d] of client %q must be finite, got %v", i, clientID, v)
}

// foldUntil returns once the first target updates queued are in the sums, folding them
// itself unless another fold is under way (then it waits, and folds what is left
// after). Called and returning with the round's lock held.
func (r *Round) foldUntil(s *summing, target uint64) {
	for r.folded < target {
		if r.folding {
			r.foldDone.Wait()
			continue
		}
		r.folding = true
		r.foldQueued(s)
		r.folding = false
		r.foldDone.Broadcast()
	}
}

// foldBehind starts a fold of the queued updates on a goroutine of its own, which goes
// on with those queued meanwhile until none are left, and returns at once; if a fold is
// under way, that one takes them after its own. A sequential adder's Add then costs
// its check, the fold of the one before running on another core: BenchmarkRound at
// n1000_d100k, 6 interleaved runs, 31-34 ms down to 19 ms for mean, weighted_mean and
// dp_mean (-39 to -43%), where folding in the adder cost the check plus the fold.
func (r *Round) foldBehind(s *summing) {
	if r.folding {
		return
	}
	r.folding = true
	go func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for len(s.pending) > 0 {
			r.foldQueued(s)
		}
		r.folding = false
		r.foldDone.Broadcast()
	}()
}

// foldQueued folds the updates queued so far without the round's lock, which it takes
// again after; the caller has set r.folding, so no other fold runs meanwhile.
func (r *Round) foldQueued(s *summing) {
	q := s.take()
	s.inFold = len(q.rows)
	r.mu.Unlock()
	s.fold(q)
	r.mu.Lock()
	s.inFold = 0
	r.folded += uint64(len(q.rows))
	r.foldDone.Broadcast()
}

// addChunk is how many coordinates of an update one worker adds at a time.
const addChunk = 1 << 16

// pendingMax is how many owned updates a summing round whose sums stay in cache keeps
// before a fold behind the adder takes them, and behindMax how many it holds, queued
// and in that fold, before its adders wait for the folds.
const (
	pendingMax = 3
	behindMax  = 16
)

// holdFromBytes is the size of a summing round's sums (d·8) past which its owned updates
// wait for Finalize (summing.full) rather than go to folds behind the adder: half the
// L3, where the sums, the update a fold adds and the one the adder checks meanwhile all
// stay in cache (16 MiB here; the two cores' L2, 2 MiB, where cpuid tells no L3).
// BenchmarkRound, 8 interleaved runs: folding behind rather than holding saved 17-19% at
// n100_d1m (8 MB of sums) for mean and dp_mean, within noise at n10_d1m (+7% mean, -7%
// dp_mean), and cost 14% at n32_d4m (32 MB); holding had cost 10% at n1000_d100k when
// its folds were not behind.
var holdFromBytes = holdFrom(int64(cpuid.CPU.Cache.L3))

func holdFrom(l3 int64) int64 {
	if l3 <= 0 {
		return 2 << 20
	}
	return max(l3/2, 2<<20)
}

// pendingStream is how many owned updates a trimmed_mean round keeps before passing them
// through its stream together.
const pendingStream = 4

// foldPays reports whether a streaming trimmed_mean round with k extremes a side and
// room for a buffer of room updates should fold the buffer (Stream.Fold) rather than
// push each update through the extremes: pushing costs O(k) for every value that lands
// among them, folding a pass over the 2k kept planes a buffer. BenchmarkFold
// (n1000_d100k, one sitting, the last group left to ResultWith as Finalize does),
// pushing against folding 2k, 4k and 500 at a time: k = 10 104 ms against 219, 163 and
// 96; k = 25 258 against 249, 165 and 85; k = 50 658 against 257, 181 and 95; k = 100
// 1191 against 252, 219 and 142. So a buffer of 2k pays from k of about 25; at k = 100
// even one of k does (0.38 s against 1.28 s), and at k = 10 none does by much.
func foldPays(k int, room int64) bool {
	return k >= 64 && room >= int64(k) || k >= 24 && room >= 2*int64(k)
}

// Clients returns how many updates the round holds.
func (r *Round) Clients() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

// StateBytes returns the memory the round's aggregate state holds (not counting the
// client ids): d·8 for the means (and d·4 for each owned update waiting to be added, or
// being added), for trimmed_mean the held updates (N·d·4) where max_clients of them fit
// max_round_bytes and else the stream's (2k+1)·d numbers and its fold buffer (d·4 for
// each owned update waiting and each copy the round keeps, as many as the bound leaves
// room for), the held updates for the other strategies. A finalised round holds
// nothing: its state goes to the engine, for the next round of the same shape.
func (r *Round) StateBytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finalized {
		return 0
	}
	return r.state.bytes()
}

// Finalize writes the round's result into dst (of the round's dimension) and closes the
// round. Fewer updates than MinClients is insufficient_clients (status 400) and leaves
// the round open; a second Finalize is a conflict.
func (r *Round) Finalize(dst []float32) (Result, error) {
	start := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, sums := r.state.(*summing); sums {
		// No fold under way: the updates still queued are the state's to add. Waiting
		// lets other adds (and Finalize calls) in, so the round is counted after.
		for r.folding {
			r.foldDone.Wait()
		}
	}
	if r.finalized {
		return Result{}, secagg.Errorf(secagg.CodeConflict, "round", "the round is already finalised")
	}
	if len(dst) != r.dim {
		return Result{}, secagg.Errorf(secagg.CodeBadRequest, "dst", "dst has length %d, the round's dimension is %d", len(dst), r.dim)
	}
	n := len(r.clients)
	if n < r.cfg.MinClients {
		return Result{}, secagg.Errorf(secagg.CodeInsufficientClients, "min_devices_per_round",
			"the round has %d updates, min_devices_per_round is %d", n, r.cfg.MinClients)
	}
	res := Result{Strategy: r.cfg.Strategy, Clients: n}
	if err := r.state.finalize(r, dst, n, &res); err != nil {
		return Result{}, err
	}
	r.finalized = true
	// Adders still waiting for their update's fold return: Finalize has added it.
	r.folded = r.queued
	r.foldDone.Broadcast()
	r.state.release(r.engine) // the state goes to the engine for the next round; owned buffers back to the caller
	res.Elapsed = time.Since(start)
	return res, nil
}
