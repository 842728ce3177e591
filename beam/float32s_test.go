package secaggbeam

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Both ways of converting little-endian float32s, the machine's memory as it is and
// value by value, give the bytes encoding/binary gives, NaN payloads and -0 included.
func TestFloat32sBothWays(t *testing.T) {
	v := []float32{1, -0, float32(math.Inf(-1)), math.Float32frombits(0x7fc01234), 3.25e-41, -7.5}
	var want bytes.Buffer
	require.NoError(t, binary.Write(&want, binary.LittleEndian, v))
	defer func(native bool) { nativeLittle = native }(nativeLittle)
	for _, native := range []bool{nativeLittle, false} {
		nativeLittle = native
		assert.Equal(t, want.Bytes(), appendFloat32s([]byte{}, v), "append, native %v", native)
		got := make([]float32, len(v))
		decodeFloat32s(got, want.Bytes())
		assert.Equal(t, bitsOf(v), bitsOf(got), "decode, native %v", native)
		got = make([]float32, len(v))
		require.NoError(t, readLittleEndian(bytes.NewReader(want.Bytes()), got))
		assert.Equal(t, bitsOf(v), bitsOf(got), "read, native %v", native)
		assert.Error(t, readLittleEndian(bytes.NewReader(want.Bytes()[:7]), got), "short, native %v", native)
	}
}

func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}
