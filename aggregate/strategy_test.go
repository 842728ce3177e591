package aggregate_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fieldOf returns the field an error names.
func fieldOf(t *testing.T, err error) (secagg.Code, string) {
	t.Helper()
	var e *secagg.Error
	require.True(t, errors.As(err, &e), "%v", err)
	return e.Code, e.Field
}

func parse(t *testing.T, js string) (aggregate.Config, error) {
	var c aggregate.Config
	err := json.Unmarshal([]byte(js), &c)
	return c, err
}

// No setting is silently ignored: a misspelt key, one that does not apply to the
// strategy, and a required one missing each name the key.
func TestConfigKeys(t *testing.T) {
	_, err := parse(t, `{"strategy":"trimmed_mean","trim_raito":0.1}`)
	code, field := fieldOf(t, err)
	assert.Equal(t, secagg.CodeBadRequest, code)
	assert.Equal(t, "trim_raito", field)
	_, err = parse(t, `{"strategy":"trimmed_mean","trim_ratio":null}`)
	code, field = fieldOf(t, err)
	assert.Equal(t, secagg.CodeBadRequest, code, "null is no value, not 0")
	assert.Equal(t, "trim_ratio", field)

	for _, c := range []struct {
		js    string
		code  secagg.Code
		field string
	}{
		{`{"strategy":"trimmed_mean"}`, secagg.CodeValidation, "trim_ratio"},
		{`{"strategy":"krum"}`, secagg.CodeValidation, "byzantine_clients"},
		{`{"strategy":"bulyan"}`, secagg.CodeValidation, "byzantine_clients"},
		{`{"strategy":"dp_mean","clip_norm":1}`, secagg.CodeValidation, "noise_multiplier"},
		{`{"strategy":"dp_mean","noise_multiplier":1}`, secagg.CodeValidation, "clip_norm"},
		{`{"strategy":"centered_clipping"}`, secagg.CodeValidation, "centered_clipping_radius"},
		{`{"strategy":"norm_bounded_mean"}`, secagg.CodeValidation, "clip_norm"},
		{`{"strategy":"krum","byzantine_clients":1,"trim_ratio":0.1}`, secagg.CodeBadRequest, "trim_ratio"},
		{`{"strategy":"mean","clip_norm":1}`, secagg.CodeBadRequest, "clip_norm"},
		{`{"strategy":"trimmed_mean","trim_ratio":0.1,"byzantine_clients":0}`, secagg.CodeBadRequest, "byzantine_clients"},
		{`{"strategy":"median","min_devices_per_round":0}`, secagg.CodeValidation, "min_devices_per_round"},
		{`{"strategy":"median","min_clients":-1}`, secagg.CodeValidation, "min_devices_per_round"},
		{`{"strategy":"dp_mean","clip_norm":1,"noise_multiplier":1,"delta":1e-5}`, secagg.CodeBadRequest, "delta"},
		{`{"strategy":"dp_mean","clip_norm":1,"noise_multiplier":1,"epsilon":1,"min_clients":1}`, secagg.CodeValidation, "delta"},
		{`{"strategy":"medain"}`, secagg.CodeValidation, "strategy"},
	} {
		cfg, err := parse(t, c.js)
		require.NoError(t, err, c.js)
		err = cfg.Validate()
		require.Error(t, err, c.js)
		code, field := fieldOf(t, err)
		assert.Equal(t, c.code, code, c.js)
		assert.Equal(t, c.field, field, c.js)
	}
	// An explicit 0 is given: trimming nothing, Krum with f = 0, no noise.
	for _, js := range []string{
		`{"strategy":"trimmed_mean","trim_ratio":0,"max_clients":5,"min_clients":1}`,
		`{"strategy":"krum","byzantine_clients":0,"min_clients":1}`,
		`{"strategy":"dp_mean","clip_norm":1,"noise_multiplier":0,"min_clients":1}`,
		`{"strategy":"dp_mean","clip_norm":1,"noise_multiplier":1,"epsilon":1,"delta":1e-5,"sample_rate":0.1,"min_clients":1}`,
	} {
		cfg, err := parse(t, js)
		require.NoError(t, err)
		assert.NoError(t, cfg.Validate(), js)
	}
	// In Go a zero is not given, a non-zero one is; Set gives an explicit zero.
	assert.Error(t, aggregate.Config{Strategy: aggregate.StrategyKrum, MinClients: 1}.Validate())
	cfg := aggregate.Config{Strategy: aggregate.StrategyKrum, MinClients: 1}
	require.NoError(t, cfg.Set("byzantine_clients", "0"))
	assert.NoError(t, cfg.Validate())
	code, field = fieldOf(t, aggregate.Config{Strategy: aggregate.StrategyMedian, TrimRatio: 0.1}.Validate())
	assert.Equal(t, secagg.CodeBadRequest, code)
	assert.Equal(t, "trim_ratio", field)
	for _, bad := range [][2]string{{"byzantine_clients", "2.5"}, {"trim_ratio", "x"}, {"nope", "1"}} {
		code, field = fieldOf(t, cfg.Set(bad[0], bad[1]))
		assert.Equal(t, secagg.CodeBadRequest, code, bad)
		assert.Equal(t, bad[0], field)
	}
}

// Every strategy of the table runs through Aggregate with its required parameters,
// and the batch refuses what only the round engine uses.
func TestEveryStrategyOfTheTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	us := fill(12, 50, func(int, int) float32 { return float32(rng.NormFloat64()) })
	ws := make([]float64, len(us))
	for i := range ws {
		ws[i] = float64(i + 1)
	}
	values := map[string]string{"trim_ratio": "0.1", "byzantine_clients": "2", "centered_clipping_radius": "5",
		"clip_norm": "3", "noise_multiplier": "0.5"}
	for _, info := range aggregate.Strategies() {
		cfg := aggregate.Config{Strategy: info.Name}
		for _, p := range info.Params {
			if p.Required {
				require.NoError(t, cfg.Set(p.Key, values[p.Key]), "no test value for %s", p.Key)
			}
		}
		var w []float64
		if info.Weights != aggregate.NoWeights {
			w = ws
		}
		dst := make([]float32, 50)
		res, err := aggregate.Aggregate(dst, us, w, cfg, dp.InsecureSeededSource(1))
		require.NoError(t, err, info.Name)
		assert.Equal(t, info.Name, res.Strategy)
		if info.Weights == aggregate.RequiredWeights {
			_, err = aggregate.Aggregate(dst, us, nil, cfg, nil)
			code, field := fieldOf(t, err)
			assert.Equal(t, secagg.CodeValidation, code, "%s without weights", info.Name)
			assert.Equal(t, "weights", field)
		}
		if info.Weights == aggregate.NoWeights {
			_, err = aggregate.Aggregate(dst, us, ws, cfg, nil)
			code, _ := fieldOf(t, err)
			assert.Equal(t, secagg.CodeBadRequest, code, "%s with weights", info.Name)
		}
	}
	for _, key := range []string{"max_round_bytes", "epsilon", "max_clients"} {
		cfg, err := parse(t, `{"strategy":"trimmed_mean","trim_ratio":0.1,"`+key+`":1}`)
		require.NoError(t, err)
		_, err = aggregate.Aggregate(make([]float32, 50), us, nil, cfg, nil)
		code, field := fieldOf(t, err)
		assert.Equal(t, secagg.CodeBadRequest, code, key)
		assert.Equal(t, key, field)
	}
	cfg, err := parse(t, `{"strategy":"mean","min_devices_per_round":0}`)
	require.NoError(t, err)
	_, err = aggregate.Aggregate(make([]float32, 50), us, nil, cfg, nil)
	code, _ := fieldOf(t, err)
	assert.Equal(t, secagg.CodeValidation, code, "an explicit 0 is refused, not taken for 1")
}
