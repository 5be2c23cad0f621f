// GEMM micro-kernels with A read in place, row-major: fsk_sgemm_*_rows and
// fsk_sgemm_*_segments (contract in include/CFrameKernels.h). For operands
// produced row by row and used once (a convolution's patches, Winograd's
// transformed tiles, an LSTM's inputs), where packing A would be a second pass
// over memory.
//
// One body per vector width, inlined with the tile's row count R as a
// constant: the full tile (R = MR, all NR columns, unmasked stores) and one
// copy per edge row count (R < MR, or fewer than NR columns, written through
// masked stores). An edge tile so computes only its R rows and writes C
// directly; through the packed kernels' route (all MR rows computed into a
// stack tile, then a scalar merge) a 4-row edge of a 32-row product cost about
// as much as the two full tiles together (convlstm.seed2.forward, whose
// Winograd blocks are 32 tiles: 18% of the time in edge tiles).
//
// No compiler flags: every function that uses wide vectors carries its own
// target attribute and is called only after fsk_cpu_level() allowed it.

#include "CFrameKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define MR512 FSK_AVX512_MR
#define NR512 FSK_AVX512_NR
#define MR256 FSK_AVX2_MR
#define NR256 FSK_AVX2_NR

// ---------------------------------------------------------------- AVX-512, 14 x 32

// R rows (1...MR512) of one tile with A read in place as `segments` row-major
// runs of k steps (rows lda apart, runs segmentStride apart): one flat loop
// over all steps, rows reached from five base pointers as base + {0, 1, 2} *
// lda. As two nested loops, or with a pointer per row, the compiler ran out of
// general registers and shuffled or spilled the accumulators every step (34
// moves per step in the segmented loop; a third of the speed on
// cnnlstm.seed2's convolutions). Writes the first nr columns of C's R rows.
__attribute__((target("avx512f,fma"), always_inline))
static inline void in_place_avx512(const int R, long k, long segments, long segmentStride, const float *a, long lda,
                                   const float *restrict b, float *restrict c, long ldc, long nr,
                                   float alpha, float beta) {
    __m512 x0[MR512], x1[MR512];
    _Pragma("unroll")
    for (int i = 0; i < MR512; i++) {
        x0[i] = _mm512_setzero_ps();
        x1[i] = _mm512_setzero_ps();
    }
    const float *p0 = a;
    const long total = k * segments, lda3 = 3 * lda, jump = segmentStride - k;
    long left = k;
    for (long t = 0; t < total; t++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        const float *p3 = R > 3 ? p0 + lda3 : p0, *p6 = R > 6 ? p3 + lda3 : p0;
        const float *p9 = R > 9 ? p6 + lda3 : p0, *p12 = R > 12 ? p9 + lda3 : p0;
#define FSK_ROW(i, value) do { \
            if (R > (i)) { \
                __m512 v = _mm512_set1_ps(value); \
                x0[i] = _mm512_fmadd_ps(v, b0, x0[i]); \
                x1[i] = _mm512_fmadd_ps(v, b1, x1[i]); \
            } \
        } while (0)
        FSK_ROW(0, p0[0]); FSK_ROW(1, p0[lda]); FSK_ROW(2, p0[2 * lda]);
        FSK_ROW(3, p3[0]); FSK_ROW(4, p3[lda]); FSK_ROW(5, p3[2 * lda]);
        FSK_ROW(6, p6[0]); FSK_ROW(7, p6[lda]); FSK_ROW(8, p6[2 * lda]);
        FSK_ROW(9, p9[0]); FSK_ROW(10, p9[lda]); FSK_ROW(11, p9[2 * lda]);
        FSK_ROW(12, p12[0]); FSK_ROW(13, p12[lda]);
#undef FSK_ROW
        p0++;
        if (--left == 0) {
            p0 += jump;
            left = k;
        }
        b += NR512;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? 0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    _Pragma("unroll")
    for (int i = 0; i < R; i++) {
        float *out = c + i * ldc;
        __m512 y0 = _mm512_mul_ps(va, x0[i]), y1 = _mm512_mul_ps(va, x1[i]);
        if (nr == NR512) {
            if (beta != 0.0f) {   // beta 0: C is not read (it may hold anything)
                y0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(out), y0);
                y1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(out + 16), y1);
            }
            _mm512_storeu_ps(out, y0);
            _mm512_storeu_ps(out + 16, y1);
        } else {
            if (beta != 0.0f) {
                y0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, out), y0);
                y1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, out + 16), y1);
            }
            _mm512_mask_storeu_ps(out, m0, y0);
            _mm512_mask_storeu_ps(out + 16, m1, y1);
        }
    }
}

__attribute__((target("avx512f,fma")))
static void tile_in_place_avx512(long k, long segments, long segmentStride, const float *a, long lda,
                                 const float *b, float *c, long ldc, float alpha, float beta) {
    in_place_avx512(MR512, k, segments, segmentStride, a, lda, b, c, ldc, NR512, alpha, beta);
}

__attribute__((target("avx512f,fma")))
static void edge_in_place_avx512(long k, long segments, long segmentStride, const float *a, long lda,
                                 const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta) {
#define FSK_EDGE(R) case R: in_place_avx512(R, k, segments, segmentStride, a, lda, b, c, ldc, nr, alpha, beta); return
    switch (mr) {
        FSK_EDGE(1); FSK_EDGE(2); FSK_EDGE(3); FSK_EDGE(4); FSK_EDGE(5); FSK_EDGE(6); FSK_EDGE(7);
        FSK_EDGE(8); FSK_EDGE(9); FSK_EDGE(10); FSK_EDGE(11); FSK_EDGE(12); FSK_EDGE(13); FSK_EDGE(14);
        default: return;
    }
#undef FSK_EDGE
}

__attribute__((target("avx512f,fma")))
void fsk_sgemm_avx512_segments(long k, long segments, long segment_stride, const float *a, long lda,
                               const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta) {
    if (mr == MR512 && nr == NR512) {
        tile_in_place_avx512(k, segments, segment_stride, a, lda, b, c, ldc, alpha, beta);
    } else {
        edge_in_place_avx512(k, segments, segment_stride, a, lda, b, c, ldc, mr, nr, alpha, beta);
    }
}

void fsk_sgemm_avx512_rows(long k, const float *a, long lda, const float *b, float *c, long ldc,
                           long mr, long nr, float alpha, float beta) {
    fsk_sgemm_avx512_segments(k, 1, k, a, lda, b, c, ldc, mr, nr, alpha, beta);
}

// ---------------------------------------------------------------- AVX2, 6 x 16

// The AVX2 twin of in_place_avx512: rows from two bases as base + {0, 1, 2} * lda.
__attribute__((target("avx2,fma"), always_inline))
static inline void in_place_avx2(const int R, long k, long segments, long segmentStride, const float *a, long lda,
                                 const float *restrict b, float *restrict c, long ldc, long nr,
                                 float alpha, float beta) {
    __m256 x0[MR256], x1[MR256];
    _Pragma("unroll")
    for (int i = 0; i < MR256; i++) {
        x0[i] = _mm256_setzero_ps();
        x1[i] = _mm256_setzero_ps();
    }
    const float *p0 = a;
    const long total = k * segments, jump = segmentStride - k;
    long left = k;
    for (long t = 0; t < total; t++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        const float *p3 = R > 3 ? p0 + 3 * lda : p0;
#define FSK_ROW(i, pointer) do { \
            if (R > (i)) { \
                __m256 v = _mm256_broadcast_ss(pointer); \
                x0[i] = _mm256_fmadd_ps(v, b0, x0[i]); \
                x1[i] = _mm256_fmadd_ps(v, b1, x1[i]); \
            } \
        } while (0)
        FSK_ROW(0, p0); FSK_ROW(1, p0 + lda); FSK_ROW(2, p0 + 2 * lda);
        FSK_ROW(3, p3); FSK_ROW(4, p3 + lda); FSK_ROW(5, p3 + 2 * lda);
#undef FSK_ROW
        p0++;
        if (--left == 0) {
            p0 += jump;
            left = k;
        }
        b += NR256;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), lanes);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), lanes);
    _Pragma("unroll")
    for (int i = 0; i < R; i++) {
        float *out = c + i * ldc;
        __m256 y0 = _mm256_mul_ps(va, x0[i]), y1 = _mm256_mul_ps(va, x1[i]);
        if (nr == NR256) {
            if (beta != 0.0f) {   // beta 0: C is not read (it may hold anything)
                y0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(out), y0);
                y1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(out + 8), y1);
            }
            _mm256_storeu_ps(out, y0);
            _mm256_storeu_ps(out + 8, y1);
        } else {
            if (beta != 0.0f) {
                y0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(out, m0), y0);
                y1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(out + 8, m1), y1);
            }
            _mm256_maskstore_ps(out, m0, y0);
            _mm256_maskstore_ps(out + 8, m1, y1);
        }
    }
}

__attribute__((target("avx2,fma")))
static void tile_in_place_avx2(long k, long segments, long segmentStride, const float *a, long lda,
                               const float *b, float *c, long ldc, float alpha, float beta) {
    in_place_avx2(MR256, k, segments, segmentStride, a, lda, b, c, ldc, NR256, alpha, beta);
}

__attribute__((target("avx2,fma")))
static void edge_in_place_avx2(long k, long segments, long segmentStride, const float *a, long lda,
                               const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta) {
#define FSK_EDGE(R) case R: in_place_avx2(R, k, segments, segmentStride, a, lda, b, c, ldc, nr, alpha, beta); return
    switch (mr) {
        FSK_EDGE(1); FSK_EDGE(2); FSK_EDGE(3); FSK_EDGE(4); FSK_EDGE(5); FSK_EDGE(6);
        default: return;
    }
#undef FSK_EDGE
}

__attribute__((target("avx2,fma")))
void fsk_sgemm_avx2_segments(long k, long segments, long segment_stride, const float *a, long lda,
                             const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta) {
    if (mr == MR256 && nr == NR256) {
        tile_in_place_avx2(k, segments, segment_stride, a, lda, b, c, ldc, alpha, beta);
    } else {
        edge_in_place_avx2(k, segments, segment_stride, a, lda, b, c, ldc, mr, nr, alpha, beta);
    }
}

void fsk_sgemm_avx2_rows(long k, const float *a, long lda, const float *b, float *c, long ldc,
                         long mr, long nr, float alpha, float beta) {
    fsk_sgemm_avx2_segments(k, 1, k, a, lda, b, c, ldc, mr, nr, alpha, beta);
}

#else  // not x86-64: no kernels here; the Swift kernel runs instead.

void fsk_sgemm_avx512_rows(long k, const float *a, long lda, const float *b, float *c, long ldc,
                           long mr, long nr, float alpha, float beta) {
    (void)k; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)mr; (void)nr; (void)alpha; (void)beta;
    __builtin_trap();
}

void fsk_sgemm_avx2_rows(long k, const float *a, long lda, const float *b, float *c, long ldc,
                         long mr, long nr, float alpha, float beta) {
    (void)k; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)mr; (void)nr; (void)alpha; (void)beta;
    __builtin_trap();
}

void fsk_sgemm_avx512_segments(long k, long segments, long segment_stride, const float *a, long lda,
                               const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta) {
    (void)k; (void)segments; (void)segment_stride; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)mr; (void)nr;
    (void)alpha; (void)beta;
    __builtin_trap();
}

void fsk_sgemm_avx2_segments(long k, long segments, long segment_stride, const float *a, long lda,
                             const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta) {
    (void)k; (void)segments; (void)segment_stride; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)mr; (void)nr;
    (void)alpha; (void)beta;
    __builtin_trap();
}

#endif
