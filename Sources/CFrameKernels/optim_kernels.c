// Optimizer steps (include/CFrameKernelsOptim.h), written once in optim_body.h
// and instantiated here for AVX-512 and AVX2. Fused multiply-adds are off for
// the whole file: the steps must round exactly as the Swift ones, which
// multiply and add separately (as PyTorch's Float32 operations do). Against
// the SSE2 Swift loops, the wider vectors mostly speed up the divide and the
// square root, which bound them.

#pragma STDC FP_CONTRACT OFF

#include "CFrameKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>

// ---------------------------------------------------------------- AVX-512
#define L 16
#define TARGET __attribute__((target("avx512f")))
#define FN(x) x##_avx512
#define SQRT _mm512_sqrt_ps
typedef float OV512 __attribute__((vector_size(64)));
typedef unsigned int OVU512 __attribute__((vector_size(64)));
typedef float OVL512 __attribute__((vector_size(64), aligned(4)));
#define V OV512
#define VU OVU512
#define VL OVL512
#include "optim_body.h"
#undef L
#undef TARGET
#undef FN
#undef SQRT
#undef V
#undef VU
#undef VL

// ---------------------------------------------------------------- AVX2
#define L 8
#define TARGET __attribute__((target("avx2")))
#define FN(x) x##_avx2
#define SQRT _mm256_sqrt_ps
typedef float OV256 __attribute__((vector_size(32)));
typedef unsigned int OVU256 __attribute__((vector_size(32)));
typedef float OVL256 __attribute__((vector_size(32), aligned(4)));
#define V OV256
#define VU OVU256
#define VL OVL256
#include "optim_body.h"

#else  // not x86-64: the Swift loops run instead.

void fsk_adam_avx512(const fsk_adam_constants *k, float *p, const float *g, float *m, float *v, float *v_max,
                     long count) {
    (void)k; (void)p; (void)g; (void)m; (void)v; (void)v_max; (void)count;
    __builtin_trap();
}
void fsk_adam_avx2(const fsk_adam_constants *k, float *p, const float *g, float *m, float *v, float *v_max,
                   long count) {
    (void)k; (void)p; (void)g; (void)m; (void)v; (void)v_max; (void)count;
    __builtin_trap();
}
void fsk_sgd_avx512(const fsk_sgd_constants *k, float *p, const float *g, float *b, long count) {
    (void)k; (void)p; (void)g; (void)b; (void)count;
    __builtin_trap();
}
void fsk_sgd_avx2(const fsk_sgd_constants *k, float *p, const float *g, float *b, long count) {
    (void)k; (void)p; (void)g; (void)b; (void)count;
    __builtin_trap();
}

#endif
