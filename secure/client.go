package secure

import (
	"crypto/ecdh"
	"encoding/binary"
	"io"
	mrand "math/rand/v2"
	"slices"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/secure/shamir"
	"github.com/octomil/secagg/simd"
)

// Client is one client's side of a round: it answers each stage once, in order.
type Client struct {
	id       uint64
	setup    Setup
	cfg      Config
	rand     io.Reader
	sk1, sk2 *ecdh.PrivateKey
	seed     []byte
	rounding [32]byte             // the ChaCha8 key of Mask's stochastic rounding
	hood     []ClientKeys         // from ShareKeysRequest
	shares   map[uint64][2][]byte // owner -> (its seed share, its sk1 share) held here
	stage    int
}

const (
	stageSetup = iota
	stageShareKeys
	stageMask
	stageUnmask
	stageDone
)

// NewClient answers Setup: it makes the client's two key pairs. rand is its randomness
// (crypto/rand.Reader; a seeded reader in tests only).
func NewClient(id uint64, setup Setup, rand io.Reader) (*Client, Keys, error) {
	return newClient(id, setup, rand, nil, nil)
}

// newClient is NewClient with the key pairs given (sk1 nil: made from rand), for the
// whole-round test vector: crypto/ecdh does not replay keys from a seeded reader.
func newClient(id uint64, setup Setup, rand io.Reader, sk1, sk2 *ecdh.PrivateKey) (*Client, Keys, error) {
	if err := setup.Config.Validate(setup.Clients); err != nil {
		return nil, Keys{}, err
	}
	c := &Client{id: id, setup: setup, cfg: setup.Config.withDefaults(), rand: rand, stage: stageShareKeys}
	// The rounding key first: crypto/ecdh reads its randomness unpredictably (a byte
	// more or less), so a seeded reader replays the rounding only if it comes first.
	if _, err := io.ReadFull(rand, c.rounding[:]); err != nil {
		return nil, Keys{}, err
	}
	c.sk1, c.sk2 = sk1, sk2
	if sk1 == nil {
		var err error
		if c.sk1, err = ecdh.X25519().GenerateKey(rand); err != nil {
			return nil, Keys{}, err
		}
		if c.sk2, err = ecdh.X25519().GenerateKey(rand); err != nil {
			return nil, Keys{}, err
		}
	}
	return c, Keys{[32]byte(c.sk1.PublicKey().Bytes()), [32]byte(c.sk2.PublicKey().Bytes())}, nil
}

func (c *Client) expect(stage int, name string) error {
	if c.stage != stage {
		return secagg.Errorf(secagg.CodeConflict, "stage", "client %d: %s out of order", c.id, name)
	}
	return nil
}

// ShareKeys answers share_keys: it draws the self-mask seed, splits it and sk1 into one
// share per neighbour (threshold t), and seals each neighbour's pair in a box only that
// neighbour can open.
func (c *Client) ShareKeys(req ShareKeysRequest) (SharesReply, error) {
	if err := c.expect(stageShareKeys, "share_keys"); err != nil {
		return SharesReply{}, err
	}
	hood := req.Neighbours
	me := slices.IndexFunc(hood, func(k ClientKeys) bool { return k.ID == c.id })
	switch {
	case me < 0 || hood[me].PK1 != [32]byte(c.sk1.PublicKey().Bytes()) || hood[me].PK2 != [32]byte(c.sk2.PublicKey().Bytes()):
		return SharesReply{}, secagg.Errorf(secagg.CodeBadRequest, "neighbours", "client %d: its own keys are missing or wrong in share_keys", c.id)
	case len(hood) < c.cfg.Threshold:
		return SharesReply{}, secagg.Errorf(secagg.CodeInsufficientClients, "neighbours", "client %d: %d neighbours, fewer than the threshold %d", c.id, len(hood), c.cfg.Threshold)
	case !slices.IsSortedFunc(hood, func(a, b ClientKeys) int { return cmpID(a.ID, b.ID) }) || hasDuplicates(hood):
		return SharesReply{}, secagg.Errorf(secagg.CodeBadRequest, "neighbours", "client %d: neighbours not sorted by id, or repeated, or sharing keys", c.id)
	}
	c.seed = make([]byte, keySize)
	if _, err := io.ReadFull(c.rand, c.seed); err != nil {
		return SharesReply{}, err
	}
	xs := points(len(hood))
	seedShares, err := shamir.Split(c.seed, c.cfg.Threshold, xs, c.rand)
	if err != nil {
		return SharesReply{}, err
	}
	keyShares, err := shamir.Split(c.sk1.Bytes(), c.cfg.Threshold, xs, c.rand)
	if err != nil {
		return SharesReply{}, err
	}
	reply := SharesReply{Commitment: commitment(c.seed, c.setup.Session, c.setup.Round, c.id)}
	c.shares = map[uint64][2][]byte{c.id: {seedShares[me], keyShares[me]}}
	for p, nb := range hood {
		if nb.ID == c.id {
			continue
		}
		shared, err := agree(c.sk2, nb.PK2[:])
		if err != nil {
			return SharesReply{}, secagg.Errorf(secagg.CodeBadRequest, "neighbours", "client %d: pk2 of client %d: %v", c.id, nb.ID, err)
		}
		key := shareBoxKey(shared, c.setup.Session, c.setup.Round, c.id, nb.ID)
		box, err := seal(key, sharePlaintext(c.id, nb.ID, seedShares[p], keyShares[p]), shareAD(c.setup.Session, c.setup.Round, c.id, nb.ID), c.rand)
		if err != nil {
			return SharesReply{}, err
		}
		reply.Boxes = append(reply.Boxes, Box{Peer: nb.ID, Data: box})
	}
	c.hood = slices.Clone(hood)
	c.stage = stageMask
	return reply, nil
}

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func hasDuplicates(hood []ClientKeys) bool {
	seen := map[[32]byte]bool{}
	for i, k := range hood {
		if i > 0 && hood[i-1].ID == k.ID || seen[k.PK1] || seen[k.PK2] {
			return true
		}
		seen[k.PK1], seen[k.PK2] = true, true
	}
	return false
}

// points are the share points 1..n.
func points(n int) []uint32 {
	xs := make([]uint32, n)
	for i := range xs {
		xs[i] = uint32(i + 1)
	}
	return xs
}

// sharePlaintext is what a box holds: sender, recipient (big-endian), the seed share
// and the sk1 share (32 bytes each).
func sharePlaintext(from, to uint64, seed, key []byte) []byte {
	b := binary.BigEndian.AppendUint64(nil, from)
	b = binary.BigEndian.AppendUint64(b, to)
	return append(append(b, seed...), key...)
}

// Mask answers collect_masked_vectors: it opens its neighbours' boxes, quantises the
// update with its weight and adds its self mask and a pairwise mask with every
// neighbour whose box it holds (added when its id is the larger, subtracted otherwise).
func (c *Client) Mask(req MaskRequest, update []float32, weight float64) (MaskedVector, error) {
	if err := c.expect(stageMask, "collect_masked_vectors"); err != nil {
		return MaskedVector{}, err
	}
	if !(weight >= 0) || weight > c.cfg.MaxWeight {
		return MaskedVector{}, secagg.Errorf(secagg.CodeValidation, "weight", "weight must be in [0, max_weight %v], got %v", c.cfg.MaxWeight, weight)
	}
	return c.mask(req, func() ([]uint32, int, error) {
		words := make([]uint32, len(update)+1)
		clipped, bad := quantize(words, update, weight, c.cfg, mrand.NewChaCha8(c.rounding))
		if bad >= 0 {
			return nil, 0, secagg.Errorf(secagg.CodeValidation, "update", "update[%d] must be finite, got %v", bad, update[bad])
		}
		return words, clipped, nil
	})
}

// MaskWords is Mask for an update its client has already encoded into integers mod
// 2^modulus_bits (distributed DP's encoding, which carries the client's noise): the
// values are masked as they are, after a weight word of 1, so the server's sum of the
// weight words counts the active clients. Values at or above 2^modulus_bits are refused.
func (c *Client) MaskWords(req MaskRequest, values []uint32) (MaskedVector, error) {
	if err := c.expect(stageMask, "collect_masked_vectors"); err != nil {
		return MaskedVector{}, err
	}
	if i := simd.FirstOverBits(values, c.cfg.ModulusBits); i >= 0 {
		return MaskedVector{}, secagg.Errorf(secagg.CodeValidation, "update", "value %d is %d, not below 2^%d", i, values[i], c.cfg.ModulusBits)
	}
	return c.mask(req, func() ([]uint32, int, error) {
		return append([]uint32{1}, values...), 0, nil
	})
}

// mask opens the boxes of req, builds the client's words, and masks them.
func (c *Client) mask(req MaskRequest, build func() (words []uint32, clipped int, err error)) (MaskedVector, error) {
	held := map[uint64][2][]byte{c.id: c.shares[c.id]}
	for _, b := range req.Boxes {
		p := slices.IndexFunc(c.hood, func(k ClientKeys) bool { return k.ID == b.Peer })
		if _, dup := held[b.Peer]; p < 0 || b.Peer == c.id || dup {
			return MaskedVector{}, secagg.Errorf(secagg.CodeBadRequest, "boxes", "client %d: a box from %d, not a neighbour or twice", c.id, b.Peer)
		}
		shared, _ := agree(c.sk2, c.hood[p].PK2[:]) // checked at share_keys
		pt, err := open(shareBoxKey(shared, c.setup.Session, c.setup.Round, c.id, b.Peer), b.Data, shareAD(c.setup.Session, c.setup.Round, b.Peer, c.id))
		if err != nil || len(pt) != 16+2*keySize ||
			binary.BigEndian.Uint64(pt) != b.Peer || binary.BigEndian.Uint64(pt[8:]) != c.id {
			return MaskedVector{}, secagg.Errorf(secagg.CodeBadRequest, "boxes", "client %d: the box from client %d fails authentication", c.id, b.Peer)
		}
		held[b.Peer] = [2][]byte{pt[16 : 16+keySize], pt[16+keySize:]}
	}
	if len(held) < c.cfg.Threshold {
		return MaskedVector{}, secagg.Errorf(secagg.CodeInsufficientClients, "boxes", "client %d: shares from %d clients, fewer than the threshold %d", c.id, len(held), c.cfg.Threshold)
	}
	words, clipped, err := build()
	if err != nil {
		return MaskedVector{}, err
	}
	modMask := uint32(1<<c.cfg.ModulusBits - 1)
	masks := []mask{{selfMaskKey(c.seed, c.setup.Session, c.setup.Round, c.id), false}}
	for _, nb := range c.hood {
		if _, ok := held[nb.ID]; nb.ID == c.id || !ok {
			continue
		}
		shared, err := agree(c.sk1, nb.PK1[:])
		if err != nil {
			return MaskedVector{}, secagg.Errorf(secagg.CodeBadRequest, "neighbours", "client %d: pk1 of client %d: %v", c.id, nb.ID, err)
		}
		masks = append(masks, mask{pairwiseMaskKey(shared, c.setup.Session, c.setup.Round, c.id, nb.ID), c.id < nb.ID})
	}
	applyMasks(words, 0, masks, modMask)
	c.shares = held
	c.stage = stageUnmask
	return MaskedVector{Words: words, Clipped: clipped}, nil
}

// Unmask answers unmask: its shares of the active neighbours' seeds and of the dropped
// neighbours' sk1. It refuses a request that names a client both ways, one it holds no
// share of, or fewer active neighbours than the threshold: revealing both secrets of
// one client would unmask its update.
func (c *Client) Unmask(req UnmaskRequest) (UnmaskReply, error) {
	if err := c.expect(stageUnmask, "unmask"); err != nil {
		return UnmaskReply{}, err
	}
	named := map[uint64]bool{}
	for _, id := range slices.Concat(req.Active, req.Dead) {
		if _, ok := c.shares[id]; named[id] || !ok {
			return UnmaskReply{}, secagg.Errorf(secagg.CodeConflict, "unmask", "client %d: client %d named twice, or as a neighbour it holds no share of", c.id, id)
		}
		named[id] = true
	}
	if !slices.Contains(req.Active, c.id) {
		return UnmaskReply{}, secagg.Errorf(secagg.CodeBadRequest, "unmask", "client %d: not named active itself", c.id)
	}
	if len(req.Active) < c.cfg.Threshold {
		return UnmaskReply{}, secagg.Errorf(secagg.CodeInsufficientClients, "unmask", "client %d: %d active neighbours, fewer than the threshold %d", c.id, len(req.Active), c.cfg.Threshold)
	}
	var reply UnmaskReply
	for _, id := range req.Active {
		reply.Seeds = append(reply.Seeds, Share{Owner: id, Y: [32]byte(c.shares[id][0])})
	}
	for _, id := range req.Dead {
		reply.Keys = append(reply.Keys, Share{Owner: id, Y: [32]byte(c.shares[id][1])})
	}
	c.stage = stageDone
	return reply, nil
}
