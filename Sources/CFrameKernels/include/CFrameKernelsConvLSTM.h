#ifndef CFRAMEKERNELS_CONVLSTM_H
#define CFRAMEKERNELS_CONVLSTM_H

// Element-wise parts of a ConvLSTM2D step for x86, over a run of consecutive
// pixels: the cell update forward and its gradient backward, the Winograd
// F(2x2, 3x3) tile transforms, and max pooling of one image. The Swift twins (Recurrent/Kernels/
// ConvLSTMForward.swift, ConvLSTMBackward.swift, Winograd3x3.swift) run the
// same equations in 4-lane vectors; tests hold these to them.
//
// Legend: R pixels (rows), F filters, G = 4F gates i, f, g, o per pixel. Every
// per-pixel operand is row-major with rows F (states) or G (gates) apart, as
// the [P, F] and [P, G] buffers of a ConvLSTM2D are.
//
// Forward, per pixel (z the pre-activations, bias included):
//   i = sigmoid(z_i + w_ci c_prev);  f = sigmoid(z_f + w_cf c_prev);  g = tanh(z_g)
//   c = f c_prev + i g;  o = sigmoid(z_o + w_co c);  h = o tanh(c)
// Backward, per pixel (tc = tanh(c); dh the carried gradient plus dy):
//   dz_o = dh tc o (1 - o);  dc += dh o (1 - tc^2) + w_co dz_o
//   dz_i = dc g i (1 - i);  dz_f = dc c_prev f (1 - f);  dz_g = dc i (1 - g^2)
//   dc_prev = dc f + w_ci dz_i + w_cf dz_f
//   dw_ci += dz_i c_prev;  dw_cf += dz_f c_prev;  dw_co += dz_o c
// Activations are those of CFrameKernelsLSTM.h (within 1.5e-7 of tanh).

#ifdef __cplusplus
extern "C" {
#endif

/// One run of pixels forward. Optional pointers may be NULL.
typedef struct fsk_convlstm_cell_forward {
    long rows;                   // R
    long filters;                // F
    float *gates;                // [R, G]: pre-activations in, activated gates out
    const float *previous_cells; // [R, F]: c_{t-1}
    float *cells;                // [R, F]: c_t out (may be previous_cells: in place)
    float *hidden;               // [R, F]: h_t out
    const float *peepholes;      // optional [R, F]: w_ci; w_cf and w_co peephole_stride and twice that after
    long peephole_stride;
} fsk_convlstm_cell_forward;

/// One run of pixels backward. Optional pointers may be NULL.
typedef struct fsk_convlstm_cell_backward {
    long rows;                   // R
    long filters;                // F
    const float *gates;          // [R, G]: activated gates of the step
    float *gate_gradient;        // [R, G]: dz out
    const float *cells;          // [R, F]: c_t
    const float *previous_cells; // [R, F]: c_{t-1}
    const float *hidden_gradient; // [R, F]: dh carried from later steps
    const float *output_gradient; // optional [R, F]: dy, added to dh
    float *cell_gradient;        // [R, F]: dc_t in, dc_{t-1} out
    const float *peepholes;      // optional [R, F] as forward
    float *peephole_gradient;    // optional [R, F]: accumulated, same layout as peepholes
    long peephole_stride;
} fsk_convlstm_cell_backward;

void fsk_convlstm_cell_forward_avx512(const fsk_convlstm_cell_forward *step);
void fsk_convlstm_cell_forward_avx2(const fsk_convlstm_cell_forward *step);
void fsk_convlstm_cell_backward_avx512(const fsk_convlstm_cell_backward *step);
void fsk_convlstm_cell_backward_avx2(const fsk_convlstm_cell_backward *step);

/// Winograd tiles [first, first + count) of an [height, width, channels]
/// image (tile (ty, tx) = divmod(index, tiles_wide) has its 4 x 4 window at
/// (2 ty - 1, 2 tx - 1); `zero` is `channels` zeros read outside the image):
/// V = B^T d B of tile r goes to `v + r * channels`, plane xi `plane_stride` further.
typedef struct fsk_winograd_tiles {
    const float *image;          // input transform: the image; output transform: unused
    float *output;               // output transform: [height, width] pixels output_stride apart; else unused
    long output_stride;
    long output_origin;          // output transform: the pixel index (y * width + x) stored at `output`
    int overwrite;               // output transform: write instead of add
    long height, width, channels, tiles_wide;
    const float *zero;
    long first, count;
    float *v;                    // input transform: V out; output transform: M in
    long plane_stride;
} fsk_winograd_tiles;

/// V = B^T d B of each tile (see fsk_winograd_tiles).
void fsk_winograd_input_avx512(const fsk_winograd_tiles *tiles);
void fsk_winograd_input_avx2(const fsk_winograd_tiles *tiles);
/// output[2x2 block of tile r] (+)= A^T M A, M of tile r at `v + r * channels`
/// (planes `plane_stride` apart); pixels past the image are not written.
void fsk_winograd_output_avx512(const fsk_winograd_tiles *tiles);
void fsk_winograd_output_avx2(const fsk_winograd_tiles *tiles);

/// Max pooling of one [height, width, channels] image (rows `row_pitch`
/// pixels apart) into [out_height, out_width, channels]: each output the
/// largest value of its window (clipped to the image), a NaN winning, as
/// Recurrent/Kernels/Convolution/MaxPooling.swift's maxPoolValues.
typedef struct fsk_max_pool {
    const float *input;
    float *output;
    long height, width, channels, row_pitch;
    long out_height, out_width;
    long kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left;
} fsk_max_pool;

void fsk_max_pool_avx512(const fsk_max_pool *pool);
void fsk_max_pool_avx2(const fsk_max_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
