package secagg_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/octomil/secagg"
)

// FuzzErrorJSON: any code and message survive the wire form unchanged, in key order.
func FuzzErrorJSON(f *testing.F) {
	f.Add("validation_error", "trim_ratio must be in [0, 0.5), got 0.7")
	f.Add("conflict", "client \"a\" <twice> \x00 \u2028")
	f.Fuzz(func(t *testing.T, code, msg string) {
		if code == "" {
			return
		}
		in := secagg.Errorf(secagg.Code(code), "", "%s", msg)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out secagg.Error
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if want := []byte(`{"error":`); string(b[:len(want)]) != string(want) {
			t.Fatalf("key order: %s", b)
		}
		// Invalid UTF-8 is replaced on the wire; valid text must survive exactly.
		if utf8.ValidString(msg) && out.Message != msg {
			t.Fatalf("message %q came back as %q", msg, out.Message)
		}
		if utf8.ValidString(code) && (out.Code != in.Code || !errors.Is(&out, in)) {
			t.Fatalf("code %q came back as %q", code, out.Code)
		}
		if out.Status != in.Status {
			t.Fatalf("status %d came back as %d", in.Status, out.Status)
		}
	})
}

// FuzzScalarChecks: every check accepts exactly its documented range and never panics.
func FuzzScalarChecks(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 0.5, 1, -1, math.NaN(), math.Inf(1), 5e-324} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		finite := !math.IsNaN(v) && !math.IsInf(v, 0)
		rules := []struct {
			name  string
			check func(float64) error
			ok    bool
		}{
			{"epsilon", secagg.ValidateEpsilon, finite && v > 0},
			{"delta", secagg.ValidateDelta, v > 0 && v < 1},
			{"trim_ratio", secagg.ValidateTrimRatio, v >= 0 && v < 0.5},
			{"clip_norm", secagg.ValidateClipNorm, finite && v > 0},
			{"noise_multiplier", secagg.ValidateNoiseMultiplier, finite && v >= 0},
			{"sample_rate", secagg.ValidateSampleRate, v > 0 && v <= 1},
		}
		for _, r := range rules {
			err := r.check(v)
			if (err == nil) != r.ok {
				t.Fatalf("%s(%v): got %v, want ok=%v", r.name, v, err, r.ok)
			}
			if err != nil && !errors.Is(err, secagg.ErrValidation) {
				t.Fatalf("%s(%v): %v is not a validation_error", r.name, v, err)
			}
		}
	})
}
