// Package flower is the Flower-compatible suite of secure aggregation, server side: it
// unmasks a SecAgg+ round whose clients ran Flower 1.28's secaggplus_mod, bit for bit
// as Flower's own server does (SECP384R1 keys in PEM, HKDF-SHA256 then URL-safe base64 as
// the PRG seed, numpy's legacy MT19937 with randint's mapping as the PRG, pycryptodome's
// GF(2^128) Shamir, int64 .npy arrays with the weight factor first).
//
// It exists for interoperation and is insecure by construction, so it is never the
// default: the PRG seed is folded to 32 bits (a masked vector can be brute-forced, Flower
// tracker #7522), MT19937 is not a cryptographic generator, and Flower clips values
// silently at ±clipping_range. Use the default suite (package secure) for new clients.
package flower

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/octomil/secagg"
)

// Round is a Flower SecAgg+ round as its server holds it when it unmasks: the settings,
// the ring, the keys, the masked vectors of the active clients and the shares they
// returned. ReadRound reads it from the JSON of ../shared/fixtures/flower-secaggplus.
type Round struct {
	ClippingRange     float64 // c: values were clipped to [-c, c]
	QuantizationRange int64   // T: and scaled to [0, T]
	ModulusRange      int64   // m: the sums are mod m, 2 <= m <= 2^32
	MaxWeight         float64 // the clients' weight factor is num_examples / max_weight
	NumShares         int     // k: each client's neighbourhood, itself included
	Threshold         int     // t: shares that recover a secret
	Shapes            [][]int // the model's arrays
	NodeIDs           []uint64
	Neighbours        map[uint64][]uint64 // node -> its neighbourhood, itself included
	PublicKeys        map[uint64]PublicKeys
	Masked            map[uint64][][]uint32 // active node -> [weight factor] + arrays, flattened (each value < m <= 2^32)
	Dropped           []uint64              // nodes that shared keys but sent no masked vector
	Replies           map[uint64]Reply      // active node -> its shares of the others' secrets

	// Reference values a fixture carries beside the round (not used to unmask).
	FlowerResult [][]float64      // Flower's own unmasked result, one array per model array
	NumExamples  map[uint64]int64 // the clients' example counts
	WeightedMean [][]float64      // the true weighted mean of the active clients' arrays
	About        string           // what the fixture is
	publicKey1   map[uint64]*ecdh.PublicKey
}

// PublicKeys are a node's two SECP384R1 public keys, PEM SubjectPublicKeyInfo: pk1 for
// the pairwise masks, pk2 for encrypting shares (not needed to unmask).
type PublicKeys struct {
	PK1, PK2 []byte
}

// Reply is one active node's unmask reply: for each node in NodeIDs, its share of that
// node's self-mask seed (an active node) or of its sk1 (a dropped one), in Flower's
// encoding: the point as a little-endian uint32, then 16 bytes per secret block.
type Reply struct {
	NodeIDs []uint64
	Shares  [][]byte
}

// roundJSON is the file format, field for field; unknown keys are refused.
type roundJSON struct {
	About             string                       `json:"about"`
	ClippingRange     *float64                     `json:"clipping_range"`
	QuantizationRange *int64                       `json:"quantization_range"`
	ModulusRange      *int64                       `json:"modulus_range"`
	MaxWeight         *float64                     `json:"max_weight"`
	NumShares         *int                         `json:"num_shares"`
	Threshold         *int                         `json:"threshold"`
	Shapes            [][]int                      `json:"shapes"`
	NodeIDs           []uint64                     `json:"node_ids"`
	Neighbours        map[string][]uint64          `json:"neighbours"`
	PublicKeys        map[string]map[string]string `json:"public_keys"`
	MaskedVectors     map[string][]string          `json:"masked_vectors"`
	Dropped           []uint64                     `json:"dropped_after_share_keys"`
	UnmaskReplies     map[string]replyJSON         `json:"unmask_replies"`
	FlowerResult      []string                     `json:"flower_result"`
	WeightedMean      []string                     `json:"weighted_mean_float64"`
	NumExamples       map[string]int64             `json:"num_examples"`
}

type replyJSON struct {
	NodeIDs []uint64 `json:"node_ids"`
	Shares  []string `json:"shares"`
}

func badRequest(field, format string, args ...any) error {
	return secagg.Errorf(secagg.CodeBadRequest, field, format, args...)
}

// ReadRound reads a round in the fixture format (see the fixtures' README) and checks it
// whole: a malformed or inconsistent round is a bad_request naming what is wrong, a
// setting out of range a validation_error, a missing one a validation_error naming it.
func ReadRound(r io.Reader) (*Round, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var j roundJSON
	if err := dec.Decode(&j); err != nil {
		return nil, badRequest("round", "not a Flower SecAgg+ round: %v", err)
	}
	if dec.More() {
		return nil, badRequest("round", "not a Flower SecAgg+ round: data after the JSON object")
	}
	rd := &Round{About: j.About, Shapes: j.Shapes, NodeIDs: j.NodeIDs, Dropped: j.Dropped}
	required := []struct {
		key string
		ok  bool
	}{
		{"clipping_range", j.ClippingRange != nil}, {"quantization_range", j.QuantizationRange != nil},
		{"modulus_range", j.ModulusRange != nil}, {"num_shares", j.NumShares != nil},
		{"threshold", j.Threshold != nil}, {"shapes", j.Shapes != nil}, {"node_ids", j.NodeIDs != nil},
		{"neighbours", j.Neighbours != nil}, {"public_keys", j.PublicKeys != nil},
		{"masked_vectors", j.MaskedVectors != nil}, {"unmask_replies", j.UnmaskReplies != nil},
	}
	for _, f := range required {
		if !f.ok {
			return nil, secagg.Errorf(secagg.CodeValidation, f.key, "%s is required", f.key)
		}
	}
	rd.ClippingRange, rd.QuantizationRange, rd.ModulusRange = *j.ClippingRange, *j.QuantizationRange, *j.ModulusRange
	rd.NumShares, rd.Threshold = *j.NumShares, *j.Threshold
	if j.MaxWeight != nil {
		rd.MaxWeight = *j.MaxWeight
	}
	if err := rd.checkSettings(); err != nil {
		return nil, err
	}
	var err error
	if rd.Neighbours, err = nodeMap(j.Neighbours, "neighbours", func(_ uint64, v []uint64) ([]uint64, error) { return v, nil }); err != nil {
		return nil, err
	}
	if rd.PublicKeys, err = nodeMap(j.PublicKeys, "public_keys", publicKeys); err != nil {
		return nil, err
	}
	if rd.Masked, err = nodeMap(j.MaskedVectors, "masked_vectors", rd.maskedVector); err != nil {
		return nil, err
	}
	if rd.Replies, err = nodeMap(j.UnmaskReplies, "unmask_replies", reply); err != nil {
		return nil, err
	}
	if j.NumExamples != nil {
		if rd.NumExamples, err = nodeMap(j.NumExamples, "num_examples", func(_ uint64, v int64) (int64, error) { return v, nil }); err != nil {
			return nil, err
		}
	}
	if rd.FlowerResult, err = rd.float64Arrays(j.FlowerResult, "flower_result"); err != nil {
		return nil, err
	}
	if rd.WeightedMean, err = rd.float64Arrays(j.WeightedMean, "weighted_mean_float64"); err != nil {
		return nil, err
	}
	if err := rd.check(); err != nil {
		return nil, err
	}
	return rd, nil
}

// nodeMap converts a JSON object keyed by node id, each value by conv.
func nodeMap[V, W any](m map[string]V, field string, conv func(uint64, V) (W, error)) (map[uint64]W, error) {
	out := make(map[uint64]W, len(m))
	for k, v := range m {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			return nil, badRequest(field, "%s: %q is not a node id", field, k)
		}
		w, err := conv(id, v)
		if err != nil {
			return nil, badRequest(field, "%s of node %d: %v", field, id, err)
		}
		out[id] = w
	}
	return out, nil
}

func publicKeys(_ uint64, m map[string]string) (PublicKeys, error) {
	for k := range m {
		if k != "pk1" && k != "pk2" {
			return PublicKeys{}, fmt.Errorf("unknown key %q (want pk1, pk2)", k)
		}
	}
	pk1, ok1 := m["pk1"]
	pk2, ok2 := m["pk2"]
	if !ok1 || !ok2 {
		return PublicKeys{}, errors.New("pk1 and pk2 are required")
	}
	return PublicKeys{PK1: []byte(pk1), PK2: []byte(pk2)}, nil
}

func reply(_ uint64, r replyJSON) (Reply, error) {
	if len(r.NodeIDs) != len(r.Shares) {
		return Reply{}, fmt.Errorf("%d node ids for %d shares", len(r.NodeIDs), len(r.Shares))
	}
	out := Reply{NodeIDs: r.NodeIDs, Shares: make([][]byte, len(r.Shares))}
	for i, s := range r.Shares {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return Reply{}, fmt.Errorf("share %d: %v", i, err)
		}
		out.Shares[i] = b
	}
	return out, nil
}

// maskedVector decodes an active node's arrays: the weight factor (shape (1,)) and then
// one array per model array, of its shape, every value in [0, m).
func (rd *Round) maskedVector(_ uint64, arrays []string) ([][]uint32, error) {
	if len(arrays) != len(rd.Shapes)+1 {
		return nil, fmt.Errorf("%d arrays, want the weight factor and %d model arrays", len(arrays), len(rd.Shapes))
	}
	out := make([][]uint32, len(arrays))
	for i, s := range arrays {
		data, err := rd.array(s, "<i8", i)
		if err != nil {
			return nil, fmt.Errorf("array %d: %v", i, err)
		}
		v, bad := residues(data, rd.ModulusRange)
		if bad >= 0 {
			x := int64(binary.LittleEndian.Uint64(data[8*bad:]))
			return nil, fmt.Errorf("array %d[%d] = %d, outside [0, modulus_range %d)", i, bad, x, rd.ModulusRange)
		}
		out[i] = v
	}
	return out, nil
}

// float64Arrays decodes a reference result: one base64 '<f8' .npy per model array.
func (rd *Round) float64Arrays(arrays []string, field string) ([][]float64, error) {
	if arrays != nil && len(arrays) != len(rd.Shapes) {
		return nil, badRequest(field, "%s holds %d arrays, want %d", field, len(arrays), len(rd.Shapes))
	}
	var out [][]float64
	for i, s := range arrays {
		a, err := rd.array(s, "<f8", i+1)
		if err != nil {
			return nil, badRequest(field, "%s[%d]: %v", field, i, err)
		}
		out = append(out, float64s(a))
	}
	return out, nil
}

// array decodes base64 .npy of dtype whose shape must be shape(i): (1,) for i = 0 (the
// weight factor), Shapes[i-1] after.
func (rd *Round) array(s, dtype string, i int) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	shape, data, err := decodeNpy(raw, dtype)
	if err != nil {
		return nil, err
	}
	want := []int{1}
	if i > 0 {
		if i > len(rd.Shapes) {
			return nil, fmt.Errorf("more arrays than the %d of shapes", len(rd.Shapes))
		}
		want = rd.Shapes[i-1]
	}
	if !slices.Equal(shape, want) {
		return nil, fmt.Errorf("shape %v, want %v", shape, want)
	}
	return data, nil
}

// checkSettings refuses settings the unmask cannot honour.
func (rd *Round) checkSettings() error {
	v := func(field, format string, args ...any) error {
		return secagg.Errorf(secagg.CodeValidation, field, format, args...)
	}
	switch {
	case !(rd.ClippingRange > 0) || math.IsInf(rd.ClippingRange, 0):
		return v("clipping_range", "clipping_range must be positive and finite, got %v", rd.ClippingRange)
	case rd.QuantizationRange < 1:
		return v("quantization_range", "quantization_range must be >= 1, got %d", rd.QuantizationRange)
	case rd.ModulusRange < 2 || rd.ModulusRange > 1<<32:
		return v("modulus_range", "modulus_range must be in [2, 2^32], got %d", rd.ModulusRange)
	case rd.Threshold < 1 || rd.Threshold > rd.NumShares:
		return v("threshold", "threshold must be in [1, num_shares %d], got %d", rd.NumShares, rd.Threshold)
	case len(rd.Shapes) == 0:
		return v("shapes", "shapes must name at least one array")
	}
	total := 1 // the weight factor
	for i, s := range rd.Shapes {
		n := 1
		for _, d := range s {
			if d < 0 || d > maxElements || n > maxElements/max(d, 1) {
				return v("shapes", "shapes[%d] = %v is not an array shape of at most 2^31 elements", i, s)
			}
			n *= d
		}
		if total += n; total > maxElements {
			return v("shapes", "the arrays hold more than 2^31 elements")
		}
	}
	return nil
}

// check cross-checks the round: the ring is symmetric over known nodes, every node is
// either active (a masked vector) or dropped after share_keys, the keys parse, and every
// reply comes from an active node and holds shares of its neighbours only.
func (rd *Round) check() error {
	known := make(map[uint64]bool, len(rd.NodeIDs))
	for _, id := range rd.NodeIDs {
		if known[id] {
			return badRequest("node_ids", "node %d is listed twice", id)
		}
		known[id] = true
	}
	dropped := make(map[uint64]bool, len(rd.Dropped))
	for _, id := range rd.Dropped {
		if !known[id] || dropped[id] {
			return badRequest("dropped_after_share_keys", "dropped node %d is unknown or listed twice", id)
		}
		if _, active := rd.Masked[id]; active {
			return badRequest("dropped_after_share_keys", "node %d is listed as dropped but sent a masked vector", id)
		}
		dropped[id] = true
	}
	rd.publicKey1 = make(map[uint64]*ecdh.PublicKey, len(rd.NodeIDs))
	for _, id := range rd.NodeIDs {
		if _, active := rd.Masked[id]; !active && !dropped[id] {
			return badRequest("masked_vectors", "node %d neither sent a masked vector nor is listed as dropped after share_keys", id)
		}
		hood, ok := rd.Neighbours[id]
		if !ok || !slices.Contains(hood, id) {
			return badRequest("neighbours", "node %d has no neighbourhood holding itself", id)
		}
		if len(hood) > rd.NumShares {
			return badRequest("neighbours", "node %d has %d neighbours, over num_shares %d", id, len(hood), rd.NumShares)
		}
		for _, j := range hood {
			if !known[j] || !slices.Contains(rd.Neighbours[j], id) {
				return badRequest("neighbours", "node %d lists %d, which is unknown or does not list it back", id, j)
			}
		}
		keys, ok := rd.PublicKeys[id]
		if !ok {
			return badRequest("public_keys", "node %d has no public keys", id)
		}
		pk, err := parsePublicKey(keys.PK1)
		if err != nil {
			return badRequest("public_keys", "pk1 of node %d: %v", id, err)
		}
		rd.publicKey1[id] = pk
	}
	for id := range rd.Neighbours {
		if !known[id] {
			return badRequest("neighbours", "node %d is not in node_ids", id)
		}
	}
	for id, rep := range rd.Replies {
		if _, active := rd.Masked[id]; !active {
			return badRequest("unmask_replies", "node %d replied but sent no masked vector", id)
		}
		seen := map[uint64]bool{}
		for _, owner := range rep.NodeIDs {
			if seen[owner] || !slices.Contains(rd.Neighbours[id], owner) {
				return badRequest("unmask_replies", "node %d returned a share of %d twice, or of a node outside its neighbourhood", id, owner)
			}
			seen[owner] = true
		}
	}
	return nil
}

// onePEM is the DER of p, which must be exactly one PEM block of the type.
func onePEM(p []byte, typ string) ([]byte, error) {
	block, rest := pem.Decode(p)
	if block == nil || block.Type != typ || len(rest) != 0 {
		return nil, fmt.Errorf("not one PEM %s block", typ)
	}
	return block.Bytes, nil
}

// parsePublicKey reads a PEM SubjectPublicKeyInfo SECP384R1 key.
func parsePublicKey(p []byte) (*ecdh.PublicKey, error) {
	der, err := onePEM(p, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an elliptic-curve key", k)
	}
	pk, err := ek.ECDH()
	if err != nil || pk.Curve() != ecdh.P384() {
		return nil, errors.New("not a SECP384R1 key")
	}
	return pk, nil
}

// parsePrivateKey reads the unencrypted PKCS#8 PEM SECP384R1 key a dropped node's sk1
// shares recover.
func parsePrivateKey(p []byte) (*ecdh.PrivateKey, error) {
	der, err := onePEM(p, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an elliptic-curve key", k)
	}
	sk, err := ek.ECDH()
	if err != nil || sk.Curve() != ecdh.P384() {
		return nil, errors.New("not a SECP384R1 key")
	}
	return sk, nil
}
