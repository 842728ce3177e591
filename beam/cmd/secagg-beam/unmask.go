package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/octomil/secagg"
	secaggbeam "github.com/octomil/secagg/beam"
)

// clientField is what --vectors names each active client's file by.
const clientField = "{client}"

// defineUnmask defines unmask's flags: a secure round whose masked vectors the
// coordinator stored (secure.Server.RecordMasked), closed with secure.Server.Unmasking.
func defineUnmask(fs *flag.FlagSet) func(io.Writer) error {
	unmasking := fs.String("unmasking", "", "the round's secure.Unmasking, as its MarshalBinary encoding (required)")
	vectors := fs.String("vectors", "", "the active clients' masked vector files, "+clientField+" standing for the client's id, such as gs://b/round-7/masked-"+clientField+".bin (required)")
	block := fs.Int("block", 1<<16, "words per block: what one worker reads of a masked vector at a time")
	out := fs.String("out", "", "the weighted mean's .npy file (required)")
	asJSON := fs.Bool("json", false, "print the round's summary as one JSON object on stdout")
	return func(stdout io.Writer) error {
		switch {
		case fs.NArg() > 0:
			return secagg.Errorf(secagg.CodeBadRequest, "args", "unmask takes no arguments (the files are --vectors'), got %q", fs.Args())
		case *unmasking == "":
			return secagg.Errorf(secagg.CodeValidation, "unmasking", "--unmasking is required")
		case *vectors == "":
			return secagg.Errorf(secagg.CodeValidation, "vectors", "--vectors is required")
		case strings.Count(*vectors, clientField) != 1:
			return secagg.Errorf(secagg.CodeBadRequest, "vectors", "--vectors %q must hold %s once, for each client's id", *vectors, clientField)
		case *out == "":
			return secagg.Errorf(secagg.CodeValidation, "out", "--out is required")
		case *block < 1:
			return secagg.Errorf(secagg.CodeValidation, "block", "--block must be >= 1, got %d", *block)
		}
		u, err := secaggbeam.ReadUnmasking(context.Background(), *unmasking)
		if err != nil {
			return err
		}
		files := map[uint64]string{}
		inputs := []string{*unmasking}
		for _, id := range u.Clients() {
			files[id] = strings.Replace(*vectors, clientField, strconv.FormatUint(id, 10), 1)
			inputs = append(inputs, files[id])
		}
		if err := notAnInput(*out, inputs); err != nil {
			return err
		}
		beam.Init()
		start := time.Now()
		p, s := beam.NewPipelineWithRoot()
		blocks, err := secaggbeam.Unmask(s, u, *unmasking, files, *block) // the workers read it too: no Unmasking in the graph
		if err != nil {
			return err
		}
		secaggbeam.WriteNpy(s, *out, secaggbeam.Assemble(s, blocks, u.Dim(), *block))
		if err := beamx.Run(context.Background(), p); err != nil {
			if e, ok := secagg.FindError(err.Error()); ok {
				return e
			}
			return err
		}
		elapsed := time.Since(start)
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{
				"command": "unmask", "clients": len(files), "dimension": u.Dim(), "block": *block,
				"out": *out, "elapsed_ns": elapsed.Nanoseconds(),
			})
		}
		_, err = fmt.Fprintf(stdout, "unmasked the mean of %d clients' masked vectors of dimension %d, blocks of %d -> %s in %.2f s\n",
			len(files), u.Dim(), *block, *out, elapsed.Seconds())
		return err
	}
}
