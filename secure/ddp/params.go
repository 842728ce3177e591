package ddp

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"math/bits"

	"github.com/octomil/secagg"
)

// Mechanism names the noise each client adds.
type Mechanism string

// The mechanisms.
const (
	Skellam          Mechanism = "skellam"                       // Poisson(μ) - Poisson(μ): sums of it are Skellam
	DiscreteGaussian Mechanism = "distributed_discrete_gaussian" // the discrete Gaussian N_Z(0, σ²)
)

// Params are a round's encoding, the same for its clients and its server.
type Params struct {
	Mechanism Mechanism
	Dim       int     // the update's length; it is padded to Padded(), a power of two
	Clip      float64 // L2 norm every update is clipped to, in the update's units
	Gamma     float64 // granularity: the integers are the rotated update over Gamma
	Bits      int     // the sum is taken mod 2^Bits (2..32), the secure round's modulus
	// Beta bounds the chance that one stochastic rounding exceeds the rounded norm
	// bound (and is drawn again): TFF's conditional rounding; 0 takes the plain bound
	// c/gamma + sqrt(D). TFF's default is exp(-1/2).
	Beta float64
	// Stddev is each client's noise standard deviation in the update's units: Skellam
	// of variance (Stddev/Gamma)² in integers, or the discrete Gaussian of σ = Stddev/Gamma.
	Stddev float64
	// Rotation seeds the random signs of the rotation; the round draws it and shares it.
	Rotation [32]byte
}

// Padded is the power of two the update is padded to.
func (p Params) Padded() int {
	if p.Dim <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(p.Dim-1))
}

// Validate refuses parameters no encoding can use, naming the field.
func (p Params) Validate() error {
	v := func(field, format string, a ...any) error {
		return secagg.Errorf(secagg.CodeValidation, field, format, a...)
	}
	switch {
	case p.Mechanism != Skellam && p.Mechanism != DiscreteGaussian:
		return secagg.Errorf(secagg.CodeBadRequest, "mechanism", "unknown mechanism %q (want %q or %q)", p.Mechanism, Skellam, DiscreteGaussian)
	case p.Dim < 1 || p.Dim > 1<<28:
		return v("dim", "dim must be in [1, 2^28], got %d", p.Dim)
	case !(p.Clip > 0) || math.IsInf(p.Clip, 0):
		return v("clip", "clip must be finite and > 0, got %v", p.Clip)
	case !(p.Gamma > 0) || math.IsInf(p.Gamma, 0):
		return v("gamma", "gamma must be finite and > 0, got %v", p.Gamma)
	case p.Bits < 2 || p.Bits > 32:
		return v("bits", "bits must be in [2, 32], got %d", p.Bits)
	case !(p.Beta >= 0 && p.Beta < 1):
		return v("beta", "beta must be in [0, 1), got %v", p.Beta)
	case !(p.Stddev >= 0) || math.IsInf(p.Stddev, 0):
		return v("stddev", "stddev must be finite and >= 0, got %v", p.Stddev)
	}
	// The rounded norm's square is compared exactly in float64.
	if b := p.NormBound(); b*b >= 1<<52 {
		return v("gamma", "clip/gamma = %v makes the rounded norm bound %v too large (its square must stay below 2^52)", p.Clip/p.Gamma, b)
	}
	if s := p.Stddev / p.Gamma; p.Mechanism == Skellam && s*s/2 > 1<<40 || s > 1<<46 {
		return v("stddev", "stddev/gamma = %v is beyond the %s sampler's range", s, p.Mechanism)
	}
	return nil
}

// NormBound is the L2 sensitivity of one client's integers: the bound on the norm of its
// rounded update, which encoding enforces by drawing the rounding again until it holds
// (Kairouz et al., Theorem 2): min(c/γ + sqrt(D), sqrt((c/γ)² + D/4 + sqrt(2 ln(1/β))·(c/γ + sqrt(D)/2))).
func (p Params) NormBound() float64 {
	c, d := p.Clip/p.Gamma, float64(p.Padded())
	plain := c + math.Sqrt(d)
	if p.Beta == 0 {
		return plain
	}
	sq := c*c + d/4 + math.Sqrt(2*math.Log(1/p.Beta))*(c+math.Sqrt(d)/2)
	return math.Min(plain, math.Sqrt(sq))
}

// L1Bound is the L1 sensitivity of one client's integers: an integer vector's L1 norm is
// at most its L2 norm times min(sqrt(D), its L2 norm).
func (p Params) L1Bound() float64 {
	b := p.NormBound()
	return b * math.Min(math.Sqrt(float64(p.Padded())), b)
}

// WrapSigmas is how many standard deviations of the sum's coordinates fit in half the
// modulus for n clients: the modular clipping margin (TFF's k; it picks gamma so that
// k = 3 for Skellam, 4 for the discrete Gaussian). The sum's coordinate variance, in
// integers, is n²c²/(Dγ²) (every update aligned) + n(1/4 + (σ/γ)²) (rounding and noise).
func (p Params) WrapSigmas(n int) float64 {
	nf, d, g := float64(n), float64(p.Padded()), p.Gamma
	v := nf*nf*p.Clip*p.Clip/(d*g*g) + nf*(0.25+(p.Stddev/g)*(p.Stddev/g))
	return math.Exp2(float64(p.Bits-1)) / math.Sqrt(v)
}

// paramsJSON is Params in the platform's JSON: what a client in another process, or a
// notebook through the C ABI, is handed. The rotation seed is 64 hex digits.
type paramsJSON struct {
	Mechanism Mechanism `json:"mechanism"`
	Dim       int       `json:"dim"`
	ClipNorm  float64   `json:"clip_norm"`
	Gamma     float64   `json:"gamma"`
	Bits      int       `json:"bits"`
	Beta      float64   `json:"beta"`
	Stddev    float64   `json:"stddev"`
	Rotation  string    `json:"rotation"`
}

// MarshalJSON writes p with every field, as UnmarshalJSON reads it.
func (p Params) MarshalJSON() ([]byte, error) {
	return json.Marshal(paramsJSON{p.Mechanism, p.Dim, p.Clip, p.Gamma, p.Bits, p.Beta, p.Stddev, hex.EncodeToString(p.Rotation[:])})
}

// UnmarshalJSON reads parameters strictly: every key is required (a zero beta or
// stddev means something, so none is defaulted), an unknown key is a bad_request
// naming it, and the parameters must pass Validate. A refused call leaves p as it was.
func (p *Params) UnmarshalJSON(b []byte) error {
	var aux paramsJSON
	keys, err := secagg.DecodeSettings(b, &aux, "distributed DP parameters")
	if err != nil {
		return err
	}
	for _, k := range []string{"mechanism", "dim", "clip_norm", "gamma", "bits", "beta", "stddev", "rotation"} {
		if _, ok := keys[k]; !ok {
			return secagg.Errorf(secagg.CodeValidation, k, "%s is required", k)
		}
	}
	q := Params{Mechanism: aux.Mechanism, Dim: aux.Dim, Clip: aux.ClipNorm, Gamma: aux.Gamma, Bits: aux.Bits, Beta: aux.Beta, Stddev: aux.Stddev}
	r, err := hex.DecodeString(aux.Rotation)
	if err != nil || len(r) != len(q.Rotation) {
		return secagg.Errorf(secagg.CodeValidation, "rotation", "rotation must be %d hex digits, got %q", 2*len(q.Rotation), aux.Rotation)
	}
	copy(q.Rotation[:], r)
	if err := q.Validate(); err != nil {
		return err
	}
	*p = q
	return nil
}
