// Command libsecagg is the C ABI of the engine, for notebooks and other languages:
// built with go build -buildmode=c-shared, it exports the functions secagg.h declares.
// The Python package python/secagg wraps it.
package main

// #include "secagg.h"
import "C"

import (
	"encoding/json"
	"errors"
	"unsafe"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/secure"
	"github.com/octomil/secagg/secure/ddp"
	"github.com/octomil/secagg/simd"
	"github.com/octomil/secagg/trimmedmean"
)

func main() {} // required by -buildmode=c-shared; never runs

//export secagg_mean
func secagg_mean(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, out *C.float, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		return aggregate.Mean(dst, updates)
	})
}

//export secagg_weighted_mean
func secagg_weighted_mean(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, w *C.secagg_cdouble, out *C.float, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, ws, e := weightedRound(x, rows, n, d, out, w, false)
		if e != nil {
			return e
		}
		return aggregate.WeightedMean(dst, updates, ws)
	})
}

//export secagg_trimmed_mean
func secagg_trimmed_mean(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, trimRatio C.double, out *C.float, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		return trimmedmean.TrimmedMean(dst, updates, float64(trimRatio))
	})
}

//export secagg_median
func secagg_median(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, out *C.float, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		return trimmedmean.Median(dst, updates)
	})
}

//export secagg_krum
func secagg_krum(x *C.secagg_cfloat, rows *C.secagg_row, n, d, f, m C.int64_t, out *C.float, selected *C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		sel, e := aggregate.MultiKrum(dst, updates, int(f), int(m))
		setInt64s(selected, sel)
		return e
	})
}

//export secagg_krum_select
func secagg_krum_select(x *C.secagg_cfloat, rows *C.secagg_row, n, d, nearest, m C.int64_t, selected *C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		if selected == nil {
			return badRequest("selected", "selected is NULL")
		}
		if n < 1 || d < 1 || int64(d) > maxElements/int64(n) {
			return badRequest("updates", "n must be >= 1 and d >= 1 with n x d in range, got n %d, d %d", n, d)
		}
		// round's out, as large as one of the caller's rows: only indices are written.
		scratch := make([]float32, d)
		updates, _, e := round(x, rows, n, d, (*C.float)(unsafe.Pointer(&scratch[0])))
		if e != nil {
			return e
		}
		sel, e := aggregate.KrumSelect(updates, int(nearest), int(m))
		if e != nil {
			return e
		}
		setInt64s(selected, sel)
		return nil
	})
}

//export secagg_bulyan
func secagg_bulyan(x *C.secagg_cfloat, rows *C.secagg_row, n, d, f C.int64_t, out *C.float, selected *C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		sel, e := aggregate.Bulyan(dst, updates, int(f))
		setInt64s(selected, sel)
		return e
	})
}

//export secagg_geometric_median
func secagg_geometric_median(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, w *C.secagg_cdouble, maxIterations C.int64_t, tolerance C.double, out *C.float, iterations *C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, ws, e := weightedRound(x, rows, n, d, out, w, true)
		if e != nil {
			return e
		}
		steps, e := aggregate.GeometricMedian(dst, updates, ws, aggregate.GeometricMedianOptions{
			MaxIterations: int(maxIterations), Tolerance: float64(tolerance)})
		if e == nil && iterations != nil {
			*iterations = C.int64_t(steps)
		}
		return e
	})
}

//export secagg_centered_clipping
func secagg_centered_clipping(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, radius C.double, iterations C.int64_t, center *C.secagg_cfloat, out *C.float, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		var c []float32
		if center != nil {
			c = unsafe.Slice((*float32)(unsafe.Pointer(center)), len(dst))
		}
		return aggregate.CenteredClipping(dst, updates, aggregate.CenteredClippingOptions{
			Radius: float64(radius), Iterations: int(iterations), Center: c})
	})
}

//export secagg_norm_bounded_mean
func secagg_norm_bounded_mean(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, clipNorm C.double, out *C.float, norms *C.double, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		got, e := aggregate.NormBoundedMean(dst, updates, float64(clipNorm))
		if e == nil && norms != nil {
			copy(unsafe.Slice((*float64)(unsafe.Pointer(norms)), len(got)), got)
		}
		return e
	})
}

//export secagg_dp_mean
func secagg_dp_mean(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, clipNorm, noiseMultiplier C.double, seed C.int64_t, out *C.float, norms *C.double, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		got, e := aggregate.DPMean(dst, updates, float64(clipNorm), float64(noiseMultiplier), noiseSource(seed))
		if e == nil && norms != nil {
			copy(unsafe.Slice((*float64)(unsafe.Pointer(norms)), len(got)), got)
		}
		return e
	})
}

//export secagg_aggregate
func secagg_aggregate(configJSON *C.secagg_cchar, x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, w *C.secagg_cdouble, seed C.int64_t, out *C.float, result *C.char, resultLen C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		var cfg aggregate.Config
		if e := readConfig(configJSON, &cfg, "a round configuration"); e != nil {
			return e
		}
		if seed >= 0 && cfg.Strategy != aggregate.StrategyDPMean {
			return badRequest("seed", "a seed does not apply to strategy %s: only dp_mean draws noise", cfg.Strategy)
		}
		if e := checkResult(result, resultLen); e != nil {
			return e
		}
		updates, dst, ws, e := weightedRound(x, rows, n, d, out, w, true)
		if e != nil {
			return e
		}
		return throughScratch(dst, result, resultLen, func(tmp []float32) (any, error) {
			return aggregate.Aggregate(tmp, updates, ws, cfg, noiseSource(seed))
		})
	})
}

//export secagg_secure_simulate
func secagg_secure_simulate(configJSON *C.secagg_cchar, x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, w *C.secagg_cdouble, drops *C.secagg_cint64, seed C.int64_t, out *C.float, result *C.char, resultLen C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		var cfg secure.Config
		if e := readConfig(configJSON, &cfg, "a secure round configuration"); e != nil {
			return e
		}
		if e := checkResult(result, resultLen); e != nil {
			return e
		}
		updates, dst, ws, e := weightedRound(x, rows, n, d, out, w, true)
		if e != nil {
			return e
		}
		return throughScratch(dst, result, resultLen, func(tmp []float32) (any, error) {
			return secure.Simulate(tmp, cfg, updates, ws, stages(drops, n), int64(seed))
		})
	})
}

// stages reads drops[n], the stage each simulated client drops out before (NULL:
// nobody drops).
func stages(drops *C.secagg_cint64, n C.int64_t) []secure.Stage {
	if drops == nil {
		return nil
	}
	var out []secure.Stage
	for _, s := range unsafe.Slice((*int64)(unsafe.Pointer(drops)), int(n)) {
		out = append(out, secure.Stage(s))
	}
	return out
}

// throughScratch runs a round into scratch, writes its result, and only then hands the
// mean to dst: out is untouched on any error, a result that does not fit included.
func throughScratch(dst []float32, result *C.char, resultLen C.int64_t, round func(tmp []float32) (any, error)) error {
	tmp := make([]float32, len(dst))
	res, e := round(tmp)
	if e != nil {
		return e
	}
	if e := writeResult(result, resultLen, res); e != nil {
		return e
	}
	copy(dst, tmp)
	return nil
}

//export secagg_ddp_simulate
func secagg_ddp_simulate(configJSON *C.secagg_cchar, x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, drops *C.secagg_cint64, seed C.int64_t, out *C.float, result *C.char, resultLen C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		var cfg ddp.Config
		if e := readConfig(configJSON, &cfg, "a distributed DP round configuration"); e != nil {
			return e
		}
		if e := checkResult(result, resultLen); e != nil {
			return e
		}
		updates, dst, e := round(x, rows, n, d, out)
		if e != nil {
			return e
		}
		return throughScratch(dst, result, resultLen, func(tmp []float32) (any, error) {
			return ddp.SimulateRound(tmp, cfg, updates, stages(drops, n), int64(seed))
		})
	})
}

//export secagg_ddp_plan
func secagg_ddp_plan(configJSON *C.secagg_cchar, clients, d, seed C.int64_t, result *C.char, resultLen C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		var cfg ddp.Config
		if e := readConfig(configJSON, &cfg, "a distributed DP round configuration"); e != nil {
			return e
		}
		if result == nil || resultLen <= 0 {
			return badRequest("result", "result is NULL or result_len is not positive: the parameters are the answer")
		}
		if clients < 1 || d < 1 {
			return badRequest("clients", "clients and d must be >= 1, got %d and %d", clients, d)
		}
		p, _, e := cfg.Plan(int(clients), int(d))
		if e != nil {
			return e
		}
		p.Rotation = ddp.SimulatedRotation(int64(seed))
		return writeResult(result, resultLen, p)
	})
}

//export secagg_ddp_encode
func secagg_ddp_encode(paramsJSON *C.secagg_cchar, x *C.secagg_cfloat, d, seed, client C.int64_t, words *C.uint32_t, padded C.int64_t, result *C.char, resultLen C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		var p ddp.Params
		if e := readConfig(paramsJSON, &p, "distributed DP parameters"); e != nil {
			return e
		}
		if e := checkResult(result, resultLen); e != nil {
			return e
		}
		switch {
		case x == nil || words == nil:
			return badRequest("update", "x or words is NULL")
		case d != C.int64_t(p.Dim) || padded != C.int64_t(p.Padded()):
			return badRequest("update", "an update of %d values into %d words, want %d into %d", d, padded, p.Dim, p.Padded())
		case client < 0:
			return badRequest("client", "client must be >= 0, got %d", client)
		case spanOf(x, int(d)).overlaps(spanOf(words, int(padded))):
			return badRequest("words", "words overlaps the update")
		}
		update := unsafe.Slice((*float32)(unsafe.Pointer(x)), int(d))
		tmp := make([]uint32, padded)
		rounding, noise := ddp.SimulatedClient(int64(seed), int(client))
		enc, e := ddp.Encode(tmp, update, p, rounding, noise)
		if e != nil {
			return e
		}
		if e := writeResult(result, resultLen, enc); e != nil {
			return e
		}
		copy(unsafe.Slice((*uint32)(unsafe.Pointer(words)), int(padded)), tmp)
		return nil
	})
}

//export secagg_ddp_decode
func secagg_ddp_decode(paramsJSON *C.secagg_cchar, sum *C.secagg_cuint32, padded C.int64_t, divisor C.double, out *C.float, d C.int64_t, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		var p ddp.Params
		if e := readConfig(paramsJSON, &p, "distributed DP parameters"); e != nil {
			return e
		}
		switch {
		case sum == nil || out == nil:
			return badRequest("sum", "sum or out is NULL")
		case padded != C.int64_t(p.Padded()) || d != C.int64_t(p.Dim):
			return badRequest("sum", "a sum of %d words into %d values, want %d into %d", padded, d, p.Padded(), p.Dim)
		case spanOf(sum, int(padded)).overlaps(spanOf(out, int(d))):
			return badRequest("out", "out overlaps the sum")
		}
		return ddp.Decode(unsafe.Slice((*float32)(unsafe.Pointer(out)), int(d)),
			unsafe.Slice((*uint32)(unsafe.Pointer(sum)), int(padded)), p, float64(divisor))
	})
}

// readConfig reads the NUL-terminated JSON settings at p into cfg (a type whose
// UnmarshalJSON names a bad key in a typed error).
func readConfig(p *C.secagg_cchar, cfg any, what string) error {
	if p == nil {
		return badRequest("config", "config_json is NULL")
	}
	if e := json.Unmarshal([]byte(C.GoString((*C.char)(unsafe.Pointer(p)))), cfg); e != nil {
		var se *secagg.Error
		if errors.As(e, &se) {
			return se // names the key: an unknown or misspelt setting
		}
		return badRequest("config", "config_json is not %s: %v", what, e)
	}
	return nil
}

// checkResult refuses a result buffer that cannot be one: NULL with a length, or a
// negative length. NULL with length 0 asks for no result.
func checkResult(result *C.char, n C.int64_t) error {
	if n < 0 || result == nil && n != 0 {
		return badRequest("result", "result is NULL or result_len is negative")
	}
	return nil
}

// writeResult writes v as NUL-terminated JSON into the caller's result buffer, if any;
// one too small is a bad_request.
func writeResult(result *C.char, n C.int64_t, v any) error {
	if result == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	if int64(len(b)) >= int64(n) {
		return badRequest("result", "result needs %d bytes, got %d", len(b)+1, n)
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(result)), int(n))
	buf[copy(buf, b)] = 0
	return nil
}

// noiseSource is the noise a C caller asks for: secure for a negative seed, else the
// replayable, insecure generator seeded with it.
func noiseSource(seed C.int64_t) *dp.Source {
	if seed < 0 {
		return dp.SecureSource()
	}
	return dp.InsecureSeededSource(uint64(seed))
}

// conversion is the RDP-to-(ε, δ) conversion a C caller asks for.
func conversion(classic C.int) dp.Conversion {
	if classic != 0 {
		return dp.Classic
	}
	return dp.Improved
}

//export secagg_epsilon
func secagg_epsilon(z, q C.double, rounds C.int64_t, delta C.double, classic C.int, epsilon, order *C.double, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		if epsilon == nil {
			return badRequest("epsilon", "epsilon is NULL")
		}
		eps, ord, e := dp.EpsilonAfter(float64(q), float64(z), int(rounds), float64(delta), nil, conversion(classic))
		if e != nil {
			return e
		}
		*epsilon = C.double(eps)
		if order != nil {
			*order = C.double(ord)
		}
		return nil
	})
}

//export secagg_noise_multiplier
func secagg_noise_multiplier(target, q C.double, rounds C.int64_t, delta C.double, classic C.int, z *C.double, err *C.char, errLen C.int64_t) C.int {
	return call(err, errLen, func() error {
		if z == nil {
			return badRequest("noise_multiplier", "noise_multiplier is NULL")
		}
		got, e := dp.NoiseMultiplierFor(float64(target), float64(delta), float64(q), int(rounds), nil, conversion(classic))
		if e != nil {
			return e
		}
		*z = C.double(got)
		return nil
	})
}

//export secagg_version
func secagg_version(buf *C.char, n C.int64_t) C.int {
	return writeString(buf, n, secagg.Version)
}

//export secagg_kernels
func secagg_kernels(buf *C.char, n C.int64_t) C.int {
	b, _ := json.Marshal(struct {
		Path      simd.Path     `json:"path"`
		Reason    string        `json:"reason"`
		Supported []simd.Path   `json:"supported"`
		Workers   int           `json:"workers"`
		Kernels   []simd.Kernel `json:"kernels"`
	}{simd.Active(), simd.Reason(), simd.Supported(), parallel.Workers(), simd.Kernels()})
	return writeString(buf, n, string(b))
}

//export secagg_set_threads
func secagg_set_threads(n C.int64_t) C.int64_t {
	return C.int64_t(parallel.SetMaxWorkers(int(n)))
}
