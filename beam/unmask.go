package secaggbeam

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/secure"
	"github.com/octomil/secagg/simd"
)

// A secure round past one machine: the coordinator stores each active client's masked
// vector as the client sent it (secure.MaskedVector's encoding, one file per client),
// closes the round with secure.Server.RecordMasked and Unmasking, and Unmask sums the
// vectors block by block and removes the masks from each block of the sum on the worker
// that summed it. No worker holds a whole vector, nor the whole sum.

// weightKey keys the sum's first word, the weights': the blocks of values are keyed 0, 1, ...
const weightKey = -1

// MaskedFile is one active client's masked vector file, for Unmask.
type MaskedFile struct {
	Client uint64
	Path   string
}

// Unmask returns the weighted mean of a secure round's active clients by blocks of values
// (KV<int, []float32>, block b holding the values from b·block, for Assemble), from
// files[id], the path of client id's masked vector, for every active client of u and no
// other. u reaches the workers in the pipeline's graph, or, with at the path it was read
// from (ReadUnmasking), from that file, which each worker reads once and checks against
// u's SHA-256: u holds about 25 bytes per client, and Dataflow takes graphs of 10 MB at
// most. The sum's blocks are WordsSumFn's, mod 2^modulus_bits; each is unmasked at its
// offset (secure.Unmasking.Unmask) and dequantized with the weights' word as a side
// input (Mean): the result is secure.Server.Finalize's, to the bit. A file missing, extra
// or named twice is a bad_request here; a file that is not a masked vector of the round's length,
// or a word not below 2^modulus_bits, fails the pipeline with a bad_request naming it.
func Unmask(s beam.Scope, u *secure.Unmasking, at string, files map[uint64]string, block int) (beam.PCollection, error) {
	if block < 1 {
		return beam.PCollection{}, secagg.Errorf(secagg.CodeValidation, "block", "block must be >= 1, got %d", block)
	}
	active := u.Clients()
	for _, id := range active {
		if files[id] == "" {
			return beam.PCollection{}, secagg.Errorf(secagg.CodeBadRequest, "masked_vectors", "client %d is active and has no masked vector file", id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(files)) {
		if _, ok := slices.BinarySearch(active, id); !ok {
			return beam.PCollection{}, secagg.Errorf(secagg.CodeBadRequest, "masked_vectors", "client %d (%s) is not an active client of the round: its vector is not in the sum", id, files[id])
		}
	}
	owner := map[string]uint64{}
	for _, id := range active {
		if other, dup := owner[files[id]]; dup {
			return beam.PCollection{}, secagg.Errorf(secagg.CodeBadRequest, "masked_vectors", "clients %d and %d name the same file, %s: one vector would be summed twice", other, id, files[id])
		}
		owner[files[id]] = id
	}
	enc, err := u.MarshalBinary()
	if err != nil {
		return beam.PCollection{}, err
	}
	digest := sha256.Sum256(enc)
	plan := planned{Plan: enc, At: at, Digest: digest[:]}
	if at != "" {
		plan.Plan = nil
	}
	s = s.Scope("Unmask")
	list := make([]MaskedFile, 0, len(active))
	for _, id := range active {
		list = append(list, MaskedFile{Client: id, Path: files[id]})
	}
	blocks := beam.ParDo(s, &readMasked{Dim: u.Dim(), Block: block, Bits: u.ModulusBits()}, beam.CreateList(s, list))
	// readMasked checked every word below 2^b, and Unmask reduces mod 2^b: summed mod 2^32
	// here, the words are not checked a second time.
	sums := beam.CombinePerKey(s, &WordsSumFn{Bits: 32}, blocks)
	weight, values := beam.ParDo2(s, &unmaskBlock{planned: plan, Dim: u.Dim(), Block: block}, sums)
	return beam.ParDo(s, &meanBlock{planned: plan}, values, beam.SideInput{Input: weight}), nil
}

// maxUnmasking bounds the Unmasking file ReadUnmasking takes: a round of 10^6 clients
// with a tenth dropped needs about 25 MB.
const maxUnmasking = 1 << 30

// ReadUnmasking reads a secure.Unmasking from path (its MarshalBinary encoding, as a
// coordinator writes it for secagg-beam unmask), through Beam's filesystems. Anything
// else is a bad_request naming the file.
func ReadUnmasking(ctx context.Context, path string) (*secure.Unmasking, error) {
	bad := func(format string, a ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "unmasking", "%s: %s", path, fmt.Sprintf(format, a...))
	}
	rc, err := openRead(ctx, path)
	if err != nil {
		return nil, bad("%v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxUnmasking+1))
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(b) > maxUnmasking {
		return nil, bad("more than %d bytes", maxUnmasking)
	}
	u := new(secure.Unmasking)
	if err := u.UnmarshalBinary(b); err != nil {
		return nil, bad("not an Unmasking: %v", err)
	}
	return u, nil
}

// readMasked reads a masked vector file a block at a time: its weights' word keyed
// weightKey, then its values' words in blocks of Block, each below 2^Bits.
type readMasked struct{ Dim, Block, Bits int }

func (f *readMasked) ProcessElement(ctx context.Context, file MaskedFile, emit func(int, []uint32)) error {
	bad := func(format string, a ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "masked_vectors", "client %d's %s: %s", file.Client, file.Path, fmt.Sprintf(format, a...))
	}
	rc, err := openRead(ctx, file.Path)
	if err != nil {
		return bad("%v", err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64<<10)
	prefix := make([]byte, secure.MaskedVectorPrefix)
	if _, err := io.ReadFull(r, prefix); err != nil {
		return bad("not a masked vector (%v)", err)
	}
	if _, words, err := secure.ParseMaskedVectorPrefix(prefix); err != nil {
		return bad("not a masked vector (%v)", err)
	} else if words != f.Dim+1 {
		return bad("holds %d words, want %d (the weights' and %d values)", words, f.Dim+1, f.Dim)
	}
	// Word 0, then each block, checked in range before it is emitted.
	read := func(key, first, n int) error {
		words := make([]uint32, n)
		if err := readLittleEndian(r, words); err != nil {
			return bad("truncated at word %d: %v", first, err)
		}
		if i := simd.FirstOverBits(words, f.Bits); i >= 0 {
			return bad("word %d is %d, not below 2^%d", first+i, words[i], f.Bits)
		}
		emit(key, words)
		return nil
	}
	if err := read(weightKey, 0, 1); err != nil {
		return err
	}
	for b, lo := 0, 0; lo < f.Dim; b, lo = b+1, lo+f.Block {
		if err := read(b, 1+lo, min(f.Block, f.Dim-lo)); err != nil {
			return err
		}
	}
	if k, _ := r.Read(make([]byte, 1)); k > 0 {
		return bad("has bytes after its %d words", f.Dim+1)
	}
	return nil
}

// planned is a DoFn's Unmasking: its encoding, or the path of the file that holds it,
// and the encoding's SHA-256, which the file must match.
type planned struct {
	Plan   []byte
	At     string
	Digest []byte
	u      *secure.Unmasking
}

func (p *planned) Setup(ctx context.Context) error {
	enc := p.Plan
	if p.At != "" {
		u, err := ReadUnmasking(ctx, p.At)
		if err != nil {
			return err
		}
		if enc, err = u.MarshalBinary(); err != nil {
			return err
		}
	}
	if sum := sha256.Sum256(enc); !bytes.Equal(sum[:], p.Digest) {
		return secagg.Errorf(secagg.CodeConflict, "unmasking", "%s holds another Unmasking than the pipeline was built with", p.At)
	}
	p.u = new(secure.Unmasking)
	return p.u.UnmarshalBinary(enc)
}

// unmaskBlock removes the masks from a block of the sum: the weights' word goes to weight,
// the values' blocks to values.
type unmaskBlock struct {
	planned
	Dim, Block int
}

func (f *unmaskBlock) ProcessElement(b int, sum []uint32, weight func(uint32), values func(int, []uint32)) error {
	off, want := 0, 1
	if b != weightKey {
		off, want = 1+b*f.Block, min(f.Block, f.Dim-b*f.Block)
	}
	if b < weightKey || len(sum) != want {
		return secagg.Errorf(secagg.CodeBadRequest, "block", "block %d of %d words does not fit a sum of %d in blocks of %d", b, len(sum), f.Dim+1, f.Block)
	}
	words := slices.Clone(sum) // the combine's output is not this DoFn's to change
	if err := f.u.Unmask(words, off); err != nil {
		return err
	}
	if b == weightKey {
		weight(words[0])
	} else {
		values(b, words)
	}
	return nil
}

// meanBlock dequantizes a block of the unmasked sum into the weighted mean's values.
type meanBlock struct{ planned }

func (f *meanBlock) ProcessElement(b int, sums []uint32, weight uint32, emit func(int, []float32)) error {
	mean := make([]float32, len(sums))
	if err := f.u.Mean(mean, sums, weight); err != nil {
		return err
	}
	emit(b, mean)
	return nil
}

func init() {
	register.DoFn3x1[context.Context, MaskedFile, func(int, []uint32), error](&readMasked{})
	register.DoFn4x1[int, []uint32, func(uint32), func(int, []uint32), error](&unmaskBlock{})
	register.DoFn4x1[int, []uint32, uint32, func(int, []float32), error](&meanBlock{})
	register.Emitter1[uint32]()
	register.Emitter2[int, []uint32]()
	beam.RegisterType(reflect.TypeOf(MaskedFile{}))
}
