package secure

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/secure/shamir"
)

// Server is the coordinator's side of one round: a state machine over the four stages.
// Each Add call takes one client's message of the current stage, checked whole before
// any state changes (a duplicate or a message of another stage is a conflict, a
// malformed one a bad_request); each stage method closes the stage before it and
// returns the next stage's messages, one per client still in the round. Add calls are
// safe from many goroutines.
type Server struct {
	mu      sync.Mutex
	setup   Setup
	cfg     Config
	dim     int
	stage   int
	hoods   map[uint64][]uint64 // the ring drawn at setup
	keys    map[uint64]Keys
	live    map[uint64][]ClientKeys // neighbourhoods at share_keys (those that sent keys)
	commits map[uint64][32]byte
	boxes   map[uint64][]Box // recipient -> boxes for it (Peer = sender)
	masked  map[uint64]bool
	held    bool // the masked vectors are held elsewhere (RecordMasked): no sum here
	sum     []uint32
	pending [][]uint32 // masked vectors accepted and not yet in sum (fewer than foldGroup)
	clipped int
	request map[uint64]UnmaskRequest
	replies map[uint64]UnmaskReply
	start   time.Time
	timings map[string]time.Duration
}

// Result is an unmasked round.
type Result struct {
	Clients int      `json:"clients"` // masked vectors in the sum
	Active  []uint64 `json:"active"`
	// Dropped are the clients that shared keys but sent no masked vector: their pairwise
	// masks were rebuilt from shares of their sk1. Excluded left before share_keys.
	Dropped  []uint64 `json:"dropped"`
	Excluded []uint64 `json:"excluded"`
	// Rejected names the clients whose unmask shares were off the polynomial of a secret
	// the others recovered.
	Rejected []uint64                 `json:"rejected,omitempty"`
	Clipped  int                      `json:"clipped"` // values clipped to ±c, over all clients
	Masks    int                      `json:"masks"`   // keystreams expanded to unmask: a self mask per active client, a pairwise one per (dropped, active neighbour)
	Timings  map[string]time.Duration `json:"timings_ns"`
}

// NewServer starts a round of the clients for updates of dimension dim, after checking
// the settings for that many clients. It draws the session id and the ring from
// crypto/rand, and returns the Setup every client gets.
func NewServer(cfg Config, round uint64, clients []uint64, dim int) (*Server, Setup, error) {
	return newServer(cfg, round, clients, dim, rand.Reader)
}

// newServer is NewServer with its randomness from random: the session id, then the
// ring's seed (a seeded reader in the whole-round test vector only).
func newServer(cfg Config, round uint64, clients []uint64, dim int, random io.Reader) (*Server, Setup, error) {
	if err := cfg.Validate(len(clients)); err != nil {
		return nil, Setup{}, err
	}
	if dim < 1 {
		return nil, Setup{}, secagg.Errorf(secagg.CodeBadRequest, "dim", "dim must be >= 1, got %d", dim)
	}
	sorted := slices.Sorted(slices.Values(clients))
	if len(slices.Compact(slices.Clone(sorted))) != len(sorted) {
		return nil, Setup{}, secagg.Errorf(secagg.CodeBadRequest, "clients", "a client is listed twice")
	}
	s := &Server{cfg: cfg.withDefaults(), dim: dim, keys: map[uint64]Keys{}, start: time.Now(), timings: map[string]time.Duration{}}
	s.setup = Setup{Round: round, Clients: len(clients), Config: cfg}
	var seed [32]byte
	if _, err := io.ReadFull(random, s.setup.Session[:]); err != nil {
		return nil, Setup{}, err
	}
	if _, err := io.ReadFull(random, seed[:]); err != nil {
		return nil, Setup{}, err
	}
	s.hoods = ring(sorted, s.cfg.neighbourhood(len(sorted)), seed)
	return s, s.setup, nil
}

func (s *Server) check(stage int, from uint64, name string) error {
	if s.stage != stage {
		return secagg.Errorf(secagg.CodeConflict, "stage", "%s from client %d out of stage", name, from)
	}
	if _, ok := s.hoods[from]; !ok {
		return secagg.Errorf(secagg.CodeBadRequest, "client", "client %d is not in the round", from)
	}
	return nil
}

// AddKeys takes a client's Setup answer.
func (s *Server) AddKeys(from uint64, k Keys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(stageSetup, from, "keys"); err != nil {
		return err
	}
	if _, dup := s.keys[from]; dup {
		return secagg.Errorf(secagg.CodeConflict, "keys", "client %d already sent its keys", from)
	}
	for _, pk := range [][32]byte{k.PK1, k.PK2} {
		if _, err := ecdh.X25519().NewPublicKey(pk[:]); err != nil || pk == ([32]byte{}) {
			return secagg.Errorf(secagg.CodeBadRequest, "keys", "client %d: not an X25519 public key", from)
		}
	}
	s.keys[from] = k
	return nil
}

// ShareKeys closes setup: clients that sent no keys are excluded, and any client left
// with fewer than threshold neighbours (itself included) is excluded too, until every
// one left has enough. It returns each remaining client's neighbourhood keys.
func (s *Server) ShareKeys() (map[uint64]ShareKeysRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage != stageSetup {
		return nil, secagg.Errorf(secagg.CodeConflict, "stage", "share_keys has begun already")
	}
	in, err := s.remaining(maps.Keys(s.keys), func(id uint64) []uint64 { return s.hoods[id] }, "sent keys")
	if err != nil {
		return nil, err
	}
	s.live = map[uint64][]ClientKeys{}
	out := map[uint64]ShareKeysRequest{}
	for id := range in {
		var hood []ClientKeys
		for _, nb := range s.hoods[id] {
			if in[nb] {
				hood = append(hood, ClientKeys{nb, s.keys[nb]})
			}
		}
		s.live[id] = hood
		out[id] = ShareKeysRequest{Neighbours: hood}
	}
	s.commits, s.boxes = map[uint64][32]byte{}, map[uint64][]Box{}
	s.stage = stageShareKeys
	s.lap("setup")
	return out, nil
}

// remaining is the clients that answered a stage, less any left with fewer than
// threshold neighbours among them (again and again, as each removal costs its
// neighbours one), or insufficient_clients when fewer than min_devices_per_round remain.
func (s *Server) remaining(answered iter.Seq[uint64], hood func(uint64) []uint64, what string) (map[uint64]bool, error) {
	in := map[uint64]bool{}
	for id := range answered {
		in[id] = true
	}
	for changed := true; changed; {
		changed = false
		for id := range in {
			n := 0
			for _, nb := range hood(id) {
				if in[nb] {
					n++
				}
			}
			if n < s.cfg.Threshold {
				delete(in, id)
				changed = true
			}
		}
	}
	if len(in) < s.cfg.MinClients {
		return nil, s.tooFew(what, in)
	}
	return in, nil
}

func (s *Server) tooFew(what string, in map[uint64]bool) error {
	return secagg.Errorf(secagg.CodeInsufficientClients, "clients",
		"%d clients %s with enough neighbours, fewer than min_devices_per_round %d", len(in), what, s.cfg.MinClients)
}

func (s *Server) lap(stage string) {
	now := time.Now()
	s.timings[stage] = now.Sub(s.start)
	s.start = now
}

// AddShares takes a client's share_keys answer: one box for each neighbour but itself.
func (s *Server) AddShares(from uint64, r SharesReply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(stageShareKeys, from, "shares"); err != nil {
		return err
	}
	hood, ok := s.live[from]
	if !ok {
		return secagg.Errorf(secagg.CodeConflict, "shares", "client %d was excluded at setup", from)
	}
	if _, dup := s.commits[from]; dup {
		return secagg.Errorf(secagg.CodeConflict, "shares", "client %d already sent its shares", from)
	}
	if len(r.Boxes) != len(hood)-1 {
		return secagg.Errorf(secagg.CodeBadRequest, "shares", "client %d sent %d boxes for %d neighbours", from, len(r.Boxes), len(hood)-1)
	}
	to := map[uint64]bool{}
	for _, b := range r.Boxes {
		if b.Peer == from || to[b.Peer] || !slices.ContainsFunc(hood, func(k ClientKeys) bool { return k.ID == b.Peer }) ||
			len(b.Data) != nonceSize+16+2*keySize+tagSize {
			return secagg.Errorf(secagg.CodeBadRequest, "shares", "client %d: a box for %d that is not one per neighbour of the right length", from, b.Peer)
		}
		to[b.Peer] = true
	}
	s.commits[from] = r.Commitment
	for _, b := range r.Boxes {
		s.boxes[b.Peer] = append(s.boxes[b.Peer], Box{Peer: from, Data: b.Data})
	}
	return nil
}

// CollectMasked closes share_keys: clients that sent no shares leave the round before
// any mask involves them, and the threshold is checked again. Each remaining client
// gets the boxes of its neighbours that remain.
func (s *Server) CollectMasked() (map[uint64]MaskRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage != stageShareKeys {
		return nil, secagg.Errorf(secagg.CodeConflict, "stage", "collect_masked_vectors is not next")
	}
	in, err := s.remaining(maps.Keys(s.commits), func(id uint64) []uint64 { return ids(s.live[id]) }, "sent shares")
	if err != nil {
		return nil, err
	}
	out := map[uint64]MaskRequest{}
	for id := range s.live {
		if !in[id] {
			delete(s.live, id)
			delete(s.commits, id)
		}
	}
	for id := range in {
		var boxes []Box
		for _, b := range s.boxes[id] {
			if in[b.Peer] {
				boxes = append(boxes, b)
			}
		}
		slices.SortFunc(boxes, func(a, b Box) int { return cmpID(a.Peer, b.Peer) })
		s.boxes[id] = boxes
		out[id] = MaskRequest{Boxes: boxes}
	}
	s.masked = map[uint64]bool{}
	s.stage = stageMask
	s.lap("share_keys")
	return out, nil
}

func ids(hood []ClientKeys) []uint64 {
	out := make([]uint64, len(hood))
	for i, k := range hood {
		out[i] = k.ID
	}
	return out
}

// AddMasked takes a client's masked vector into the sum. The server keeps m.Words until
// it has added them, which it does foldGroup vectors at a time (so the sum crosses
// memory once per 16) and for all of them by Unmask: the caller must not change them
// after AddMasked returns.
func (s *Server) AddMasked(from uint64, m MaskedVector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkMasked(from, m.Clipped, false); err != nil {
		return err
	}
	if len(m.Words) != s.dim+1 {
		return secagg.Errorf(secagg.CodeBadRequest, "masked_vector", "client %d sent %d words, want %d (the weight and %d values)", from, len(m.Words), s.dim+1, s.dim)
	}
	fresh := s.sum == nil
	if fresh {
		s.sum = *sums.Get(s.dim + 1)
		clear(s.sum)
	}
	// At 2^32 every word is in range, and the vectors wait to be added foldGroup at a
	// time. Below, each is checked as it is added, so that it crosses memory once; a
	// word out of range undoes the add, and the sum is as it was.
	if s.cfg.ModulusBits < 32 {
		if i := addChecked(s.sum, m.Words, s.cfg.ModulusBits); i >= 0 {
			if fresh {
				sums.Put(&s.sum)
				s.sum = nil
			}
			return secagg.Errorf(secagg.CodeBadRequest, "masked_vector", "client %d: word %d is %d, not below 2^%d", from, i, m.Words[i], s.cfg.ModulusBits)
		}
	} else {
		s.pending = append(s.pending, m.Words)
		if len(s.pending) == foldGroup {
			s.fold()
		}
	}
	s.clipped += m.Clipped
	s.masked[from] = true
	return nil
}

// RecordMasked is AddMasked for a masked vector the server does not take: it notes that
// from sent one, with clipped values clipped, to storage that a sharded unmasking reads
// (such as package secaggbeam's, from the vectors' MaskedVector encoding). A round's
// vectors all come through AddMasked, for Finalize, or all through RecordMasked, for
// Unmasking; the vectors' lengths and words are the unmasking's to check.
func (s *Server) RecordMasked(from uint64, clipped int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkMasked(from, clipped, true); err != nil {
		return err
	}
	s.held = true
	s.clipped += clipped
	s.masked[from] = true
	return nil
}

// checkMasked checks a masked vector's sender and clipped count, and that the round
// takes its vectors the way the caller gives this one (held elsewhere or not).
func (s *Server) checkMasked(from uint64, clipped int, held bool) error {
	if err := s.check(stageMask, from, "masked vector"); err != nil {
		return err
	}
	if _, ok := s.commits[from]; !ok {
		return secagg.Errorf(secagg.CodeConflict, "masked_vector", "client %d left the round at share_keys", from)
	}
	if s.masked[from] {
		return secagg.Errorf(secagg.CodeConflict, "masked_vector", "client %d already sent its masked vector", from)
	}
	if len(s.masked) > 0 && s.held != held {
		return secagg.Errorf(secagg.CodeConflict, "masked_vector",
			"client %d: this round's masked vectors are %s, not %s", from, takenAs(s.held), takenAs(held))
	}
	if clipped < 0 || clipped > s.dim {
		return secagg.Errorf(secagg.CodeBadRequest, "masked_vector", "client %d: %d of %d values clipped", from, clipped, s.dim)
	}
	return nil
}

// takenAs says how a round takes its masked vectors.
func takenAs(held bool) string {
	if held {
		return "recorded as held elsewhere (RecordMasked)"
	}
	return "summed by the server (AddMasked)"
}

// Unmask closes collection: the clients that sent masked vectors are the round's
// (at least min_devices_per_round of them), the others that shared keys are dropped.
// Each active client is asked for its shares of its active neighbours' seeds and of its
// dropped neighbours' sk1, and never both for one client.
func (s *Server) Unmask() (map[uint64]UnmaskRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage != stageMask {
		return nil, secagg.Errorf(secagg.CodeConflict, "stage", "unmask is not next")
	}
	if len(s.masked) < s.cfg.MinClients {
		return nil, s.tooFew("sent masked vectors", s.masked)
	}
	request := map[uint64]UnmaskRequest{}
	var short []string
	for id := range s.masked {
		var req UnmaskRequest
		for _, nb := range ids(s.live[id]) {
			switch {
			case s.masked[nb]:
				req.Active = append(req.Active, nb)
			case s.live[nb] != nil: // shared keys, so its masks are in id's vector
				req.Dead = append(req.Dead, nb)
			}
		}
		if len(req.Active) < s.cfg.Threshold {
			// Its seed has fewer than t holders left to return shares, and so has its sk1.
			short = append(short, fmt.Sprintf("%d (%d active neighbours)", id, len(req.Active)))
		}
		request[id] = req
	}
	if short != nil {
		slices.Sort(short)
		return nil, secagg.Errorf(secagg.CodeInsufficientClients, "unmask",
			"fewer than threshold %d active neighbours to recover the seed of client %s", s.cfg.Threshold, strings.Join(short, ", client "))
	}
	s.request, s.replies = request, map[uint64]UnmaskReply{}
	s.fold()
	s.stage = stageUnmask
	s.lap("collect_masked_vectors")
	return s.request, nil
}

// AddUnmask takes an active client's shares. A share of a secret the server did not ask
// that client for (in particular a seed share of a dropped client or an sk1 share of an
// active one) is a conflict: the server never holds both secrets of a client.
func (s *Server) AddUnmask(from uint64, r UnmaskReply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(stageUnmask, from, "unmask reply"); err != nil {
		return err
	}
	req, ok := s.request[from]
	if !ok {
		return secagg.Errorf(secagg.CodeConflict, "unmask", "client %d was not asked to unmask", from)
	}
	if _, dup := s.replies[from]; dup {
		return secagg.Errorf(secagg.CodeConflict, "unmask", "client %d already sent its shares", from)
	}
	if !sameOwners(r.Seeds, req.Active) || !sameOwners(r.Keys, req.Dead) {
		return secagg.Errorf(secagg.CodeConflict, "unmask",
			"client %d sent shares of other secrets than asked (seeds of %v, sk1 of %v)", from, req.Active, req.Dead)
	}
	s.replies[from] = r
	return nil
}

func sameOwners(shares []Share, want []uint64) bool {
	if len(shares) != len(want) {
		return false
	}
	for i, sh := range shares {
		if sh.Owner != want[i] {
			return false
		}
	}
	return true
}

// Finalize recovers every active client's seed (checked against its commitment) and
// every dropped client's sk1 (checked against its pk1), removes the masks and writes the
// weighted mean into dst (len dim). A secret with fewer than threshold consistent shares
// is insufficient_clients naming its client; the round stays open for more replies.
func (s *Server) Finalize(dst []float32) (*Result, error) {
	return s.finalize(len(dst), func(sum []uint32, res *Result) {
		dequantize(dst, sum[1:], sum[0], len(res.Active), s.cfg.ClippingRange, s.cfg.QuantizationRange)
	})
}

// FinalizeWords is Finalize for a round of MaskWords clients: it writes into dst (len
// dim) the sum of the active clients' values mod 2^modulus_bits, for their encoding to
// decode.
func (s *Server) FinalizeWords(dst []uint32) (*Result, error) {
	return s.finalize(len(dst), func(sum []uint32, _ *Result) { copy(dst, sum[1:]) })
}

// finalize unmasks the sum (the weight word, then the values) and hands it to out.
func (s *Server) finalize(dim int, out func(sum []uint32, res *Result)) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkUnmasking(false); err != nil {
		return nil, err
	}
	if dim != s.dim {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "dst", "dst has %d values, want %d", dim, s.dim)
	}
	res, masks, err := s.masks()
	if err != nil {
		return nil, err
	}
	// The weights' word first, on its own: a refused Finalize leaves the round as it
	// was, and the sum is then unmasked in place (a copy would cost a fresh buffer's
	// page faults, as much as the unmasking of a small round).
	modMask := uint32(1<<s.cfg.ModulusBits - 1)
	weight := []uint32{s.sum[0]}
	applyMasks(weight, 0, masks, modMask)
	if weight[0] == 0 {
		return nil, errZeroWeight
	}
	sum := s.sum
	applyMasks(sum, 0, masks, modMask)
	if testHookSum != nil {
		testHookSum(sum)
	}
	out(sum, res)
	done := s.sum
	sums.Put(&done)
	s.sum = nil
	s.stage = stageDone
	s.lap("unmask")
	return res, nil
}

// errZeroWeight refuses a round whose unmasked weights' word is 0.
var errZeroWeight = secagg.Errorf(secagg.CodeValidation, "weight", "the active clients' weights sum to 0")

// Unmasking closes a round whose masked vectors are held elsewhere (RecordMasked): it
// recovers every active client's seed and every dropped client's sk1, as Finalize does,
// and returns what removing their masks from the vectors' sum takes, for the sum's
// blocks to be unmasked where they are summed. Refused, it leaves the round open for
// more replies; once it succeeds the round is done.
func (s *Server) Unmasking() (*Unmasking, *Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkUnmasking(true); err != nil {
		return nil, nil, err
	}
	res, masks, err := s.masks()
	if err != nil {
		return nil, nil, err
	}
	u := &Unmasking{dim: s.dim, clients: slices.Clone(res.Active), bits: s.cfg.ModulusBits,
		T: s.cfg.QuantizationRange, c: s.cfg.ClippingRange, masks: masks}
	s.stage = stageDone
	s.lap("unmask")
	return u, res, nil
}

// checkUnmasking checks that the round is at unmask and that its masked vectors were
// taken the way the caller unmasks them: held elsewhere for Unmasking, summed here for
// Finalize.
func (s *Server) checkUnmasking(held bool) error {
	if s.stage != stageUnmask {
		return secagg.Errorf(secagg.CodeConflict, "stage", "the round is not at unmask")
	}
	if s.held != held {
		if held {
			return secagg.Errorf(secagg.CodeConflict, "unmask", "the server holds this round's sum (AddMasked): Finalize unmasks it")
		}
		return secagg.Errorf(secagg.CodeConflict, "unmask", "this round's masked vectors are held elsewhere (RecordMasked): Unmasking unmasks their sum")
	}
	return nil
}

// masks recovers the round's secrets and returns the masks its sum carries: a self mask
// per active client, a pairwise one per (dropped, active neighbour).
func (s *Server) masks() (*Result, []mask, error) {
	res := &Result{Clients: len(s.masked), Clipped: s.clipped, Timings: s.timings}
	for id := range s.hoods {
		switch {
		case s.masked[id]:
			res.Active = append(res.Active, id)
		case s.live[id] != nil:
			res.Dropped = append(res.Dropped, id)
		default:
			res.Excluded = append(res.Excluded, id)
		}
	}
	slices.Sort(res.Active)
	slices.Sort(res.Dropped)
	slices.Sort(res.Excluded)
	seeds, keys, rejected, err := s.recover(res.Active, res.Dropped)
	if err != nil {
		return nil, nil, err
	}
	res.Rejected = rejected
	var masks []mask
	for _, id := range res.Active {
		masks = append(masks, mask{selfMaskKey(seeds[id], s.setup.Session, s.setup.Round, id), true})
	}
	type pair struct{ dead, nb uint64 }
	var pairs []pair
	for _, dead := range res.Dropped {
		for _, nb := range ids(s.live[dead]) {
			if s.masked[nb] {
				pairs = append(pairs, pair{dead, nb})
			}
		}
	}
	pairMasks := make([]mask, len(pairs))
	errs := make([]error, len(pairs))
	parallel.Ranges(parallel.Workers(), len(pairs), 16, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			p := pairs[i]
			sk, _ := ecdh.X25519().NewPrivateKey(keys[p.dead]) // checked against pk1 when recovered
			pk := s.keys[p.nb].PK1
			shared, err := agree(sk, pk[:])
			if err != nil {
				errs[i] = secagg.Errorf(secagg.CodeBadRequest, "keys", "pk1 of client %d: %v", p.nb, err)
				continue
			}
			// nb added the mask if nb > dead: take it out the other way.
			pairMasks[i] = mask{pairwiseMaskKey(shared, s.setup.Session, s.setup.Round, p.nb, p.dead), p.nb > p.dead}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	masks = append(masks, pairMasks...)
	res.Masks = len(masks)
	return res, masks, nil
}

// recover combines the shares the replies hold. A holder's share of owner o is at the
// point of its position in o's neighbourhood at share_keys, plus one.
func (s *Server) recover(active, dropped []uint64) (seeds, keys map[uint64][]byte, rejected []uint64, err error) {
	seeds, keys = map[uint64][]byte{}, map[uint64][]byte{}
	type held struct {
		from uint64
		y    []byte
	}
	byOwner := map[uint64][]held{}
	for _, from := range slices.Sorted(func(yield func(uint64) bool) {
		for id := range s.replies {
			if !yield(id) {
				return
			}
		}
	}) {
		r := s.replies[from]
		for _, sh := range slices.Concat(r.Seeds, r.Keys) {
			byOwner[sh.Owner] = append(byOwner[sh.Owner], held{from, sh.Y[:]})
		}
	}
	// One job per secret; the bases (one per set of points, most secrets share one) and
	// then the secrets are found on every core.
	type job struct {
		owner  uint64
		shares []held
		xs     []uint32
		ys     [][]byte
		basis  int
		secret []byte
		bad    []int
		err    error
	}
	var jobs []*job
	var short []string
	basisOf := map[string]int{}
	var points [][]uint32
	for _, owner := range slices.Concat(active, dropped) {
		shares := byOwner[owner]
		if len(shares) < s.cfg.Threshold {
			short = append(short, fmt.Sprintf("%d (%d of %d shares)", owner, len(shares), s.cfg.Threshold))
			continue
		}
		hood := ids(s.live[owner])
		j := &job{owner: owner, shares: shares, xs: make([]uint32, len(shares)), ys: make([][]byte, len(shares))}
		for i, h := range shares {
			j.xs[i], j.ys[i] = uint32(slices.Index(hood, h.from)+1), h.y
		}
		key := fmt.Sprint(j.xs)
		b, ok := basisOf[key]
		if !ok {
			b = len(points)
			basisOf[key] = b
			points = append(points, j.xs)
		}
		j.basis = b
		jobs = append(jobs, j)
	}
	bases := make([]*shamir.Basis, len(points))
	errs := make([]error, len(points))
	parallel.Ranges(parallel.Workers(), len(points), 1, func(_, i, _ int) {
		bases[i], errs[i] = shamir.NewBasis(s.cfg.Threshold, points[i])
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, nil, err
	}
	parallel.Ranges(parallel.Workers(), len(jobs), 1, func(_, i, _ int) {
		j := jobs[i]
		isActive := s.masked[j.owner]
		verify := func(secret []byte) bool {
			if isActive {
				return commitment(secret, s.setup.Session, s.setup.Round, j.owner) == s.commits[j.owner]
			}
			sk, err := ecdh.X25519().NewPrivateKey(secret)
			return err == nil && [32]byte(sk.PublicKey().Bytes()) == s.keys[j.owner].PK1
		}
		j.secret, j.bad, j.err = bases[j.basis].Recover(j.ys, verify)
	})
	for _, j := range jobs {
		if j.err != nil {
			short = append(short, fmt.Sprintf("%d (its %d shares do not agree on a secret)", j.owner, len(j.shares)))
			continue
		}
		for _, i := range j.bad {
			rejected = append(rejected, j.shares[i].from)
		}
		if s.masked[j.owner] {
			seeds[j.owner] = j.secret
		} else {
			keys[j.owner] = j.secret
		}
	}
	if short != nil {
		return nil, nil, nil, secagg.Errorf(secagg.CodeInsufficientClients, "unmask",
			"too few shares to recover the secrets of client %s", strings.Join(short, ", client "))
	}
	slices.Sort(rejected)
	return seeds, keys, slices.Compact(rejected), nil
}

// testHookSum, set by tests, sees the unmasked sum mod 2^b (the weights' word first)
// before Finalize lets go of it.
var testHookSum func([]uint32)

// sums keeps the sums of finished rounds for the next: a fresh buffer's first touch
// costs its page faults, measured here as much as the whole sum of a round (16 MiB:
// about 50 ms, against 17 ms to add 32 vectors into a buffer already touched).
var sums pool.Slices[uint32]

// foldGroup is how many masked vectors one fold adds at modulus 2^32 (below it,
// AddMasked adds each one as it checks it): simd's row group, measured best here (the
// sum of 100 vectors of 2^20 words: 16 a fold 31.8 GB/s, 8 a fold 22.5).
const foldGroup = 16

// fold adds the pending masked vectors into the sum and lets go of them.
func (s *Server) fold() {
	addWords(s.sum, s.pending)
	clear(s.pending)
	s.pending = s.pending[:0]
}
