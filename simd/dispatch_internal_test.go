package simd

import (
	"errors"
	"reflect"
	"testing"

	"github.com/klauspost/cpuid/v2"
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

// Every path fills what dispatch.go says it must: the generic path its arithmetic (word sums and FWHT's included),
// scans, copies, keptSum and push; each assembly path every kernel (boundsBisect8,
// selectRank8 on AVX-512 with VBMI only, the AES and the MT19937 ones on AVX-512) and non-empty per-size lists; and the chain scratch
// holds the longest chain of any path at the widest lanes.
func TestKernelTables(t *testing.T) {
	genericHas := map[string]bool{"addRows": true, "addScaledRows": true, "finish": true,
		"addWordRows": true, "subWordRows": true, "dot": true,
		"sumSquares": true, "sqDist": true, "sqDistPairs": true, "scale": true, "scaleFlip": true, "dequantize": true, "min": true, "max": true,
		"butterflies": true, "butterflies4": true, "butterflies8": true, "hadamard32": true,
		"nonFiniteBlock": true, "copyFiniteBlock": true, "copyFiniteStreamBlock": true, "copyStream": true, "copyWindows": true, "keptSum": true, "outsideRows": true, "push": true}
	for _, k := range implementations {
		v := reflect.ValueOf(*k)
		for i := range v.NumField() {
			name, f := v.Type().Field(i).Name, v.Field(i)
			switch {
			case name == "path":
			case k.path == Generic:
				assert.Equal(t, genericHas[name], !f.IsNil() && (f.Kind() != reflect.Slice || f.Len() > 0), "generic %s", name)
			case name == "boundsBisect8" || name == "selectRank8": // VPERMI2B
				assert.Equal(t, k.path == AVX512 && cpuid.CPU.Supports(cpuid.AVX512VBMI), !f.IsNil(), "%s %s", k.path, name)
			case name == "expandAESKey" || name == "addAESCTR" || name == "subAESCTR" ||
				name == "mtNext" || name == "mtNextAdd" || name == "mtNextSub":
				assert.Equal(t, k.path == AVX512, !f.IsNil(), "%s %s", k.path, name)
			case f.Kind() == reflect.Slice:
				assert.Positive(t, f.Len(), "%s %s", k.path, name)
				for j := range f.Len() {
					assert.False(t, f.Index(j).IsNil(), "%s %s[%d]", k.path, name, j)
				}
			default:
				assert.False(t, f.IsNil(), "%s %s", k.path, name)
			}
		}
		assert.GreaterOrEqual(t, maxChainScratch, (len(k.boundsChain)+1)*16, "%s: the longest chain's scratch", k.path)
	}
}
