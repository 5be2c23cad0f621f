// The optimizer steps for one vector width, included by optim_kernels.c once
// per instruction set, with FP_CONTRACT off. Not a public header: the
// includer defines
//   L        lanes per vector (16 or 8)
//   V, VU    float and uint32 vectors of L lanes (aligned), VL an unaligned V
//   TARGET   the __attribute__((target(...))) of every function
//   FN(x)    x with the instruction set's suffix
//   SQRT(v)  the IEEE square root of each lane
// Contracts: include/CFrameKernelsOptim.h. Every expression is the Swift
// element function's, with its grouping: `a * b * c` is (a * b) * c there too.

TARGET static inline V FN(opt_splat)(float x) { return x - (V){0}; }

TARGET static inline V FN(opt_select)(VU mask, V yes, V no) {
    return (V)(((VU)yes & mask) | ((VU)no & ~mask));
}

/// The first n lanes from p, zeros after (the tail of a parameter).
TARGET static inline V FN(opt_load)(const float *p, long n) {
    if (n == L) return *(const VL *)p;
    V v = {0};
    for (long i = 0; i < n; i++) v[i] = p[i];
    return v;
}

TARGET static inline void FN(opt_store)(float *p, V v, long n) {
    if (n == L) { *(VL *)p = v; return; }
    for (long i = 0; i < n; i++) p[i] = v[i];
}

/// PrecheckedOptimizer.swift's squareRoot: Float.nan (0x7FC00000) below zero,
/// else the root of the magnitude with the sign copied back (sqrt(-0) = -0).
TARGET static inline V FN(opt_sqrt)(V x) {
    const VU sign = (VU)x & 0x80000000u;
    const V root = SQRT((V)((VU)x & 0x7FFFFFFFu));
    const V signed_root = (V)((VU)root | sign);
    return FN(opt_select)((VU)(x < 0.0f), (V)((VU){0} + 0x7FC00000u), signed_root);
}

TARGET void FN(fsk_adam)(const fsk_adam_constants *k, float *p, const float *g, float *m, float *v, float *v_max,
                         long count) {
    const V decay_factor = FN(opt_splat)(k->decay_factor), decay = FN(opt_splat)(k->decay);
    const V weight1 = FN(opt_splat)(k->weight1), keep1 = FN(opt_splat)(1.0f - k->weight1);
    const V beta2 = FN(opt_splat)(k->beta2), weight2 = FN(opt_splat)(k->weight2);
    const V epsilon = FN(opt_splat)(k->epsilon), negative_step = FN(opt_splat)(k->negative_step);
    const V correction2_root = FN(opt_splat)(k->correction2_root);
    for (long i = 0; i < count; i += L) {
        const long n = count - i < L ? count - i : L;
        V pv = FN(opt_load)(p + i, n), grad = FN(opt_load)(g + i, n);
        V mv = FN(opt_load)(m + i, n), vv = FN(opt_load)(v + i, n);
        if (k->decays) {
            if (k->decoupled) pv = pv * decay_factor;
            else grad = grad + decay * pv;
        }
        // ATen's lerp: the form whose weight is the smaller one.
        mv = k->weight_is_small ? mv + weight1 * (grad - mv) : grad - (grad - mv) * keep1;
        vv = vv * beta2;
        vv = vv + weight2 * grad * grad;
        V second = vv;
        if (k->amsgrad) {
            V maximum = FN(opt_load)(v_max + i, n);
            // torch.maximum: the old maximum stays when larger or NaN.
            maximum = FN(opt_select)((VU)(maximum > vv) | (VU)(maximum != maximum), maximum, vv);
            FN(opt_store)(v_max + i, maximum, n);
            second = maximum;
        }
        const V denominator = FN(opt_sqrt)(second) / correction2_root + epsilon;
        pv = pv + negative_step * mv / denominator;
        FN(opt_store)(p + i, pv, n);
        FN(opt_store)(m + i, mv, n);
        FN(opt_store)(v + i, vv, n);
    }
}

TARGET void FN(fsk_sgd)(const fsk_sgd_constants *k, float *p, const float *g, float *b, long count) {
    const V decay = FN(opt_splat)(k->decay), mu = FN(opt_splat)(k->mu), keep = FN(opt_splat)(k->keep);
    const V negative_rate = FN(opt_splat)(k->negative_rate);
    for (long i = 0; i < count; i += L) {
        const long n = count - i < L ? count - i : L;
        V pv = FN(opt_load)(p + i, n), d = FN(opt_load)(g + i, n);
        if (k->decays) d = d + decay * pv;
        if (!k->uses_momentum) {
            FN(opt_store)(p + i, pv + negative_rate * d, n);
            continue;
        }
        // PyTorch: buf = grad.clone() on the first step, else buf.mul_(mu).add_(grad, alpha=1-tau)
        const V buffer = k->first_buffers ? d : FN(opt_load)(b + i, n) * mu + keep * d;
        const V direction = k->uses_nesterov ? d + mu * buffer : buffer;
        FN(opt_store)(p + i, pv + negative_rate * direction, n);
        FN(opt_store)(b + i, buffer, n);
    }
}
