package aggregate

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
	"github.com/octomil/secagg/trimmedmean"
)

// roundState is what a round keeps between its updates, one type for each Kind of the
// strategy table. The round calls it with its lock held, after refusing duplicates and
// late updates; a rejected add changes nothing.
type roundState interface {
	// add takes one update of a client; weight is the caller's (weighted strategies)
	// and norm the update's L2 norm where the strategy clips (taken before the lock).
	add(clientID string, update []float32, weight, norm float64, owned bool) error
	// finalize writes the result of n updates into dst and fills res's fields of the
	// strategy; on an error nothing is written and the round stays open.
	finalize(r *Round, dst []float32, n int, res *Result) error
	// bytes is the memory the state holds (StateBytes).
	bytes() int64
	// release hands what the next round of the same shape can reuse to the engine and
	// lets go of everything.
	release(e *Engine)
}

// newRoundState makes the state of a new round of dimension dim for the engine's
// strategy, refusing one whose state could never fit max_round_bytes.
func newRoundState(e *Engine, dim int) (roundState, error) {
	info, _ := Lookup(e.cfg.Strategy)
	limit := e.cfg.roundBytes()
	tooLarge := func(state int64) error {
		return secagg.Errorf(secagg.CodePayloadTooLarge, "max_round_bytes",
			"a round of dimension %d would hold %s, over max_round_bytes %d", dim, bytesText(state), limit)
	}
	// A trimmed_mean round whose max_clients updates fit the budget holds them and runs
	// the batch kernel at Finalize: measured faster than streaming them in every
	// standard workload, owned or copied (n1000_d100k: 1.07 s streaming against about
	// the batch's 31 ms), and then equal to TrimmedMean bit for bit. A larger one streams.
	holdsAll := info.Kind == Streams && int64(e.cfg.MaxClients) <= limit/4/int64(dim)
	switch {
	case info.Kind == Holds || holdsAll:
		return &holding{cfg: e.cfg, dim: dim, limit: limit}, nil // grows at Add, checked there
	case info.Kind == Streams:
		k, _ := trimmedmean.K(e.cfg.TrimRatio, e.cfg.MaxClients)
		state, ok := trimmedmean.StreamBytes(dim, k)
		if !ok {
			state = math.MaxInt64
		}
		if state > limit {
			return nil, tooLarge(state)
		}
		s, _ := e.takeState(dim, k)
		if s != nil {
			s.Reset()
		} else {
			var err error
			if s, err = trimmedmean.NewStream(dim, k); err != nil {
				return nil, err
			}
		}
		st := &streaming{cfg: e.cfg, stream: s}
		if room := min(int64(e.cfg.MaxClients), (limit-state)/4/int64(dim)); foldPays(k, room) {
			st.fold = int(room)
		}
		return st, nil
	}
	if int64(dim) > limit/8 {
		state := int64(math.MaxInt64) // d·8 bytes of sums would overflow
		if int64(dim) <= math.MaxInt64/8 {
			state = int64(dim) * 8
		}
		return nil, tooLarge(state)
	}
	_, sum := e.takeState(dim, 0)
	if sum == nil {
		sum = make([]float64, dim)
	}
	return &summing{cfg: e.cfg, sum: sum, dirty: true, limit: limit}, nil
}

// summing is the state of mean, weighted_mean, norm_bounded_mean and dp_mean: float64
// sums of d values, each update added with its weight or clip factor, and the owned
// updates waiting to be added together (full says when they go to a fold, over when
// the adders wait for it: Round.foldBehind). The sums are
// emptied at the first fold: a round whose updates all waited runs the batch kernel on
// them at Finalize and never touches its sums.
type summing struct {
	cfg      Config
	sum      []float64
	dirty    bool      // sum holds an earlier round's values: no fold yet
	limit    int64     // max_round_bytes
	weights  float64   // Σ w so far (weighted_mean)
	norms    []float64 // the clipping strategies: each client's norm, in arrival order
	pending  [][]float32
	pendingW []float64
	inFold   int // the updates the fold under way took
}

func (s *summing) add(_ string, update []float32, weight, norm float64, owned bool) error {
	w := 1.0
	switch s.cfg.Strategy {
	case StrategyWeightedMean:
		w = weight
		s.weights += weight
	case StrategyDPMean, StrategyNormBoundedMean:
		w = dp.ClipFactor(update, norm, s.cfg.ClipNorm)
		s.norms = append(s.norms, norm)
	}
	// The round folds it into the sums (fold), with the other updates queued by then.
	s.pending = append(s.pending, update)
	s.pendingW = append(s.pendingW, w)
	return nil
}

// queued is a summing round's updates taken for one fold, in the order accepted.
type queued struct {
	rows [][]float32
	ws   []float64
}

// full reports whether the owned updates queued should go to a fold now. Where the sums
// stay in cache (d·8 bytes up to holdFromBytes), after pendingMax of them: an update
// checked at Add is still in cache then, and so are the sums. Beyond, the sums cross
// memory at every fold, so the updates wait as long as max_round_bytes leaves room for
// them beside the sums (over), and Finalize adds them all in one tiled pass, the batch
// kernel's.
func (s *summing) full() bool {
	if 8*int64(len(s.sum)) <= holdFromBytes {
		return len(s.pending) >= pendingMax
	}
	return s.over()
}

// over reports whether the round holds all the owned updates it may, queued and in the
// fold under way: behindMax where the sums stay in cache, and never more than
// max_round_bytes leaves room for beside the sums. Its adders then wait for the folds.
func (s *summing) over() bool {
	d, held := int64(len(s.sum)), int64(len(s.pending)+s.inFold)
	if 8*d <= holdFromBytes && held >= behindMax {
		return true
	}
	return 8*d+(held+1)*4*d > s.limit
}

// take hands the queued updates to a fold and starts a new queue (called with the
// round's lock held; the fold then runs without it).
func (s *summing) take() queued {
	q := queued{rows: s.pending, ws: s.pendingW}
	s.pending, s.pendingW = nil, nil
	return q
}

// fold adds updates taken from the queue to the sums, in their order: the row kernels
// add row by row into each sum, exactly as one Add or AddScaled per update would, and
// coordinates are independent, so spreading them over the cores changes no bit. Only one
// fold runs at a time, and nothing else touches the sums meanwhile.
func (s *summing) fold(q queued) {
	if s.dirty {
		parallel.Ranges(parallel.Workers(), len(s.sum), addChunk, func(_, lo, hi int) { clear(s.sum[lo:hi]) })
		s.dirty = false
	}
	if len(q.rows) == 0 {
		return
	}
	parallel.Ranges(parallel.Workers(), len(s.sum), addChunk, func(_, lo, hi int) {
		if s.cfg.Strategy == StrategyMean {
			simd.AddRows(s.sum[lo:hi], q.rows, lo)
		} else {
			simd.AddScaledRows(s.sum[lo:hi], q.ws, q.rows, lo)
		}
	})
	clear(q.rows) // the buffers go back to their owners
}

func (s *summing) finalize(r *Round, dst []float32, n int, res *Result) error {
	scale := 1 / float64(n)
	switch s.cfg.Strategy {
	case StrategyWeightedMean:
		if !(s.weights > 0) || math.IsInf(s.weights, 0) {
			return secagg.Errorf(secagg.CodeValidation, "weights", "the sum of weights must be positive and finite, got %v", s.weights)
		}
		scale = 1 / s.weights
	case StrategyDPMean:
		// Check that the noisy mean fits and charge the ledger before anything is
		// written or drawn; a refused round stays open.
		if err := validateNoiseRange(s.cfg.ClipNorm, s.cfg.NoiseMultiplier, n, len(dst)); err != nil {
			return err
		}
		if l := r.engine.ledger; l != nil {
			spent, err := l.Charge(s.cfg.SampleRate, s.cfg.NoiseMultiplier, len(dst))
			if err != nil {
				return err
			}
			res.EpsilonSpent = spent
		}
		res.NoiseSigma = s.cfg.noiseSigma(n, len(dst))
	}
	if s.norms != nil {
		res.Norms = append([]float64(nil), s.norms...)
	}
	// The round has waited for any fold in progress; the updates still queued are added
	// here. If no fold ever ran, every update waited: the batch kernel sums them tile by
	// tile in cache, in the same order.
	if q := s.take(); s.dirty && len(q.rows) > 0 {
		ws := q.ws
		if s.cfg.Strategy == StrategyMean {
			ws = nil
		}
		if err := average(dst, q.rows, ws, scale); err != nil {
			s.pending, s.pendingW = q.rows, q.ws // only if an owner changed an update it handed over
			return err
		}
		clear(q.rows)
	} else {
		s.fold(q)
		simd.Finish(dst, s.sum, scale)
	}
	if res.NoiseSigma > 0 {
		return dp.AddGaussian(dst, res.NoiseSigma, r.engine.noise)
	}
	return nil
}

func (s *summing) bytes() int64 {
	return int64(len(s.sum))*8 + int64(len(s.pending)+s.inFold)*int64(len(s.sum))*4
}

func (s *summing) release(e *Engine) {
	e.keepState(nil, s.sum)
	*s = summing{}
}

// streaming is the state of trimmed_mean: a trimmedmean.Stream of the extremes and the
// sum between them, and the updates waiting to pass through it together. With room in
// the budget for a buffer of fold updates (k or more), they wait until it is full and
// pass by Stream.Fold, borrowed ones copied into buffers the round reuses; without,
// only owned ones wait, pendingStream at a time, and pass by AddRows. A full buffer
// passes only when another update comes, so Finalize takes the result with the last
// one (Stream.ResultWith) rather than folding it.
type streaming struct {
	cfg     Config
	stream  *trimmedmean.Stream
	count   int
	fold    int         // the buffer's size, 0 for none
	pending [][]float32 // in arrival order; the first used of the copies among them
	copies  [][]float32 // the round's buffers for borrowed updates
	used    int         // how many copies are pending
}

func (s *streaming) add(_ string, update []float32, _, _ float64, owned bool) error {
	if s.count >= s.cfg.MaxClients {
		return secagg.Errorf(secagg.CodeConflict, "max_clients", "the round is full: max_clients is %d", s.cfg.MaxClients)
	}
	if s.fold > 0 {
		return s.buffer(update, owned)
	}
	// Owned updates wait, pendingStream at most, and pass when the next finds them
	// full; a borrowed one passes at once, after them. The stream checks each update
	// again: a read from cache for a borrowed one.
	if !owned || len(s.pending) == pendingStream {
		if err := s.flush(); err != nil {
			return err
		}
	}
	if owned {
		s.pending = append(s.pending, update)
	} else if err := s.stream.Add(update); err != nil {
		return err
	}
	s.count++
	return nil
}

// buffer takes an update into the fold buffer, copying a borrowed one, after folding
// the buffer if it is full: only the next update folds it, so the last buffer of a
// round is left to Finalize, which takes the result with it instead (ResultWith). The
// round holds at most fold updates: owned pending ones and its copies, an idle copy let
// go when an owned update needs its room.
func (s *streaming) buffer(update []float32, owned bool) error {
	if len(s.pending) == s.fold {
		if err := s.flush(); err != nil {
			return err
		}
	}
	if owned {
		if len(s.pending)-s.used+len(s.copies) == s.fold {
			s.copies = s.copies[:len(s.copies)-1]
		}
	} else {
		if s.used == len(s.copies) {
			s.copies = append(s.copies, make([]float32, len(update)))
		}
		c := s.copies[s.used]
		copy(c, update)
		s.used++
		update = c
	}
	s.pending = append(s.pending, update)
	s.count++
	return nil
}

// flush passes the pending updates through the stream together, in arrival order. The
// stream checks them again; it can only refuse one whose owner changed it after handing
// it over, and then it takes none of them.
func (s *streaming) flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	take := s.stream.AddRows
	if s.fold > 0 {
		take = s.stream.Fold
	}
	if err := take(s.pending); err != nil {
		return err
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	s.used = 0
	return nil
}

// finalize takes the result with a fold buffer's pending updates rather than after
// them: one pass of the batch kernel over the kept values and the updates, with none of
// a fold's rewriting of the extremes that no later update will need (n1000_d100k, k =
// 100, buffer of N/2: BenchmarkRoundOverBudget 219 -> 154 ms). Without a buffer the
// few pending updates are pushed, then the result taken: at k = 10 (n100_d1m) that was
// measured 12-15% faster than ResultWith's pass over the 2k kept planes.
func (s *streaming) finalize(_ *Round, dst []float32, n int, _ *Result) error {
	k, _ := trimmedmean.K(s.cfg.TrimRatio, n)
	if s.fold > 0 {
		return s.stream.ResultWith(dst, s.pending, k)
	}
	if err := s.flush(); err != nil {
		return err
	}
	return s.stream.ResultK(dst, k)
}

func (s *streaming) bytes() int64 {
	held := len(s.pending) - s.used + len(s.copies)
	return int64(s.stream.MemoryBytes()) + int64(held)*int64(s.stream.Dim())*4
}

func (s *streaming) release(e *Engine) {
	e.keepState(s.stream, nil)
	*s = streaming{}
}

// holding is the state of the strategies that need every update at once (median, krum,
// bulyan, geometric_median, centered_clipping), and of trimmed_mean rounds that fit
// their budget: the updates, owned by the round, and their clients in arrival order.
type holding struct {
	cfg    Config
	dim    int
	limit  int64
	held   [][]float32
	ids    []string
	copies [][]float32 // the round's copies of borrowed updates, among held
}

func (h *holding) add(clientID string, update []float32, _, _ float64, _ bool) error {
	if h.cfg.Strategy == StrategyTrimmedMean && len(h.held) >= h.cfg.MaxClients {
		return secagg.Errorf(secagg.CodeConflict, "max_clients", "the round is full: max_clients is %d", h.cfg.MaxClients)
	}
	if int64(len(h.held)+1) > h.limit/4/int64(h.dim) {
		return secagg.Errorf(secagg.CodePayloadTooLarge, "max_round_bytes",
			"holding the update of client %q would take the round to %d bytes, over max_round_bytes %d",
			clientID, int64(len(h.held)+1)*int64(h.dim)*4, h.limit)
	}
	h.held = append(h.held, update) // Round.add copied a borrowed one
	h.ids = append(h.ids, clientID)
	return nil
}

func (h *holding) finalize(r *Round, dst []float32, _ int, res *Result) error {
	var center []float32
	if h.cfg.Strategy == StrategyCenteredClipping {
		center = r.engine.Center()
	}
	out, sel, err := h.cfg.apply(dst, h.held, nil, nil, center)
	if err != nil {
		return err
	}
	if h.cfg.Strategy == StrategyCenteredClipping {
		r.engine.SetCenter(dst)
	}
	res.Iterations = out.Iterations
	for _, i := range sel {
		res.Selected = append(res.Selected, h.ids[i])
	}
	return nil
}

func (h *holding) bytes() int64 { return int64(len(h.held)) * int64(h.dim) * 4 }

// release lets go of the updates: owned buffers go back to their callers, the round's
// copies to the engine's pool for the next round's.
func (h *holding) release(e *Engine) {
	e.keepCopies(h.copies)
	*h = holding{}
}
