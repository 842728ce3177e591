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
		rounding, noise := clientRandomness(seed, i)
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

// clientRandomness is client i's rounding and noise: from crypto/rand, or replayed from
// the seed and i.
func clientRandomness(seed int64, i int) (*mrand.ChaCha8, *dp.Source) {
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
