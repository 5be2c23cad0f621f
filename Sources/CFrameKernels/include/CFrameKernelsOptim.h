#ifndef CFRAMEKERNELS_OPTIM_H
#define CFRAMEKERNELS_OPTIM_H

// Optimizer steps for x86: the per-element updates of Recurrent's Adam, AdamW
// (Training/AdamAlgorithm.swift) and SGD (Training/SGD.swift), vectorized, with
// the same Float32 operations in the same order and no fused multiply-adds, so
// every finite result is bit for bit the Swift one (tests hold them to it; NaN
// payloads are not compared). The constants are the Swift `Constants` values.
// Each call updates `count` consecutive elements (any count; callers split
// large parameters over threads). On other architectures the functions trap.

#ifdef __cplusplus
extern "C" {
#endif

/// AdamAlgorithm.Constants (flags as 0 or 1) and whether amsgrad is on.
typedef struct fsk_adam_constants {
    float decay_factor, decay, weight1, beta2, weight2, epsilon, negative_step, correction2_root;
    int decoupled, decays, weight_is_small, amsgrad;
} fsk_adam_constants;

/// One Adam or AdamW step of p, m (exp_avg), v (exp_avg_sq) and, with
/// amsgrad, v_max (max_exp_avg_sq; unread otherwise) from g, in place.
void fsk_adam_avx512(const fsk_adam_constants *k, float *p, const float *g, float *m, float *v, float *v_max,
                     long count);
void fsk_adam_avx2(const fsk_adam_constants *k, float *p, const float *g, float *m, float *v, float *v_max,
                   long count);

/// SGD.Constants (flags as 0 or 1).
typedef struct fsk_sgd_constants {
    float decay, mu, keep, negative_rate;
    int decays, uses_momentum, uses_nesterov, first_buffers;
} fsk_sgd_constants;

/// One SGD step of p and (with momentum) the momentum buffer b from g, in
/// place; b is unread without momentum and on the first step (first_buffers).
void fsk_sgd_avx512(const fsk_sgd_constants *k, float *p, const float *g, float *b, long count);
void fsk_sgd_avx2(const fsk_sgd_constants *k, float *p, const float *g, float *b, long count);

#ifdef __cplusplus
}
#endif

#endif
