// Command _asm generates the amd64 assembly of package simd with avo, one file per
// instruction set:
//
//	go run . -isa avx2   -out ../kernels_avx2_amd64.s   -stubs ../kernels_avx2_amd64.go   -table ../kernels_avx2_table_amd64.go   -pkg simd
//	go run . -isa avx512 -out ../kernels_avx512_amd64.s -stubs ../kernels_avx512_amd64.go -table ../kernels_avx512_table_amd64.go -pkg simd
//
// (the go:generate lines in ../dispatch_amd64.go). The table is the kernels value of the
// path, filled from the kernels written, so no kernel is named by hand. Every kernel works on whole blocks of
// Block = 32 elements; the Go side slices the operands to the block multiple and finishes
// the tail with the pure-Go kernel, which is the specification of each one.
package main

import (
	"flag"
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
)

// block is the number of elements an assembly loop iteration consumes; it is also the
// number of float64 partial sums of Dot and SumSquares (their fixed blocking).
const block = 32

// prefetchAhead is how many bytes ahead of its loads addRows asks for each row's lines.
const prefetchAhead = 1024

var (
	isa   = flag.String("isa", "avx2", "instruction set to generate: avx2 or avx512")
	table = flag.String("table", "", "where to write the dispatch table of the kernels (a Go file of package simd)")
)

func main() {
	flag.Parse()
	var s isaSpec
	var path string
	switch *isa {
	case "avx2":
		s, path = isaSpec{suffix: "AVX2", vecSize: 32, vec: YMM}, "AVX2"
	case "avx512":
		s, path = isaSpec{suffix: "AVX512", vecSize: 64, vec: ZMM}, "AVX512"
	default:
		fmt.Fprintf(os.Stderr, "unknown -isa %q\n", *isa)
		os.Exit(2)
	}
	ConstraintExpr("!purego,!noasm")
	genAddRows(s, false)
	genAddRows(s, true)
	genFinish(s)
	genWordRows(s, false)
	genWordRows(s, true)
	if s.vecSize == 64 { // VAES's 512-bit form: the AVX-512 path only
		genExpandAESKey(s)
		genAESCTR(s, false)
		genAESCTR(s, true)
		genMTNext(s, "")
		genMTNext(s, "Add")
		genMTNext(s, "Sub")
	}
	genDot(s, false)
	genDot(s, true)
	genSqDist(s)
	genSqDistPairs(s)
	genScale(s)
	genScaleFlip(s)
	genDequantize(s)
	genButterflies(s)
	genStridedButterflies(s, 2)
	genStridedButterflies(s, 3)
	genHadamard32(s)
	genNonFinite(s)
	genCopyFinite(s, false)
	genCopyFinite(s, true)
	genCopyStream(s)
	genCopyWindows(s)
	for k := 0; k <= s.maxInsertK(); k++ {
		genBoundsInsert(s, k)
	}
	genKeptSum(s)
	genOutsideRows(s)
	genBoundsBisect(s)
	genBoundsBisect16(s, false)
	if s.vecSize == 64 {
		topBytesTable()
		genBoundsBisect8(s, false)
		genBoundsBisect8(s, true)
	}
	genBoundsBisect16(s, true)
	genSuccessor(s)
	for l := 2; l <= s.maxChain(); l++ {
		genBoundsChain(s, l)
	}
	for n := 2; n <= s.maxNet(); n++ {
		genMiddleNet(s, n)
	}
	genPush(s)
	genMinMax(s, "min", "if x[i] < dst[i] { dst[i] = x[i] }", VMINPS)
	genMinMax(s, "max", "if x[i] > dst[i] { dst[i] = x[i] }", VMAXPS)
	Generate()
	if *table != "" {
		if err := writeTable(*table, s, path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
