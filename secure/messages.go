package secure

// The messages of a round, stage by stage, as Flower names the stages. The transport is
// the caller's: these are plain values, and a server checks every one before it changes
// any state.

// Setup opens a round (server to every sampled client): the session and round every key
// is bound to, and the settings.
type Setup struct {
	Session [16]byte
	Round   uint64
	Clients int // sampled clients: the settings were validated for this many
	Config  Config
}

// Keys is a client's answer to Setup: its two X25519 public keys, pk1 for the pairwise
// masks and pk2 for the share boxes.
type Keys struct {
	PK1, PK2 [32]byte
}

// ClientKeys are one client's public keys, as the server forwards them.
type ClientKeys struct {
	ID uint64
	Keys
}

// ShareKeysRequest opens share_keys (server to one client): the keys of its
// neighbourhood that answered Setup, itself included, sorted by id. A client's share for
// the neighbour at position p of this list is the polynomials' value at x = p + 1.
type ShareKeysRequest struct {
	Neighbours []ClientKeys
}

// Box is an encrypted pair of shares: Peer is the recipient when a client sends it, the
// sender when the server forwards it. Data is nonce || ciphertext || tag (AES-256-GCM).
type Box struct {
	Peer uint64
	Data []byte
}

// SharesReply is a client's share_keys answer: a commitment to its self-mask seed and
// one box for each neighbour but itself.
type SharesReply struct {
	Commitment [32]byte
	Boxes      []Box
}

// MaskRequest opens collect_masked_vectors (server to one client): the boxes its
// neighbours sent it.
type MaskRequest struct {
	Boxes []Box
}

// MaskedVector is a client's masked, quantised update: d+1 words mod 2^b, the weight
// ratio first. Clipped is how many of its values were clipped to ±c.
type MaskedVector struct {
	Words   []uint32
	Clipped int
}

// UnmaskRequest opens unmask (server to one client that sent a masked vector): which of
// its neighbours are in the sum (their self-mask seeds are asked for) and which dropped
// after share_keys (their sk1).
type UnmaskRequest struct {
	Active, Dead []uint64
}

// Share is one client's share of another's secret: Owner's self-mask seed or its sk1.
type Share struct {
	Owner uint64
	Y     [32]byte
}

// UnmaskReply is a client's unmask answer.
type UnmaskReply struct {
	Seeds []Share // of the active neighbours' self-mask seeds
	Keys  []Share // of the dropped neighbours' sk1
}
