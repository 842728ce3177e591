package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// cpu prints the SIMD path in use, why it was chosen, and what else could run.
func cpu(stdout io.Writer) error {
	fmt.Fprintf(stdout, "simd path:  %s\n", simd.Active())
	fmt.Fprintf(stdout, "why:        %s\n", simd.Reason())
	fmt.Fprintf(stdout, "supported:  %v (force one with %s=<path>)\n", simd.Supported(), simd.EnvVar)
	fmt.Fprintf(stdout, "workers:    %d (GOMAXPROCS %d, %s/%s)\n", parallel.Workers(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	return nil
}
