package main

// #include "secagg.h"
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/octomil/secagg"
)

// maxElements bounds n·d so that every byte offset of the block fits in an int and the
// overlap checks cannot overflow.
const maxElements = math.MaxInt64 / 8

// call runs fn and reports its outcome the ABI's way: 0, or the error's status with its
// JSON written into errBuf. A panic becomes an internal_error, never a crash of the host.
func call(errBuf *C.char, errLen C.int64_t, fn func() error) (status C.int) {
	defer func() {
		if r := recover(); r != nil {
			status = report(errBuf, errLen, &secagg.Error{Code: "internal_error",
				Message: fmt.Sprintf("internal error: %v", r), Status: 500})
		}
	}()
	if errLen < 0 || (errBuf == nil && errLen != 0) {
		return report(nil, 0, secagg.Errorf(secagg.CodeBadRequest, "err_len", "err is NULL or err_len is negative"))
	}
	if err := fn(); err != nil {
		return report(errBuf, errLen, err)
	}
	return 0
}

// report writes err's JSON, truncated and NUL-terminated, into buf and returns its status.
func report(buf *C.char, n C.int64_t, err error) C.int {
	e := secagg.AsError(err)
	if buf != nil && n > 0 {
		b := fitJSON(e, int(n)-1)
		dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
		dst[copy(dst[:len(dst)-1], b)] = 0
	}
	return C.int(e.Status)
}

// fitJSON returns e's JSON in at most max bytes, still valid JSON of the same shape:
// a message too long for the caller's buffer is cut (at a rune) and ends in "…", so a
// caller parsing it gets the error's class and status rather than a broken string.
func fitJSON(e *secagg.Error, max int) []byte {
	b, _ := e.MarshalJSON()
	if len(b) <= max {
		return b
	}
	short := *e
	msg := []rune(e.Message)
	for cut := len(msg); cut > 0; {
		cut -= (len(b) - max + 3) / 3 // at most 3 bytes a rune: close in on the fit
		if cut < 0 {
			cut = 0
		}
		short.Message = string(msg[:cut]) + "…"
		if b, _ = short.MarshalJSON(); len(b) <= max {
			return b
		}
	}
	short.Message = ""
	b, _ = short.MarshalJSON()
	return b
}

// badRequest is the error of a malformed call.
func badRequest(field, format string, args ...any) error {
	return secagg.Errorf(secagg.CodeBadRequest, field, format, args...)
}

// span is the byte range [lo, hi) of a caller's buffer.
type span struct{ lo, hi uintptr }

func spanOf[T any](p *T, n int) span {
	lo := uintptr(unsafe.Pointer(p))
	return span{lo, lo + uintptr(n)*unsafe.Sizeof(*p)}
}

func (s span) overlaps(t span) bool { return s.lo < t.hi && t.lo < s.hi }

// round views the caller's N x d block x, or its N row pointers rows, as updates, and
// out as the d-vector the result goes to, checking every pointer and length and that
// out overlaps no update.
func round(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, out *C.float) (updates [][]float32, dst []float32, err error) {
	if (x == nil) == (rows == nil) {
		return nil, nil, badRequest("updates", "pass exactly one of x (an N x d block) and rows (N row pointers)")
	}
	if n < 0 || d < 1 {
		return nil, nil, badRequest("updates", "n must be >= 0 and d >= 1, got n %d, d %d", n, d)
	}
	if n > 0 && int64(d) > maxElements/int64(n) {
		return nil, nil, badRequest("updates", "n x d = %d x %d overflows", n, d)
	}
	if out == nil {
		return nil, nil, badRequest("out", "out is NULL")
	}
	dst = unsafe.Slice((*float32)(unsafe.Pointer(out)), int(d))
	outSpan := spanOf(out, int(d))
	updates = make([][]float32, n)
	if x != nil {
		if spanOf(x, int(n*d)).overlaps(outSpan) {
			return nil, nil, badRequest("out", "out overlaps the updates")
		}
		block := unsafe.Slice((*float32)(unsafe.Pointer(x)), int(n*d))
		for i := range updates {
			updates[i] = block[i*int(d) : (i+1)*int(d) : (i+1)*int(d)]
		}
		return updates, dst, nil
	}
	for i, r := range unsafe.Slice(rows, int(n)) {
		if r == nil {
			return nil, nil, badRequest("updates", "rows[%d] is NULL", i)
		}
		if spanOf(r, int(d)).overlaps(outSpan) {
			return nil, nil, badRequest("out", "out overlaps rows[%d]", i)
		}
		updates[i] = unsafe.Slice((*float32)(unsafe.Pointer(r)), int(d))
	}
	return updates, dst, nil
}

// weightedRound is round with the caller's n weights beside it; NULL weights are nil
// when optional, else a bad_request.
func weightedRound(x *C.secagg_cfloat, rows *C.secagg_row, n, d C.int64_t, out *C.float, w *C.secagg_cdouble, optional bool) (updates [][]float32, dst []float32, weights []float64, err error) {
	if updates, dst, err = round(x, rows, n, d, out); err != nil {
		return nil, nil, nil, err
	}
	if w == nil {
		if optional {
			return updates, dst, nil, nil
		}
		return nil, nil, nil, badRequest("weights", "weights is NULL")
	}
	return updates, dst, unsafe.Slice((*float64)(unsafe.Pointer(w)), int(n)), nil
}

// setInt64s writes v into the caller's array p (of at least len(v) entries), if p is
// not NULL.
func setInt64s(p *C.int64_t, v []int) {
	if p == nil {
		return
	}
	dst := unsafe.Slice((*int64)(unsafe.Pointer(p)), len(v))
	for i, x := range v {
		dst[i] = int64(x)
	}
}

// writeString copies s, NUL-terminated, into the caller's buf of n bytes; a buffer too
// small for it is a bad_request.
func writeString(buf *C.char, n C.int64_t, s string) C.int {
	if buf == nil || n < C.int64_t(len(s)+1) {
		return report(nil, 0, badRequest("buf", "buf needs %d bytes", len(s)+1))
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	dst[copy(dst, s)] = 0
	return 0
}
