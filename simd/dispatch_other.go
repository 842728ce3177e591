//go:build purego || noasm || !amd64

package simd

import "runtime"

// platformKernels has no assembly to offer: the build excluded it (tags purego or
// noasm) or this architecture has none yet.
func platformKernels() platformInfo {
	if runtime.GOARCH == "amd64" {
		return platformInfo{about: "built with the purego or noasm tag: pure Go only"}
	}
	return platformInfo{about: "no assembly for " + runtime.GOARCH + " yet: pure Go only"}
}
