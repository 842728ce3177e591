/* fma_peak: the machine's float32 FMA peak, to quote Krum's pair kernel against.
 * Each thread runs 16 independent chains of 512-bit (or 256-bit) fused multiply-adds,
 * enough to cover the FMA latency, and the figure is FMA lanes per second over all
 * threads. Build: gcc -O3 -march=native -fopenmp fma_peak.c (make peers does). */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

#define ITERS 200000000L

int main(void) {
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double start = omp_get_wtime();
        float sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
#ifdef __AVX512F__
            __m512 acc[16], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
            for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
            for (long k = 0; k < ITERS / 16; k++)
                for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
            for (int i = 0; i < 16; i++) sink += _mm512_reduce_add_ps(acc[i]);
#else
            __m256 acc[16], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
            for (int i = 0; i < 16; i++) acc[i] = _mm256_set1_ps((float)i);
            for (long k = 0; k < ITERS / 16; k++)
                for (int i = 0; i < 16; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
            float t[8];
            for (int i = 0; i < 16; i++) { _mm256_storeu_ps(t, acc[i]); sink += t[0]; }
#endif
        }
        double secs = omp_get_wtime() - start;
#ifdef __AVX512F__
        double lanes = 16.0;
#else
        double lanes = 8.0;
#endif
        double rate = (double)ITERS * lanes * omp_get_max_threads() / secs;
        if (rate > best) best = rate;
        if (sink == 12345) printf("!");
    }
    printf("threads=%d fma32 peak=%.1f G lanes/s (best of 5)\n", omp_get_max_threads(), best / 1e9);
    return 0;
}
