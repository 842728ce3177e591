package ddp

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"math"
	mrand "math/rand/v2"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/secure"
)

// Config is a distributed-DP round's settings in the platform's JSON (snake_case keys;
// an unknown key or a null is a bad_request naming it). The noise is calibrated so that
// Rounds rounds of at least MinClients surviving clients each spend at most Epsilon at
// Delta; a round with fewer survivors is refused at unmask (its noise would not meet the
// budget).
type Config struct {
	Mechanism  Mechanism `json:"mechanism"`             // skellam (default) or distributed_discrete_gaussian
	ClipNorm   float64   `json:"clip_norm"`             // required: the L2 clip of each update
	Bits       int       `json:"bits"`                  // the modulus 2^bits of the secure sum (default 16)
	Epsilon    float64   `json:"epsilon"`               // required: the budget of Rounds rounds
	Delta      float64   `json:"delta"`                 // required
	Rounds     int       `json:"rounds"`                // required: the rounds the budget covers
	SampleRate float64   `json:"sample_rate"`           // each client's chance of taking part in a round (Poisson; default 1)
	MinClients int       `json:"min_devices_per_round"` // required: the fewest survivors a round may finish with
	Beta       float64   `json:"beta"`                  // conditional rounding's beta (default exp(-1/2))
	WrapSigmas float64   `json:"wrap_sigmas"`           // standard deviations kept within the modulus (default 3, or 4 for the discrete Gaussian)
	Shares     int       `json:"shares"`                // the secure round's neighbourhood (default secure.DefaultShares)
	Threshold  int       `json:"threshold"`             // its Shamir threshold (default half the neighbourhood, plus one)

	// given are the keys the JSON held: a 0 given is a value (beta 0: the plain
	// rounding bound), not a request for the default.
	given map[string]json.RawMessage
}

// DefaultBits is the modulus bits of a distributed-DP round when none is given: enough
// for its error to come within a few percent of central DP's up to 2^20 values
// (TestUtilityAgainstCentral).
const DefaultBits = 16

// UnmarshalJSON reads the platform's JSON strictly.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	var aux plain
	keys, err := secagg.DecodeSettings(b, &aux, "distributed DP settings")
	if err != nil {
		return err
	}
	*c = Config(aux)
	c.given = keys
	return nil
}

func (c Config) withDefaults() Config {
	if c.Mechanism == "" {
		c.Mechanism = Skellam
	}
	if c.Bits == 0 {
		c.Bits = DefaultBits
	}
	if c.SampleRate == 0 {
		c.SampleRate = 1
	}
	if _, ok := c.given["beta"]; c.Beta == 0 && !ok {
		c.Beta = math.Exp(-0.5)
	}
	if _, ok := c.given["wrap_sigmas"]; c.WrapSigmas == 0 && !ok {
		c.WrapSigmas = 3
		if c.Mechanism == DiscreteGaussian {
			c.WrapSigmas = 4
		}
	}
	return c
}

// Plan checks the settings for clients sampled clients of updates of dim values and
// returns the encoding (Gamma and Stddev calibrated, Rotation still zero) and the
// secure round's settings.
func (c Config) Plan(clients, dim int) (Params, secure.Config, error) {
	c = c.withDefaults()
	v := func(field, format string, a ...any) error {
		return secagg.Errorf(secagg.CodeValidation, field, format, a...)
	}
	switch {
	case c.ClipNorm == 0:
		return Params{}, secure.Config{}, v("clip_norm", "clip_norm is required")
	case c.Epsilon == 0:
		return Params{}, secure.Config{}, v("epsilon", "epsilon is required")
	case c.Delta == 0:
		return Params{}, secure.Config{}, v("delta", "delta is required")
	case c.Rounds == 0:
		return Params{}, secure.Config{}, v("rounds", "rounds is required")
	case c.MinClients == 0:
		return Params{}, secure.Config{}, v("min_devices_per_round", "min_devices_per_round is required: the noise is calibrated for that many survivors")
	case !(c.WrapSigmas > 0) || math.IsInf(c.WrapSigmas, 0):
		return Params{}, secure.Config{}, v("wrap_sigmas", "wrap_sigmas must be finite and > 0, got %v", c.WrapSigmas)
	case c.MinClients < 2 || c.MinClients > clients:
		return Params{}, secure.Config{}, v("min_devices_per_round", "min_devices_per_round must be in [2, %d], got %d", clients, c.MinClients)
	}
	sc := secure.Config{Shares: c.Shares, Threshold: c.Threshold, ModulusBits: c.Bits, QuantizationRange: 1, MinClients: c.MinClients}
	if err := sc.Validate(clients); err != nil {
		return Params{}, secure.Config{}, err
	}
	p, err := Calibrate(Params{Mechanism: c.Mechanism, Dim: dim, Clip: c.ClipNorm, Bits: c.Bits, Beta: c.Beta},
		c.Epsilon, c.Delta, c.Rounds, c.MinClients, c.SampleRate, c.WrapSigmas, dp.Improved)
	if err != nil {
		return Params{}, secure.Config{}, err
	}
	// The survivors' sum must not wrap for want of room either: MinClients is the
	// calibration's, the sampled clients may all survive.
	if k := p.WrapSigmas(clients); k < c.WrapSigmas/2 {
		return Params{}, secure.Config{}, v("bits", "%d sampled clients leave %.2g standard deviations within 2^%d: raise bits or lower the clients", clients, k, c.Bits)
	}
	return p, sc, nil
}

// Setup is what every client of a distributed-DP round gets: the secure round's, and the
// encoding.
type Setup struct {
	Secure secure.Setup
	Params Params
}

// Server is a distributed-DP round's server: a secure round of encoded updates whose
// unmasked sum it charges to the ledger and decodes.
type Server struct {
	*secure.Server
	params Params
	rate   float64 // the sample rate the ledger is charged at
	ledger *dp.Ledger
}

// NewServer starts a round: it plans the settings, asks the ledger whether the round
// fits the budget before any client is asked to add noise (a conflict if not), and
// draws the rotation seed and the secure round from crypto/rand. ledger nil charges
// nothing (the caller accounts).
func NewServer(cfg Config, ledger *dp.Ledger, round uint64, clients []uint64, dim int) (*Server, Setup, error) {
	p, sc, err := cfg.Plan(len(clients), dim)
	if err != nil {
		return nil, Setup{}, err
	}
	if ledger != nil {
		if _, err := p.Charge(ledger, sc.MinClients, cfg.withDefaults().SampleRate, false); err != nil {
			return nil, Setup{}, err
		}
	}
	if _, err := io.ReadFull(rand.Reader, p.Rotation[:]); err != nil {
		return nil, Setup{}, secagg.Errorf("internal_error", "", "crypto/rand failed: %v", err)
	}
	srv, ss, err := secure.NewServer(sc, round, clients, p.Padded())
	if err != nil {
		return nil, Setup{}, err
	}
	return &Server{Server: srv, params: p, rate: cfg.withDefaults().SampleRate, ledger: ledger}, Setup{Secure: ss, Params: p}, nil
}

// Finalize unmasks the sum, charges the round to the ledger for the clients whose noise
// it holds (refused over the budget: nothing is written then), and decodes their mean
// into dst (len dim).
func (s *Server) Finalize(dst []float32) (*secure.Result, error) {
	if len(dst) != s.params.Dim {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "dst", "dst has %d values, want %d", len(dst), s.params.Dim)
	}
	sum := make([]uint32, s.params.Padded())
	res, err := s.FinalizeWords(sum)
	if err != nil {
		return nil, err
	}
	if s.ledger != nil {
		if _, err := s.params.Charge(s.ledger, len(res.Active), s.rate, true); err != nil {
			return nil, err
		}
	}
	return res, Decode(dst, sum, s.params, float64(len(res.Active)))
}

// Client is a distributed-DP round's client: a secure client that encodes its update
// with its own noise before masking it.
type Client struct {
	*secure.Client
	params   Params
	rounding *mrand.ChaCha8
	noise    *dp.Source
}

// NewClient answers setup; random seeds the client's keys and its rounding (crypto/rand
// in production), and its noise comes from a secure dp source.
func NewClient(id uint64, setup Setup, random io.Reader) (*Client, secure.Keys, error) {
	if err := setup.Params.Validate(); err != nil {
		return nil, secure.Keys{}, err
	}
	var seed [32]byte
	if _, err := io.ReadFull(random, seed[:]); err != nil {
		return nil, secure.Keys{}, secagg.Errorf("internal_error", "", "reading the client's randomness: %v", err)
	}
	c, keys, err := secure.NewClient(id, setup.Secure, random)
	if err != nil {
		return nil, secure.Keys{}, err
	}
	return &Client{Client: c, params: setup.Params, rounding: mrand.NewChaCha8(seed), noise: dp.SecureSource()}, keys, nil
}

// Mask answers collect_masked_vectors with the update encoded (clipped, rotated,
// rounded, its noise added) and masked.
func (c *Client) Mask(req secure.MaskRequest, update []float32) (secure.MaskedVector, Encoded, error) {
	words := make([]uint32, c.params.Padded())
	e, err := Encode(words, update, c.params, c.rounding, c.noise)
	if err != nil {
		return secure.MaskedVector{}, e, err
	}
	mv, err := c.MaskWords(req, words)
	return mv, e, err
}
