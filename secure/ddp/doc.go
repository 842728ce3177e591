// Package ddp is distributed differential privacy inside secure aggregation: each client
// encodes its update into integers mod 2^b carrying its own share of discrete noise, so
// that the sum a secure round reveals is already private and nobody, the coordinator
// included, ever sees an un-noised aggregate. The server decodes that sum.
//
// The encoding is TensorFlow Federated's DistributedDpSumFactory (Kairouz, Liu, Steinke,
// ICML 2021; Agarwal, Kairouz, Liu, NeurIPS 2021): L2 clip to c, pad to a power of two,
// rotate by a randomised Hadamard transform from a seed shared by the round (sign flips,
// FWHT, 1/sqrt(D)), scale by 1/gamma, round stochastically until the rounded vector's
// norm is within the bound the accountant charges for, add Skellam or discrete Gaussian
// noise drawn exactly in integers, and wrap mod 2^b. Decoding centres the sum mod 2^b,
// scales it by gamma, rotates it back and divides it by the clients or their weight.
//
// The accountant (RDP) charges the sum of the surviving clients' noise: Agarwal et al.'s
// bound for Skellam, whose sums are Skellam, and Kairouz et al.'s for the distributed
// discrete Gaussian; on the configuration those authors released it spends what their
// accountant does, and Calibrate picks their parameters (published_test.go).
package ddp
