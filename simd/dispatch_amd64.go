//go:build !purego && !noasm

package simd

import (
	"strings"

	"github.com/klauspost/cpuid/v2"
)

//go:generate env GOWORK=off go run -C _asm . -isa avx2 -out ../kernels_avx2_amd64.s -stubs ../kernels_avx2_amd64.go -pkg simd
//go:generate env GOWORK=off go run -C _asm . -isa avx512 -out ../kernels_avx512_amd64.s -stubs ../kernels_avx512_amd64.go -pkg simd

var avx2Kernels = kernels{
	path:          AVX2,
	addRows:       addRowsAVX2,
	addScaledRows: addScaledRowsAVX2,
	finish:        finishAVX2,
	dot:           dotAVX2,
	sumSquares:    sumSquaresAVX2,
	sqDist:        sqDistAVX2,
	sqDistPairs:   sqDistPairsAVX2,
	scale:         scaleAVX2,
	min:           minAVX2,
	max:           maxAVX2,

	nonFiniteBlock: nonFiniteBlockAVX2,
	copyStream:     copyStreamAVX2,
	copyWindows:    copyWindowsAVX2,
	keptSum:        keptSumAVX2,
	push:           pushAVX2,
	boundsBisect:   boundsBisectAVX2,
	boundsBisect16: boundsBisect16AVX2,
	selectRank16:   selectRank16AVX2,
	successor:      successorAVX2,
	boundsChain: []func(lo, hi []float32, rows [][]float32, off, k int, scratch []float32) int{
		boundsChain2AVX2, boundsChain3AVX2, boundsChain4AVX2, boundsChain5AVX2, boundsChain6AVX2, boundsChain7AVX2, boundsChain8AVX2, boundsChain9AVX2, boundsChain10AVX2, boundsChain11AVX2, boundsChain12AVX2, boundsChain13AVX2,
	},
	middleNet: []func(lo, hi []float32, rows [][]float32, off int) int{
		middleNet2AVX2, middleNet3AVX2, middleNet4AVX2, middleNet5AVX2, middleNet6AVX2, middleNet7AVX2, middleNet8AVX2, middleNet9AVX2, middleNet10AVX2, middleNet11AVX2, middleNet12AVX2,
	},
	boundsInsert: []func(lo, hi []float32, rows [][]float32, off int){
		boundsInsert0AVX2, boundsInsert1AVX2, boundsInsert2AVX2, boundsInsert3AVX2, boundsInsert4AVX2, boundsInsert5AVX2,
	},
}

var avx512Kernels = kernels{
	path:          AVX512,
	addRows:       addRowsAVX512,
	addScaledRows: addScaledRowsAVX512,
	finish:        finishAVX512,
	dot:           dotAVX512,
	sumSquares:    sumSquaresAVX512,
	sqDist:        sqDistAVX512,
	sqDistPairs:   sqDistPairsAVX512,
	scale:         scaleAVX512,
	min:           minAVX512,
	max:           maxAVX512,

	nonFiniteBlock: nonFiniteBlockAVX512,
	copyStream:     copyStreamAVX512,
	copyWindows:    copyWindowsAVX512,
	keptSum:        keptSumAVX512,
	push:           pushAVX512,
	boundsBisect:   boundsBisectAVX512,
	boundsBisect16: boundsBisect16AVX512,
	boundsBisect8:  boundsBisect8AVX512,
	selectRank8:    selectRank8AVX512,
	selectRank16:   selectRank16AVX512,
	successor:      successorAVX512,
	boundsChain: []func(lo, hi []float32, rows [][]float32, off, k int, scratch []float32) int{
		boundsChain2AVX512, boundsChain3AVX512, boundsChain4AVX512, boundsChain5AVX512, boundsChain6AVX512, boundsChain7AVX512, boundsChain8AVX512, boundsChain9AVX512, boundsChain10AVX512, boundsChain11AVX512, boundsChain12AVX512, boundsChain13AVX512, boundsChain14AVX512, boundsChain15AVX512, boundsChain16AVX512, boundsChain17AVX512, boundsChain18AVX512, boundsChain19AVX512, boundsChain20AVX512, boundsChain21AVX512, boundsChain22AVX512, boundsChain23AVX512, boundsChain24AVX512, boundsChain25AVX512, boundsChain26AVX512, boundsChain27AVX512, boundsChain28AVX512,
	},
	middleNet: []func(lo, hi []float32, rows [][]float32, off int) int{
		middleNet2AVX512, middleNet3AVX512, middleNet4AVX512, middleNet5AVX512, middleNet6AVX512, middleNet7AVX512, middleNet8AVX512, middleNet9AVX512, middleNet10AVX512, middleNet11AVX512, middleNet12AVX512, middleNet13AVX512, middleNet14AVX512, middleNet15AVX512, middleNet16AVX512, middleNet17AVX512, middleNet18AVX512, middleNet19AVX512, middleNet20AVX512, middleNet21AVX512, middleNet22AVX512, middleNet23AVX512, middleNet24AVX512, middleNet25AVX512, middleNet26AVX512, middleNet27AVX512, middleNet28AVX512,
	},
	boundsInsert: []func(lo, hi []float32, rows [][]float32, off int){
		boundsInsert0AVX512, boundsInsert1AVX512, boundsInsert2AVX512, boundsInsert3AVX512, boundsInsert4AVX512, boundsInsert5AVX512, boundsInsert6AVX512, boundsInsert7AVX512, boundsInsert8AVX512, boundsInsert9AVX512, boundsInsert10AVX512, boundsInsert11AVX512,
	},
}

// platformKernels reads the CPU features once. cpuid reports AVX and AVX-512 only when
// the OS saves their registers; the AVX-512 path also needs AVX2 and FMA, so that
// switching a lower feature off switches the higher path off too.
func platformKernels() platformInfo {
	var ks []*kernels
	var have []string
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		ks = append(ks, &avx2Kernels)
		have = append(have, "AVX2", "FMA")
		if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW) {
			ks = append(ks, &avx512Kernels)
			have = append(have, "AVX512F", "AVX512BW")
		}
	}
	if len(have) == 0 {
		have = append(have, "neither AVX2+FMA nor AVX-512")
	}
	return platformInfo{ks, strings.TrimSpace(cpuid.CPU.BrandName) + ": " + strings.Join(have, ", ")}
}
