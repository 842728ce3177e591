/*
 * secagg.h: the C ABI of the secagg aggregation engine (libsecagg.so).
 *
 * Build: go build -buildmode=c-shared -trimpath -o libsecagg.so ./cmd/libsecagg
 * (make lib). This header is the contract; the Go exports include it, so a mismatch
 * does not compile.
 *
 * Conventions, for every function:
 *  - A round is N client updates of d float32 each, given either as one C-order N x d
 *    block `x` or as N row pointers `rows` (a list of separate arrays, no copy needed):
 *    pass exactly one of them, the other NULL. Nothing is copied and no pointer is kept
 *    after the call returns.
 *  - The return value is 0 on success, otherwise the platform's HTTP-like status: 422
 *    validation_error (a parameter out of range, a NaN or Inf in an update), 400
 *    bad_request (NULL pointers, negative or overflowing lengths, an output overlapping
 *    an input, a buffer too small) or insufficient_clients, 413 payload_too_large, 409
 *    conflict, 500 internal_error. On failure the output is left untouched and, if
 *    `err` is not NULL, a NUL-terminated JSON error
 *    {"error": ..., "message": ..., "status_code": ...} is written into it (truncated
 *    to err_len - 1 bytes; 512 bytes hold every message). `err` may be NULL with
 *    err_len 0.
 *  - Every function is safe to call from several threads at once. Results are the same
 *    bits as the Go library's, on every SIMD path and thread count.
 *  - The Go runtime starts with the library: do not fork() after loading it (use
 *    multiprocessing's spawn or forkserver), and do not dlclose() it.
 */
#ifndef SECAGG_H
#define SECAGG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef const float secagg_cfloat;               /* input elements */
typedef const float *const secagg_row;           /* one client's update, in `rows` */
typedef const double secagg_cdouble;             /* input weights */
typedef const char secagg_cchar;                 /* input text */
typedef const int64_t secagg_cint64;             /* input integers */
typedef const uint32_t secagg_cuint32;           /* input words mod 2^bits */

/* Coordinate-wise mean of the N updates into out[d]. */
int secagg_mean(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                float *out, char *err, int64_t err_len);

/* Weighted mean (FedAvg): sum_i w_i x_i / sum_i w_i; weights[n] finite, >= 0, not all 0. */
int secagg_weighted_mean(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                         secagg_cdouble *weights, float *out, char *err, int64_t err_len);

/* Coordinate-wise trimmed mean, floor(trim_ratio * N) trimmed from each end
 * (scipy.stats.trim_mean); trim_ratio in [0, 0.5). */
int secagg_trimmed_mean(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                        double trim_ratio, float *out, char *err, int64_t err_len);

/* Coordinate-wise median (numpy.median: the mean of the two middles for even N). */
int secagg_median(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                  float *out, char *err, int64_t err_len);

/* Krum (m = 1) or Multi-Krum (the mean of the m best-scored updates), tolerating f
 * Byzantine clients; needs N > 2f + 2. If selected is not NULL it receives the m
 * selected indices, best first. */
int secagg_krum(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                int64_t f, int64_t m, float *out, int64_t *selected,
                char *err, int64_t err_len);

/* Krum's selection alone: the m indices with the lowest scores, best first (ties to the
 * lower index), each score the sum of an update's `nearest` smallest squared distances
 * to the others (Krum: nearest = N - f - 2; Flower's: max(1, N - f - 2)). selected
 * receives m indices. */
int secagg_krum_select(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                       int64_t nearest, int64_t m, int64_t *selected,
                       char *err, int64_t err_len);

/* Bulyan tolerating f Byzantine clients; needs N >= 4f + 3. If selected is not NULL it
 * receives the N - 2f indices Krum selected, in selection order. */
int secagg_bulyan(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d, int64_t f,
                  float *out, int64_t *selected, char *err, int64_t err_len);

/* Geometric median by RFA's smoothed Weiszfeld iteration. weights[n] may be NULL (equal
 * weights); max_iterations 0 and tolerance 0 take the defaults (100, 1e-6). If
 * iterations is not NULL it receives the steps taken. */
int secagg_geometric_median(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                            secagg_cdouble *weights, int64_t max_iterations, double tolerance,
                            float *out, int64_t *iterations, char *err, int64_t err_len);

/* Centered clipping (Karimireddy, He and Jaggi 2021): from v = center (NULL: zeros),
 * `iterations` times (0: once) v += (1/N) sum_i (x_i - v) min(1, radius / |x_i - v|).
 * center[d] may be out itself (it is read before out is written), to carry the center
 * from round to round. */
int secagg_centered_clipping(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                             double radius, int64_t iterations, secagg_cfloat *center,
                             float *out, char *err, int64_t err_len);

/* The mean of the updates each clipped to L2 norm clip_norm (norm bounding), no noise.
 * If norms is not NULL it receives the N norms before clipping. */
int secagg_norm_bounded_mean(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                             double clip_norm, float *out, double *norms,
                             char *err, int64_t err_len);

/* DP-FedAvg: each update clipped to L2 norm clip_norm, the mean, then Gaussian noise of
 * standard deviation noise_multiplier * clip_norm / N. seed < 0 draws the noise from a
 * cryptographically secure generator; seed >= 0 from a replayable, insecure one (tests
 * and notebooks only). If norms is not NULL it receives the N norms before clipping. */
int secagg_dp_mean(secagg_cfloat *x, secagg_row *rows, int64_t n, int64_t d,
                   double clip_norm, double noise_multiplier, int64_t seed,
                   float *out, double *norms, char *err, int64_t err_len);

/* Any strategy, configured by config_json in the platform's JSON (the round engine's
 * keys: {"strategy": "trimmed_mean", "trim_ratio": 0.1}, {"strategy": "krum",
 * "byzantine_clients": 2, "multi_krum_m": 5}, ...). weights[n] may be NULL (used by
 * weighted_mean and geometric_median); seed as for secagg_dp_mean. If result is not
 * NULL it receives the round's result as NUL-terminated JSON ({"strategy", "clients",
 * "elapsed_ns", and where they apply "selected" (indices as strings), "iterations",
 * "norms", "noise_sigma"}); a result buffer too small for it is a bad_request, and out is
 * then left untouched. */
int secagg_aggregate(secagg_cchar *config_json, secagg_cfloat *x, secagg_row *rows,
                     int64_t n, int64_t d, secagg_cdouble *weights, int64_t seed, float *out,
                     char *result, int64_t result_len, char *err, int64_t err_len);

/* Plays one secure round in process, the server and n clients of the default suite
 * (secagg-v1: SecAgg+, X25519, AES-CTR masks, Shamir shares), and writes the weighted mean
 * the server unmasks into out: the cost of secure aggregation's quantisation next to the
 * plain mean. config_json holds the secure round's settings in the platform's JSON
 * ({"shares": 7, "threshold": 4, "clipping_range": 8, "quantization_range": 65536,
 * "modulus_bits": 32, "max_weight": 100, "min_devices_per_round": 2}; every key optional).
 * weights[n] may be NULL (1 each). drops[n] may be NULL (nobody drops), else the stage
 * each client drops out before: 0 none, 1 setup (sends no keys), 2 share_keys, 3
 * collect_masked_vectors (its masks are rebuilt from shares), 4 unmask. Client i is id
 * i+1 in the result. seed >= 0 replays the clients' randomness (insecure: tests and
 * notebooks), seed < 0 uses the operating system's. If result is not NULL it receives the
 * round's result as NUL-terminated JSON ({"clients", "active", "dropped", "excluded",
 * "rejected", "clipped", "masks", "timings_ns"}); out is untouched on any error. */
int secagg_secure_simulate(secagg_cchar *config_json, secagg_cfloat *x, secagg_row *rows,
                           int64_t n, int64_t d, secagg_cdouble *weights, secagg_cint64 *drops,
                           int64_t seed, float *out, char *result, int64_t result_len,
                           char *err, int64_t err_len);

/* Plays one distributed-DP round in process: each of n clients encodes its update
 * (clip, randomised Hadamard rotation, scale, conditional stochastic rounding, its own
 * Skellam or discrete Gaussian noise, mod 2^bits) and masks it in a secure round; the
 * server unmasks the noisy sum and decodes the survivors' mean into out. config_json holds
 * the round's settings in the platform's JSON ({"mechanism": "skellam", "clip_norm": 1,
 * "bits": 16, "epsilon": 1, "delta": 1e-5, "rounds": 1, "min_devices_per_round": 90,
 * "beta": 0.6065, "wrap_sigmas": 3, "shares": 7, "threshold": 4}; clip_norm, epsilon,
 * delta, rounds and min_devices_per_round required): the noise is calibrated so that
 * `rounds` rounds of min_devices_per_round survivors spend epsilon. drops and seed are as
 * in secagg_secure_simulate. If result is not NULL it receives the round's result as
 * NUL-terminated JSON (secagg_secure_simulate's, plus "mechanism", "gamma", "stddev",
 * "bits", "wrap_chance" and "epsilon", this round's alone); out is untouched on any
 * error. */
int secagg_ddp_simulate(secagg_cchar *config_json, secagg_cfloat *x, secagg_row *rows,
                        int64_t n, int64_t d, secagg_cint64 *drops, int64_t seed, float *out,
                        char *result, int64_t result_len, char *err, int64_t err_len);

/* Plans a distributed-DP round of `clients` sampled clients of updates of d values
 * (config_json as in secagg_ddp_simulate) and writes its encoding into result as
 * NUL-terminated JSON {"mechanism", "dim", "clip_norm", "gamma", "bits", "beta", "stddev",
 * "rotation"}: the parameters every client's secagg_ddp_encode and the server's
 * secagg_ddp_decode take (512 bytes hold them). The rotation seed (64 hex digits) is
 * replayed from seed >= 0 as secagg_ddp_simulate's round draws it, or drawn from the
 * operating system for seed < 0. result is required. */
int secagg_ddp_plan(secagg_cchar *config_json, int64_t clients, int64_t d, int64_t seed,
                    char *result, int64_t result_len, char *err, int64_t err_len);

/* One client's encoding of its update x[d] under params_json (secagg_ddp_plan's; every
 * key required) into words[padded], padded the power of two at or above d: clipped,
 * rotated, over gamma, rounded until within the norm bound, plus the client's own noise,
 * mod 2^bits. Mask the words with any secure aggregation mod 2^bits. seed >= 0 and client (0-based) replay the rounding and noise of
 * secagg_ddp_simulate's client `client` (insecure: tests and notebooks); seed < 0 draws
 * them from the operating system. If result is not NULL it receives {"norm", "clipped",
 * "roundings"} as NUL-terminated JSON; words is untouched on any error. */
int secagg_ddp_encode(secagg_cchar *params_json, secagg_cfloat *x, int64_t d, int64_t seed,
                      int64_t client, uint32_t *words, int64_t padded, char *result,
                      int64_t result_len, char *err, int64_t err_len);

/* The server's decoding: sum[padded], the clients' words summed mod 2^bits, centred, times
 * gamma, rotated back and over divisor (the number of clients summed), into out[d]. */
int secagg_ddp_decode(secagg_cchar *params_json, secagg_cuint32 *sum, int64_t padded,
                      double divisor, float *out, int64_t d, char *err, int64_t err_len);

/* The epsilon that `rounds` rounds of the subsampled Gaussian mechanism (noise
 * multiplier z, sample rate q) spend at delta, by RDP accounting; classic != 0 uses the
 * classic RDP conversion of published tutorials, 0 the improved one of Opacus and
 * dp_accounting. order (may be NULL) receives the optimal RDP order. */
int secagg_epsilon(double noise_multiplier, double sample_rate, int64_t rounds, double delta,
                   int classic, double *epsilon, double *order, char *err, int64_t err_len);

/* The smallest noise multiplier whose `rounds` rounds spend at most target_epsilon. */
int secagg_noise_multiplier(double target_epsilon, double sample_rate, int64_t rounds,
                            double delta, int classic, double *noise_multiplier,
                            char *err, int64_t err_len);

/* The library's version, NUL-terminated, into buf[len]. */
int secagg_version(char *buf, int64_t len);

/* The SIMD kernels in use, as a NUL-terminated JSON object
 * {"path": ..., "reason": ..., "supported": [...], "workers": ...,
 *  "kernels": [{"primitive": ..., "func": ...}, ...]}, into buf[len] (4096 bytes hold it). */
int secagg_kernels(char *buf, int64_t len);

/* Bounds the threads one call may use (n <= 0: all of GOMAXPROCS, the default), so the
 * library does not oversubscribe cores beside numpy's or torch's own thread pools.
 * Returns the previous bound. */
int64_t secagg_set_threads(int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* SECAGG_H */
