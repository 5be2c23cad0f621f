// The fused LSTM step kernels for one vector width, written once with GCC/Clang
// vector extensions and included by lstm_kernels.c once per instruction set.
// Not a public header: the includer defines
//   L        lanes per vector (16 or 8)
//   V, VU    float and uint32 vectors of L lanes (aligned), VL an unaligned V
//   TARGET   the __attribute__((target(...))) of every function
//   FN(x)    x with the instruction set's suffix
//   FMR      rows per forward tile
//   FPAIRS   0: a forward tile holds all 4 gate vectors of its rows in one
//            pass over the depth; 1: two passes of 2 gate vectors (i, f then
//            g, o), for register files too small for 4 * FMR accumulators
//   BMR      rows per backward tile (2 unit vectors each)
// Contracts: include/CFrameKernelsLSTM.h. Legend as there (B, H, G, L).
// The activations, load and store are lstm_vector_body.h's.

// ---------------------------------------------------------------- forward

/// Gates j and j + 1 (0: i, f; 2: g, o) of batch row b, units u0 ..< u0 + n,
/// activated: the product's sums plus x_t W_ih^T when it was done beforehand
/// (add_gates); written to the gates record when asked (write_gates).
__attribute__((always_inline))
TARGET static inline void FN(forward_gate_pair)(const fsk_lstm_forward_step *s, long b, long u0, long n, int j,
                                               V *first, V *second) {
    const long H = s->hidden;
    float *gates = s->gates ? s->gates + b * s->ldgates + u0 + j * H : 0;
    V a0 = *first, a1 = *second;
    if (s->add_gates) {
        a0 += FN(load)(gates, n);
        a1 += FN(load)(gates + H, n);
    }
    *first = j == 2 ? FN(tanh)(a0) : FN(sigmoid)(a0);   // g is the only tanh gate
    *second = FN(sigmoid)(a1);
    if (s->write_gates) {
        FN(store)(gates, *first, n);
        FN(store)(gates + H, *second, n);
    }
}

/// The cell update of batch row b, units u0 ..< u0 + n, from its activated gates.
__attribute__((always_inline))
TARGET static inline void FN(forward_update)(const fsk_lstm_forward_step *s, long b, long u0, long n,
                                            V i, V f, V g, V o) {
    float *c = s->c + b * s->ldc + u0;
    V previous = FN(load)(c, n);
    V cell = f * previous + i * g;
    V h = o * FN(tanh)(cell);
    FN(store)(c, cell, n);
    FN(store)(s->y + b * s->ldy + u0, h, n);
    if (s->cells) FN(store)(s->cells + b * s->ldcells + u0, cell, n);
    if (s->previous_cells) FN(store)(s->previous_cells + b * s->ldprevc + u0, previous, n);
    if (s->previous_hidden) {
        FN(store)(s->previous_hidden + b * s->ldprevh + u0, FN(load)(s->h + b * s->ldh + u0, n), n);
    }
}

/// The element-wise part of the forward step for batch row b, units u0 ..< u0 + n.
/// Always inlined: as a call it made the caller spill its accumulators (every
/// vector register is caller-saved).
__attribute__((always_inline))
TARGET static inline void FN(forward_cell)(const fsk_lstm_forward_step *s, long b, long u0, long n,
                                          V ai, V af, V ag, V ao) {
    FN(forward_gate_pair)(s, b, u0, n, 0, &ai, &af);
    FN(forward_gate_pair)(s, b, u0, n, 2, &ag, &ao);
    FN(forward_update)(s, b, u0, n, ai, af, ag, ao);
}

#if !FPAIRS
/// acc[i][gate] += sum over k < depth of a[i][k] * w[k][gate][0 ..< L]: R rows
/// (a constant after inlining, at most FMR) of A (row i at a + i * lda) times
/// `depth` steps of a group's packed weights.
__attribute__((always_inline))
TARGET static inline void FN(forward_product)(V acc[FMR][4], const int R, const float *a, long lda, long depth,
                                             const float *w) {
    for (long k = 0; k < depth; k++, w += 4 * L) {
        V w0 = *(const V *)w, w1 = *(const V *)(w + L), w2 = *(const V *)(w + 2 * L), w3 = *(const V *)(w + 3 * L);
        _Pragma("unroll")
        for (int i = 0; i < R; i++) {
            V x = FN(splat)(a[i * lda + k]);
            acc[i][0] += x * w0;
            acc[i][1] += x * w1;
            acc[i][2] += x * w2;
            acc[i][3] += x * w3;
        }
    }
}

/// Rows r0 ..< r0 + R (R a constant after inlining) of unit group u0: the
/// product of [x_t, h_{t-1}] with the group's packed weights, then the cell
/// update while the 4 * R gate vectors are in registers.
__attribute__((always_inline))
TARGET static inline void FN(forward_tile)(const fsk_lstm_forward_step *s, const int R, long r0, long u0, long n,
                                          const float *panel) {
    const long H = s->hidden;
    const float *bias = s->bias + u0;   // the sums start from it
    const V b0 = FN(load)(bias, n), b1 = FN(load)(bias + H, n), b2 = FN(load)(bias + 2 * H, n),
            b3 = FN(load)(bias + 3 * H, n);
    V acc[FMR][4];
    _Pragma("unroll")
    for (int i = 0; i < FMR; i++) acc[i][0] = b0, acc[i][1] = b1, acc[i][2] = b2, acc[i][3] = b3;
    if (s->inputs > 0) FN(forward_product)(acc, R, s->x + r0 * s->ldx, s->ldx, s->inputs, panel);
    if (!s->zero_h) FN(forward_product)(acc, R, s->h + r0 * s->ldh, s->ldh, s->hidden, panel + s->inputs * 4 * L);
    _Pragma("unroll")
    for (int i = 0; i < R; i++) FN(forward_cell)(s, r0 + i, u0, n, acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}
#else
/// acc[i][0 or 1] += sum over k < depth of a[i][k] * w[k][0 or 1][0 ..< L]:
/// as forward_product for the two gate vectors at w (w + 2L for g, o) of
/// each packed depth step.
__attribute__((always_inline))
TARGET static inline void FN(forward_pair_product)(V acc[FMR][2], const int R, const float *a, long lda,
                                                  long depth, const float *w) {
    for (long k = 0; k < depth; k++, w += 4 * L) {
        V w0 = *(const V *)w, w1 = *(const V *)(w + L);
        _Pragma("unroll")
        for (int i = 0; i < R; i++) {
            V x = FN(splat)(a[i * lda + k]);
            acc[i][0] += x * w0;
            acc[i][1] += x * w1;
        }
    }
}

/// Gates j, j + 1 (0: i, f; 2: g, o) of rows r0 ..< r0 + R of unit group u0:
/// their sums over [x_t, h_{t-1}], starting from the bias, activated.
__attribute__((always_inline))
TARGET static inline void FN(forward_pair)(const fsk_lstm_forward_step *s, const int R, long r0, long u0, long n,
                                          const float *panel, int j, V out[FMR][2]) {
    const long H = s->hidden;
    const V b0 = FN(load)(s->bias + u0 + j * H, n), b1 = FN(load)(s->bias + u0 + (j + 1) * H, n);
    V acc[FMR][2];
    _Pragma("unroll")
    for (int i = 0; i < FMR; i++) acc[i][0] = b0, acc[i][1] = b1;
    if (s->inputs > 0) FN(forward_pair_product)(acc, R, s->x + r0 * s->ldx, s->ldx, s->inputs, panel + j * L);
    if (!s->zero_h) {
        FN(forward_pair_product)(acc, R, s->h + r0 * s->ldh, s->ldh, s->hidden, panel + s->inputs * 4 * L + j * L);
    }
    _Pragma("unroll")
    for (int i = 0; i < R; i++) {
        FN(forward_gate_pair)(s, r0 + i, u0, n, j, &acc[i][0], &acc[i][1]);
        out[i][0] = acc[i][0], out[i][1] = acc[i][1];
    }
}

/// As the one-pass forward_tile, in two passes over the depth of 2 gate
/// vectors per row each: 2 * FMR accumulators, so 6 rows fit 16 registers
/// (4 gates of 3 rows and their 4 weight vectors did not: two accumulators
/// went through the stack every depth step). i and f wait in L1 for the cell
/// update; each pass reads one of the two cache lines of a packed depth step.
__attribute__((always_inline))
TARGET static inline void FN(forward_tile)(const fsk_lstm_forward_step *s, const int R, long r0, long u0, long n,
                                          const float *panel) {
    V input_forget[FMR][2], cell_output[FMR][2];
    FN(forward_pair)(s, R, r0, u0, n, panel, 0, input_forget);
    FN(forward_pair)(s, R, r0, u0, n, panel, 2, cell_output);
    _Pragma("unroll")
    for (int i = 0; i < R; i++) {
        FN(forward_update)(s, r0 + i, u0, n, input_forget[i][0], input_forget[i][1], cell_output[i][0],
                           cell_output[i][1]);
    }
}
#endif

/// Unit groups [first, end) of one forward step: per group, the batch in
/// tiles of at most FMR rows of [x_t, h_{t-1}] times the group's packed
/// [I + H][4][L] weights (which stay in L1 or L2 across the tiles), then the
/// cell update. The tiles' row counts differ by at most one (32 rows: 6, 6, 5,
/// 5, 5, 5 rather than five of 6 and one of 2, whose 4 accumulators could
/// not hide the FMA latency), and no row is computed twice. (Running each
/// tile's cell updates between depth segments of the next tile's product, to
/// overlap them with its FMAs, and prefetching their rows as backward does,
/// were no faster on lstm.rows or lstm.stacked.)
TARGET void FN(fsk_lstm_forward)(const fsk_lstm_forward_step *s, long first, long end) {
    const long H = s->hidden, I = s->inputs, B = s->batch;
    const long tiles = (B + FMR - 1) / FMR, rows = B / (tiles ? tiles : 1), taller = B - rows * tiles;
    for (long q = first; q < end; q++) {
        const long u0 = q * L, n = H - u0 < L ? H - u0 : L;
        const float *panel = s->weights + q * (I + H) * 4 * L;
        for (long tile = 0, r0 = 0; tile < tiles; tile++) {
            const long R = rows + (tile < taller);
            switch (R) {
                case 1: FN(forward_tile)(s, 1, r0, u0, n, panel); break;
                case 2: FN(forward_tile)(s, 2, r0, u0, n, panel); break;
                case 3: FN(forward_tile)(s, 3, r0, u0, n, panel); break;
                case 4: FN(forward_tile)(s, 4, r0, u0, n, panel); break;
#if FMR > 4
                case 5: FN(forward_tile)(s, 5, r0, u0, n, panel); break;
                case 6: FN(forward_tile)(s, 6, r0, u0, n, panel); break;
#endif
                default: break;
            }
            r0 += R;
        }
    }
}

// ---------------------------------------------------------------- backward

/// The element-wise part of the backward step for batch row b, units u0 ..< u0 + n
/// (always inlined, as forward_cell).
__attribute__((always_inline))
TARGET static inline void FN(backward_cell)(const fsk_lstm_backward_step *s, long b, long u0, long n, V dh) {
    const long H = s->hidden;
    if (s->dh_in) dh += FN(load)(s->dh_in + b * s->lddh_in + u0, n);
    if (s->dy) dh += FN(load)(s->dy + b * s->lddy + u0, n);
    if (!s->gates) {
        FN(store)(s->dh_out + b * s->lddh_out + u0, dh, n);
        return;
    }
    const float *a = s->gates + b * s->ldgates + u0;
    V i = FN(load)(a, n), f = FN(load)(a + H, n), g = FN(load)(a + 2 * H, n), o = FN(load)(a + 3 * H, n);
    V tc = FN(tanh)(FN(load)(s->cells + b * s->ldcells + u0, n));
    V previous = FN(load)(s->previous_cells + b * s->ldprevc + u0, n);
    float *dcp = s->dc + b * s->lddc + u0;
    V dc = FN(load)(dcp, n) + dh * o * (1.0f - tc * tc);
    float *da = s->da + b * s->ldda + u0;
    FN(store)(da, dc * g * i * (1.0f - i), n);
    FN(store)(da + H, dc * previous * f * (1.0f - f), n);
    FN(store)(da + 2 * H, dc * i * (1.0f - g * g), n);
    FN(store)(da + 3 * H, dh * tc * o * (1.0f - o), n);
    FN(store)(dcp, dc * f, n);
}

/// Prefetches what the gate gradients of rows [r0, r0 + mr), units [u0, u0 + 2L)
/// read and write: rows of the forward record and of the upstream gradient,
/// which lie far apart in memory (one row per timestep and sequence), so their
/// first touches missed the caches and the element-wise part, waiting on them,
/// took as long as the product.
TARGET static inline void FN(backward_prefetch)(const fsk_lstm_backward_step *s, long r0, long mr, long u0) {
    const long H = s->hidden;
    for (long b = r0; b < r0 + mr; b++) {
        for (long l = 0; l < 2 * L; l += 16) {   // one 64-byte line per 16 floats
            if (s->gates) {
                const float *a = s->gates + b * s->ldgates + u0 + l;
                __builtin_prefetch(a), __builtin_prefetch(a + H), __builtin_prefetch(a + 2 * H), __builtin_prefetch(a + 3 * H);
                __builtin_prefetch(s->cells + b * s->ldcells + u0 + l);
                __builtin_prefetch(s->previous_cells + b * s->ldprevc + u0 + l);
                __builtin_prefetch(s->dc + b * s->lddc + u0 + l, 1);
                float *da = s->da + b * s->ldda + u0 + l;
                __builtin_prefetch(da, 1), __builtin_prefetch(da + H, 1), __builtin_prefetch(da + 2 * H, 1), __builtin_prefetch(da + 3 * H, 1);
            }
            if (s->dy) __builtin_prefetch(s->dy + b * s->lddy + u0 + l);
        }
    }
}

/// Rows r0 ..< r0 + R (R a constant after inlining, at most BMR) of one
/// unit panel: R rows of dA_next times the panel's packed [G][2L] weights,
/// then the gate gradients of its n0 + n1 units.
__attribute__((always_inline))
TARGET static inline void FN(backward_tile)(const fsk_lstm_backward_step *s, const int R, long r0, long u0,
                                           long n0, long n1, const float *panel) {
    const long G = 4 * s->hidden;
    V acc[BMR][2];
    _Pragma("unroll")
    for (int i = 0; i < BMR; i++) acc[i][0] = acc[i][1] = (V){0};
    FN(backward_prefetch)(s, r0, R, u0);   // arrives during the product
    if (s->da_next) {
        // One opaque pointer per row (the empty asm): otherwise the compiler
        // derives each row from the first with an add per row and step.
        const float *a[BMR];
        _Pragma("unroll")
        for (int i = 0; i < R; i++) {
            a[i] = s->da_next + (r0 + i) * s->ldda_next;
            __asm__("" : "+r"(a[i]));
        }
        const float *w = panel;
        for (long k = 0; k < G; k++, w += 2 * L) {
            V w0 = *(const V *)w, w1 = *(const V *)(w + L);
            _Pragma("unroll")
            for (int i = 0; i < R; i++) {
                V x = FN(splat)(a[i][k]);
                acc[i][0] += x * w0;
                acc[i][1] += x * w1;
            }
        }
    }
    _Pragma("unroll")
    for (int i = 0; i < R; i++) {
        FN(backward_cell)(s, r0 + i, u0, n0, acc[i][0]);
        if (n1 > 0) FN(backward_cell)(s, r0 + i, u0 + L, n1, acc[i][1]);
    }
}

/// Unit panels [first, end) (2L units each) of one backward step: the batch
/// in tiles of at most BMR rows whose counts differ by at most one, as in
/// forward (a partial tile used to compute all BMR rows, repeating its last:
/// 8 rows per thread on lstm.flat did the FMAs of 12).
TARGET void FN(fsk_lstm_backward)(const fsk_lstm_backward_step *s, long first, long end) {
    const long H = s->hidden, B = s->batch, G = 4 * H;
    const long tiles = (B + BMR - 1) / BMR, rows = B / (tiles ? tiles : 1), taller = B - rows * tiles;
    for (long q = first; q < end; q++) {
        const long u0 = q * 2 * L;
        const long n0 = H - u0 < L ? H - u0 : L;
        const long n1 = H - u0 - L < 0 ? 0 : (H - u0 - L < L ? H - u0 - L : L);
        const float *panel = s->weights + q * G * 2 * L;
        for (long tile = 0, r0 = 0; tile < tiles; tile++) {
            const long R = rows + (tile < taller);
            switch (R) {
                case 1: FN(backward_tile)(s, 1, r0, u0, n0, n1, panel); break;
                case 2: FN(backward_tile)(s, 2, r0, u0, n0, n1, panel); break;
                case 3: FN(backward_tile)(s, 3, r0, u0, n0, n1, panel); break;
                case 4: FN(backward_tile)(s, 4, r0, u0, n0, n1, panel); break;
                case 5: FN(backward_tile)(s, 5, r0, u0, n0, n1, panel); break;
                case 6: FN(backward_tile)(s, 6, r0, u0, n0, n1, panel); break;
#if BMR > 6
                case 7: FN(backward_tile)(s, 7, r0, u0, n0, n1, panel); break;
                case 8: FN(backward_tile)(s, 8, r0, u0, n0, n1, panel); break;
#endif
                default: break;
            }
            r0 += R;
        }
    }
}
