package aggregate_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
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
