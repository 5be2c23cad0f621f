// Fused LSTM step kernels and the ConvLSTM element-wise kernels: see
// include/CFrameKernelsLSTM.h and CFrameKernelsConvLSTM.h for the contracts and
// lstm_vector_body.h (activations), lstm_step_body.h and convlstm_body.h for
// the code, instantiated here for AVX-512 and AVX2. The forward packing is in
// lstm_pack.c.
//
// Tile shapes (registers: accumulators + weight vectors + one broadcast):
//   forward  AVX-512: 4 rows x 4 gate vectors of 16 units = 16 + 4 + 1 zmm
//            AVX2:    6 rows x 2 gate vectors of 8 units  = 12 + 2 + 1 ymm,
//            twice over the depth (i, f, then g, o): 3 rows x 4 gates would
//            need 17 ymm, and the two accumulators the compiler kept on the
//            stack made every depth step wait on a store and reload
//   backward AVX-512: 8 rows x 2 unit vectors = 16 + 2 + 1 zmm
//            AVX2:    6 rows x 2 unit vectors = 12 + 2 + 1 ymm
// A batch runs in tiles of near-equal heights up to these (so the 16 rows per
// thread of the benchmarks are 4 x 4 or 6 + 5 + 5 forward) and a unit group's
// four gates stay in one group, so the cell update needs no shuffles.
//
// Accuracy of the activations here, measured over all 2^32 Float inputs
// against Double libm (the fused multiply-adds round differently from the
// Swift twins), on both widths: tanh 1.49e-7 at worst (x = 4.50509), sigmoid
// 9.3e-8 (x = 0.408705), as the Swift ones; NaN in gives NaN out.

#include "CFrameKernels.h"

long fsk_lstm_forward_groups(long hidden, long lanes) {
    return (hidden + lanes - 1) / lanes;
}

long fsk_lstm_backward_panels(long hidden, long lanes) {
    return (hidden + 2 * lanes - 1) / (2 * lanes);
}

long fsk_lstm_forward_packed_count(long inputs, long hidden, long lanes) {
    return fsk_lstm_forward_groups(hidden, lanes) * (inputs + hidden) * 4 * lanes;
}

long fsk_lstm_backward_packed_count(long hidden, long lanes) {
    return fsk_lstm_backward_panels(hidden, lanes) * 4 * hidden * 2 * lanes;
}

void fsk_lstm_pack_backward(const float *w, long hidden, long lanes, float *packed) {
    const long H = hidden, G = 4 * hidden, panels = fsk_lstm_backward_panels(hidden, lanes), width = 2 * lanes;
    for (long q = 0; q < panels; q++) {
        for (long k = 0; k < G; k++) {
            float *out = packed + (q * G + k) * width;
            for (long u = 0; u < width; u++) {
                long unit = q * width + u;
                out[u] = unit < H ? w[k * H + unit] : 0.0f;
            }
        }
    }
}

#if defined(__x86_64__)

// ---------------------------------------------------------------- AVX-512
#define L 16
#define FMR 4
#define FPAIRS 0
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
#include "lstm_step_body.h"
#include "convlstm_body.h"
#undef L
#undef FMR
#undef FPAIRS
#undef BMR
#undef TARGET
#undef FN
#undef V
#undef VU
#undef VL

// ---------------------------------------------------------------- AVX2
#define L 8
#define FMR 6
#define FPAIRS 1
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
#include "lstm_step_body.h"
#include "convlstm_body.h"

#else  // not x86-64: the Swift time loop runs instead.

void fsk_lstm_forward_avx512(const fsk_lstm_forward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_lstm_forward_avx2(const fsk_lstm_forward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_lstm_backward_avx512(const fsk_lstm_backward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_lstm_backward_avx2(const fsk_lstm_backward_step *step, long first, long end) {
    (void)step; (void)first; (void)end;
    __builtin_trap();
}
void fsk_sigmoid_avx512(const float *x, float *y, long n) { (void)x; (void)y; (void)n; __builtin_trap(); }
void fsk_tanh_avx512(const float *x, float *y, long n) { (void)x; (void)y; (void)n; __builtin_trap(); }
void fsk_sigmoid_avx2(const float *x, float *y, long n) { (void)x; (void)y; (void)n; __builtin_trap(); }
void fsk_tanh_avx2(const float *x, float *y, long n) { (void)x; (void)y; (void)n; __builtin_trap(); }
void fsk_convlstm_cell_forward_avx512(const fsk_convlstm_cell_forward *s) { (void)s; __builtin_trap(); }
void fsk_convlstm_cell_forward_avx2(const fsk_convlstm_cell_forward *s) { (void)s; __builtin_trap(); }
void fsk_convlstm_cell_backward_avx512(const fsk_convlstm_cell_backward *s) { (void)s; __builtin_trap(); }
void fsk_convlstm_cell_backward_avx2(const fsk_convlstm_cell_backward *s) { (void)s; __builtin_trap(); }
void fsk_winograd_input_avx512(const fsk_winograd_tiles *s) { (void)s; __builtin_trap(); }
void fsk_winograd_input_avx2(const fsk_winograd_tiles *s) { (void)s; __builtin_trap(); }
void fsk_winograd_output_avx512(const fsk_winograd_tiles *s) { (void)s; __builtin_trap(); }
void fsk_winograd_output_avx2(const fsk_winograd_tiles *s) { (void)s; __builtin_trap(); }
void fsk_max_pool_avx512(const fsk_max_pool *s) { (void)s; __builtin_trap(); }
void fsk_max_pool_avx2(const fsk_max_pool *s) { (void)s; __builtin_trap(); }

#endif
