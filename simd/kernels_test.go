package simd_test

import (
	"strings"
	"testing"

	"github.com/octomil/secagg/simd"
)

// Kernels names, for every primitive, a function of the path it claims.
func TestKernelsNameTheActivePath(t *testing.T) {
	for _, p := range simd.Supported() {
		prev, err := simd.Select(p)
		if err != nil {
			t.Fatal(err)
		}
		ks := simd.Kernels()
		if len(ks) < 15 {
			t.Errorf("%s: only %d primitives listed", p, len(ks))
		}
		suffix := map[simd.Path]string{simd.Generic: "Generic", simd.AVX2: "AVX2", simd.AVX512: "AVX512"}[p]
		for _, k := range ks {
			for _, fn := range strings.Split(k.Func, "..") {
				if !strings.Contains(strings.ToLower(fn), strings.ToLower(suffix)) {
					t.Errorf("%s: %s runs %s", p, k.Primitive, fn)
				}
			}
		}
		simd.Select(prev)
	}
}
