package ddp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/secure"
)

// Simulate plays one distributed-DP round in process: every client encodes its update
// under p (its noise included) and masks the integers in a secure round under cfg,
// some dropping out at drops (nil: nobody); the server unmasks the noisy sum mod
// 2^Bits and decodes the mean of the active clients into dst (len p.Dim). cfg's
// modulus_bits is p.Bits (0 takes it); its quantisation settings do not apply and are
// refused if set. seed >= 0 replays every client's keys, rounding and noise (insecure:
// for tests and notebooks); seed < 0 draws them from crypto/rand.
func Simulate(dst []float32, p Params, cfg secure.Config, updates [][]float32, drops []secure.Stage, seed int64) (*secure.Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.ModulusBits != 0 && cfg.ModulusBits != p.Bits:
		return nil, secagg.Errorf(secagg.CodeValidation, "modulus_bits", "modulus_bits %d differs from the encoding's bits %d", cfg.ModulusBits, p.Bits)
	case cfg.ClippingRange != 0:
		return nil, secagg.Errorf(secagg.CodeBadRequest, "clipping_range", "clipping_range does not apply to a distributed DP round (its clip is the encoding's)")
	case cfg.QuantizationRange != 0:
		return nil, secagg.Errorf(secagg.CodeBadRequest, "quantization_range", "quantization_range does not apply to a distributed DP round (its granularity is gamma)")
	case cfg.MaxWeight != 0:
		return nil, secagg.Errorf(secagg.CodeBadRequest, "max_weight", "max_weight does not apply to a distributed DP round (its clients are unweighted)")
	}
	cfg.ModulusBits, cfg.QuantizationRange = p.Bits, 1 // the weight words count the clients
	values := make([][]uint32, len(updates))
	errs := make([]error, len(updates))
	parallel.Ranges(parallel.Workers(), len(updates), 1, func(_, i, _ int) {
		values[i] = make([]uint32, p.Padded())
		rounding, noise := SimulatedClient(seed, i)
		_, errs[i] = Encode(values[i], updates[i], p, rounding, noise)
	})
	for i, err := range errs {
		if e := (*secagg.Error)(nil); errors.As(err, &e) {
			named := *e
			named.Message = fmt.Sprintf("update %d: %s", i, e.Message)
			return nil, &named
		} else if err != nil {
			return nil, err
		}
	}
	sum := make([]uint32, p.Padded())
	res, err := secure.SimulateWords(sum, cfg, values, drops, seed)
	if err != nil {
		return nil, err
	}
	if err := Decode(dst, sum, p, float64(len(res.Active))); err != nil {
		return nil, err
	}
	return res, nil
}

// SimulatedClient is the rounding and noise Simulate's client i (0-based) encodes with:
// from crypto/rand for seed < 0, else replayed from seed and i (insecure: for tests and
// notebooks that encode a round's clients one by one and must get Simulate's bits).
func SimulatedClient(seed int64, i int) (*mrand.ChaCha8, *dp.Source) {
	var key [32]byte
	if seed < 0 {
		rand.Read(key[:]) // never fails (crypto/rand panics rather)
		return mrand.NewChaCha8(key), dp.SecureSource()
	}
	copy(key[:], "secagg-ddp-round")
	binary.LittleEndian.PutUint64(key[16:], uint64(seed))
	binary.LittleEndian.PutUint64(key[24:], uint64(i))
	return mrand.NewChaCha8(key), dp.InsecureSeededSource(uint64(seed)<<20 ^ uint64(i))
}

// SimulatedRotation is the rotation seed SimulateRound gives its round: from crypto/rand
// for seed < 0, else replayed from seed (insecure, as SimulatedClient).
func SimulatedRotation(seed int64) [32]byte {
	var r [32]byte
	rounding, _ := SimulatedClient(seed, -1)
	for i := range r {
		r[i] = byte(rounding.Uint64())
	}
	return r
}

// RoundResult is a simulated round's Result with the encoding it was planned with and
// the ε the round spent on its own at the configuration's delta.
type RoundResult struct {
	*secure.Result
	Mechanism  Mechanism `json:"mechanism"`
	Gamma      float64   `json:"gamma"`
	Stddev     float64   `json:"stddev"`
	Bits       int       `json:"bits"`
	WrapChance float64   `json:"wrap_chance"` // a coordinate of the sum wrapping, per coordinate
	Epsilon    float64   `json:"epsilon"`     // this round alone, with its survivors' noise
}

// SimulateRound plans a round of cfg for the updates (cfg.Plan: the noise calibrated to
// cfg's budget for its min_devices_per_round survivors) and plays it as Simulate does,
// the rotation seed drawn from seed (or crypto/rand for seed < 0).
func SimulateRound(dst []float32, cfg Config, updates [][]float32, drops []secure.Stage, seed int64) (*RoundResult, error) {
	if len(updates) == 0 {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "no updates")
	}
	p, sc, err := cfg.Plan(len(updates), len(dst))
	if err != nil {
		return nil, err
	}
	p.Rotation = SimulatedRotation(seed)
	sc.ModulusBits, sc.QuantizationRange = 0, 0 // Simulate sets them from p
	res, err := Simulate(dst, p, sc, updates, drops, seed)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	eps, _, err := p.Epsilon(len(res.Active), 1, cfg.SampleRate, cfg.Delta, dp.Improved)
	if err != nil {
		return nil, err
	}
	return &RoundResult{Result: res, Mechanism: p.Mechanism, Gamma: p.Gamma, Stddev: p.Stddev, Bits: p.Bits,
		WrapChance: p.WrapChance(len(res.Active)), Epsilon: eps}, nil
}
