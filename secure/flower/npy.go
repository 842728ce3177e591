package flower

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxElements bounds the elements one array of a round may declare (2^31), so a hostile
// header cannot make the server allocate without limit.
const maxElements = 1 << 31

// decodeNpy reads one array as Flower sends it (numpy's ndarray_to_bytes, i.e. np.save:
// format 1.0 or 2.0, a C-order little-endian array of the dtype named) and returns its
// shape and its raw little-endian elements. Any other layout is an error naming it.
func decodeNpy(b []byte, dtype string) ([]int, []byte, error) {
	const magic = "\x93NUMPY"
	if len(b) < 10 || string(b[:6]) != magic {
		return nil, nil, fmt.Errorf("not a .npy array")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, nil, fmt.Errorf("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, nil, fmt.Errorf(".npy format version %d.%d", b[6], b[7])
	}
	if hlen > len(b)-start {
		return nil, nil, fmt.Errorf("truncated .npy header")
	}
	header := strings.TrimRight(string(b[start:start+hlen]), " \n")
	shape, err := parseHeader(header, dtype)
	if err != nil {
		return nil, nil, err
	}
	n := 1
	for _, s := range shape {
		if s < 0 || s > maxElements || n > maxElements/max(s, 1) {
			return nil, nil, fmt.Errorf("shape %v over %d elements", shape, maxElements)
		}
		n *= s
	}
	data := b[start+hlen:]
	if len(data) != n*8 {
		return nil, nil, fmt.Errorf("%d bytes of data for shape %v of %s", len(data), shape, dtype)
	}
	return shape, data, nil
}

// parseHeader reads numpy's header dictionary, which np.save writes with its keys in
// this order: {'descr': '<i8', 'fortran_order': False, 'shape': (a, b), }.
func parseHeader(h, dtype string) ([]int, error) {
	prefix := "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': ("
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, "), }") {
		return nil, fmt.Errorf("header %q: want a C-order %s array", h, dtype)
	}
	dims := strings.TrimSuffix(strings.TrimPrefix(h, prefix), "), }")
	var shape []int
	for _, f := range strings.Split(dims, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("header %q: bad shape", h)
		}
		shape = append(shape, v)
	}
	if strings.Count(dims, ",") < len(shape)-1 || len(shape) == 1 && !strings.Contains(dims, ",") {
		return nil, fmt.Errorf("header %q: bad shape", h)
	}
	return shape, nil
}

// residues is the data of an '<i8' array of values mod m (m <= 2^32), as uint32, and the
// index of the first value outside [0, m), or -1.
func residues(data []byte, m int64) ([]uint32, int) {
	out := make([]uint32, len(data)/8)
	for i := range out {
		x := int64(binary.LittleEndian.Uint64(data[8*i:]))
		if x < 0 || x >= m {
			return nil, i
		}
		out[i] = uint32(x)
	}
	return out, -1
}

// float64s is the data of an '<f8' array.
func float64s(data []byte) []float64 {
	out := make([]float64, len(data)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return out
}
