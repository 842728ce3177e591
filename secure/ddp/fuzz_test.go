package ddp

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/octomil/secagg"
)

// FuzzParamsJSON: parameters a client or a C caller hands over are read without a panic,
// refused with a typed error or accepted valid; accepted ones survive a round trip, and a
// small update encodes and decodes under them without a panic. Settings are read the same
// way (their calibration is TestConfigJSON's).
func FuzzParamsJSON(f *testing.F) {
	good, _ := json.Marshal(params(100))
	f.Add(good)
	f.Add([]byte(`{"mechanism":"distributed_discrete_gaussian","dim":1,"clip_norm":1e-300,"gamma":1e300,"bits":2,"beta":0,"stddev":0,"rotation":""}`))
	f.Add([]byte(`{"clip_norm": 1, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 5}`))
	f.Add([]byte(`{"dim": -1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var cfg Config
		if err := cfg.UnmarshalJSON(b); err != nil {
			requireTyped(t, err)
		}
		var p Params
		if err := p.UnmarshalJSON(b); err != nil {
			requireTyped(t, err)
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted parameters do not validate: %v", err)
		}
		again, _ := json.Marshal(p)
		var q Params
		if err := q.UnmarshalJSON(again); err != nil || q != p {
			t.Fatalf("round trip: %+v, %v; want %+v", q, err, p)
		}
		if p.Padded() > 1<<12 {
			return
		}
		x := make([]float32, p.Dim)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		words := make([]uint32, p.Padded())
		if _, err := Encode(words, x, p, chacha(1), nil); err != nil {
			requireTyped(t, err)
		}
		if err := Decode(x, words, p, 3); err != nil {
			requireTyped(t, err)
		}
	})
}

func requireTyped(t *testing.T, err error) {
	t.Helper()
	if e := (*secagg.Error)(nil); !errors.As(err, &e) {
		t.Fatalf("untyped error: %v", err)
	}
}
