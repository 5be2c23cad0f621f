// Packing of [W_ih, W_hh] for the fused LSTM forward (contract in
// include/CFrameKernelsLSTM.h): a transpose of each gate's [units, depths]
// block into [depths][units]. The vector versions (lstm_pack_body.h, once per
// instruction set) transpose L x L blocks in registers and write each packed
// row whole, close to a memcpy of as many floats (see Docs/Performance.md, "Design measurements").
// The scalar one is the fallback for other widths and architectures and the
// tests' reference.

#include "CFrameKernels.h"

int fsk_lstm_pack_forward_reference(const float *w_ih, long inputs, const float *w_hh, long hidden, long lanes,
                                    float *packed, long first, long end) {
    const long H = hidden, I = inputs, K = inputs + hidden, stride = 4 * lanes;
    int finite = 1;   // v - v is 0 for finite v, NaN for infinities and NaN
    // A transpose in blocks of 16 depths: per (gate, unit) 16 contiguous floats
    // of its weight row are read and spread over 16 packed rows that stay in L1
    // (one depth at a time over all units wrote each packed row 16 KB apart).
    for (long q = first; q < end; q++) {
        float *group = packed + q * K * stride;
        for (long k0 = 0; k0 < K; k0 += 16) {
            const long k1 = k0 + 16 < K ? k0 + 16 : K;
            for (long gate = 0; gate < 4; gate++) {
                for (long u = 0; u < lanes; u++) {
                    const long unit = q * lanes + u, row = gate * H + unit;
                    float *out = group + gate * lanes + u;
                    long k = k0;
                    if (unit >= H) {
                        for (; k < k1; k++) out[k * stride] = 0.0f;
                        continue;
                    }
                    for (const float *source = w_ih + row * I; k < (k1 < I ? k1 : I); k++) out[k * stride] = source[k];
                    for (const float *source = w_hh + row * H; k < k1; k++) {
                        const float v = source[k - I];
                        out[k * stride] = v;
                        finite &= v - v == 0.0f;
                    }
                }
            }
        }
    }
    return finite;
}

#if defined(__x86_64__)
#include <immintrin.h>

// ---------------------------------------------------------------- AVX-512
// 16 x 16 from rows ld floats apart. a[i] holds eight columns of rows i and
// i + 4 (i < 4) or i + 8 and i + 12 (4 <= i < 8); two rounds of in-lane
// shuffles leave in u[4b + c] column c (lanes 0, 2) and c + 4 (lanes 1, 3) of
// rows 8b ..< 8b + 8, and one round of lane shuffles puts the rows in order.
__attribute__((target("avx512f")))
static inline void load_transposed_avx512(const float *source, long ld, __m512 r[16]) {
    __m512 a[8], t[8], u[8];
    for (int h = 0; h < 2; h++) {   // columns 8h ..< 8h + 8
        for (int i = 0; i < 8; i++) {
            const float *low = source + (i < 4 ? i : i + 4) * ld + 8 * h, *high = low + 4 * ld;
            a[i] = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(low))),
                                                      _mm256_castps_pd(_mm256_loadu_ps(high)), 1));
        }
        for (int i = 0; i < 8; i += 2) {
            t[i] = _mm512_unpacklo_ps(a[i], a[i + 1]);
            t[i + 1] = _mm512_unpackhi_ps(a[i], a[i + 1]);
        }
        for (int b = 0; b < 8; b += 4) {
            u[b] = _mm512_shuffle_ps(t[b], t[b + 2], 0x44);
            u[b + 1] = _mm512_shuffle_ps(t[b], t[b + 2], 0xEE);
            u[b + 2] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0x44);
            u[b + 3] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0xEE);
        }
        for (int c = 0; c < 4; c++) {
            r[8 * h + c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
            r[8 * h + 4 + c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        }
    }
}

/// Lanes [0, ni) from ih, [ni, ni + nh) from hh (its first nh floats), the rest
/// zero; masked-off lanes read nothing.
__attribute__((target("avx512f")))
static inline __m512 segment_avx512(const float *ih, long ni, const float *hh, long nh) {
    const __m512 v = ni ? _mm512_maskz_loadu_ps((__mmask16)((1u << ni) - 1), ih) : _mm512_setzero_ps();
    return nh ? _mm512_mask_expandloadu_ps(v, (__mmask16)(((1u << nh) - 1) << ni), hh) : v;
}

#define L 16
#define V __m512
#define TARGET __attribute__((target("avx512f")))
#define FN(x) x##_avx512
#define STOREU _mm512_storeu_ps
#define ZERO _mm512_setzero_ps
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define FMA _mm512_fmadd_ps
#include "lstm_pack_body.h"
#undef L
#undef V
#undef TARGET
#undef FN
#undef STOREU
#undef ZERO
#undef ADD
#undef SUB
#undef FMA

// ---------------------------------------------------------------- AVX2
// 8 x 8 from rows ld floats apart: each vector loads the same four columns of
// rows i and i + 4 (the half swap happens in the loads), then two rounds of 8
// in-lane shuffles leave column c in r[c].
__attribute__((target("avx2")))
static inline void load_transposed_avx2(const float *source, long ld, __m256 r[8]) {
    __m256 a[8], t[8];
    for (int i = 0; i < 4; i++) {
        for (int h = 0; h < 2; h++) {
            const float *low = source + i * ld + 4 * h, *high = low + 4 * ld;
            a[4 * h + i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(low)), _mm_loadu_ps(high), 1);
        }
    }
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(a[i], a[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(a[i], a[i + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        r[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
        r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
        r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
        r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
    }
}

/// As segment_avx512 (AVX2 has no expanding load): hh's floats are loaded to
/// lanes [0, nh) and rotated up by ni lanes, which puts the load's zero lanes
/// (ni + nh <= 8) below ni.
__attribute__((target("avx2")))
static inline __m256 segment_avx2(const float *ih, long ni, const float *hh, long nh) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 v = _mm256_setzero_ps();
    if (ni) v = _mm256_maskload_ps(ih, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)ni), lane));
    if (nh) {
        const __m256 h = _mm256_maskload_ps(hh, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nh), lane));
        v = _mm256_or_ps(v, _mm256_permutevar8x32_ps(h, _mm256_sub_epi32(lane, _mm256_set1_epi32((int)ni))));
    }
    return v;
}

#define L 8
#define V __m256
#define TARGET __attribute__((target("avx2,fma")))
#define FN(x) x##_avx2
#define STOREU _mm256_storeu_ps
#define ZERO _mm256_setzero_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define FMA _mm256_fmadd_ps
#include "lstm_pack_body.h"

#endif

int fsk_lstm_pack_forward(const float *w_ih, long inputs, const float *w_hh, long hidden, long lanes,
                          float *packed, long first, long end) {
#if defined(__x86_64__)
    // The caller asks for 16 lanes only on AVX-512 CPUs and 8 only on AVX2 ones.
    if (lanes == 16) return lstm_pack_forward_avx512(w_ih, inputs, w_hh, hidden, packed, first, end);
    if (lanes == 8) return lstm_pack_forward_avx2(w_ih, inputs, w_hh, hidden, packed, first, end);
#endif
    return fsk_lstm_pack_forward_reference(w_ih, inputs, w_hh, hidden, lanes, packed, first, end);
}
