package aggregate_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

// FuzzMean splits fuzzed bit patterns into n updates and checks Mean and WeightedMean
// against the specification: the exact formula when every value is finite, a
// validation_error naming the first bad value otherwise, and dst untouched then.
func FuzzMean(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40}, uint8(2), uint8(3))
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x3f}, uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, n uint8, wseed uint8) {
		clients := int(n%7) + 1
		d := len(data) / 4 / clients
		if d == 0 {
			return
		}
		us := make([][]float32, clients)
		firstBad := ""
		for i := range us {
			us[i] = make([]float32, d)
			for j := range us[i] {
				us[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*d+j):]))
				if firstBad == "" && secagg.FirstNonFinite(us[i][j:j+1]) == 0 {
					firstBad = secagg.NonFiniteValue("updates["+itoa(i)+"]", j, us[i][j]).Message
				}
			}
		}
		weights := make([]float64, clients)
		for i := range weights {
			weights[i] = float64((int(wseed)+i*37)%5) + 0.5
		}
		for _, weighted := range []bool{false, true} {
			dst := make([]float32, d)
			for j := range dst {
				dst[j] = 42
			}
			var err error
			if weighted {
				err = aggregate.WeightedMean(dst, us, weights)
			} else {
				err = aggregate.Mean(dst, us)
			}
			if firstBad != "" {
				var e *secagg.Error
				if !errors.As(err, &e) || e.Code != secagg.CodeValidation || e.Message != firstBad {
					t.Fatalf("want %q, got %v", firstBad, err)
				}
				for j, v := range dst {
					if v != 42 {
						t.Fatalf("dst[%d] written by a rejected call", j)
					}
				}
				continue
			}
			if err != nil {
				t.Fatalf("finite input rejected: %v", err)
			}
			if !weighted {
				bitsEqual(t, meanSpec(us), dst, "Mean")
				continue
			}
			ref := weightedReference(us, weights)
			for j := range dst {
				if ulps(float32(ref[j]), dst[j]) > 1 {
					t.Fatalf("WeightedMean coordinate %d: want %v, got %v", j, ref[j], dst[j])
				}
			}
		}
	})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

// FuzzAggregate feeds Aggregate a fuzzed configuration (the platform's JSON) and fuzzed
// updates and weights: whatever they hold, it returns nil or a *secagg.Error, never
// panics, and a rejected call leaves dst as it was.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte(`{"strategy":"krum","byzantine_clients":1,"multi_krum_m":2}`), make([]byte, 4*5*3), uint8(5), true)
	f.Add([]byte(`{"strategy":"bulyan","byzantine_clients":1}`), make([]byte, 4*7*2), uint8(7), false)
	f.Add([]byte(`{"strategy":"centered_clipping","centered_clipping_radius":1e-30,"centered_clipping_iterations":3}`), []byte{0, 0, 0x80, 0x7f, 1, 2, 3, 4}, uint8(2), false)
	f.Add([]byte(`{"strategy":"dp_mean","clip_norm":1,"noise_multiplier":1e308}`), make([]byte, 16), uint8(2), false)
	f.Add([]byte(`{"strategy":"geometric_median","geometric_median_tolerance":-1}`), make([]byte, 16), uint8(2), true)
	f.Add([]byte(`{"strategy":"trimmed_mean","trim_ratio":0.49,"min_clients":3}`), make([]byte, 24), uint8(3), false)
	f.Fuzz(func(t *testing.T, config, data []byte, n uint8, weighted bool) {
		var cfg aggregate.Config
		if json.Unmarshal(config, &cfg) != nil {
			return
		}
		clients := int(n%12) + 1
		d := len(data) / 4 / clients
		if d == 0 || d > 64 {
			return
		}
		us := make([][]float32, clients)
		for i := range us {
			us[i] = make([]float32, d)
			for j := range us[i] {
				us[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*d+j):]))
			}
		}
		var weights []float64
		if weighted {
			weights = make([]float64, clients)
			for i := range weights {
				weights[i] = float64(data[i%len(data)]) / 7
			}
		}
		dst := make([]float32, d)
		for j := range dst {
			dst[j] = 42
		}
		_, err := aggregate.Aggregate(dst, us, weights, cfg, dp.InsecureSeededSource(1))
		if err == nil {
			return
		}
		var e *secagg.Error
		if !errors.As(err, &e) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		for j, v := range dst {
			if v != 42 {
				t.Fatalf("%s: dst[%d] written by a rejected call (%v)", cfg.Strategy, j, err)
			}
		}
	})
}
