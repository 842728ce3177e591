package simd

import (
	"errors"
	"testing"

	"github.com/octomil/secagg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChooseFromEnvironment(t *testing.T) {
	sel, err := choose("generic", EnvVar+"=generic")
	require.NoError(t, err)
	assert.Equal(t, Generic, sel.k.path)
	assert.Contains(t, sel.reason, "selected by SECAGG_SIMD=generic")

	sel, err = choose("", "")
	require.NoError(t, err)
	assert.Equal(t, implementations[len(implementations)-1], sel.k)

	_, err = choose("neon-on-amd64", EnvVar+"=x")
	assert.True(t, errors.Is(err, secagg.ErrValidation))
}

// TestEnvironmentHonoured checks that the start-up selection followed SECAGG_SIMD: make
// test runs the suite once per path with it set.
func TestEnvironmentHonoured(t *testing.T) {
	env, ok := lookupEnv()
	if !ok || env == "" || env == "auto" {
		assert.Equal(t, implementations[len(implementations)-1].path, Active())
		return
	}
	for _, k := range implementations {
		if string(k.path) == env {
			assert.Equal(t, k.path, Active(), Reason())
			return
		}
	}
	assert.Contains(t, Reason(), "was ignored", "an unsupported request falls back and says so")
}
