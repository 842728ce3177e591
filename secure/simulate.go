package secure

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/parallel"
)

// Stage is where a simulated client drops out of a round: before it answers that stage.
type Stage int

// The stages a client can vanish before, in order.
const (
	Stays         Stage = iota // answers every stage
	BeforeKeys                 // sends no keys: excluded at setup
	BeforeShares               // sends keys but no shares: excluded at share_keys
	BeforeMasking              // shares keys but sends no masked vector: dropped, its masks rebuilt
	BeforeUnmask               // sends its masked vector but no unmask reply
)

// Simulate plays one secure round in process, the server and len(updates) clients, and
// writes the weighted mean the server unmasks into dst: the cost of secure aggregation
// and of its quantisation next to the plain mean, for notebooks and the demo. Client i
// has id i+1 (the Result's ids) and weight weights[i] (nil: 1 each, with max_weight 1 by
// default); drops[i] says where it drops out (nil: nobody does). seed >= 0 seeds every
// client's randomness (replayable, insecure: for tests and notebooks); seed < 0 uses
// crypto/rand. The clients mask on every core at once.
func Simulate(dst []float32, cfg Config, updates [][]float32, weights []float64, drops []Stage, seed int64) (*Result, error) {
	if err := checkUpdates(updates, weights, len(dst)); err != nil {
		return nil, err
	}
	return simulate(cfg, len(updates), len(dst), drops, seed, func(srv *Server, c *Client, i int, req MaskRequest) error {
		mv, err := c.Mask(req, updates[i], weightOf(weights, i))
		if err != nil {
			return err
		}
		return srv.AddMasked(c.id, mv)
	}, func(srv *Server) (*Result, error) { return srv.Finalize(dst) })
}

// SimulateHeld plays Simulate's round with the server recording the masked vectors
// (RecordMasked) instead of summing them, as a coordinator that stores them for a
// sharded unmasking does. It returns the vectors the active clients sent, by id, and the
// round's Unmasking: their sum unmasked and dequantized by blocks is Simulate's result,
// to the bit.
func SimulateHeld(cfg Config, updates [][]float32, weights []float64, drops []Stage, seed int64) (map[uint64]MaskedVector, *Unmasking, *Result, error) {
	if len(updates) == 0 {
		return nil, nil, nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "no updates")
	}
	if err := checkUpdates(updates, weights, len(updates[0])); err != nil {
		return nil, nil, nil, err
	}
	var mu sync.Mutex
	held := map[uint64]MaskedVector{}
	var u *Unmasking
	res, err := simulate(cfg, len(updates), len(updates[0]), drops, seed, func(srv *Server, c *Client, i int, req MaskRequest) error {
		mv, err := c.Mask(req, updates[i], weightOf(weights, i))
		if err != nil {
			return err
		}
		mu.Lock()
		held[c.id] = mv
		mu.Unlock()
		return srv.RecordMasked(c.id, mv.Clipped)
	}, func(srv *Server) (res *Result, err error) {
		u, res, err = srv.Unmasking()
		return res, err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return held, u, res, nil
}

// checkUpdates checks a simulation's updates (some, each of dim values) and weights (nil,
// or one per update).
func checkUpdates(updates [][]float32, weights []float64, dim int) error {
	switch {
	case len(updates) == 0:
		return secagg.Errorf(secagg.CodeBadRequest, "updates", "no updates")
	case weights != nil && len(weights) != len(updates):
		return secagg.Errorf(secagg.CodeBadRequest, "weights", "%d weights for %d updates", len(weights), len(updates))
	}
	for i, u := range updates {
		if err := secagg.ValidateUpdateLength(fmt.Sprintf("update %d", i), u, dim); err != nil {
			return err
		}
	}
	return nil
}

// weightOf is client i's weight in a simulation: weights[i], or 1 when weights is nil.
func weightOf(weights []float64, i int) float64 {
	if weights == nil {
		return 1
	}
	return weights[i]
}

// SimulateWords is Simulate for updates their clients have encoded into integers mod
// 2^modulus_bits (MaskWords): it writes the sum mod 2^modulus_bits of the active
// clients' values into dst, for their encoding to decode.
func SimulateWords(dst []uint32, cfg Config, values [][]uint32, drops []Stage, seed int64) (*Result, error) {
	n := len(values)
	if n == 0 {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "no updates")
	}
	for i, v := range values {
		if len(v) != len(dst) {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "update", "update %d has %d values, want %d", i, len(v), len(dst))
		}
	}
	return simulate(cfg, n, len(dst), drops, seed, func(srv *Server, c *Client, i int, req MaskRequest) error {
		mv, err := c.MaskWords(req, values[i])
		if err != nil {
			return err
		}
		return srv.AddMasked(c.id, mv)
	}, func(srv *Server) (*Result, error) { return srv.FinalizeWords(dst) })
}

// simulate plays the round of n clients of dim values: mask is client i's answer to
// collect_masked_vectors, given to the server; finish is the server's last call.
func simulate(cfg Config, n, dim int, drops []Stage, seed int64,
	mask func(srv *Server, c *Client, i int, req MaskRequest) error, finish func(*Server) (*Result, error)) (*Result, error) {
	if drops != nil && len(drops) != n {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "drops", "%d drop stages for %d updates", len(drops), n)
	}
	for i, d := range drops {
		if d < Stays || d > BeforeUnmask {
			return nil, secagg.Errorf(secagg.CodeValidation, "drops", "drops[%d] = %d, not a stage in [0, 4]", i, d)
		}
	}
	stage := func(i int) Stage {
		if drops == nil {
			return Stays
		}
		return drops[i]
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	srv, setup, err := NewServer(cfg, 1, ids, dim)
	if err != nil {
		return nil, err
	}
	clients := make([]*Client, n)
	// Each stage: every client still in it answers, on every core; the first error wins.
	each := func(at Stage, answer func(i int) error) error {
		errs := make([]error, n)
		parallel.Ranges(parallel.Workers(), n, 1, func(_, i, _ int) {
			if clients[i] != nil || at == BeforeKeys {
				if s := stage(i); s == Stays || s > at {
					errs[i] = answer(i)
				}
			}
		})
		for _, e := range errs {
			if e != nil {
				return e
			}
		}
		return nil
	}
	err = each(BeforeKeys, func(i int) error {
		c, keys, err := NewClient(ids[i], setup, clientRand(seed, i))
		if err != nil {
			return err
		}
		clients[i] = c
		return srv.AddKeys(ids[i], keys)
	})
	if err != nil {
		return nil, err
	}
	shareReqs, err := srv.ShareKeys()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // the request maps are read by many goroutines
	get := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	err = each(BeforeShares, func(i int) error {
		var req ShareKeysRequest
		var ok bool
		get(func() { req, ok = shareReqs[ids[i]] })
		if !ok {
			return nil // excluded for too few neighbours
		}
		reply, err := clients[i].ShareKeys(req)
		if err != nil {
			return err
		}
		return srv.AddShares(ids[i], reply)
	})
	if err != nil {
		return nil, err
	}
	maskReqs, err := srv.CollectMasked()
	if err != nil {
		return nil, err
	}
	err = each(BeforeMasking, func(i int) error {
		var req MaskRequest
		var ok bool
		get(func() { req, ok = maskReqs[ids[i]] })
		if !ok {
			return nil
		}
		return mask(srv, clients[i], i, req)
	})
	if err != nil {
		return nil, err
	}
	unmaskReqs, err := srv.Unmask()
	if err != nil {
		return nil, err
	}
	err = each(BeforeUnmask, func(i int) error {
		var req UnmaskRequest
		var ok bool
		get(func() { req, ok = unmaskReqs[ids[i]] })
		if !ok {
			return nil
		}
		reply, err := clients[i].Unmask(req)
		if err != nil {
			return err
		}
		return srv.AddUnmask(ids[i], reply)
	})
	if err != nil {
		return nil, err
	}
	return finish(srv)
}

// clientRand is client i's randomness in a simulation: crypto/rand, or for seed >= 0 a
// ChaCha8 stream of its own, from the seed and i.
func clientRand(seed int64, i int) io.Reader {
	if seed < 0 {
		return rand.Reader
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	binary.LittleEndian.PutUint64(key[8:], uint64(i))
	return mrand.NewChaCha8(key)
}
