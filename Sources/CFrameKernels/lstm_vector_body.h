// The vector activations, loads and stores of the LSTM and ConvLSTM kernels
// for one vector width, included by lstm_kernels.c once per instruction set
// before lstm_step_body.h and convlstm_body.h, which use them. Not a public
// header: the includer defines L, V, VU, VL, TARGET and FN as for
// lstm_step_body.h.

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

// ---------------------------------------------------------------- activations alone (tests)
// Defined once, by lstm_kernels.c: other includers (gru_kernels.c) define
// FSK_VECTOR_BODY_INTERNAL_ONLY to leave them out.
#ifndef FSK_VECTOR_BODY_INTERNAL_ONLY

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
#endif
