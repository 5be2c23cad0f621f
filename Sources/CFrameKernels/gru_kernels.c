// Fused GRU step kernels: see include/CFrameKernelsGRU.h for the contracts
// and gru_step_body.h for the code, instantiated here for AVX-512 and AVX2
// with the activations of lstm_vector_body.h. The packings are scalar: they
// run once per call (training) or once per weights (inference).
//
// Tile shapes (registers: accumulators + weight vectors + one broadcast):
//   forward  AVX-512: 8 rows x 3 gate vectors of 16 units = 24 + 3 + 1 zmm
//            AVX2:    4 rows x 3 gate vectors of 8 units  = 12 + 3 + 1 ymm
//   backward AVX-512: 8 rows x 2 unit vectors = 16 + 2 + 1 zmm
//            AVX2:    6 rows x 2 unit vectors = 12 + 2 + 1 ymm
// A unit group's three gates stay in one group, so the element-wise part
// needs no shuffles.

#include "CFrameKernels.h"

// Only the static vector helpers of lstm_vector_body.h (its test entry points live in lstm_kernels.c).
#define FSK_VECTOR_BODY_INTERNAL_ONLY 1

long fsk_gru_forward_groups(long hidden, long lanes) {
    return (hidden + lanes - 1) / lanes;
}

long fsk_gru_backward_panels(long hidden, long lanes) {
    return (hidden + 2 * lanes - 1) / (2 * lanes);
}

long fsk_gru_forward_packed_count(long hidden, long lanes) {
    return fsk_gru_forward_groups(hidden, lanes) * hidden * 3 * lanes;
}

long fsk_gru_backward_packed_count(long hidden, long lanes) {
    return fsk_gru_backward_panels(hidden, lanes) * 3 * hidden * 2 * lanes;
}

int fsk_gru_pack_forward(const float *w, long hidden, long lanes, float *packed) {
    const long H = hidden, groups = fsk_gru_forward_groups(hidden, lanes), stride = 3 * lanes;
    int finite = 1;   // v - v is 0 for finite v, NaN for infinities and NaN
    // In blocks of 16 depths, so that each (gate, unit)'s 16 contiguous floats
    // are spread over packed rows that stay in L1 (as fsk_lstm_pack_forward_reference).
    for (long q = 0; q < groups; q++) {
        float *group = packed + q * H * stride;
        for (long k0 = 0; k0 < H; k0 += 16) {
            const long k1 = k0 + 16 < H ? k0 + 16 : H;
            for (long gate = 0; gate < 3; gate++) {
                for (long u = 0; u < lanes; u++) {
                    const long unit = q * lanes + u;
                    float *out = group + gate * lanes + u;
                    if (unit >= H) {
                        for (long k = k0; k < k1; k++) out[k * stride] = 0.0f;
                        continue;
                    }
                    const float *source = w + (gate * H + unit) * H;
                    for (long k = k0; k < k1; k++) {
                        out[k * stride] = source[k];
                        finite &= source[k] - source[k] == 0.0f;
                    }
                }
            }
        }
    }
    return finite;
}

void fsk_gru_pack_backward(const float *w, long hidden, long lanes, float *packed) {
    const long H = hidden, G = 3 * hidden, panels = fsk_gru_backward_panels(hidden, lanes), width = 2 * lanes;
    for (long q = 0; q < panels; q++) {
        for (long k = 0; k < G; k++) {
            float *out = packed + (q * G + k) * width;
            for (long u = 0; u < width; u++) {
                const long unit = q * width + u;
                out[u] = unit < H ? w[k * H + unit] : 0.0f;
            }
        }
    }
}

#if defined(__x86_64__)

// ---------------------------------------------------------------- AVX-512
#define L 16
#define GMR 8
#define BMR 8
#define TARGET __attribute__((target("avx512f,fma")))
#define FN(x) x##_avx512
typedef float V512 __attribute__((vector_size(64)));
typedef unsigned int VU512 __attribute__((vector_size(64)));
typedef float VL512 __attribute__((vector_size(64), aligned(4)));
#define V V512
#define VU VU512
#define VL VL512
#include "lstm_vector_body.h"
#include "gru_step_body.h"
#undef L
#undef GMR
#undef BMR
#undef TARGET
#undef FN
#undef V
#undef VU
#undef VL

// ---------------------------------------------------------------- AVX2
#define L 8
#define GMR 4
#define BMR 6
#define TARGET __attribute__((target("avx2,fma")))
#define FN(x) x##_avx2
typedef float V256 __attribute__((vector_size(32)));
typedef unsigned int VU256 __attribute__((vector_size(32)));
typedef float VL256 __attribute__((vector_size(32), aligned(4)));
#define V V256
#define VU VU256
#define VL VL256
#include "lstm_vector_body.h"
#include "gru_step_body.h"

#else  // not x86-64: the Swift time loop runs instead.

void fsk_gru_forward_avx512(const fsk_gru_forward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_gru_forward_avx2(const fsk_gru_forward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_gru_backward_avx512(const fsk_gru_backward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_gru_backward_avx2(const fsk_gru_backward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}

#endif
