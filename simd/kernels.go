package simd

import (
	"reflect"
	"runtime"
	"strings"
)

// Kernel names the function that runs one primitive on the active path.
type Kernel struct {
	Primitive string `json:"primitive"` // e.g. "addRows"
	Func      string `json:"func"`      // e.g. "addRowsAVX512"; for a family, "first..last"
}

// Kernels lists, primitive by primitive, the function the active path runs, so that
// diagnostics (secagg cpu, the C ABI) show what was chosen rather than what was meant.
func Kernels() []Kernel {
	ks := active.Load().k
	k := reflect.ValueOf(ks).Elem()
	var out []Kernel
	for i := range k.NumField() {
		f, name := k.Field(i), k.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Func:
			if f.IsNil() && ks.path != Generic {
				continue // an algorithm this path leaves out; Bounds picks another
			}
			out = append(out, Kernel{name, funcName(f)})
		case reflect.Slice: // a family of kernels, one per k or l
			fs := []string{fallback}
			if f.Len() > 0 {
				fs = fs[:0]
			}
			for j := range f.Len() {
				fs = append(fs, funcName(f.Index(j)))
			}
			if len(fs) > 2 {
				fs = []string{fs[0], fs[len(fs)-1]}
			}
			out = append(out, Kernel{name, strings.Join(fs, "..")})
		}
	}
	return out
}

// fallback is what runs where a path has no kernel of its own for an order statistic
// (Bounds falls back to it).
const fallback = "boundsGeneric"

// funcName is the unqualified name of the function f holds.
func funcName(f reflect.Value) string {
	if f.IsNil() {
		return fallback
	}
	name := runtime.FuncForPC(f.Pointer()).Name()
	return name[strings.LastIndexByte(name, '.')+1:]
}
