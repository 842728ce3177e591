package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/secure/flower"
)

const unmaskUsage = `Usage: secagg unmask --suite flower --out result.npy|result.npz [--json] round.json

Unmasks one secure-aggregation round read from a file and writes the aggregate.
--suite flower reads a Flower 1.28 SecAgg+ round as its server holds it at the unmask
stage (the format of the fixtures in shared/fixtures/flower-secaggplus: settings, ring,
PEM keys, base64 .npy masked vectors, unmask replies) and computes Flower's weighted
average bit for bit. That suite is for interoperation only and is insecure (32-bit PRG
seeds, MT19937): never use it for new clients.
The result is float64, as Flower's: a .npz file holds one array per model array in its
shape (arr_0, arr_1, ..., as np.savez names them); any other name gets one .npy file
of the arrays flattened and concatenated in order.`

// unmaskCmd reads a round, unmasks it and writes the result; nothing is written when any
// step fails.
func unmaskCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("unmask", flag.ContinueOnError)
	suite := fs.String("suite", "", "the round's suite: flower (required)")
	out := fs.String("out", "", "the .npy or .npz file to write the result to (required)")
	asJSON := fs.Bool("json", false, "print the round's result as one JSON object")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), unmaskUsage, "\n\nFlags:\n")
		fs.PrintDefaults()
	}
	files, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	switch {
	case *suite == "":
		return secagg.Errorf(secagg.CodeValidation, "suite", "--suite is required: flower")
	case *suite != "flower":
		return secagg.Errorf(secagg.CodeValidation, "suite", "--suite must be flower (rounds of the default suite are unmasked by the coordinator's server), got %q", *suite)
	case *out == "":
		return secagg.Errorf(secagg.CodeValidation, "out", "--out is required: the .npy or .npz file the result goes to")
	case len(files) != 1:
		return secagg.Errorf(secagg.CodeBadRequest, "round", "unmask takes one round file, got %d", len(files))
	}
	if err := checkOut(*out, files); err != nil {
		return err
	}
	f, err := os.Open(files[0])
	if err != nil {
		return secagg.Errorf(secagg.CodeBadRequest, "round", "cannot open %s: %v", files[0], unwrapPath(err))
	}
	defer f.Close()
	rd, err := flower.ReadRound(f)
	if err != nil {
		return err
	}
	res, err := flower.Unmask(rd)
	if err != nil {
		return err
	}
	if strings.HasSuffix(*out, ".npz") {
		err = writeAtomic(*out, npz(res.Arrays, rd.Shapes))
	} else {
		var flat []float64
		for _, a := range res.Arrays {
			flat = append(flat, a...)
		}
		err = writeAtomic(*out, npyHeader("<f8", len(flat)), float64Bytes(flat))
	}
	if err != nil {
		return err
	}
	agrees := matchesFlower(res.Arrays, rd.FlowerResult)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			*flower.Result
			Suite            string `json:"suite"`
			Out              string `json:"out"`
			AgreesWithFlower *bool  `json:"agrees_with_flower,omitempty"`
		}{res, *suite, *out, agrees})
	}
	fmt.Fprintf(stdout, "flower round: %d active, %d dropped, %d mask expansions -> %s in %.1f ms",
		len(res.Active), len(res.Dropped), res.Masks, *out, float64(res.Elapsed.Microseconds())/1e3)
	if len(res.Rejected) > 0 {
		fmt.Fprintf(stdout, "; shares rejected from %v", res.Rejected)
	}
	if agrees != nil {
		fmt.Fprintf(stdout, "; bit for bit with flower_result: %v", *agrees)
	}
	fmt.Fprintln(stdout)
	return nil
}

// matchesFlower compares with the reference result a fixture carries (nil without one).
func matchesFlower(got, want [][]float64) *bool {
	if want == nil {
		return nil
	}
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = len(got[i]) == len(want[i])
		for k := 0; same && k < len(got[i]); k++ {
			same = math.Float64bits(got[i][k]) == math.Float64bits(want[i][k])
		}
	}
	return &same
}

func float64Bytes(v []float64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// npz is np.savez of the arrays: a zip, stored uncompressed, of arr_0.npy, arr_1.npy, ...
func npz(arrays [][]float64, shapes [][]int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, a := range arrays {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("arr_%d.npy", i), Method: zip.Store})
		w.Write(npyHeader("<f8", shapes[i]...))
		w.Write(float64Bytes(a))
	}
	zw.Close() // writes to memory: cannot fail
	return buf.Bytes()
}
