#ifndef CFRAMEKERNELS_H
#define CFRAMEKERNELS_H

// x86 single-precision GEMM micro-kernels for the Recurrent module, plus the CPU
// check that decides which may run, and the bench's FMA ceiling; the fused LSTM
// steps are in CFrameKernelsLSTM.h, the ConvLSTM cells, Winograd transforms and
// max pooling in CFrameKernelsConvLSTM.h, the optimizer steps in
// CFrameKernelsOptim.h. Everything else (packing, cache blocking, threading,
// the portable Swift kernels) lives in Swift.
//
// A micro-kernel computes one MR x NR tile of row-major C from two packed panels:
//
//   C[i][j] = alpha * sum_p a[p*MR + i] * b[p*NR + j]  (+ beta * C[i][j])
//
//   a: packed A micro-panel, k steps of MR floats (one column of A's tile per step)
//   b: packed B micro-panel, k steps of NR floats (one row of B's tile per step),
//      64-byte aligned
//   c: the tile's top-left element, rows ldc floats apart
//   mr, nr: the rows and columns of the tile that exist (<= MR, <= NR); the panels
//      are zero-padded past them and only the existing part of C is read or written
//   beta == 0: C is overwritten and never read (NaN in C does not propagate)
//
// On other architectures, and on x86 CPUs without the features, fsk_cpu_level()
// reports what may run; calling a kernel that is not available is a bug
// (the stubs trap).

#ifdef __cplusplus
extern "C" {
#endif

/// 0: neither kernel may run; 1: AVX2 and FMA; 2: AVX-512F (and AVX2, FMA).
int fsk_cpu_level(void);

/// Register block of the AVX-512 kernel: 14 rows x 32 columns (28 zmm accumulators).
enum { FSK_AVX512_MR = 14, FSK_AVX512_NR = 32 };
/// Register block of the AVX2 kernel: 6 rows x 16 columns (12 ymm accumulators).
enum { FSK_AVX2_MR = 6, FSK_AVX2_NR = 16 };

void fsk_sgemm_avx512(long k, const float *a, const float *b, float *c, long ldc,
                      long mr, long nr, float alpha, float beta);

void fsk_sgemm_avx2(long k, const float *a, const float *b, float *c, long ldc,
                    long mr, long nr, float alpha, float beta);

// The same products with A read in place, row-major: row i of the tile at
// a + i * lda (i < mr; no row past mr is read), step p at a + i * lda + p.
void fsk_sgemm_avx512_rows(long k, const float *a, long lda, const float *b, float *c, long ldc,
                           long mr, long nr, float alpha, float beta);

void fsk_sgemm_avx2_rows(long k, const float *a, long lda, const float *b, float *c, long ldc,
                         long mr, long nr, float alpha, float beta);

// The same products with A read in place as `segments` row-major runs: row i,
// step p of run s at a + i * lda + s * segment_stride + p (p < k, so the depth
// is segments * k and B is packed for all of it). One call per tile for a
// stride-1 convolution, whose kernel rows are the runs (ConvolutionDirect.swift).
void fsk_sgemm_avx512_segments(long k, long segments, long segment_stride, const float *a, long lda,
                               const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta);

void fsk_sgemm_avx2_segments(long k, long segments, long segment_stride, const float *a, long lda,
                             const float *b, float *c, long ldc, long mr, long nr, float alpha, float beta);

// The same products with A read in place, column-major (a transposed operand
// as stored): row i of the tile, step p at a + i + p * lda (i < mr).
void fsk_sgemm_avx512_columns(long k, const float *a, long lda, const float *b, float *c, long ldc,
                              long mr, long nr, float alpha, float beta);

void fsk_sgemm_avx2_columns(long k, const float *a, long lda, const float *b, float *c, long ldc,
                            long mr, long nr, float alpha, float beta);

// `steps` rounds of 12 independent vector FMAs on one thread, no memory
// traffic (12 * steps * lanes * 2 FLOPs): the machine's ceiling, measured by
// frameseq-bench's machine.fma-peak. Returns a sum so nothing is optimized away.
float fsk_fma_peak_avx512(long steps);
float fsk_fma_peak_avx2(long steps);

#ifdef __cplusplus
}
#endif

#include "CFrameKernelsLSTM.h"
#include "CFrameKernelsGRU.h"
#include "CFrameKernelsConvLSTM.h"
#include "CFrameKernelsOptim.h"

#endif
