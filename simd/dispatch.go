package simd

import (
	"os"
	"strings"
	"sync/atomic"

	"github.com/octomil/secagg"
)

// Path names one implementation of the primitives.
type Path string

// The paths, slowest first.
const (
	Generic Path = "generic" // pure Go: every platform, and the specification of the others
	AVX2    Path = "avx2"    // amd64 with AVX2 and FMA
	AVX512  Path = "avx512"  // amd64 with AVX-512F and BW (plus AVX2 and FMA)
)

// EnvVar is the environment variable read at start-up to pick a path:
// generic, avx2, avx512, or auto (the default: the fastest supported).
const EnvVar = "SECAGG_SIMD"

// kernels is one implementation of every primitive. The assembly ones work on whole
// blocks only; the exported wrappers finish tails with the generic ones.
type kernels struct {
	path          Path
	addRows       func(sum []float64, rows [][]float32, off int)
	addScaledRows func(sum []float64, w []float64, rows [][]float32, off int)
	finish        func(dst []float32, sum []float64, scale float64)
	addWordRows   func(sum []uint32, rows [][]uint32, off int)
	subWordRows   func(sum []uint32, rows [][]uint32, off int)
	// expandAESKey, addAESCTR and subAESCTR are AVX-512's only, and run only where the
	// CPU has VAES too (AESCTR).
	expandAESKey func(key *[16]byte, enc *[176]byte)
	addAESCTR    func(words []uint32, enc *[176]byte, block uint64)
	subAESCTR    func(words []uint32, enc *[176]byte, block uint64)
	// mtNext, mtNextAdd and mtNextSub, AVX-512's only, make MT19937's words 16 at a
	// time; the other paths run the generic ones.
	mtNext      func(out *[624]uint32, state *[640]uint32, mask, rng uint32) int
	mtNextAdd   func(sum *[624]uint32, out *[624]uint32, state *[640]uint32, mask, rng uint32) int
	mtNextSub   func(sum *[624]uint32, out *[624]uint32, state *[640]uint32, mask, rng uint32) int
	dot         func(acc *[Block]float64, x, y []float32)
	sumSquares  func(acc *[Block]float64, x []float32)
	sqDist      func(acc *[Block]float64, x, y []float32)
	sqDistPairs func(acc *[PairBlock * PairBlock * pairLanes]float64, a, b [][]float32, off, n int)
	scale       func(x []float32, a float32)
	scaleFlip   func(dst, x []float32, a float32, signs []byte)
	dequantize  func(dst []float32, words []uint32, shift uint64, scale float64)
	butterflies func(a, b []float32)
	// butterflies4 and butterflies8 run two and three of FWHT's stages a pass, on the
	// windows x[m·stride:][:width].
	butterflies4, butterflies8 func(x []float32, stride, width int)
	hadamard32                 func(x []float32)
	min, max                   func(dst, x []float32)

	nonFiniteBlock  func(x []float32) int
	copyFiniteBlock func(dst, src []float32) int
	// copyFiniteStreamBlock is copyFiniteBlock with non-temporal stores, dst aligned to
	// the vector size.
	copyFiniteStreamBlock func(dst, src []float32) int
	copyStream            func(dst, src []float32)
	copyWindows           func(panel []float32, stride int, rows [][]float32, off, width int)

	// boundsInsert[k] finds the bounds for that k by insertion through registers;
	// Bounds falls back to another algorithm for larger k.
	boundsInsert []insertKernel
	// boundsChain[l-2] finds them with one chain of the l = len(rows)-k smallest, and
	// reports 1 if every value was finite.
	boundsChain []chainKernel
	// middleNet[n-2] finds a median's middle values for n rows by a sorting network
	// and reports 1 if every value was finite.
	middleNet []netKernel
	// boundsBisect finds them for any k, with keys as scratch of 16 per row.
	boundsBisect func(lo, hi []float32, rows [][]float32, off, k int, keys []int32)
	// boundsBisect16 does it in two 16-bit stages, for up to 32767 rows, with keys as
	// scratch of 32 per row.
	boundsBisect16 func(lo, hi []float32, rows [][]float32, off, k int, keys []int32)
	// boundsBisect8 does it for 32 coordinates at a time, the high half of the keys a
	// byte at a time, for up to 32767 rows, with keys as scratch of 64 per row;
	// selectRank8 is selectRank16 the same way, for 64 coordinates at a time and keys of
	// 80 per row.
	// Both copy the windows into panel as they read them, unless it is empty.
	boundsBisect8 func(lo, hi []float32, rows [][]float32, off, k int, keys []int32, panel []float32, stride int)
	selectRank8   func(out []float32, rows [][]float32, off, k int, keys []int32, panel []float32, stride int) int
	// selectRank16 finds one rank, two groups of lanes per compare, and reports 1 if
	// every value was finite; successor steps from rank k to rank k+1. Together they
	// make a median.
	selectRank16 func(out []float32, rows [][]float32, off, k int, keys []int32) int
	successor    func(hi, lo []float32, rows [][]float32, off, k int)
	keptSum      func(sum []float64, rows [][]float32, off, k int, lo, hi []float32) int
	outsideRows  func(masks []uint32, rows [][]float32, off int, lo, hi []float32)
	push         func(ext []float32, sum []float64, x []float32, k int)
}

// The kernels that come one per size.
type (
	insertKernel func(lo, hi []float32, rows [][]float32, off int)
	chainKernel  func(lo, hi []float32, rows [][]float32, off, k int, scratch []float32) int
	netKernel    func(lo, hi []float32, rows [][]float32, off int) int
)

// What each path fills: the generic path every arithmetic kernel (FWHT's too), the scans and copies,
// keptSum, outsideRows and push (its order statistics are Go code of their own); every assembly path
// every kernel of the struct but boundsBisect8, selectRank8, the AES and the MT19937
// ones, which only AVX-512 has,
// and the per-size lists from their first size on without a gap, as far as its
// registers reach (the generator writes those tables from the kernels it emits, so none
// is named by hand). TestKernelTables checks it.
var genericKernels = kernels{
	path:          Generic,
	addRows:       addRowsGeneric,
	addScaledRows: addScaledRowsGeneric,
	finish:        finishGeneric,
	addWordRows:   addWordRowsGeneric,
	subWordRows:   subWordRowsGeneric,
	dot:           dotGeneric,
	sumSquares:    sumSquaresGeneric,
	sqDist:        sqDistGeneric,
	sqDistPairs:   sqDistPairsGeneric,
	scale:         scaleGeneric,
	scaleFlip:     scaleFlipGeneric,
	dequantize:    dequantizeGeneric,
	butterflies:   butterfliesGeneric,
	butterflies4:  butterflies4Generic,
	butterflies8:  butterflies8Generic,
	hadamard32:    hadamard32Generic,
	min:           minGeneric,
	max:           maxGeneric,

	nonFiniteBlock:        nonFiniteBlockGeneric,
	copyFiniteBlock:       copyFiniteBlockGeneric,
	copyFiniteStreamBlock: copyFiniteBlockGeneric,
	copyStream:            copyStreamGeneric,
	copyWindows:           copyWindowsGeneric,
	keptSum:               keptSumGenericInt,
	outsideRows:           outsideRowsGeneric,
	push:                  pushGeneric,
}

// implementations lists what this build and CPU can run, slowest first; platformKernels
// (one file per platform) says which assembly paths are usable and why.
var (
	platform        = platformKernels()
	implementations = append([]*kernels{&genericKernels}, platform.kernels...)
)

// platformInfo is what a platform file reports: its usable assembly kernels and a
// sentence on the CPU and build behind that.
type platformInfo struct {
	kernels []*kernels
	about   string
}

// withoutVBMI is an AVX-512 table less its kernels that need AVX512_VBMI, for a CPU
// that has the rest (see platformKernels).
func withoutVBMI(k *kernels) *kernels {
	c := *k
	c.boundsBisect8, c.selectRank8 = nil, nil
	return &c
}

// selection is the active path and the reason it was chosen.
type selection struct {
	k      *kernels
	reason string
}

var active atomic.Pointer[selection]

func init() {
	env, _ := lookupEnv()
	sel, err := choose(Path(env), EnvVar+"="+env)
	if err != nil {
		// An unusable request at start-up falls back to the fastest path rather than
		// failing every later call; the reason says so.
		sel, _ = choose("", "")
		sel.reason += "; " + EnvVar + "=" + env + " was ignored (" + err.Error() + ")"
	}
	active.Store(sel)
}

// choose finds the kernels for p ("" or "auto" meaning the fastest) and explains the
// choice, crediting source for an explicit request.
func choose(p Path, source string) (*selection, error) {
	if p == "" || p == "auto" {
		best := implementations[len(implementations)-1]
		return &selection{best, "fastest path supported (" + platform.about + ")"}, nil
	}
	for _, k := range implementations {
		if k.path == p {
			return &selection{k, "selected by " + source + " (" + platform.about + ")"}, nil
		}
	}
	return nil, secagg.Errorf(secagg.CodeValidation, "simd",
		"simd path must be one of %s or auto, got %q", strings.Join(pathNames(), ", "), string(p))
}

// lookupEnv reads EnvVar, normalised to lower case.
func lookupEnv() (string, bool) {
	env, ok := os.LookupEnv(EnvVar)
	return strings.ToLower(strings.TrimSpace(env)), ok
}

// Active returns the path the primitives run on now.
func Active() Path { return active.Load().k.path }

// Reason says why the active path was chosen, and what the CPU and build support.
func Reason() string { return active.Load().reason }

// Supported returns the paths this build and CPU can run, slowest first.
func Supported() []Path {
	ps := make([]Path, len(implementations))
	for i, k := range implementations {
		ps[i] = k.path
	}
	return ps
}

// Select switches every primitive to path p ("auto" for the fastest) and returns the
// path that was active before. An unsupported path is a validation_error and changes
// nothing. Calls running at the time finish on the path they started with; Select is
// meant for start-up and for tests that compare paths.
func Select(p Path) (previous Path, err error) {
	sel, err := choose(p, "Select")
	if err != nil {
		return Active(), err
	}
	return active.Swap(sel).k.path, nil
}

func pathNames() []string {
	names := make([]string, len(implementations))
	for i, k := range implementations {
		names[i] = string(k.path)
	}
	return names
}
