// The fused LSTM step kernels for one vector width, written once with GCC/Clang
// vector extensions and included by lstm_kernels.c once per instruction set.
// Not a public header: the includer defines
//   L        lanes per vector (16 or 8)
//   V, VU    float and uint32 vectors of L lanes (aligned), VL an unaligned V
//   TARGET   the __attribute__((target(...))) of every function
//   FN(x)    x with the instruction set's suffix
//   FMR      rows per forward tile (4 gate vectors each)
//   BMR      rows per backward tile (2 unit vectors each)
// Contracts: include/CFrameKernelsLSTM.h. Legend as there (B, H, G, L).

// ---------------------------------------------------------------- activations
// The reduction and polynomials of Activations.swift, lane for lane; see there
// for why each step is exact enough. Compares and selects are bit operations
// so NaN propagates as in the Swift twins.

/// x in every lane (x - 0 is x for every x, -0 included, so this folds to a broadcast).
TARGET static inline V FN(splat)(float x) { return x - (V){0}; }

TARGET static inline V FN(select)(VU mask, V yes, V no) {
    return (V)(((VU)yes & mask) | ((VU)no & ~mask));
}

/// min(v, limit) keeping NaN.
TARGET static inline V FN(clamp)(V v, float limit) {
    return FN(select)((VU)(v > limit), FN(splat)(limit), v);
}

/// 2^n from `y * log2(e) + shifter` (the shifter leaves n + 127 in the low bits).
TARGET static inline V FN(pow2)(V shifted) { return (V)((VU)shifted << 23); }

TARGET static inline V FN(tanh)(V x) {
    const float shifter = 12583039.0f;
    VU bits = (VU)x;
    VU sign = bits & 0x80000000u;
    V magnitude = FN(clamp)((V)(bits & 0x7FFFFFFFu), 10.0f);
    V shifted = magnitude * -2.8853901f + shifter;
    V n = shifted - shifter;
    V t = n * -0.69314718f - 2.0f * magnitude;
    V p = 0.0013882517f * t + 0.0083665475f;
    p = p * t + 0.0416672f;
    p = p * t + 0.16666543f;
    p = p * t + 0.49999997f;
    V scale = FN(pow2)(shifted);
    V em1 = scale * ((p * t) * t + t) + (scale - 1.0f);   // expm1(-2|x|)
    V negated = em1 / (2.0f + em1);                          // -tanh(|x|)
    return (V)(((VU)negated & 0x7FFFFFFFu) | sign);
}

TARGET static inline V FN(sigmoid)(V x) {
    const float shifter = 12583039.0f;
    V magnitude = FN(clamp)((V)((VU)x & 0x7FFFFFFFu), 88.0f);
    V shifted = magnitude * -1.442695f + shifter;
    V n = shifted - shifter;
    V t = n * -0.69314718f - magnitude;
    V p = 0.008312478f * t + 0.04189055f;
    p = p * t + 0.16667116f;
    p = p * t + 0.49999228f;
    V scale = FN(pow2)(shifted);
    V small = scale * ((p * t) * t + t) + scale;   // e^-|x|
    V lower = small / (1.0f + small);              // sigmoid(-|x|)
    return FN(select)((VU)(x < 0.0f), lower, 1.0f - lower);
}

// ---------------------------------------------------------------- partial vectors
// Units past H exist only in the last group when L does not divide H.

TARGET static inline V FN(load)(const float *p, long n) {
    if (n == L) return *(const VL *)p;
    V v = {0};
    for (long i = 0; i < n; i++) v[i] = p[i];
    return v;
}

TARGET static inline void FN(store)(float *p, V v, long n) {
    if (n == L) { *(VL *)p = v; return; }
    for (long i = 0; i < n; i++) p[i] = v[i];
}

// ---------------------------------------------------------------- forward

/// The element-wise part of the forward step for batch row b, units u0 ..< u0 + n.
/// Always inlined: as a call it made the caller spill its accumulators (every
/// vector register is caller-saved).
__attribute__((always_inline))
TARGET static inline void FN(forward_cell)(const fsk_lstm_forward_step *s, long b, long u0, long n,
                                          V ai, V af, V ag, V ao) {
    const long H = s->hidden;
    float *gates = s->gates ? s->gates + b * s->ldgates + u0 : 0;
    if (s->add_gates) {
        ai += FN(load)(gates, n);
        af += FN(load)(gates + H, n);
        ag += FN(load)(gates + 2 * H, n);
        ao += FN(load)(gates + 3 * H, n);
    }
    V i = FN(sigmoid)(ai), f = FN(sigmoid)(af), g = FN(tanh)(ag), o = FN(sigmoid)(ao);
    float *c = s->c + b * s->ldc + u0;
    V previous = FN(load)(c, n);
    V cell = f * previous + i * g;
    V h = o * FN(tanh)(cell);
    FN(store)(c, cell, n);
    FN(store)(s->y + b * s->ldy + u0, h, n);
    if (s->write_gates) {
        FN(store)(gates, i, n);
        FN(store)(gates + H, f, n);
        FN(store)(gates + 2 * H, g, n);
        FN(store)(gates + 3 * H, o, n);
    }
    if (s->cells) FN(store)(s->cells + b * s->ldcells + u0, cell, n);
    if (s->previous_cells) FN(store)(s->previous_cells + b * s->ldprevc + u0, previous, n);
    if (s->previous_hidden) {
        FN(store)(s->previous_hidden + b * s->ldprevh + u0, FN(load)(s->h + b * s->ldh + u0, n), n);
    }
}

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

/// Unit groups [first, end) of one forward step: per group, every FMR rows of
/// [x_t, h_{t-1}] times the group's packed [I + H][4][L] weights (which stay in
/// L1 or L2 across the rows), then the cell update; the last rows of the batch
/// as one tile of exactly their count (no row computed twice). (Running each
/// tile's cell updates between depth segments of the next tile's product, to
/// overlap them with its FMAs, and prefetching their rows as backward does,
/// were no faster on lstm.rows or lstm.stacked.)
TARGET void FN(fsk_lstm_forward)(const fsk_lstm_forward_step *s, long first, long end) {
    const long H = s->hidden, I = s->inputs, B = s->batch;
    for (long q = first; q < end; q++) {
        const long u0 = q * L, n = H - u0 < L ? H - u0 : L;
        const float *panel = s->weights + q * (I + H) * 4 * L;
        long r0 = 0;
        for (; r0 + FMR <= B; r0 += FMR) FN(forward_tile)(s, FMR, r0, u0, n, panel);
        switch (B - r0) {
            case 1: FN(forward_tile)(s, 1, r0, u0, n, panel); break;
            case 2: FN(forward_tile)(s, 2, r0, u0, n, panel); break;
#if FMR > 3
            case 3: FN(forward_tile)(s, 3, r0, u0, n, panel); break;
#endif
#if FMR > 4
            case 4: FN(forward_tile)(s, 4, r0, u0, n, panel); break;
#endif
#if FMR > 5
            case 5: FN(forward_tile)(s, 5, r0, u0, n, panel); break;
#endif
            default: break;
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

/// Unit panels [first, end) (2L units each) of one backward step: BMR rows of
/// dA_next times the panel's packed [G][2L] weights, then the gate gradients.
TARGET void FN(fsk_lstm_backward)(const fsk_lstm_backward_step *s, long first, long end) {
    const long H = s->hidden, B = s->batch, G = 4 * H;
    for (long q = first; q < end; q++) {
        const long u0 = q * 2 * L;
        const long n0 = H - u0 < L ? H - u0 : L;
        const long n1 = H - u0 - L < 0 ? 0 : (H - u0 - L < L ? H - u0 - L : L);
        const float *panel = s->weights + q * G * 2 * L;
        for (long r0 = 0; r0 < B; r0 += BMR) {
            const long mr = B - r0 < BMR ? B - r0 : BMR;
            V acc[BMR][2];
            _Pragma("unroll")
            for (int i = 0; i < BMR; i++) acc[i][0] = acc[i][1] = (V){0};
            FN(backward_prefetch)(s, r0, mr, u0);   // arrives during the product
            if (s->da_next) {
                const float *a[BMR];
                _Pragma("unroll")
                for (int i = 0; i < BMR; i++) a[i] = s->da_next + (r0 + (i < mr ? i : mr - 1)) * s->ldda_next;
                const float *w = panel;
                for (long k = 0; k < G; k++, w += 2 * L) {
                    V w0 = *(const V *)w, w1 = *(const V *)(w + L);
                    _Pragma("unroll")
                    for (int i = 0; i < BMR; i++) {
                        V x = FN(splat)(a[i][k]);
                        acc[i][0] += x * w0;
                        acc[i][1] += x * w1;
                    }
                }
            }
            for (int i = 0; i < mr; i++) {
                FN(backward_cell)(s, r0 + i, u0, n0, acc[i][0]);
                if (n1 > 0) FN(backward_cell)(s, r0 + i, u0 + L, n1, acc[i][1]);
            }
        }
    }
}

// ---------------------------------------------------------------- activations alone (tests)

TARGET void FN(fsk_sigmoid)(const float *x, float *y, long count) {
    for (long i = 0; i < count; i += L) {
        long n = count - i < L ? count - i : L;
        FN(store)(y + i, FN(sigmoid)(FN(load)(x + i, n)), n);
    }
}

TARGET void FN(fsk_tanh)(const float *x, float *y, long count) {
    for (long i = 0; i < count; i += L) {
        long n = count - i < L ? count - i : L;
        FN(store)(y + i, FN(tanh)(FN(load)(x + i, n)), n);
    }
}
