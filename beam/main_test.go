package secaggbeam

import (
	"fmt"
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/octomil/secagg/beam/internal/netns"
)

// TestMain runs the tests on Prism in a loopback-only network namespace (netns).
func TestMain(m *testing.M) {
	netns.Isolate("secaggbeam")
	ptest.MainWithDefault(m, "prism")
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil && v > 0 {
		return v
	}
	return def
}
