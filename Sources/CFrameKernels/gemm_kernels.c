// GEMM micro-kernels for packed A and for transposed A read in place (the
// row-major in-place kernels are in gemm_in_place.c): see
// include/CFrameKernels.h for the contract.
//
// Each kernel keeps its whole C tile in registers for the k loop: per step it
// loads one row of the B panel (NR floats, vectors along j), broadcasts each of
// the MR values of the A panel's column, and issues MR * NR / width FMAs.
// Full tiles are stored straight to C; edge tiles go through a small stack tile
// so that only existing elements of C are touched.
//
// No compiler flags: every function that uses wide vectors carries its own
// target attribute and is called only after fsk_cpu_level() allowed it.

#include "CFrameKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>

int fsk_cpu_level(void) {
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks (via XGETBV) that the OS saves the wide registers.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return 2;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return 1;
    }
    return 0;
}

// Merges an edge tile (row stride nrFull) into C: C = tile + beta * C on mr x nr.
static void merge_tile(const float *tile, long nrFull, float *c, long ldc, long mr, long nr, float beta) {
    for (long i = 0; i < mr; i++) {
        for (long j = 0; j < nr; j++) {
            float value = tile[i * nrFull + j];
            c[i * ldc + j] = beta == 0.0f ? value : value + beta * c[i * ldc + j];
        }
    }
}

// ---------------------------------------------------------------- AVX-512, 14 x 32
//
// 28 zmm accumulators + 2 B rows + 1 broadcast = 31 of the 32 registers. Per k step:
// 2 vector loads and 14 broadcasts feed 28 FMAs, so the two FMA pipes, not the
// load ports, set the pace.

#define MR512 FSK_AVX512_MR
#define NR512 FSK_AVX512_NR

// One tile, A read column-wise: row i, step p at a[i + p * step] (rows past
// `mr` repeat row mr - 1, so nothing past the operand is read). Packed panels
// have step MR; a column-major operand read in place (dW = dA^T X) has step lda.
// Row-major A read in place has its own kernels in gemm_in_place.c. Always
// inlined into callers passing constants, so each gets its own loop.
__attribute__((target("avx512f,fma"), always_inline))
static inline void tile_avx512(long k, const float *a, long step, long mr,
                               const float *restrict b, float *restrict c, long ldc, float alpha, float beta) {
    const float *row[MR512];
    _Pragma("unroll")
    for (int i = 0; i < MR512; i++) row[i] = a + (i < mr ? i : mr - 1);
    __m512 acc0[MR512], acc1[MR512];
    _Pragma("unroll")
    for (int i = 0; i < MR512; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
    }
    for (long p = 0; p < k; p++) {
        __m512 b0 = _mm512_load_ps(b);
        __m512 b1 = _mm512_load_ps(b + 16);
        _Pragma("unroll")
        for (int i = 0; i < MR512; i++) {
            __m512 ai = _mm512_set1_ps(row[i][p * step]);
            acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
        b += NR512;
    }
    __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
        _Pragma("unroll")
        for (int i = 0; i < MR512; i++) {
            _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, acc0[i]));
            _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, acc1[i]));
        }
    } else {
        __m512 vb = _mm512_set1_ps(beta);
        _Pragma("unroll")
        for (int i = 0; i < MR512; i++) {
            float *out = c + i * ldc;
            _mm512_storeu_ps(out, _mm512_fmadd_ps(vb, _mm512_loadu_ps(out), _mm512_mul_ps(va, acc0[i])));
            _mm512_storeu_ps(out + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(out + 16), _mm512_mul_ps(va, acc1[i])));
        }
    }
}

// A full tile straight into C; an edge tile through a stack tile.
__attribute__((target("avx512f,fma"), always_inline))
static inline void sgemm_avx512(long k, const float *a, long step, long rows, const float *b,
                                float *c, long ldc, long mr, long nr, float alpha, float beta) {
    if (mr == MR512 && nr == NR512) {
        tile_avx512(k, a, step, rows, b, c, ldc, alpha, beta);
    } else {
        _Alignas(64) float tile[MR512 * NR512];
        tile_avx512(k, a, step, rows, b, tile, NR512, alpha, 0.0f);
        merge_tile(tile, NR512, c, ldc, mr, nr, beta);
    }
}

__attribute__((target("avx512f,fma")))
void fsk_sgemm_avx512(long k, const float *a, const float *b, float *c, long ldc,
                      long mr, long nr, float alpha, float beta) {
    // Packed panels hold MR rows (zero past mr): every row may be read.
    sgemm_avx512(k, a, MR512, MR512, b, c, ldc, mr, nr, alpha, beta);
}

__attribute__((target("avx512f,fma")))
void fsk_sgemm_avx512_columns(long k, const float *a, long lda, const float *b, float *c, long ldc,
                              long mr, long nr, float alpha, float beta) {
    sgemm_avx512(k, a, lda, mr, b, c, ldc, mr, nr, alpha, beta);
}

// ---------------------------------------------------------------- AVX2, 6 x 16
//
// 12 ymm accumulators + 2 B rows + 1 broadcast = 15 of the 16 registers.

#define MR256 FSK_AVX2_MR
#define NR256 FSK_AVX2_NR

// The AVX2 tile, A read as in tile_avx512.
__attribute__((target("avx2,fma"), always_inline))
static inline void tile_avx2(long k, const float *a, long step, long mr,
                             const float *restrict b, float *restrict c, long ldc, float alpha, float beta) {
    const float *row[MR256];
    _Pragma("unroll")
    for (int i = 0; i < MR256; i++) row[i] = a + (i < mr ? i : mr - 1);
    __m256 acc0[MR256], acc1[MR256];
    _Pragma("unroll")
    for (int i = 0; i < MR256; i++) {
        acc0[i] = _mm256_setzero_ps();
        acc1[i] = _mm256_setzero_ps();
    }
    for (long p = 0; p < k; p++) {
        __m256 b0 = _mm256_load_ps(b);
        __m256 b1 = _mm256_load_ps(b + 8);
        _Pragma("unroll")
        for (int i = 0; i < MR256; i++) {
            __m256 ai = _mm256_broadcast_ss(row[i] + p * step);
            acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
        }
        b += NR256;
    }
    __m256 va = _mm256_set1_ps(alpha);
    if (beta == 0.0f) {
        _Pragma("unroll")
        for (int i = 0; i < MR256; i++) {
            _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, acc0[i]));
            _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, acc1[i]));
        }
    } else {
        __m256 vb = _mm256_set1_ps(beta);
        _Pragma("unroll")
        for (int i = 0; i < MR256; i++) {
            float *out = c + i * ldc;
            _mm256_storeu_ps(out, _mm256_fmadd_ps(vb, _mm256_loadu_ps(out), _mm256_mul_ps(va, acc0[i])));
            _mm256_storeu_ps(out + 8, _mm256_fmadd_ps(vb, _mm256_loadu_ps(out + 8), _mm256_mul_ps(va, acc1[i])));
        }
    }
}

__attribute__((target("avx2,fma"), always_inline))
static inline void sgemm_avx2(long k, const float *a, long step, long rows, const float *b,
                              float *c, long ldc, long mr, long nr, float alpha, float beta) {
    if (mr == MR256 && nr == NR256) {
        tile_avx2(k, a, step, rows, b, c, ldc, alpha, beta);
    } else {
        _Alignas(32) float tile[MR256 * NR256];
        tile_avx2(k, a, step, rows, b, tile, NR256, alpha, 0.0f);
        merge_tile(tile, NR256, c, ldc, mr, nr, beta);
    }
}

__attribute__((target("avx2,fma")))
void fsk_sgemm_avx2(long k, const float *a, const float *b, float *c, long ldc,
                    long mr, long nr, float alpha, float beta) {
    sgemm_avx2(k, a, MR256, MR256, b, c, ldc, mr, nr, alpha, beta);
}

__attribute__((target("avx2,fma")))
void fsk_sgemm_avx2_columns(long k, const float *a, long lda, const float *b, float *c, long ldc,
                            long mr, long nr, float alpha, float beta) {
    sgemm_avx2(k, a, lda, mr, b, c, ldc, mr, nr, alpha, beta);
}

#else  // not x86-64: no kernels here; the Swift kernel runs instead.

int fsk_cpu_level(void) { return 0; }

void fsk_sgemm_avx512(long k, const float *a, const float *b, float *c, long ldc,
                      long mr, long nr, float alpha, float beta) {
    (void)k; (void)a; (void)b; (void)c; (void)ldc; (void)mr; (void)nr; (void)alpha; (void)beta;
    __builtin_trap();
}

void fsk_sgemm_avx2(long k, const float *a, const float *b, float *c, long ldc,
                    long mr, long nr, float alpha, float beta) {
    (void)k; (void)a; (void)b; (void)c; (void)ldc; (void)mr; (void)nr; (void)alpha; (void)beta;
    __builtin_trap();
}

void fsk_sgemm_avx512_columns(long k, const float *a, long lda, const float *b, float *c, long ldc,
                              long mr, long nr, float alpha, float beta) {
    (void)k; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)mr; (void)nr; (void)alpha; (void)beta;
    __builtin_trap();
}

void fsk_sgemm_avx2_columns(long k, const float *a, long lda, const float *b, float *c, long ldc,
                            long mr, long nr, float alpha, float beta) {
    (void)k; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)mr; (void)nr; (void)alpha; (void)beta;
    __builtin_trap();
}

#endif
