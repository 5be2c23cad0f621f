// fsk_lstm_pack_forward for one vector width, included by lstm_pack.c once per
// instruction set. Not a public header: the includer defines
//   L        lanes per vector (16 or 8), V its float vector type
//   TARGET   the __attribute__((target(...))) of the function
//   FN(x)    x with the instruction set's suffix; FN(load_transposed)(source, ld, r)
//            loads L rows of L floats ld apart into r transposed (r[j]: column j),
//            FN(segment) one row of an edge block
//   STOREU, ZERO, ADD, SUB, FMA  the intrinsics of V
// Contract: include/CFrameKernelsLSTM.h (here lanes is L).

/// An edge block: it straddles depth I, ends past K or holds units past H.
/// Each row is one masked segment (FN(segment)); the finiteness sum as below.
TARGET __attribute__((noinline))
static V FN(lstm_pack_edge)(const float *w_ih, long I, const float *w_hh, long H, long row0, long units, long k0,
                            float *out, V nonfinite) {
    const long K = I + H, depths = K - k0 < L ? K - k0 : L, hh = k0 > I ? k0 : I;   // hh: first W_hh depth
    const long ni = I - k0 <= 0 ? 0 : I - k0 < L ? I - k0 : L;   // depths from W_ih,
    const long nh = K - hh < L - ni ? K - hh : L - ni;          // then from W_hh
    float block[L][L];
    V r[L];
    for (long u = 0; u < L; u++) {
        const long row = row0 + u;
        const V segment = u >= units ? ZERO()
            : FN(segment)(ni ? w_ih + row * I + k0 : 0, ni, nh ? w_hh + row * H + (hh - I) : 0, nh);
        STOREU(block[u], segment);
    }
    FN(load_transposed)(block[0], L, r);
    for (long j = 0; j < depths; j++) {
        STOREU(out + j * 4 * L, r[j]);
        if (k0 + j >= I) nonfinite = ADD(nonfinite, SUB(r[j], r[j]));
    }
    return nonfinite;
}

/// Per group and gate, L x L blocks [units][depths] are loaded one row per
/// unit, transposed in registers and stored as L packed depths. Whole blocks
/// (one source, every unit below H) run straight-line so the block stays in
/// registers; the rest go through lstm_pack_edge.
TARGET static int FN(lstm_pack_forward)(const float *w_ih, long inputs, const float *w_hh, long hidden,
                                        float *packed, long first, long end) {
    const long H = hidden, I = inputs, K = inputs + hidden, stride = 4 * L;
    // Sums of v * 0 over W_hh: 0 while every v is finite, else NaN. Four, so
    // the chain of fused multiply-adds does not set the pace.
    V nonfinite[4] = {ZERO(), ZERO(), ZERO(), ZERO()};
    for (long q = first; q < end; q++) {
        float *group = packed + q * K * stride;
        const long units = H - q * L < L ? H - q * L : L;   // rows past H stay zero
        for (long gate = 0; gate < 4; gate++) {
            const long row0 = gate * H + q * L;
            for (long k0 = 0; k0 < K; k0 += L) {
                float *out = group + k0 * stride + gate * L;
                const float *source = k0 + L <= I ? w_ih + row0 * I + k0
                                    : k0 >= I && k0 + L <= K ? w_hh + row0 * H + (k0 - I) : 0;
                if (!source || units < L) {
                    nonfinite[0] = FN(lstm_pack_edge)(w_ih, I, w_hh, H, row0, units, k0, out, nonfinite[0]);
                    continue;
                }
                const long ld = k0 < I ? I : H;
                V r[L];
                FN(load_transposed)(source, ld, r);
                for (int j = 0; j < L; j++) STOREU(out + j * stride, r[j]);
                if (k0 >= I) {
                    for (int j = 0; j < L; j++) nonfinite[j % 4] = FMA(r[j], ZERO(), nonfinite[j % 4]);
                }
            }
        }
    }
    float sums[L];
    STOREU(sums, ADD(ADD(nonfinite[0], nonfinite[1]), ADD(nonfinite[2], nonfinite[3])));
    int finite = 1;
    for (int j = 0; j < L; j++) finite &= sums[j] == 0.0f;
    return finite;
}
