//go:build !purego && !noasm

package simd

import (
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// The assembly, its stubs and each path's table of kernels (avx2Kernels, avx512Kernels)
// are all written by the generator.
//go:generate env GOWORK=off go run -C _asm . -isa avx2 -out ../kernels_avx2_amd64.s -stubs ../kernels_avx2_amd64.go -table ../kernels_avx2_table_amd64.go -pkg simd
//go:generate env GOWORK=off go run -C _asm . -isa avx512 -out ../kernels_avx512_amd64.s -stubs ../kernels_avx512_amd64.go -table ../kernels_avx512_table_amd64.go -pkg simd

// platformKernels reads the CPU features once. cpuid reports AVX and AVX-512 only when
// the OS saves their registers; the AVX-512 path also needs AVX2 and FMA, so that
// switching a lower feature off switches the higher path off too.
//
// The AVX-512 kernels use F, BW and DQ instructions (VXORPS on Z registers is DQ's)
// and may be given EVEX forms of Y and X registers (VL): every CPU with AVX-512 BW has
// all four (Skylake-SP on). The byte bisections, boundsBisect8 and selectRank8, use
// VPERMI2B, which is AVX512_VBMI (Ice Lake and Zen 4 on): without it the path runs
// without them, and the order statistics take the 16-bit bisection, as AVX2 does.
func platformKernels() platformInfo {
	var ks []*kernels
	var have []string
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		ks = append(ks, &avx2Kernels)
		have = append(have, "AVX2", "FMA")
		if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL) {
			have = append(have, "AVX512F", "AVX512BW", "AVX512DQ", "AVX512VL")
			if cpuid.CPU.Supports(cpuid.AVX512VBMI) {
				ks = append(ks, &avx512Kernels)
				have = append(have, "AVX512VBMI")
			} else {
				ks = append(ks, withoutVBMI(&avx512Kernels))
			}
		}
	}
	if len(have) == 0 {
		have = append(have, "neither AVX2+FMA nor AVX-512")
	}
	return platformInfo{ks, strings.TrimSpace(cpuid.CPU.BrandName) + ": " + strings.Join(have, ", ")}
}
