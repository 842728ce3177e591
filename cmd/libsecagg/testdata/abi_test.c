/* A C caller of libsecagg: the header compiles warning-free, results are right, bad
 * calls return 400 with a JSON error and leave out untouched, and host threads may call
 * at once. Built and run by `make cabi`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../secagg.h"

#define N 9
#define D 4099
#define PADDED 8192 /* the power of two at or above D */

static float block[N * D];
static float want[D];
static uint32_t words[PADDED], sum[PADDED];
static int failures;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            fprintf(stderr, "abi_test.c:%d: ", __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                  \
            fputc('\n', stderr);                           \
            failures++;                                    \
        }                                                  \
    } while (0)

static void *worker(void *arg) {
    (void)arg;
    float *out = malloc(sizeof(float) * D);
    char err[512];
    for (int rep = 0; rep < 20; rep++) {
        int st = secagg_median(block, NULL, N, D, out, err, sizeof err);
        CHECK(st == 0 && memcmp(out, want, sizeof want) == 0, "concurrent median differs (%d: %s)", st, err);
    }
    free(out);
    return NULL;
}

int main(void) {
    /* client i holds i + j/D: the median is 4 + j/D, the mean too. */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) block[i * D + j] = (float)i + (float)j / D;
    const float *rows[N];
    for (int i = 0; i < N; i++) rows[i] = block + i * D;

    float out[D];
    char err[512];
    CHECK(secagg_median(block, NULL, N, D, want, err, sizeof err) == 0, "median: %s", err);
    CHECK(secagg_mean(NULL, rows, N, D, out, err, sizeof err) == 0, "mean over rows: %s", err);
    for (int j = 0; j < D; j += 1000) {
        float m = 4.0f + (float)j / D;
        CHECK(want[j] == m, "median[%d] = %g, want %g", j, want[j], m);
        CHECK(out[j] > m - 1e-5f && out[j] < m + 1e-5f, "mean[%d] = %g, want %g", j, out[j], m);
    }

    /* Bad calls: a status of 400, a JSON error, out untouched. */
    for (int j = 0; j < D; j++) out[j] = 7;
    struct {
        const char *name;
        int status;
    } bad[] = {
        {"no input", secagg_mean(NULL, NULL, N, D, out, err, sizeof err)},
        {"negative n", secagg_mean(block, NULL, -1, D, out, err, sizeof err)},
        {"NULL out", secagg_mean(block, NULL, N, D, NULL, err, sizeof err)},
        {"out overlaps", secagg_mean(block, NULL, 2, D, block + D / 2, err, sizeof err)},
        {"f too large", secagg_krum(block, NULL, N, D, 4, 1, out, NULL, err, sizeof err)},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECK(bad[k].status == 400, "%s: status %d", bad[k].name, bad[k].status);
    CHECK(strstr(err, "\"error\":\"insufficient_clients\"") != NULL, "last error: %s", err);
    CHECK(out[0] == 7 && out[D - 1] == 7, "a rejected call wrote into out");

    /* Distributed DP a client at a time: plan, each client encodes, the words summed mod
     * 2^bits (what a secure sum gives), decoded: secagg_ddp_simulate's round bit for bit. */
    char params[512], info[128];
    const char *cfg = "{\"clip_norm\": 1000, \"bits\": 24, \"epsilon\": 20, \"delta\": 1e-5, "
                      "\"rounds\": 1, \"min_devices_per_round\": 9}";
    float simulated[D];
    CHECK(secagg_ddp_simulate(cfg, block, NULL, N, D, NULL, 5, simulated, NULL, 0, err, sizeof err) == 0, "ddp simulate: %s", err);
    CHECK(secagg_ddp_plan(cfg, N, D, 5, params, sizeof params, err, sizeof err) == 0, "ddp plan: %s", err);
    CHECK(strstr(params, "\"stddev\":") != NULL, "ddp plan: no stddev in %s", params);
    for (int i = 0; i < N; i++) {
        int st = secagg_ddp_encode(params, block + i * D, D, 5, i, words, PADDED, info, sizeof info, err, sizeof err);
        CHECK(st == 0 && strstr(info, "\"roundings\":") != NULL, "ddp encode %d (%d): %s", i, st, err);
        for (int j = 0; j < PADDED; j++) sum[j] = (sum[j] + words[j]) & ((1u << 24) - 1);
    }
    CHECK(secagg_ddp_decode(params, sum, PADDED, N, out, D, err, sizeof err) == 0, "ddp decode: %s", err);
    CHECK(memcmp(out, simulated, sizeof out) == 0, "ddp client by client differs from ddp simulate");
    /* Bad calls: every key of the parameters is required, lengths must match, nothing written. */
    for (int j = 0; j < PADDED; j++) words[j] = 7;
    char shorter[512];
    snprintf(shorter, sizeof shorter, "%s", params);
    char *rot = strstr(shorter, ",\"rotation\"");
    if (rot) strcpy(rot, "}");
    CHECK(secagg_ddp_encode(shorter, block, D, 5, 0, words, PADDED, NULL, 0, err, sizeof err) == 422 &&
              strstr(err, "rotation is required") != NULL, "ddp encode without a rotation: %s", err);
    CHECK(secagg_ddp_encode(params, block, D, 5, 0, words, D, NULL, 0, err, sizeof err) == 400, "ddp encode into D words");
    CHECK(secagg_ddp_encode(params, block, D, 5, 0, words, PADDED, info, 4, err, sizeof err) == 400, "ddp info into 4 bytes");
    CHECK(words[0] == 7 && words[PADDED - 1] == 7, "a rejected ddp encode wrote into words");
    CHECK(secagg_ddp_decode(params, sum, D, N, out, D, err, sizeof err) == 400, "ddp decode of D words");
    CHECK(secagg_ddp_plan(cfg, N, D, 5, NULL, 0, err, sizeof err) == 400, "ddp plan without a result");

    char version[64];
    CHECK(secagg_version(version, sizeof version) == 0 && version[0] != 0, "version");
    CHECK(secagg_version(version, 2) == 400, "version into 2 bytes");

    pthread_t threads[4];
    for (int t = 0; t < 4; t++) pthread_create(&threads[t], NULL, worker, NULL);
    for (int t = 0; t < 4; t++) pthread_join(threads[t], NULL);

    if (failures) return 1;
    printf("abi_test: ok (libsecagg %s)\n", version);
    return 0;
}
