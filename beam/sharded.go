package secaggbeam

import (
	"encoding/binary"
	"encoding/json"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/trimmedmean"
)

// The strategies that need every update at once run sharded by coordinate block: the
// rows of one block (ReadRows, grouped by block) are one worker's, which holds n·Block
// values. Coordinate-wise strategies aggregate each block there; Krum and Bulyan add the
// blocks' partial squared-distance matrices into the round's, select from it on one
// worker, and then average (or run Bulyan's coordinate phase on) the chosen clients'
// rows of each block. Every block runs the engine's batch kernel on its rows in client
// order, so a block's result is the engine's bit for bit.

// CoordinateWise aggregates each block of rows (KV<int, Row>, every one of the round's
// clients in each block) with a coordinate-wise strategy, median or trimmed_mean (with
// trimRatio), and returns the result's blocks, KV<int, []float32>, for Assemble.
func CoordinateWise(s beam.Scope, rows beam.PCollection, strategy aggregate.Strategy, trimRatio float64, clients int) beam.PCollection {
	s = s.Scope("CoordinateWise")
	return beam.ParDo(s, &coordinateWise{Strategy: string(strategy), TrimRatio: trimRatio, Clients: clients}, beam.GroupByKey(s, rows))
}

type coordinateWise struct {
	Strategy  string
	TrimRatio float64
	Clients   int
}

func (f *coordinateWise) ProcessElement(b int, rows func(*Row) bool, emit func(int, []float32)) error {
	us, err := blockRows(b, rows, f.Clients)
	if err != nil {
		return err
	}
	out := make([]float32, len(us[0]))
	switch aggregate.Strategy(f.Strategy) {
	case aggregate.StrategyMedian:
		err = trimmedmean.Median(out, us)
	case aggregate.StrategyTrimmedMean:
		err = trimmedmean.TrimmedMean(out, us, f.TrimRatio)
	default:
		err = secagg.Errorf(secagg.CodeBadRequest, "strategy", "%s is not a coordinate-wise strategy (median, trimmed_mean)", f.Strategy)
	}
	if err != nil {
		return err
	}
	emit(b, out)
	return nil
}

// blockRows collects one block's rows in client order, refusing a block that does not
// hold each of the clients exactly once, or rows of different lengths.
func blockRows(b int, rows func(*Row) bool, clients int) ([][]float32, error) {
	us := make([][]float32, clients)
	var r Row
	for rows(&r) {
		if r.Client < 0 || r.Client >= clients || us[r.Client] != nil {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "block", "block %d holds client %d twice or out of [0, %d)", b, r.Client, clients)
		}
		us[r.Client] = r.Values
	}
	for i, u := range us {
		if u == nil {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "block", "block %d has no values of client %d", b, i)
		}
		if len(u) != len(us[0]) {
			return nil, secagg.Errorf(secagg.CodeBadRequest, "block", "block %d: client %d has %d values, client 0 %d", b, i, len(u), len(us[0]))
		}
	}
	return us, nil
}

// A Row crosses workers as its client, int64, then its values, float32, all
// little-endian: a whole round of rows goes through the shuffle of the strategies that
// group them, and Beam's default coder of a struct takes them value by value. A Block
// of a result crosses the same way, its index first.
func encodeRow(r Row) ([]byte, error) { return encodeIndexed(r.Client, r.Values), nil }

func decodeRow(b []byte) (Row, error) {
	client, values, err := decodeIndexed(b, "Row", "client")
	return Row{Client: client, Values: values}, err
}

func encodeBlock(r Block) ([]byte, error) { return encodeIndexed(r.Index, r.Values), nil }

func decodeBlock(b []byte) (Block, error) {
	index, values, err := decodeIndexed(b, "Block", "block")
	return Block{Index: index, Values: values}, err
}

func encodeIndexed(i int, values []float32) []byte {
	b := make([]byte, 8, 8+4*len(values))
	binary.LittleEndian.PutUint64(b, uint64(int64(i)))
	return appendFloat32s(b, values)
}

func decodeIndexed(b []byte, what, index string) (int, []float32, error) {
	if len(b) < 8 || (len(b)-8)%4 != 0 {
		return 0, nil, secagg.Errorf(secagg.CodeBadRequest, "row", "%d bytes: not an encoded %s", len(b), what)
	}
	i := int64(binary.LittleEndian.Uint64(b))
	if i != int64(int(i)) {
		return 0, nil, secagg.Errorf(secagg.CodeBadRequest, "row", "%s %d out of range", index, i)
	}
	values := make([]float32, (len(b)-8)/4)
	decodeFloat32s(values, b[8:])
	return int(i), values, nil
}

// Selection is the clients a Krum or Bulyan round chose, in the order chosen.
type Selection struct{ Clients []int }

// Distances returns the round's n×n matrix of squared distances between the clients'
// updates (one []float64, row-major), the sum of each block's aggregate.SqDistances.
// The blocks' matrices are added in the runner's order: the sum is the engine's bit for
// bit where it is exact (updates of few significant bits) and within float64 rounding
// otherwise, which can change a selection only between scores that tie within it. The
// worker that adds them holds two matrices, 16·n² bytes; each block shuffles one, 8·n²
// bytes.
func Distances(s beam.Scope, grouped beam.PCollection, clients int) beam.PCollection {
	s = s.Scope("Distances")
	parts := beam.ParDo(s, &blockDistances{Clients: clients}, grouped)
	return beam.Combine(s, &addMatricesFn{}, parts)
}

type blockDistances struct{ Clients int }

func (f *blockDistances) ProcessElement(b int, rows func(*Row) bool, emit func([]float64)) error {
	us, err := blockRows(b, rows, f.Clients)
	if err != nil {
		return err
	}
	dist, err := aggregate.SqDistances(us)
	if err != nil {
		return err
	}
	emit(dist)
	return nil
}

// addMatricesFn adds matrices of one size (beam.Combine with it sums the blocks').
type addMatricesFn struct{}

func (addMatricesFn) MergeAccumulators(a, b []float64) ([]float64, error) {
	switch {
	case a == nil:
		return b, nil
	case b == nil:
		return a, nil
	case len(a) != len(b):
		return nil, secagg.Errorf(secagg.CodeBadRequest, "distances", "adding a matrix of %d values to one of %d", len(b), len(a))
	}
	for i, v := range b {
		a[i] += v
	}
	return a, nil
}

// Select chooses clients from the round's distances (Distances' output): Krum's
// (strategy krum, the multiKrumM lowest scores tolerating f, 0 meaning 1) or
// Bulyan's repeated Krum (strategy bulyan), on one worker. Its output, one Selection,
// is the side input of OfChosen.
func Select(s beam.Scope, distances beam.PCollection, strategy aggregate.Strategy, clients, f, multiKrumM int) beam.PCollection {
	return beam.ParDo(s.Scope("Select"), &selectClients{Strategy: string(strategy), Clients: clients, F: f, M: multiKrumM}, distances)
}

type selectClients struct {
	Strategy   string
	Clients, F int
	M          int
}

func (f *selectClients) ProcessElement(dist []float64, emit func(Selection)) error {
	var sel []int
	var err error
	switch n := f.Clients; aggregate.Strategy(f.Strategy) {
	case aggregate.StrategyKrum:
		sel, err = aggregate.KrumSelectDistances(dist, n, f.F, max(1, f.M))
	case aggregate.StrategyBulyan:
		sel, err = aggregate.BulyanSelectDistances(dist, n, f.F)
	default:
		err = secagg.Errorf(secagg.CodeBadRequest, "strategy", "%s selects no clients (krum, bulyan do)", f.Strategy)
	}
	if err != nil {
		return err
	}
	emit(Selection{Clients: sel})
	return nil
}

// OfChosen aggregates the chosen clients' rows of each block (grouped: ReadRows grouped
// by block; selection: Select's output) in the order chosen: their mean for krum, the
// engine's MultiKrum, and Bulyan's coordinate phase tolerating f for bulyan. It returns
// the result's blocks, KV<int, []float32>, for Assemble.
func OfChosen(s beam.Scope, grouped, selection beam.PCollection, strategy aggregate.Strategy, clients, f int) beam.PCollection {
	s = s.Scope("OfChosen")
	return beam.ParDo(s, &ofChosen{Strategy: string(strategy), Clients: clients, F: f}, grouped, beam.SideInput{Input: selection})
}

type ofChosen struct {
	Strategy   string
	Clients, F int
}

func (f *ofChosen) ProcessElement(b int, rows func(*Row) bool, sel Selection, emit func(int, []float32)) error {
	us, err := blockRows(b, rows, f.Clients)
	if err != nil {
		return err
	}
	chosen := make([][]float32, len(sel.Clients))
	for a, i := range sel.Clients {
		if i < 0 || i >= len(us) {
			return secagg.Errorf(secagg.CodeBadRequest, "selection", "selected client %d of %d", i, len(us))
		}
		chosen[a] = us[i]
	}
	out := make([]float32, len(us[0]))
	switch aggregate.Strategy(f.Strategy) {
	case aggregate.StrategyKrum:
		err = aggregate.Mean(out, chosen)
	case aggregate.StrategyBulyan:
		err = aggregate.BulyanCoordinates(out, chosen, f.F)
	default:
		err = secagg.Errorf(secagg.CodeBadRequest, "strategy", "%s aggregates no chosen clients (krum, bulyan do)", f.Strategy)
	}
	if err != nil {
		return err
	}
	emit(b, out)
	return nil
}

// WriteSelection writes the chosen clients' positions, with their files, to path as
// one JSON object, through a temporary file renamed into place, as WriteNpy does.
func WriteSelection(s beam.Scope, path string, paths []string, selection beam.PCollection) {
	beam.ParDo0(s.Scope("WriteSelection"), &writeSelection{Path: path, Paths: paths}, selection)
}

type writeSelection struct {
	Path  string
	Paths []string
}

func (f *writeSelection) ProcessElement(sel Selection) error {
	type chosen struct {
		Client int    `json:"client"`
		File   string `json:"file"`
	}
	var report struct {
		Selected []chosen `json:"selected"`
	}
	for _, i := range sel.Clients {
		report.Selected = append(report.Selected, chosen{Client: i, File: f.Paths[i]})
	}
	b, err := json.Marshal(report)
	if err != nil {
		return err
	}
	return writeFileAtomic(f.Path, "selected_out", append(b, '\n'))
}

func init() {
	register.DoFn3x1[int, func(*Row) bool, func(int, []float32), error](&coordinateWise{})
	register.DoFn3x1[int, func(*Row) bool, func([]float64), error](&blockDistances{})
	register.DoFn2x1[[]float64, func(Selection), error](&selectClients{})
	register.DoFn4x1[int, func(*Row) bool, Selection, func(int, []float32), error](&ofChosen{})
	register.DoFn1x1[Selection, error](&writeSelection{})
	register.Combiner1[[]float64](&addMatricesFn{})
	register.Iter1[*Row]()
	register.Emitter1[[]float64]()
	register.Emitter1[Selection]()
	beam.RegisterType(reflect.TypeOf((*Selection)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*Row)(nil)).Elem(), encodeRow, decodeRow)
	beam.RegisterCoder(reflect.TypeOf((*Block)(nil)).Elem(), encodeBlock, decodeBlock)
}
