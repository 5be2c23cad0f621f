// The ConvLSTM element-wise kernels for one vector width, included by
// lstm_kernels.c after lstm_vector_body.h (whose activations, loads and
// stores they use), once per instruction set, with the same macros (L, V, VU, VL,
// TARGET, FN). Contracts: include/CFrameKernelsConvLSTM.h.

// ---------------------------------------------------------------- cell update

TARGET void FN(fsk_convlstm_cell_forward)(const fsk_convlstm_cell_forward *s) {
    const long F = s->filters, G = 4 * F;
    for (long r = 0; r < s->rows; r++) {
        float *a = s->gates + r * G;
        const float *cp = s->previous_cells + r * F;
        float *c = s->cells + r * F, *h = s->hidden + r * F;
        const float *w = s->peepholes ? s->peepholes + r * F : 0;
        for (long j = 0; j < F; j += L) {
            const long n = F - j < L ? F - j : L;
            V previous = FN(load)(cp + j, n);
            V zi = FN(load)(a + j, n), zf = FN(load)(a + F + j, n);
            if (w) {
                zi += FN(load)(w + j, n) * previous;
                zf += FN(load)(w + s->peephole_stride + j, n) * previous;
            }
            V i = FN(sigmoid)(zi), f = FN(sigmoid)(zf), g = FN(tanh)(FN(load)(a + 2 * F + j, n));
            V cell = f * previous + i * g;
            V zo = FN(load)(a + 3 * F + j, n);
            if (w) zo += FN(load)(w + 2 * s->peephole_stride + j, n) * cell;
            V o = FN(sigmoid)(zo);
            FN(store)(a + j, i, n);
            FN(store)(a + F + j, f, n);
            FN(store)(a + 2 * F + j, g, n);
            FN(store)(a + 3 * F + j, o, n);
            FN(store)(c + j, cell, n);
            FN(store)(h + j, o * FN(tanh)(cell), n);
        }
    }
}

TARGET void FN(fsk_convlstm_cell_backward)(const fsk_convlstm_cell_backward *s) {
    const long F = s->filters, G = 4 * F, ps = s->peephole_stride;
    for (long r = 0; r < s->rows; r++) {
        const float *a = s->gates + r * G;
        float *dz = s->gate_gradient + r * G;
        const float *c = s->cells + r * F, *cp = s->previous_cells + r * F;
        const float *dhin = s->hidden_gradient + r * F, *dy = s->output_gradient ? s->output_gradient + r * F : 0;
        float *dc = s->cell_gradient + r * F;
        const float *w = s->peepholes ? s->peepholes + r * F : 0;
        float *dw = s->peephole_gradient ? s->peephole_gradient + r * F : 0;
        for (long j = 0; j < F; j += L) {
            const long n = F - j < L ? F - j : L;
            V i = FN(load)(a + j, n), f = FN(load)(a + F + j, n);
            V g = FN(load)(a + 2 * F + j, n), o = FN(load)(a + 3 * F + j, n);
            V cell = FN(load)(c + j, n), previous = FN(load)(cp + j, n);
            V dh = FN(load)(dhin + j, n);
            if (dy) dh += FN(load)(dy + j, n);
            V tc = FN(tanh)(cell);
            V dzo = dh * tc * o * (1.0f - o);
            V dcell = FN(load)(dc + j, n) + dh * o * (1.0f - tc * tc);
            if (w) dcell += dzo * FN(load)(w + 2 * ps + j, n);
            V dzi = dcell * g * i * (1.0f - i);
            V dzf = dcell * previous * f * (1.0f - f);
            V carried = dcell * f;
            if (w) carried += dzi * FN(load)(w + j, n) + dzf * FN(load)(w + ps + j, n);
            if (dw) {
                FN(store)(dw + j, FN(load)(dw + j, n) + dzi * previous, n);
                FN(store)(dw + ps + j, FN(load)(dw + ps + j, n) + dzf * previous, n);
                FN(store)(dw + 2 * ps + j, FN(load)(dw + 2 * ps + j, n) + dzo * cell, n);
            }
            FN(store)(dc + j, carried, n);
            FN(store)(dz + j, dzi, n);
            FN(store)(dz + F + j, dzf, n);
            FN(store)(dz + 2 * F + j, dcell * i * (1.0f - g * g), n);
            FN(store)(dz + 3 * F + j, dzo, n);
        }
    }
}

// ---------------------------------------------------------------- Winograd F(2x2, 3x3)

TARGET void FN(fsk_winograd_input)(const fsk_winograd_tiles *s) {
    const long C = s->channels, ps = s->plane_stride;
    for (long r = 0; r < s->count; r++) {
        const long tile = s->first + r, ty = tile / s->tiles_wide, tx = tile % s->tiles_wide;
        const long y0 = 2 * ty - 1, x0 = 2 * tx - 1;
        const float *d[16];
        for (long i = 0; i < 4; i++) {
            for (long j = 0; j < 4; j++) {
                const long y = y0 + i, x = x0 + j;
                d[4 * i + j] = y >= 0 && y < s->height && x >= 0 && x < s->width
                    ? s->image + (y * s->width + x) * C : s->zero;
            }
        }
        float *v = s->v + r * C;
        for (long c = 0; c < C; c += L) {
            const long n = C - c < L ? C - c : L;
            // Row i of t = B^T d from two rows of d; then row i of V = t's row i times B.
#define FSK_ROW(i, a, b, e, h) do { \
                float *out = v + 4 * (i) * ps + c; \
                FN(store)(out, (a) - (e), n); \
                FN(store)(out + ps, (b) + (e), n); \
                FN(store)(out + 2 * ps, (e) - (b), n); \
                FN(store)(out + 3 * ps, (b) - (h), n); \
            } while (0)
            V r00 = FN(load)(d[0] + c, n), r01 = FN(load)(d[1] + c, n), r02 = FN(load)(d[2] + c, n), r03 = FN(load)(d[3] + c, n);
            V r20 = FN(load)(d[8] + c, n), r21 = FN(load)(d[9] + c, n), r22 = FN(load)(d[10] + c, n), r23 = FN(load)(d[11] + c, n);
            FSK_ROW(0, r00 - r20, r01 - r21, r02 - r22, r03 - r23);
            V r10 = FN(load)(d[4] + c, n), r11 = FN(load)(d[5] + c, n), r12 = FN(load)(d[6] + c, n), r13 = FN(load)(d[7] + c, n);
            FSK_ROW(1, r10 + r20, r11 + r21, r12 + r22, r13 + r23);
            FSK_ROW(2, r20 - r10, r21 - r11, r22 - r12, r23 - r13);
            V r30 = FN(load)(d[12] + c, n), r31 = FN(load)(d[13] + c, n), r32 = FN(load)(d[14] + c, n), r33 = FN(load)(d[15] + c, n);
            FSK_ROW(3, r10 - r30, r11 - r31, r12 - r32, r13 - r33);
#undef FSK_ROW
        }
    }
}

TARGET static inline void FN(winograd_put)(float *o, V y, long n, int overwrite) {
    FN(store)(o, overwrite ? y : FN(load)(o, n) + y, n);
}

TARGET void FN(fsk_winograd_output)(const fsk_winograd_tiles *s) {
    const long C = s->channels, ps = s->plane_stride, os = s->output_stride;
    for (long r = 0; r < s->count; r++) {
        const long tile = s->first + r, ty = tile / s->tiles_wide, tx = tile % s->tiles_wide;
        const long y0 = 2 * ty, x0 = 2 * tx;
        const int right = x0 + 1 < s->width, below = y0 + 1 < s->height;
        float *o00 = s->output + (y0 * s->width + x0 - s->output_origin) * os;
        float *o01 = o00 + os, *o10 = o00 + s->width * os, *o11 = o10 + os;
        const float *m = s->v + r * C;
        for (long c = 0; c < C; c += L) {
            const long n = C - c < L ? C - c : L;
            // Row i of M A is (m_i0 + m_i1 + m_i2, m_i1 - m_i2 - m_i3); A^T adds
            // rows 0-2 into the first output row and rows 1 - 2 - 3 into the second.
#define FSK_MA(i, first, second) do { \
                const float *row = m + 4 * (i) * ps + c; \
                V a_ = FN(load)(row, n), b_ = FN(load)(row + ps, n); \
                V e_ = FN(load)(row + 2 * ps, n), h_ = FN(load)(row + 3 * ps, n); \
                first = a_ + b_ + e_; second = b_ - e_ - h_; \
            } while (0)
            V a0, b0, a1, b1, a2, b2;
            FSK_MA(0, a0, b0);
            FSK_MA(1, a1, b1);
            FSK_MA(2, a2, b2);
            FN(winograd_put)(o00 + c, a0 + a1 + a2, n, s->overwrite);
            if (right) FN(winograd_put)(o01 + c, b0 + b1 + b2, n, s->overwrite);
            if (below) {
                V a3, b3;
                FSK_MA(3, a3, b3);
                FN(winograd_put)(o10 + c, a1 - a2 - a3, n, s->overwrite);
                if (right) FN(winograd_put)(o11 + c, b1 - b2 - b3, n, s->overwrite);
            }
#undef FSK_MA
        }
    }
}

// ---------------------------------------------------------------- max pooling

TARGET void FN(fsk_max_pool)(const fsk_max_pool *s) {
    const long C = s->channels;
    for (long oy = 0; oy < s->out_height; oy++) {
        long y0 = oy * s->stride_height - s->pad_top, y1 = y0 + s->kernel_height;
        y0 = y0 < 0 ? 0 : y0;
        y1 = y1 > s->height ? s->height : y1;
        for (long ox = 0; ox < s->out_width; ox++) {
            long x0 = ox * s->stride_width - s->pad_left, x1 = x0 + s->kernel_width;
            x0 = x0 < 0 ? 0 : x0;
            x1 = x1 > s->width ? s->width : x1;
            float *out = s->output + (oy * s->out_width + ox) * C;
            const float *first = s->input + (y0 * s->row_pitch + x0) * C;
            for (long c = 0; c < C; c += L) {
                const long n = C - c < L ? C - c : L;
                V best = FN(load)(first + c, n);
                for (long y = y0; y < y1; y++) {
                    const float *row = s->input + y * s->row_pitch * C + c;
                    for (long x = x0; x < x1; x++) {
                        V v = FN(load)(row + x * C, n);
                        // Take v where it is larger or NaN, unless best is already NaN.
                        VU take = ~(VU)(v <= best) & (VU)(best == best);
                        best = FN(select)(take, v, best);
                    }
                }
                FN(store)(out + c, best, n);
            }
        }
    }
}
