#ifndef CFRAMEKERNELS_GRU_H
#define CFRAMEKERNELS_GRU_H

// Fused GRU time steps for x86: one call runs the recurrent product of one
// timestep for a range of unit groups and, while its tile is still in
// registers, the element-wise part. The Swift twin is
// Recurrent/Kernels/GRU/GRUSequence.swift (equations there); tests hold these to it.
//
// Legend: B batch rows of one timestep, H hidden units, G = 3H gates in the
// order reset, update, new (r, z, n). L lanes of one vector (16 for AVX-512,
// 8 for AVX2); a unit group is the L units [q*L, q*L + L), a backward panel
// 2L units. Every per-row operand is `base + b * ld` for batch row b.
//
// x_t W_ih^T of every row is done before the time loop and read from `gates`.
// A step resetting after the product (PyTorch's GRU) is one call (phase 0) per
// group range; a step resetting before it needs r * h of every unit before
// the new gate's product, so it is two calls over all groups: phase 1 (r, z,
// m = r * h) then phase 2 (n, h').
//
// Forward, per row and unit (bx = `bias`, bhn = `bias_new`):
//   phase 0: r = sigmoid(a_r + bx_r + h W_hr^T), z likewise,
//            m = h W_hn^T + bhn, n = tanh(a_n + bx_n + r m), h' = (1 - z) n + z h
//   phase 1: r, z as phase 0; m = r h
//   phase 2: n = tanh(a_n + bx_n + m W_hn^T), h' = (1 - z) n + z h
// Backward, per row and unit, with dh = (product) + carry + dh_in + dy:
//   phase 0: product dA_hidden(t+1) W_hh over depth G;
//            dn = dh (1-z)(1-n^2), dz = dh (h-n) z (1-z), dr = dn m r (1-r);
//            da = (dr, dz, dn), da_hidden = (dr, dz, dn r), carry = dh z
//   phase 1: product (dr, dz)(t+1) W_h{r,z} over depth 2H; dn, dz as phase 0
//            into da; carry = dh z
//   phase 2: dm = dn(t) W_hn (depth H, da_next = this step's dn);
//            dr = dm h r (1-r) into da; carry += dm r
//   without gates (the end of the loop): dh_out = (product) + carry + dh_in + dy.
//
// Activations are lstm_vector_body.h's (the Swift approximations).

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsk_gru_forward_step {
    long batch;                  // B
    long hidden;                 // H
    int phase;                   // 0, 1 or 2 (see above)
    const float *weights;        // W_hh packed by fsk_gru_pack_forward for this path's lanes
    const float *bias;           // [G]: bx (b_ih + b_hh for r, z; b_in, + b_hn when resetting before, for n)
    const float *bias_new;       // [H]: b_hn (phase 0)
    const float *h;  long ldh;   // h_{t-1} [B, H]; only read (may be the previous step's output rows)
    float *gates;    long ldgates; // [B, G]: x_t W_ih^T in; the activated gates out (r, z in phase 1, n in 2)
    float *m;        long ldm;   // [B, H]: out in phases 0 and 1; the product's A in phase 2
    float *y;        long ldy;   // h_t out [B, H] (phases 0, 2); must not overlap h
    float *previous_hidden; long ldprevh;  // optional: h_{t-1} out (phases 0, 1)
} fsk_gru_forward_step;

typedef struct fsk_gru_backward_step {
    long batch;                  // B
    long hidden;                 // H
    int phase;                   // 0, 1 or 2 (see above)
    const float *weights;        // W_hh packed by fsk_gru_pack_backward for this path's lanes
    long depth_offset;           // first depth of the product in the packing (0, or 2H in phase 2)
    long depth;                  // depth of the product (G, 2H or H)
    const float *da_next; long ldda_next;  // optional: the product's A [B, depth]; NULL: no product
    const float *dh_in;   long lddh_in;    // optional: added to dh
    const float *dy;      long lddy;       // optional: added to dh
    const float *gates;   long ldgates;    // activated gates of this step [B, G]; NULL: dh to dh_out only
    const float *m;       long ldm;        // m of this step (phase 0)
    const float *previous_hidden; long ldprevh; // h_{t-1} of this step
    float *carry; long ldcarry;  // [B, H]: dh z (+ dm r) of the step after this one in, of this one out
    float *da;    long ldda;     // dA of this step out [B, G]
    float *da_hidden; long lddah; // dA_hidden of this step out (phase 0)
    float *dh_out; long lddh_out; // dh out (gates == NULL)
} fsk_gru_backward_step;

long fsk_gru_forward_groups(long hidden, long lanes);
long fsk_gru_backward_panels(long hidden, long lanes);
long fsk_gru_forward_packed_count(long hidden, long lanes);
long fsk_gru_backward_packed_count(long hidden, long lanes);
/// Packs W_hh ([G, H] row-major, PyTorch's weight_hh) so that group q holds,
/// for k in 0..<H, the three gates' weights of units q*L ..< q*L + L at depth
/// k ([groups][H][3][L]); units past H are zero. `packed` 64-byte aligned.
/// Returns 1 when every weight is finite, else 0.
int fsk_gru_pack_forward(const float *w_hh, long hidden, long lanes, float *packed);
/// Packs W_hh as the right-hand side of dh = dA W_hh: per panel of 2L units,
/// for k in 0..<G, W_hh[k][units] ([panels][G][2L]); units past H are zero.
void fsk_gru_pack_backward(const float *w_hh, long hidden, long lanes, float *packed);

void fsk_gru_forward_avx512(const fsk_gru_forward_step *step, long first, long end);
void fsk_gru_forward_avx2(const fsk_gru_forward_step *step, long first, long end);
void fsk_gru_backward_avx512(const fsk_gru_backward_step *step, long first, long end);
void fsk_gru_backward_avx2(const fsk_gru_backward_step *step, long first, long end);

#ifdef __cplusplus
}
#endif

#endif
