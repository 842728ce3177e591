package ddp

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/secure"
)

// playRound runs a round of the server and n clients, the last drop of them gone before
// masking, and returns Finalize's answer.
func playRound(t *testing.T, srv *Server, setup Setup, ids []uint64, updates [][]float32, drop int, dst []float32) (*secure.Result, error) {
	t.Helper()
	clients := map[uint64]*Client{}
	for _, id := range ids {
		c, keys, err := NewClient(id, setup, rand.Reader)
		require.NoError(t, err)
		clients[id] = c
		require.NoError(t, srv.AddKeys(id, keys))
	}
	shareReqs, err := srv.ShareKeys()
	require.NoError(t, err)
	for id, req := range shareReqs {
		reply, err := clients[id].ShareKeys(req)
		require.NoError(t, err)
		require.NoError(t, srv.AddShares(id, reply))
	}
	maskReqs, err := srv.CollectMasked()
	require.NoError(t, err)
	for i, id := range ids[:len(ids)-drop] {
		mv, _, err := clients[id].Mask(maskReqs[id], updates[i])
		require.NoError(t, err)
		require.NoError(t, srv.AddMasked(id, mv))
	}
	unmaskReqs, err := srv.Unmask()
	if err != nil {
		return nil, err
	}
	for id, req := range unmaskReqs {
		reply, err := clients[id].Unmask(req)
		require.NoError(t, err)
		require.NoError(t, srv.AddUnmask(id, reply))
	}
	return srv.Finalize(dst)
}

// TestRound: a distributed-DP round configured by the platform's JSON, with its ledger:
// it decodes to the survivors' mean within the noise it was calibrated for, charges the
// ledger once, refuses at setup the round the budget cannot take (before any client
// adds noise), and refuses at unmask a round with fewer survivors than the noise was
// calibrated for.
func TestRound(t *testing.T) {
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(`{"mechanism": "skellam", "clip_norm": 1, "bits": 20,
		"epsilon": 4, "delta": 1e-5, "rounds": 2, "min_devices_per_round": 18, "shares": 9}`), &cfg))
	n, d := 20, 500
	ids := make([]uint64, n)
	updates := make([][]float32, n)
	rng := mrand.New(mrand.NewPCG(8, 8))
	for i := range ids {
		ids[i] = uint64(100 + i)
		updates[i] = make([]float32, d)
		for j := range updates[i] {
			updates[i][j] = float32(rng.NormFloat64() * 0.02)
		}
	}
	ledger, err := dp.NewLedger(4, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	for round := range 2 {
		srv, setup, err := NewServer(cfg, ledger, uint64(round), ids, d)
		require.NoError(t, err)
		got := make([]float32, d)
		res, err := playRound(t, srv, setup, ids, updates, 2, got)
		require.NoError(t, err)
		require.Len(t, res.Active, n-2)
		var e2 float64
		for j := range got {
			var want float64
			for i := range n - 2 {
				want += float64(updates[i][j]) / float64(n-2)
			}
			e2 += (float64(got[j]) - want) * (float64(got[j]) - want)
		}
		sigma2 := setup.Params.Stddev * setup.Params.Stddev / float64(n-2) // the mean's noise
		assert.InEpsilon(t, sigma2, e2/float64(d), 0.25, "round %d", round)
		_, rounds := ledger.Spent()
		assert.Equal(t, round+1, rounds)
	}
	_, _, err = NewServer(cfg, ledger, 2, ids, d)
	assert.ErrorIs(t, err, secagg.ErrConflict, "a third round is over the budget, refused at setup")

	fresh, _ := dp.NewLedger(4, 1e-5, dp.Improved, nil)
	srv, setup, err := NewServer(cfg, fresh, 3, ids, d)
	require.NoError(t, err)
	_, err = playRound(t, srv, setup, ids, updates, 3, make([]float32, d))
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients, "17 survivors hold less noise than calibrated for")
	_, rounds := fresh.Spent()
	assert.Zero(t, rounds, "nothing charged")
}

// TestConfigJSON: unknown keys and nulls are bad requests naming them; each required
// setting missing is a validation error naming it; an impossible modulus names bits.
func TestConfigJSON(t *testing.T) {
	for _, c := range []struct{ json, field string }{
		{`{"clip_norm": 1, "noise_multiplier": 1}`, "config"},
		{`{"clip_norm": null}`, "clip_norm"},
		{`{"epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5}`, "clip_norm"},
		{`{"clip_norm": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5}`, "epsilon"},
		{`{"clip_norm": 1, "epsilon": 1, "rounds": 1, "min_devices_per_round": 5}`, "delta"},
		{`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "min_devices_per_round": 5}`, "rounds"},
		{`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1}`, "min_devices_per_round"},
		{`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5, "bits": 6}`, "bits"},
		{`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5, "mechanism": "laplace"}`, "mechanism"},
		{`{"clip_norm": 1, "epsilon": -1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5}`, "epsilon"},
	} {
		var cfg Config
		err := json.Unmarshal([]byte(c.json), &cfg)
		if err == nil {
			_, _, err = cfg.Plan(10, 1000)
		}
		var e *secagg.Error
		require.True(t, errors.As(err, &e), "%s: %v", c.json, err)
		assert.Equal(t, c.field, e.Field, c.json)
	}
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5}`), &cfg))
	p, sc, err := cfg.Plan(10, 1000)
	require.NoError(t, err)
	assert.Equal(t, DefaultBits, p.Bits)
	assert.Equal(t, 5, sc.MinClients)
	assert.InDelta(t, math.Exp(-0.5), p.Beta, 1e-15)

	// A zero given is a value, not the default: beta 0 is the plain bound, and
	// wrap_sigmas 0 is refused.
	require.NoError(t, json.Unmarshal([]byte(`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5, "beta": 0}`), &cfg))
	p, _, err = cfg.Plan(10, 1000)
	require.NoError(t, err)
	assert.Zero(t, p.Beta)
	require.NoError(t, json.Unmarshal([]byte(`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5, "wrap_sigmas": 0}`), &cfg))
	_, _, err = cfg.Plan(10, 1000)
	var e *secagg.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "wrap_sigmas", e.Field)
}

// TestParamsJSON: parameters cross a process (or the C ABI) as JSON and come back the
// same; every key is required, an unknown one or a bad rotation is refused naming it,
// and a refused read leaves the parameters as they were.
func TestParamsJSON(t *testing.T) {
	p := params(1000)
	p.Stddev = 0.25
	for i := range p.Rotation {
		p.Rotation[i] = byte(7*i + 1)
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var got Params
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, p, got)

	var keys map[string]any
	require.NoError(t, json.Unmarshal(b, &keys))
	assert.Len(t, keys, 8)
	with := func(k string, v any) []byte {
		m := map[string]any{}
		for k, v := range keys {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		out, _ := json.Marshal(m)
		return out
	}
	for k := range keys {
		err := json.Unmarshal(with(k, nil), &got)
		var e *secagg.Error
		require.ErrorAs(t, err, &e, k)
		assert.Equal(t, secagg.CodeValidation, e.Code, k)
		assert.Equal(t, k, e.Field)
	}
	for _, c := range []struct {
		json []byte
		code secagg.Code
		name string
	}{
		{with("noise_multiplier", 1), secagg.CodeBadRequest, "noise_multiplier"},
		{with("rotation", "abcd"), secagg.CodeValidation, "rotation"},
		{with("rotation", strings.Repeat("zz", 32)), secagg.CodeValidation, "rotation"},
		{with("bits", 40), secagg.CodeValidation, "bits"},
		{with("mechanism", "laplace"), secagg.CodeBadRequest, "mechanism"},
		{with("gamma", -1), secagg.CodeValidation, "gamma"},
	} {
		got := p
		err := json.Unmarshal(c.json, &got)
		var e *secagg.Error
		require.ErrorAs(t, err, &e, c.name)
		assert.Equal(t, c.code, e.Code, c.name)
		assert.Contains(t, e.Field+e.Message, c.name)
		assert.Equal(t, p, got, "a refused read changes nothing")
	}
}

// TestEncodeClientByClient: a round encoded a client at a time with the simulation's
// randomness (what a notebook does through secagg_ddp_encode), summed mod 2^bits and
// decoded, is SimulateRound's mean bit for bit: the exported pieces are the round's.
func TestEncodeClientByClient(t *testing.T) {
	const n, dim, seed = 12, 3000, 41
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(`{"clip_norm": 0.5, "bits": 18, "epsilon": 2, "delta": 1e-5, "rounds": 3, "min_devices_per_round": 10}`), &cfg))
	rng := mrand.New(mrand.NewPCG(8, 8))
	updates := make([][]float32, n)
	for i := range updates {
		updates[i] = make([]float32, dim)
		for j := range updates[i] {
			updates[i][j] = float32(rng.NormFloat64() * 0.02)
		}
	}
	want := make([]float32, dim)
	res, err := SimulateRound(want, cfg, updates, nil, seed)
	require.NoError(t, err)
	require.Len(t, res.Active, n)

	p, _, err := cfg.Plan(n, dim)
	require.NoError(t, err)
	p.Rotation = SimulatedRotation(seed)
	sum := make([]uint32, p.Padded())
	words := make([]uint32, p.Padded())
	for i, x := range updates {
		rounding, noise := SimulatedClient(seed, i)
		_, err := Encode(words, x, p, rounding, noise)
		require.NoError(t, err)
		for j, w := range words {
			sum[j] = (sum[j] + w) & (1<<p.Bits - 1)
		}
	}
	got := make([]float32, dim)
	require.NoError(t, Decode(got, sum, p, n))
	for j := range got {
		require.Equal(t, math.Float32bits(want[j]), math.Float32bits(got[j]), "value %d", j)
	}
	assert.NotEqual(t, SimulatedRotation(seed), SimulatedRotation(seed+1))
}

// TestUnseededClientIsNotReplayable plays an observer who knows how the simulated
// randomness is derived and tries to replay a client's encoding, to subtract its noise:
// with a seed >= 0 the replay gives the client's words exactly (that mode is for tests
// and notebooks only), but with seed < 0, what ddp_encode and secagg_ddp_encode use by
// default, neither a second unseeded encoding nor a replay from any small seed gives
// them, and the round's rotation is fresh each time too.
func TestUnseededClientIsNotReplayable(t *testing.T) {
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(`{"clip_norm": 1, "bits": 16, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 10}`), &cfg))
	p, _, err := cfg.Plan(10, 1000)
	require.NoError(t, err)
	x := make([]float32, p.Dim)
	for j := range x {
		x[j] = float32(j%7) * 0.01
	}
	encode := func(seed int64) []uint32 {
		w := make([]uint32, p.Padded())
		rounding, noise := SimulatedClient(seed, 0)
		_, err := Encode(w, x, p, rounding, noise)
		require.NoError(t, err)
		return w
	}
	require.True(t, slices.Equal(encode(3), encode(3)), "a seeded client replays exactly")
	client := encode(-1)
	require.False(t, slices.Equal(client, encode(-1)), "two unseeded encodings of one update drew the same noise")
	for guess := int64(0); guess < 64; guess++ {
		require.False(t, slices.Equal(client, encode(guess)), "an unseeded client was replayed from seed %d", guess)
	}
	assert.NotEqual(t, SimulatedRotation(-1), SimulatedRotation(-1), "two unseeded rounds drew one rotation")
}
