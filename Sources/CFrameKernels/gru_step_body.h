// The fused GRU step kernels for one vector width, included by gru_kernels.c
// once per instruction set after lstm_vector_body.h (activations, loads,
// stores). Not a public header: the includer defines
//   L, V, VU, VL, TARGET, FN   as for lstm_step_body.h
//   GMR      rows per forward tile (three gate vectors each)
//   BMR      rows per backward tile (two unit vectors each)
// Contracts and equations: include/CFrameKernelsGRU.h (B, H, G, L as there).

// ---------------------------------------------------------------- forward

/// The element-wise part of a forward step for batch row b, units u0 ..< u0 + n,
/// from the product's sums (which started from the biases). Always inlined:
/// as a call it made the caller spill its accumulators.
__attribute__((always_inline))
TARGET static inline void FN(gru_forward_cell)(const fsk_gru_forward_step *s, long b, long u0, long n,
                                              V sum0, V sum1, V sum2) {
    const long H = s->hidden;
    float *a = s->gates + b * s->ldgates + u0;
    const V previous = FN(load)(s->h + b * s->ldh + u0, n);
    if (s->phase == 2) {   // sum0: m W_hn^T + bx_n
        const V z = FN(load)(a + H, n);
        const V candidate = FN(tanh)(FN(load)(a + 2 * H, n) + sum0);
        FN(store)(a + 2 * H, candidate, n);
        FN(store)(s->y + b * s->ldy + u0, (1.0f - z) * candidate + z * previous, n);
        return;
    }
    const V r = FN(sigmoid)(FN(load)(a, n) + sum0);
    const V z = FN(sigmoid)(FN(load)(a + H, n) + sum1);
    FN(store)(a, r, n);
    FN(store)(a + H, z, n);
    if (s->previous_hidden) FN(store)(s->previous_hidden + b * s->ldprevh + u0, previous, n);
    if (s->phase == 1) {
        FN(store)(s->m + b * s->ldm + u0, r * previous, n);
        return;
    }
    // sum2: h W_hn^T + b_hn, saved for backward
    FN(store)(s->m + b * s->ldm + u0, sum2, n);
    const V candidate = FN(tanh)(FN(load)(a + 2 * H, n) + FN(load)(s->bias + 2 * H + u0, n) + r * sum2);
    FN(store)(a + 2 * H, candidate, n);
    FN(store)(s->y + b * s->ldy + u0, (1.0f - z) * candidate + z * previous, n);
}

/// acc[i][j] += sum over k < depth of a[i][k] * w[k][j][0 ..< L] for the first
/// NG gate vectors at w (R and NG constants after inlining): R rows of A
/// (row i at a + i * lda) times `depth` steps of a group's packed weights.
__attribute__((always_inline))
TARGET static inline void FN(gru_forward_product)(V acc[GMR][3], const int R, const int NG, const float *a, long lda,
                                                 long depth, const float *w) {
    for (long k = 0; k < depth; k++, w += 3 * L) {
        V weights[3];
        _Pragma("unroll")
        for (int j = 0; j < NG; j++) weights[j] = *(const V *)(w + j * L);
        _Pragma("unroll")
        for (int i = 0; i < R; i++) {
            const V x = FN(splat)(a[i * lda + k]);
            _Pragma("unroll")
            for (int j = 0; j < NG; j++) acc[i][j] += x * weights[j];
        }
    }
}

/// Rows r0 ..< r0 + R (R a constant after inlining) of unit group u0 for the
/// step's phase: the product starting from the biases, then the element-wise part.
__attribute__((always_inline))
TARGET static inline void FN(gru_forward_tile)(const fsk_gru_forward_step *s, const int R, long r0, long u0, long n,
                                              const float *panel) {
    const long H = s->hidden;
    V acc[GMR][3];
    if (s->phase == 2) {
        const V b0 = FN(load)(s->bias + 2 * H + u0, n);
        _Pragma("unroll")
        for (int i = 0; i < GMR; i++) acc[i][0] = b0, acc[i][1] = acc[i][2] = (V){0};
        FN(gru_forward_product)(acc, R, 1, s->m + r0 * s->ldm, s->ldm, H, panel + 2 * L);
    } else {
        const V b0 = FN(load)(s->bias + u0, n), b1 = FN(load)(s->bias + H + u0, n);
        const V b2 = s->phase == 0 ? FN(load)(s->bias_new + u0, n) : (V){0};
        _Pragma("unroll")
        for (int i = 0; i < GMR; i++) acc[i][0] = b0, acc[i][1] = b1, acc[i][2] = b2;
        if (s->phase == 0) {
            FN(gru_forward_product)(acc, R, 3, s->h + r0 * s->ldh, s->ldh, H, panel);
        } else {
            FN(gru_forward_product)(acc, R, 2, s->h + r0 * s->ldh, s->ldh, H, panel);
        }
    }
    _Pragma("unroll")
    for (int i = 0; i < R; i++) FN(gru_forward_cell)(s, r0 + i, u0, n, acc[i][0], acc[i][1], acc[i][2]);
}

/// Unit groups [first, end) of one forward step's phase: per group, the batch
/// in tiles of near-equal heights of at most GMR rows (as the LSTM's).
TARGET void FN(fsk_gru_forward)(const fsk_gru_forward_step *s, long first, long end) {
    const long H = s->hidden, B = s->batch;
    const long tiles = (B + GMR - 1) / GMR, rows = B / (tiles ? tiles : 1), taller = B - rows * tiles;
    for (long q = first; q < end; q++) {
        const long u0 = q * L, n = H - u0 < L ? H - u0 : L;
        const float *panel = s->weights + q * H * 3 * L;
        for (long tile = 0, r0 = 0; tile < tiles; tile++) {
            const long R = rows + (tile < taller);
            switch (R) {
                case 1: FN(gru_forward_tile)(s, 1, r0, u0, n, panel); break;
                case 2: FN(gru_forward_tile)(s, 2, r0, u0, n, panel); break;
                case 3: FN(gru_forward_tile)(s, 3, r0, u0, n, panel); break;
                case 4: FN(gru_forward_tile)(s, 4, r0, u0, n, panel); break;
#if GMR > 4
                case 5: FN(gru_forward_tile)(s, 5, r0, u0, n, panel); break;
                case 6: FN(gru_forward_tile)(s, 6, r0, u0, n, panel); break;
                case 7: FN(gru_forward_tile)(s, 7, r0, u0, n, panel); break;
                case 8: FN(gru_forward_tile)(s, 8, r0, u0, n, panel); break;
#endif
                default: break;
            }
            r0 += R;
        }
    }
}

// ---------------------------------------------------------------- backward

/// The element-wise part of a backward step for batch row b, units u0 ..< u0 + n,
/// from the product's sum (always inlined, as forward's).
__attribute__((always_inline))
TARGET static inline void FN(gru_backward_cell)(const fsk_gru_backward_step *s, long b, long u0, long n, V sum) {
    const long H = s->hidden;
    float *carry = s->carry + b * s->ldcarry + u0;
    const float *a = s->gates ? s->gates + b * s->ldgates + u0 : 0;
    float *da = s->da ? s->da + b * s->ldda + u0 : 0;
    if (s->phase == 2) {   // sum: dm
        const V r = FN(load)(a, n), previous = FN(load)(s->previous_hidden + b * s->ldprevh + u0, n);
        FN(store)(da, sum * previous * r * (1.0f - r), n);
        FN(store)(carry, FN(load)(carry, n) + sum * r, n);
        return;
    }
    V dh = sum + FN(load)(carry, n);
    if (s->dh_in) dh += FN(load)(s->dh_in + b * s->lddh_in + u0, n);
    if (s->dy) dh += FN(load)(s->dy + b * s->lddy + u0, n);
    if (!a) {
        FN(store)(s->dh_out + b * s->lddh_out + u0, dh, n);
        return;
    }
    const V z = FN(load)(a + H, n), candidate = FN(load)(a + 2 * H, n);
    const V previous = FN(load)(s->previous_hidden + b * s->ldprevh + u0, n);
    const V dn = dh * (1.0f - z) * (1.0f - candidate * candidate);
    const V dz = dh * (previous - candidate) * z * (1.0f - z);
    FN(store)(da + H, dz, n);
    FN(store)(da + 2 * H, dn, n);
    FN(store)(carry, dh * z, n);
    if (s->phase == 0) {
        const V r = FN(load)(a, n);
        const V dr = dn * FN(load)(s->m + b * s->ldm + u0, n) * r * (1.0f - r);
        FN(store)(da, dr, n);
        float *dah = s->da_hidden + b * s->lddah + u0;
        FN(store)(dah, dr, n);
        FN(store)(dah + H, dz, n);
        FN(store)(dah + 2 * H, dn * r, n);
    }
}

/// Rows r0 ..< r0 + R (R a constant after inlining, at most BMR) of one unit
/// panel: R rows of the product's A times the panel's packed [depth][2L]
/// weights, then the element-wise part of its n0 + n1 units.
__attribute__((always_inline))
TARGET static inline void FN(gru_backward_tile)(const fsk_gru_backward_step *s, const int R, long r0, long u0,
                                               long n0, long n1, const float *panel) {
    V acc[BMR][2];
    _Pragma("unroll")
    for (int i = 0; i < BMR; i++) acc[i][0] = acc[i][1] = (V){0};
    if (s->da_next) {
        // One opaque pointer per row, as in the LSTM's backward: otherwise each
        // row is derived from the first with an add per row and step.
        const float *a[BMR];
        _Pragma("unroll")
        for (int i = 0; i < R; i++) {
            a[i] = s->da_next + (r0 + i) * s->ldda_next;
            __asm__("" : "+r"(a[i]));
        }
        const float *w = panel + s->depth_offset * 2 * L;
        for (long k = 0; k < s->depth; k++, w += 2 * L) {
            const V w0 = *(const V *)w, w1 = *(const V *)(w + L);
            _Pragma("unroll")
            for (int i = 0; i < R; i++) {
                const V x = FN(splat)(a[i][k]);
                acc[i][0] += x * w0;
                acc[i][1] += x * w1;
            }
        }
    }
    _Pragma("unroll")
    for (int i = 0; i < R; i++) {
        FN(gru_backward_cell)(s, r0 + i, u0, n0, acc[i][0]);
        if (n1 > 0) FN(gru_backward_cell)(s, r0 + i, u0 + L, n1, acc[i][1]);
    }
}

/// Unit panels [first, end) (2L units each) of one backward step's phase,
/// the batch in tiles of near-equal heights of at most BMR rows.
TARGET void FN(fsk_gru_backward)(const fsk_gru_backward_step *s, long first, long end) {
    const long H = s->hidden, B = s->batch, G = 3 * H;
    const long tiles = (B + BMR - 1) / BMR, rows = B / (tiles ? tiles : 1), taller = B - rows * tiles;
    for (long q = first; q < end; q++) {
        const long u0 = q * 2 * L;
        const long n0 = H - u0 < L ? H - u0 : L;
        const long n1 = H - u0 - L < 0 ? 0 : (H - u0 - L < L ? H - u0 - L : L);
        const float *panel = s->weights + q * G * 2 * L;
        for (long tile = 0, r0 = 0; tile < tiles; tile++) {
            const long R = rows + (tile < taller);
            switch (R) {
                case 1: FN(gru_backward_tile)(s, 1, r0, u0, n0, n1, panel); break;
                case 2: FN(gru_backward_tile)(s, 2, r0, u0, n0, n1, panel); break;
                case 3: FN(gru_backward_tile)(s, 3, r0, u0, n0, n1, panel); break;
                case 4: FN(gru_backward_tile)(s, 4, r0, u0, n0, n1, panel); break;
                case 5: FN(gru_backward_tile)(s, 5, r0, u0, n0, n1, panel); break;
                case 6: FN(gru_backward_tile)(s, 6, r0, u0, n0, n1, panel); break;
#if BMR > 6
                case 7: FN(gru_backward_tile)(s, 7, r0, u0, n0, n1, panel); break;
                case 8: FN(gru_backward_tile)(s, 8, r0, u0, n0, n1, panel); break;
#endif
                default: break;
            }
            r0 += R;
        }
    }
}
