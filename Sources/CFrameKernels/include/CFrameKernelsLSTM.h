#ifndef CFRAMEKERNELS_LSTM_H
#define CFRAMEKERNELS_LSTM_H

// Fused LSTM time steps for x86: one call runs the recurrent product of one
// timestep and, while its tile is still in registers, the element-wise part
// (gate activations and cell update forward; the gate gradients backward).
// The Swift twin (Recurrent/Kernels/LSTM/LSTMSequence.swift) runs the same
// equations with a separate product; tests hold these to it.
//
// Legend: B batch rows of one timestep, H hidden units, G = 4H gates in the
// order input, forget, cell, output (i, f, g, o). L lanes of one vector (16
// for AVX-512, 8 for AVX2). A "unit group" is the L units [q*L, q*L + L).
// Every per-row operand is addressed as `base + b * ld` for batch row b, so
// batch- and time-major sequences are both a (base, ld) pair per step.
//
// Forward of one step, for the unit groups [first, end):
//   a = x_t W_ih^T + h_prev W_hh^T + bias           [B, G]
// where x_t W_ih^T is either part of the step's product (inputs > 0: W_ih
// packed with W_hh) or done before for all steps and read from `gates`.
//   i, f, o = sigmoid(a_i, a_f, a_o); g = tanh(a_g)
//   c = f * c + i * g;  h = o * tanh(c)
// Backward of one step, for the unit groups [first, end):
//   dh = dA_next W_hh + dh_in + dy                  [B, H]
//   then, with the saved activations of this step (gates != NULL):
//   dc_total = dc + dh * o * (1 - tanh(c)^2)
//   dA = (dc_total g i (1-i), dc_total c_prev f (1-f), dc_total i (1-g^2), dh tanh(c) o (1-o))
//   dc = dc_total * f
//   or, without them (gates == NULL), dh is written to dh_out.
//
// Activations use the approximations of Recurrent/Kernels/Activation/Activations.swift
// (same reduction and polynomials; the fused multiply-adds here only round
// less), within 1.5e-7 of tanh and 1e-7 of sigmoid (see lstm_kernels.c).

#ifdef __cplusplus
extern "C" {
#endif

/// One forward step. Pointers marked optional may be NULL.
typedef struct fsk_lstm_forward_step {
    long batch;                  // B
    long hidden;                 // H
    long inputs;                 // I when x_t is part of the product, else 0
    const float *weights;        // packed by fsk_lstm_pack_forward for this path's lanes and `inputs`
    const float *bias;           // [G]: b_ih + b_hh
    const float *x;  long ldx;   // x_t [B, I] (read when inputs > 0)
    const float *h;  long ldh;   // h_{t-1} [B, H]; only read (may be the previous step's output rows)
    float *c;        long ldc;   // c_{t-1} in, c_t out [B, H]
    float *gates;    long ldgates; // optional [B, G]: x_t W_ih^T in when add_gates; activated gates out when write_gates
    int add_gates;
    int write_gates;
    int zero_h;                  // h_{t-1} is all zeros and W_hh all finite: its product (all zeros) is skipped
    float *y;        long ldy;   // h_t out [B, H]; must not overlap h
    float *cells;    long ldcells;          // optional: c_t out (saved for backward)
    float *previous_cells;  long ldprevc;  // optional: c_{t-1} out (saved for backward)
    float *previous_hidden; long ldprevh;  // optional: h_{t-1} out (saved for backward)
} fsk_lstm_forward_step;

/// One backward step. Pointers marked optional may be NULL.
typedef struct fsk_lstm_backward_step {
    long batch;                  // B
    long hidden;                 // H
    const float *weights;        // W_hh packed by fsk_lstm_pack_backward for this path's lanes
    const float *da_next; long ldda_next;  // optional: dA of the step after this one [B, G]; NULL: no product
    const float *dh_in;   long lddh_in;    // optional: added to dh [B, H]
    const float *dy;      long lddy;       // optional: added to dh [B, H]
    const float *gates;   long ldgates;    // optional: activated gates of this step [B, G]
    const float *cells;   long ldcells;    // c_t [B, H] (read when gates != NULL)
    const float *previous_cells; long ldprevc; // c_{t-1} [B, H] (read when gates != NULL)
    float *dc;  long lddc;       // dL/dc_t in, dL/dc_{t-1} out (when gates != NULL)
    float *da;  long ldda;       // dA of this step out [B, G] (when gates != NULL); must not overlap da_next
    float *dh_out; long lddh_out; // dh out [B, H] (when gates == NULL)
} fsk_lstm_backward_step;

/// Floats of the forward packing for `lanes`-wide unit groups (inputs: I or 0).
long fsk_lstm_forward_packed_count(long inputs, long hidden, long lanes);
/// Packs [W_ih, W_hh] ([G, I] and [G, H] row-major, PyTorch's weight_ih and
/// weight_hh; w_ih unread when inputs is 0) so that group q holds, for k in
/// 0..<I + H, the four gates' weights of units q*L ..< q*L + L at depth k
/// ([groups][I + H][4][L]); units past H are zero. `packed` must be 64-byte
/// aligned. Packs the groups [first, end) (disjoint ranges may run in parallel).
/// Returns 1 when every W_hh weight of those groups is finite, else 0 (a zero
/// h_{t-1} then still makes NaN gates: 0 * inf is NaN, so `zero_h` must stay 0).
/// On x86-64, lanes 16 runs AVX-512F code and lanes 8 AVX2 and FMA code: call
/// them only on CPUs that have those; other widths run the scalar twin.
int fsk_lstm_pack_forward(const float *w_ih, long inputs, const float *w_hh, long hidden, long lanes,
                           float *packed, long first, long end);
/// The scalar twin, for tests (any lanes, any CPU).
int fsk_lstm_pack_forward_reference(const float *w_ih, long inputs, const float *w_hh, long hidden, long lanes,
                                    float *packed, long first, long end);

/// Floats of the backward packing of W_hh for `lanes`-wide vectors.
long fsk_lstm_backward_packed_count(long hidden, long lanes);
/// Packs W_hh ([G, H]) as the right-hand side of dh = dA W_hh: per panel of
/// 2L units, for k in 0..<G, W_hh[k][units] ([panels][G][2L]); units past H are zero.
void fsk_lstm_pack_backward(const float *w, long hidden, long lanes, float *packed);

/// Unit groups of one forward call and panels of one backward call.
long fsk_lstm_forward_groups(long hidden, long lanes);
long fsk_lstm_backward_panels(long hidden, long lanes);

void fsk_lstm_forward_avx512(const fsk_lstm_forward_step *step, long first, long end);
void fsk_lstm_forward_avx2(const fsk_lstm_forward_step *step, long first, long end);
void fsk_lstm_backward_avx512(const fsk_lstm_backward_step *step, long first, long end);
void fsk_lstm_backward_avx2(const fsk_lstm_backward_step *step, long first, long end);

/// The vector activations alone, element-wise over n floats (for tests).
void fsk_sigmoid_avx512(const float *x, float *y, long n);
void fsk_tanh_avx512(const float *x, float *y, long n);
void fsk_sigmoid_avx2(const float *x, float *y, long n);
void fsk_tanh_avx2(const float *x, float *y, long n);

#ifdef __cplusplus
}
#endif

#endif
