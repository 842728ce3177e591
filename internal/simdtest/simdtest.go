// Package simdtest runs a test on every SIMD path the machine supports, so kernel tests in
// any package can prove that the paths agree bit for bit.
package simdtest

import (
	"testing"

	"github.com/octomil/secagg/simd"
)

// ForEachPath runs fn as a subtest once per supported path, with that path selected, and
// restores the path that was active before. The subtests must not call t.Parallel: the
// selection is process-wide.
func ForEachPath(t *testing.T, fn func(t *testing.T, p simd.Path)) {
	t.Helper()
	for _, p := range simd.Supported() {
		t.Run(string(p), func(t *testing.T) {
			prev, err := simd.Select(p)
			if err != nil {
				t.Fatalf("select %s: %v", p, err)
			}
			defer simd.Select(prev)
			fn(t, p)
		})
	}
}
