// Package secure is secure aggregation: a SecAgg+ server and client (Bell et al. 2020;
// SecAgg, Bonawitz et al. 2017, is the case of a complete graph) over which the
// coordinator learns only the sum of the surviving clients' quantised updates, even when
// clients drop out at any stage.
//
// The four stages are Flower's (setup, share_keys, collect_masked_vectors, unmask): a
// Server is their state machine and a Client answers each once; the messages are plain
// values and the transport is the caller's. The default suite, secagg-v1, is specified
// with test vectors in SPEC.md (X25519, HKDF-SHA256, AES-128-CTR masks, AES-256-GCM
// share boxes, Shamir over GF(2^128) from package shamir). Package flower unmasks rounds
// of Flower's own clients, for interoperation only.
package secure
