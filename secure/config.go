package secure

import (
	"math"

	"github.com/octomil/secagg"
)

// Config is a secure round's settings, in the platform's JSON (snake_case keys). Unknown
// keys are refused; zero values take the defaults below.
type Config struct {
	// Shares is k, the clients each client shares its secrets with, itself included: the
	// SecAgg+ ring gives each client the (k-1)/2 on either side of it, so k is odd. A k of
	// at least the number of clients is SecAgg: every client neighbours every other.
	Shares int `json:"shares"`
	// Threshold is t, the shares that recover a secret; 2t > k, so that the shares a
	// server could gather of one client's two secrets never both reach t.
	Threshold int `json:"threshold"`
	// ClippingRange is c: each value is clipped to [-c, c] (the clipped are counted).
	ClippingRange float64 `json:"clipping_range"`
	// QuantizationRange is T: [-c, c] maps to the integers [0, T] by stochastic rounding.
	QuantizationRange int64 `json:"quantization_range"`
	// ModulusBits is b: the sum is computed mod 2^b, 1 <= b <= 32. The round is refused
	// when its clients' sum could reach 2^b.
	ModulusBits int `json:"modulus_bits"`
	// MaxWeight bounds a client's weight (its example count, in FedAvg); each value is
	// scaled by weight/max_weight before quantisation, and the quantised ratios are
	// summed beside the values, as Flower does. Default 1 (an unweighted mean).
	MaxWeight float64 `json:"max_weight"`
	// MinClients is the fewest clients whose masked vectors the round will unmask
	// (min_devices_per_round); default the threshold, never fewer than 2.
	MinClients int `json:"min_devices_per_round"`
}

// Defaults: SecAgg+ with k = 7, t = 4, Flower's clipping range and 16-bit quantisation in
// a 32-bit modulus.
const (
	DefaultShares            = 7
	DefaultClippingRange     = 8.0
	DefaultQuantizationRange = 1 << 16
	DefaultModulusBits       = 32
)

// UnmarshalJSON reads the platform's keys, refusing unknown ones and nulls, as
// aggregate.Config does: min_clients is an alias of min_devices_per_round, which wins
// when both are given.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	var aux struct {
		plain
		MinClients *int `json:"min_clients"`
	}
	keys, err := secagg.DecodeSettings(b, &aux, "secure round settings")
	if err != nil {
		return err
	}
	*c = Config(aux.plain)
	if _, both := keys["min_devices_per_round"]; !both && aux.MinClients != nil {
		c.MinClients = *aux.MinClients
	}
	return nil
}

// withDefaults fills the zero settings.
func (c Config) withDefaults() Config {
	if c.Shares == 0 {
		c.Shares = DefaultShares
	}
	if c.Threshold == 0 {
		c.Threshold = c.Shares/2 + 1
	}
	if c.ClippingRange == 0 {
		c.ClippingRange = DefaultClippingRange
	}
	if c.QuantizationRange == 0 {
		c.QuantizationRange = DefaultQuantizationRange
	}
	if c.ModulusBits == 0 {
		c.ModulusBits = DefaultModulusBits
	}
	if c.MaxWeight == 0 {
		c.MaxWeight = 1
	}
	if c.MinClients == 0 {
		c.MinClients = max(c.Threshold, 2)
	}
	return c
}

// neighbourhood is the k a round of n clients uses: Shares, or n for SecAgg.
func (c Config) neighbourhood(n int) int { return min(c.Shares, n) }

// Validate checks the settings as a whole for a round of n clients: every range, the
// threshold against the neighbourhood, and that the sum of n clients' quantised values
// (and weights) stays below the modulus. It is called before a round starts.
func (c Config) Validate(n int) error {
	c = c.withDefaults()
	v := func(field, format string, args ...any) error {
		return secagg.Errorf(secagg.CodeValidation, field, format, args...)
	}
	k := c.neighbourhood(n)
	switch {
	case n < 2:
		return secagg.Errorf(secagg.CodeInsufficientClients, "clients", "a secure round needs at least 2 clients, got %d", n)
	case c.Shares < 3:
		return v("shares", "shares must be >= 3, got %d", c.Shares)
	case c.Shares < n && c.Shares%2 == 0:
		return v("shares", "shares must be odd for a ring of %d clients (or >= %d for SecAgg), got %d", n, n, c.Shares)
	case c.Threshold < 2 || c.Threshold > k:
		return v("threshold", "threshold must be in [2, %d] (the neighbourhood), got %d", k, c.Threshold)
	case 2*c.Threshold <= k:
		return v("threshold", "threshold must be more than half the neighbourhood %d (2t > k), got %d", k, c.Threshold)
	case !(c.ClippingRange > 0) || math.IsInf(c.ClippingRange, 0):
		return v("clipping_range", "clipping_range must be positive and finite, got %v", c.ClippingRange)
	case c.QuantizationRange < 1 || c.QuantizationRange > 1<<32:
		return v("quantization_range", "quantization_range must be in [1, 2^32], got %d", c.QuantizationRange)
	case c.ModulusBits < 1 || c.ModulusBits > 32:
		return v("modulus_bits", "modulus_bits must be in [1, 32], got %d", c.ModulusBits)
	case !(c.MaxWeight > 0) || math.IsInf(c.MaxWeight, 0):
		return v("max_weight", "max_weight must be positive and finite, got %v", c.MaxWeight)
	case c.MinClients < 2 || c.MinClients > n:
		return v("min_devices_per_round", "min_devices_per_round must be in [2, %d], got %d", n, c.MinClients)
	}
	// Each client adds at most T to every word (values and the weight word alike).
	if sum := uint64(n) * uint64(c.QuantizationRange); sum >= 1<<c.ModulusBits {
		return v("quantization_range", "%d clients of quantization_range %d sum to up to %d, which overflows the modulus 2^%d: lower quantization_range or raise modulus_bits",
			n, c.QuantizationRange, sum, c.ModulusBits)
	}
	return nil
}
