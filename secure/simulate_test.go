package secure

import (
	"errors"
	"math"
	mrand "math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
)

// TestSimulate: a round of 60 clients, a tenth dropping at each stage in turn, unmasks
// to the survivors' weighted mean within the quantisation step, replays bit for bit
// with its seed, and refuses bad arguments with typed errors.
func TestSimulate(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 3))
	n, d := 60, 500
	updates := make([][]float32, n)
	weights := make([]float64, n)
	drops := make([]Stage, n)
	for i := range updates {
		updates[i] = make([]float32, d)
		for j := range updates[i] {
			updates[i][j] = float32(r.NormFloat64())
		}
		weights[i] = 1 + 99*r.Float64()
		if i%10 == 9 {
			drops[i] = Stage(1 + (i/10)%4)
		}
	}
	// k = 15 (t = 8): a secret needs 7 of 14 holders gone to be lost, more than the six
	// dropouts; at k = 9 a random ring lost one about one run in ten.
	cfg := Config{Shares: 15, MaxWeight: 100}
	got := make([]float32, d)
	res, err := Simulate(got, cfg, updates, weights, drops, 5)
	mustOK(t, err)
	if len(res.Active) != n-6+1 { // the one dropping before unmask is still in the sum
		t.Fatalf("%d active, want %d: %+v", len(res.Active), n-5, res)
	}
	want := make([]float64, d)
	var total float64
	for _, id := range res.Active {
		i := int(id - 1)
		total += weights[i]
		for j, v := range updates[i] {
			want[j] += weights[i] * float64(v)
		}
	}
	step := 2 * DefaultClippingRange / DefaultQuantizationRange
	for j := range want {
		if e := math.Abs(float64(got[j]) - want[j]/total); e > 2*step {
			t.Fatalf("mean[%d] = %v, plaintext %v (off by %v, step %v)", j, got[j], want[j]/total, e, step)
		}
	}
	again := make([]float32, d)
	_, err = Simulate(again, cfg, updates, weights, drops, 5)
	mustOK(t, err)
	for j := range got {
		if math.Float32bits(got[j]) != math.Float32bits(again[j]) {
			t.Fatalf("the same seed gave another mean at %d", j)
		}
	}
	for _, c := range []struct {
		drops   []Stage
		weights []float64
		code    secagg.Code
	}{
		{[]Stage{7}, nil, secagg.CodeBadRequest},
		{append(make([]Stage, n-1), 9), nil, secagg.CodeValidation},
		{nil, []float64{1}, secagg.CodeBadRequest},
		{nil, append(make([]float64, n-1), 200), secagg.CodeValidation}, // over max_weight
	} {
		_, err := Simulate(got, cfg, updates, c.weights, c.drops, 5)
		var e *secagg.Error
		if !errors.As(err, &e) || e.Code != c.code {
			t.Errorf("drops %v weights %d: %v, want %s", len(c.drops), len(c.weights), err, c.code)
		}
	}
}

// TestSimulateWords: clients masking values they encoded themselves (MaskWords), some
// dropping at each stage, unmask to exactly the active clients' sum mod 2^b (b = 20);
// a value at 2^b is refused naming it.
func TestSimulateWords(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 5))
	n, d, bits := 40, 300, 20
	values := make([][]uint32, n)
	drops := make([]Stage, n)
	for i := range values {
		values[i] = make([]uint32, d)
		for j := range values[i] {
			values[i][j] = r.Uint32N(1 << bits)
		}
		if i%8 == 7 {
			drops[i] = Stage(1 + (i/8)%4)
		}
	}
	cfg := Config{Shares: 15, ModulusBits: bits, QuantizationRange: 1}
	sum := make([]uint32, d)
	res, err := SimulateWords(sum, cfg, values, drops, 9)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]uint32, d)
	for _, id := range res.Active {
		for j, v := range values[id-1] {
			want[j] = (want[j] + v) & (1<<bits - 1)
		}
	}
	if len(res.Active) != n-4 {
		t.Fatalf("%d active, want %d (one gone before each of keys, shares and masking, and one more before keys; the one gone before unmask sent its vector)", len(res.Active), n-4)
	}
	for j := range sum {
		if sum[j] != want[j] {
			t.Fatalf("value %d: %d, want %d", j, sum[j], want[j])
		}
	}
	values[3][17] = 1 << bits
	_, err = SimulateWords(sum, cfg, values, nil, 9)
	var e *secagg.Error
	if !errors.As(err, &e) || e.Code != secagg.CodeValidation || e.Field != "update" {
		t.Fatalf("a value at 2^b: %v", err)
	}
}
