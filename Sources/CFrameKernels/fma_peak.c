// The machine's ceiling for the benchmarks: fused multiply-adds with no
// memory traffic, 12 independent accumulator chains (enough to cover the FMA
// latency on both pipes), as frameseq-bench's `machine.fma-peak` workload
// runs them on every thread. A kernel at this rate does nothing else; the
// GEMM and LSTM workloads' GFLOP/s are read against it.

#include "CFrameKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define FSK_PEAK_BODY(V, FMA, SET1, REDUCE) \
    V b = SET1(0.999f), c = SET1(0.001f); \
    V a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5); \
    V a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11); \
    for (long k = 0; k < steps; k++) { \
        a0 = FMA(a0, b, c); a1 = FMA(a1, b, c); a2 = FMA(a2, b, c); a3 = FMA(a3, b, c); \
        a4 = FMA(a4, b, c); a5 = FMA(a5, b, c); a6 = FMA(a6, b, c); a7 = FMA(a7, b, c); \
        a8 = FMA(a8, b, c); a9 = FMA(a9, b, c); a10 = FMA(a10, b, c); a11 = FMA(a11, b, c); \
    } \
    V sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)); \
    return REDUCE(sum)

__attribute__((target("avx512f,fma")))
float fsk_fma_peak_avx512(long steps) {
    FSK_PEAK_BODY(__m512, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_reduce_add_ps);
}

__attribute__((target("avx2,fma")))
static float reduce_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

__attribute__((target("avx2,fma")))
float fsk_fma_peak_avx2(long steps) {
    FSK_PEAK_BODY(__m256, _mm256_fmadd_ps, _mm256_set1_ps, reduce_avx2);
}

#else

float fsk_fma_peak_avx512(long steps) { (void)steps; __builtin_trap(); }
float fsk_fma_peak_avx2(long steps) { (void)steps; __builtin_trap(); }

#endif
