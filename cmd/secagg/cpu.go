package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// cpu prints the CPU's features, the SIMD path in use and why, and the function each
// primitive runs on it.
func cpu(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cpu", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: secagg cpu\n\nPrints the CPU's features, the SIMD path chosen and why, and the kernel each\nprimitive runs. Force a path with %s=generic|avx2|avx512.\n", simd.EnvVar)
	}
	positional, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := noArguments("cpu", positional); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cpu:        %s (%s/%s)\n", cpuid.CPU.BrandName, runtime.GOOS, runtime.GOARCH)
	var features []string
	for _, f := range []cpuid.FeatureID{cpuid.SSE4, cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ, cpuid.AVX512VBMI, cpuid.VAES} {
		if cpuid.CPU.Supports(f) {
			features = append(features, f.String())
		}
	}
	fmt.Fprintf(stdout, "features:   %s\n", strings.Join(features, " "))
	fmt.Fprintf(stdout, "simd path:  %s\n", simd.Active())
	fmt.Fprintf(stdout, "why:        %s\n", simd.Reason())
	fmt.Fprintf(stdout, "supported:  %v (force one with %s=<path>)\n", simd.Supported(), simd.EnvVar)
	fmt.Fprintf(stdout, "workers:    %d (GOMAXPROCS %d)\n\n", parallel.Workers(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(stdout, "%-16s %s\n", "primitive", "kernel")
	for _, k := range simd.Kernels() {
		fmt.Fprintf(stdout, "%-16s %s\n", k.Primitive, k.Func)
	}
	return nil
}
