// AVX2 variants (with F16C for the scales, FMA where the order is fused). Signed bytes are multiplied with maddubs: the weight's
// magnitude as the unsigned side, its sign moved onto the activation, which is exact because
// activations are never -128. Integer sums are exact; float steps follow mt_kernels.h's order.
#if defined(__x86_64__)
#include "mt_kernels_internal.h"

#include <immintrin.h>

#define MT_AVX2 __attribute__((target("avx2,f16c,fma")))

// (A whole-register load, pinned by the empty asm: left to itself the compiler inserts the two
// bytes into whatever register is at hand, the accumulator, which chained every block to the last.)
static inline MT_AVX2 float half_hw(const uint8_t *p) {
    __m128i v = _mm_loadu_si32(p);
    __asm__("" : "+x"(v));
    return _mm_cvtss_f32(_mm_cvtph_ps(v));
}

// Lane l: the exact integer dot of elements 4l..4l+3 of two 32-byte blocks of signed values.
static inline MT_AVX2 __m256i quads_signed(__m256i x, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)), _mm256_set1_epi16(1));
}

// Sum of 32 unsigned (u < 64) x signed bytes, pairs weighted by the 16-bit scales in `scales`.
static inline MT_AVX2 __m256i scaled_dot(__m256i u, __m256i y, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), scales);
}

static inline MT_AVX2 int32_t hsum_i32(__m256i v) {
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
    return _mm_cvtsi128_si32(q);
}

static inline MT_AVX2 float sum8(__m256 acc) {
    float s[8];
    _mm256_storeu_ps(s, acc);
    return mt_sum8(s);
}

// Floats: eight at a time into the eight running sums; a tail of fewer than eight, one by one.
static inline MT_AVX2 __m256 load8_f32(const uint8_t *p) { return _mm256_loadu_ps((const float *)p); }
static inline MT_AVX2 __m256 load8_f16(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline MT_AVX2 __m256 load8_bf16(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

#define MT_FLOAT_AVX2(name, size, load8, load1)                                                   \
    MT_AVX2 float name(const uint8_t *w, const uint8_t *a, int n) {                              \
        __m256 acc = _mm256_setzero_ps();                                                         \
        int i = 0;                                                                                \
        for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(load8(w + (size) * i), load8(a + (size) * i))); \
        float s[8];                                                                               \
        _mm256_storeu_ps(s, acc);                                                                 \
        for (; i < n; i++) s[i % 8] = s[i % 8] + load1(w + (size) * i) * load1(a + (size) * i);  \
        return mt_sum8(s);                                                                        \
    }
MT_FLOAT_AVX2(mt_dot_f32_avx2, 4, load8_f32, mt_f32)
MT_FLOAT_AVX2(mt_dot_f16_avx2, 2, load8_f16, mt_half)
MT_FLOAT_AVX2(mt_dot_bf16_avx2, 2, load8_bf16, mt_bf16)

// The quantized kernels are written once for `nt` activation rows (1 or 4) against one weight
// row: with four, each weight block is loaded and unpacked once for all of them, and the four
// independent sums keep the CPU busy while each waits on its own additions. Each row's sums are
// exactly those of the one-row kernel.
#define MT_BODY static inline __attribute__((always_inline)) MT_AVX2

// Q4_0 repacked eight rows together (mt_repack_q4_0x8): lane i is row i. The nibbles go in
// unsigned, each against four activations broadcast; the offset of 8 comes off as 8 x their sum.
// (Sixteen-bit sums of eight maddubs results stay within range: 8 x 2 x 15 x 127 < 32768.)
MT_BODY void q4_0x8_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    const __m256i low4 = _mm256_set1_epi8(0xF), ones16 = _mm256_set1_epi16(1), ones8 = _mm256_set1_epi8(1);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < n / 32; b++, w += MT_Q4_0X8) {
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w));
        __m256i lo[4], hi[4];
        for (int q = 0; q < 4; q++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * q));
            lo[q] = _mm256_and_si256(v, low4);
            hi[q] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        }
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_0, *y = ab + 2;
            __m256i p = _mm256_setzero_si256();
            for (int q = 0; q < 4; q++) {
                int32_t y0, y1;
                memcpy(&y0, y + 4 * q, 4);
                memcpy(&y1, y + 16 + 4 * q, 4);
                p = _mm256_add_epi16(p, _mm256_maddubs_epi16(lo[q], _mm256_set1_epi32(y0)));
                p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[q], _mm256_set1_epi32(y1)));
            }
            int32_t sum = hsum_i32(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)y)), ones16));
            __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(p, ones16), _mm256_set1_epi32(8 * sum));
            __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(half_hw(ab)));
            acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_cvtepi32_ps(dot), scale));
        }
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(out + 8 * t, acc[t]);
}

MT_AVX2 void mt_q4_0x8_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    if (nt == 4) q4_0x8_avx2(w, a, n, 4, out); else q4_0x8_avx2(w, a, n, 1, out);
}

// Q4_K repacked eight rows together (mt_repack_q4_Kx8): lane i is row i. Per pair of sub-blocks,
// eight runs of four nibbles per row meet four activations broadcast; the sixteen-bit sums (8 x 2
// x 15 x 127 at most) take each row's scale in one madd. Mins: two sub-blocks per madd.
MT_BODY void q4_Kx8_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    const __m256i low4 = _mm256_set1_epi8(0xF), ones16 = _mm256_set1_epi16(1);
    __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < n / 256; b++, w += MT_Q4_KX8_BLOCK) {
        __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int p = 0; p < 4; p++) {
            __m256i plo[4], phi[4];
            for (int t = 0; t < nt; t++) plo[t] = phi[t] = _mm256_setzero_si256();
            for (int q = 0; q < 8; q++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(w + 224 + 256 * p + 32 * q));
                __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
                for (int t = 0; t < nt; t++) {
                    const uint8_t *y = a[t] + b * MT_Q8_K + 4 + 64 * p + 4 * q;
                    int32_t y0, y1;
                    memcpy(&y0, y, 4);
                    memcpy(&y1, y + 32, 4);
                    plo[t] = _mm256_add_epi16(plo[t], _mm256_maddubs_epi16(lo, _mm256_set1_epi32(y0)));
                    phi[t] = _mm256_add_epi16(phi[t], _mm256_maddubs_epi16(hi, _mm256_set1_epi32(y1)));
                }
            }
            __m256i sc_lo = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(w + 32 + 32 * p)));
            __m256i sc_hi = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(w + 48 + 32 * p)));
            for (int t = 0; t < nt; t++) {
                acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(plo[t], sc_lo));
                acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(phi[t], sc_hi));
            }
        }
        __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w)), dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 16)));
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_K;
            // Each sub-block's activation sum (two sums of 16), then pairs of them as 16-bit halves.
            int32_t sums[8];
            _mm256_storeu_si256((__m256i *)sums, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(ab + 260)), ones16));
            __m256i mins = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++) {
                __m256i m = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(w + 160 + 16 * k)));
                int32_t pair = (int32_t)(((uint32_t)(uint16_t)sums[2 * k]) | ((uint32_t)(uint16_t)sums[2 * k + 1] << 16));
                mins = _mm256_add_epi32(mins, _mm256_madd_epi16(m, _mm256_set1_epi32(pair)));
            }
            __m256 ad = _mm256_set1_ps(mt_f32(ab));
            __m256 plus = _mm256_mul_ps(_mm256_mul_ps(d, ad), _mm256_cvtepi32_ps(acc[t]));
            __m256 minus = _mm256_mul_ps(_mm256_mul_ps(dmin, ad), _mm256_cvtepi32_ps(mins));
            s[t] = _mm256_add_ps(s[t], _mm256_sub_ps(plus, minus));
        }
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(out + 8 * t, s[t]);
}

MT_AVX2 void mt_q4_Kx8_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    if (nt == 4) q4_Kx8_avx2(w, a, n, 4, out); else q4_Kx8_avx2(w, a, n, 1, out);
}

MT_BODY void k45_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out, int kind) {
    const __m256i low4 = _mm256_set1_epi8(0xF), sixteen = _mm256_set1_epi8(16);
    // Bytes 0,0,1,1,...,7,7: each min twice, against the two sums of 16 of its sub-block.
    const __m128i twice = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    int bytes = kind == 5 ? MT_Q5_K : MT_Q4_K;
    float s[4] = {0, 0, 0, 0};
    for (int b = 0; b < n / 256; b++, w += bytes) {
        const uint8_t *qs = w + (kind == 5 ? 48 : 16);
        uint8_t sc[8], m[8];
        mt_scales_mins_k4(w + 4, sc, m);
        __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 16));
        __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        // The eight scales as 16-bit values; sub-block j's spread over a vector by one shuffle.
        __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)sc)));
#define MT_SCALE(j) _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)(((2 * (j) + 1) << 8) | (2 * (j)))))
        for (int pair = 0; pair < 4; pair++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * pair));
            __m256i lo = _mm256_and_si256(q, low4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            if (kind == 5) {
                __m256i bit0 = _mm256_set1_epi8((char)(1 << (2 * pair))), bit1 = _mm256_set1_epi8((char)(1 << (2 * pair + 1)));
                lo = _mm256_add_epi8(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit0), bit0), sixteen));
                hi = _mm256_add_epi8(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit1), bit1), sixteen));
            }
            __m256i scale_lo = MT_SCALE(2 * pair), scale_hi = MT_SCALE(2 * pair + 1);
            for (int t = 0; t < nt; t++) {
                const uint8_t *q8 = a[t] + b * MT_Q8_K + 4;
                acc[t] = _mm256_add_epi32(acc[t], scaled_dot(lo, _mm256_loadu_si256((const __m256i *)(q8 + 64 * pair)), scale_lo));
                acc[t] = _mm256_add_epi32(acc[t], scaled_dot(hi, _mm256_loadu_si256((const __m256i *)(q8 + 64 * pair + 32)), scale_hi));
            }
        }
#undef MT_SCALE
        __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)m), twice));
        float d = half_hw(w), dmin = half_hw(w + 2);
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_K;
            int32_t isum = hsum_i32(acc[t]), msum = hsum_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(ab + 260)), mins));
            float ad = mt_f32(ab);
            s[t] += d * ad * (float)isum - dmin * ad * (float)msum;
        }
    }
    for (int t = 0; t < nt; t++) out[t] = s[t];
}

MT_BODY void q6k_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    const __m256i low4 = _mm256_set1_epi8(0xF), three = _mm256_set1_epi8(3);
    // Eight of byte k, eight of byte k + 1 (shifted by k): the scales of a run's two sub-blocks.
    const __m128i pairs = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    float s[4] = {0, 0, 0, 0};
    for (int b = 0; b < n / 256; b++, w += MT_Q6_K) {
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(w + 192));
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8), acc[4];
        // 32 x each sub-block's scale times its activations' sum, taken off the unsigned dots.
        for (int t = 0; t < nt; t++) {
            __m256i offset = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a[t] + b * MT_Q8_K + 260)), sc16);
            acc[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
        }
        for (int h = 0; h < 2; h++) {
            __m256i qa = _mm256_loadu_si256((const __m256i *)(w + 64 * h)), qb = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
            for (int r = 0; r < 4; r++) {
                __m256i low = r % 2 ? qb : qa;
                __m256i nib = r < 2 ? _mm256_and_si256(low, low4) : _mm256_and_si256(_mm256_srli_epi16(low, 4), low4);
                __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * r)), three), 4);
                __m256i v = _mm256_or_si256(nib, high);
                __m256i scales = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, _mm_add_epi8(pairs, _mm_set1_epi8((char)(8 * h + 2 * r)))));
                for (int t = 0; t < nt; t++) {
                    __m256i y = _mm256_loadu_si256((const __m256i *)(a[t] + b * MT_Q8_K + 4 + 128 * h + 32 * r));
                    acc[t] = _mm256_add_epi32(acc[t], scaled_dot(v, y, scales));
                }
            }
        }
        float d = half_hw(w + 208);
        for (int t = 0; t < nt; t++) s[t] += d * mt_f32(a[t] + b * MT_Q8_K) * (float)hsum_i32(acc[t]);
    }
    for (int t = 0; t < nt; t++) out[t] = s[t];
}

// One activation row, and four.
#define MT_AVX2_PAIR(type, call)                                                                   \
    MT_AVX2 float mt_dot_##type##_avx2(const uint8_t *w, const uint8_t *a1, int n) {               \
        const uint8_t *a[1] = {a1};                                                                \
        float out;                                                                                 \
        call(w, a, n, 1, &out);                                                                    \
        return out;                                                                                \
    }                                                                                              \
    MT_AVX2 void mt_dot4_##type##_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out) { \
        call(w, a, n, 4, out);                                                                     \
    }
#define MT_Q4_K_CALL(w, a, n, nt, out) k45_avx2(w, a, n, nt, out, 4)
#define MT_Q5_K_CALL(w, a, n, nt, out) k45_avx2(w, a, n, nt, out, 5)
MT_AVX2_PAIR(q4_K, MT_Q4_K_CALL)
MT_AVX2_PAIR(q5_K, MT_Q5_K_CALL)
MT_AVX2_PAIR(q6_K, q6k_avx2)

// Q8_0, Q4_1, Q5_0, Q5_1: twice, with AVX2's byte products (maddubs, then madd) and with AVX-VNNI's
// (dpbusd does both in one instruction, with the same integer results).
#define MT_VNNI 0
#define MT_X86_NAME(x) x##_avx2
#define MT_X86_TARGET MT_AVX2
#include "mt_kernels_x86_q8.h"
#undef MT_VNNI
#undef MT_X86_NAME
#undef MT_X86_TARGET
#define MT_VNNI 1
#define MT_X86_NAME(x) x##_avxvnni
#define MT_X86_TARGET __attribute__((target("avx2,f16c,fma,avxvnni")))
#include "mt_kernels_x86_q8.h"
// Q8_0, Q4_1, Q5_0, Q5_1 with AVX-512 VNNI: a 64-byte register holds two tokens' activation blocks
// side by side against one weight block loaded into both halves, so each byte product, conversion,
// scale and fused add serves two tokens; lanes 0-7 are the first token's eight running sums and
// lanes 8-15 the second's, in the one-row order. dpbusd multiplies unsigned by signed bytes: Q8_0's
// activations go in with 128 added (a flipped top bit) and 128 x the weights' sums of four come off
// first (the seed), so the integers are exact as AVX2's.
#define MT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,f16c,fma")))
#define MT_BODY512 static inline __attribute__((always_inline)) MT_AVX512

static inline MT_AVX512 __m512i pair_bytes(const uint8_t *first, const uint8_t *second) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)first)),
                              _mm256_loadu_si256((const __m256i *)second), 1);
}

static inline MT_AVX512 __m512 pair_floats(float first, float second) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm256_set1_ps(first))),
                                               _mm256_castps_pd(_mm256_set1_ps(second)), 1));
}

// Both tokens' results: each half's eight sums added up in the fixed order.
static inline MT_AVX512 void pair_sums(__m512 acc, float *first, float *second) {
    float s[16];
    _mm512_storeu_ps(s, acc);
    *first = mt_sum8(s);
    *second = mt_sum8(s + 8);
}

// `nr` weight rows (1 to 4, `row_bytes` apart) against `np` pairs of tokens (1 to 4): out[2 np r + t].
MT_BODY512 void q8_0_avx512(const uint8_t *w, size_t row_bytes, int nr, const uint8_t *const *a, int n, int np, float *out) {
    const __m512i flip = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
    __m512 acc[4][4];
    for (int r = 0; r < nr; r++) for (int p = 0; p < np; p++) acc[r][p] = _mm512_setzero_ps();
    for (int b = 0; b < n / 32; b++) {
        __m512i x[4], seed[4];
        __m512 dw[4];
        for (int r = 0; r < nr; r++) {
            const uint8_t *wb = w + r * row_bytes + b * MT_Q8_0;
            x[r] = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(wb + 2)));
            seed[r] = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, flip, x[r]));
            dw[r] = _mm512_set1_ps(half_hw(wb));
        }
        for (int p = 0; p < np; p++) {
            const uint8_t *a0 = a[2 * p] + b * MT_Q8_0, *a1 = a[2 * p + 1] + b * MT_Q8_0;
            __m512i y = _mm512_xor_si512(pair_bytes(a0 + 2, a1 + 2), flip);
            __m512 da = pair_floats(half_hw(a0), half_hw(a1));
            for (int r = 0; r < nr; r++) {
                __m512i dot = _mm512_dpbusd_epi32(seed[r], y, x[r]);
                acc[r][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[r], da), acc[r][p]);
            }
        }
    }
    for (int r = 0; r < nr; r++) for (int p = 0; p < np; p++) pair_sums(acc[r][p], &out[2 * np * r + 2 * p], &out[2 * np * r + 2 * p + 1]);
}

// Q4_1, Q5_0, Q5_1 unpacked as the AVX2 kernel does (the fifth bits added under a mask that is the
// block's 32 high bits), two tokens a register. The blocks' m x sa go on in one vector per row,
// lane t for token t (lanes past the tokens take zeros).
MT_BODY512 void u32_avx512(const uint8_t *w, size_t row_bytes, int nr, const uint8_t *const *a, int n, int np, float *out, int type) {
    const __m128i low4 = _mm_set1_epi8(0xF);
    const __m256i high = _mm256_set1_epi8(0x10);
    const int bytes = mt_u32_block(type), qs_at = mt_u32_qs_at(type);
    __m512 s[4][4];
    __m256 o[4];
    for (int r = 0; r < nr; r++) {
        for (int p = 0; p < np; p++) s[r][p] = _mm512_setzero_ps();
        o[r] = _mm256_setzero_ps();
    }
    for (int b = 0; b < n / 32; b++) {
        __m512i u[4];
        __m512 dw[4];
        __m256 m[4];
        for (int r = 0; r < nr; r++) {
            const uint8_t *wb = w + r * row_bytes + b * bytes;
            __m128i q = _mm_loadu_si128((const __m128i *)(wb + qs_at));
            __m256i v = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm_and_si128(q, low4));
            if (type != MT_GGML_Q4_1) {
                uint32_t qh;
                memcpy(&qh, wb + (type == MT_GGML_Q5_0 ? 2 : 4), 4);
                v = _mm256_mask_add_epi8(v, (__mmask32)qh, v, high);
            }
            u[r] = _mm512_broadcast_i64x4(v);
            float d = half_hw(wb);
            dw[r] = _mm512_set1_ps(d);
            m[r] = _mm256_set1_ps(type == MT_GGML_Q5_0 ? d * -16.0f : half_hw(wb + 2));
        }
        float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int p = 0; p < np; p++) {
            const uint8_t *a0 = a[2 * p] + b * MT_Q8_1, *a1 = a[2 * p + 1] + b * MT_Q8_1;
            sums[2 * p] = mt_f32(a0 + 4), sums[2 * p + 1] = mt_f32(a1 + 4);
            __m512i y = pair_bytes(a0 + 8, a1 + 8);
            __m512 da = pair_floats(half_hw(a0), half_hw(a1));
            for (int r = 0; r < nr; r++) {
                __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[r], y);
                s[r][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[r], da), s[r][p]);
            }
        }
        __m256 sa = _mm256_loadu_ps(sums);
        for (int r = 0; r < nr; r++) o[r] = _mm256_add_ps(o[r], _mm256_mul_ps(m[r], sa));
    }
    for (int r = 0; r < nr; r++) {
        float offset[8];
        _mm256_storeu_ps(offset, o[r]);
        for (int p = 0; p < np; p++) {
            float first, second;
            pair_sums(s[r][p], &first, &second);
            out[2 * np * r + 2 * p] = first + offset[2 * p];
            out[2 * np * r + 2 * p + 1] = second + offset[2 * p + 1];
        }
    }
}

// Four tokens against one row, and eight against four rows (one token alone goes to the 32-byte
// kernels).
MT_AVX512 void mt_dot4_q8_0_avx512(const uint8_t *w, const uint8_t *const *a, int n, float *out) {
    q8_0_avx512(w, 0, 1, a, n, 2, out);
}
MT_AVX512 void mt_dot4x8_q8_0_avx512(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out) {
    q8_0_avx512(w, row_bytes, 4, a, n, 4, out);
}
#define MT_AVX512_U32(type, number)                                                                                       \
    MT_AVX512 void mt_dot4_##type##_avx512(const uint8_t *w, const uint8_t *const *a, int n, float *out) {                \
        u32_avx512(w, 0, 1, a, n, 2, out, number);                                                                        \
    }                                                                                                                     \
    MT_AVX512 void mt_dot4x8_##type##_avx512(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out) { \
        u32_avx512(w, row_bytes, 4, a, n, 4, out, number);                                                                \
    }
MT_AVX512_U32(q4_1, MT_GGML_Q4_1)
MT_AVX512_U32(q5_0, MT_GGML_Q5_0)
MT_AVX512_U32(q5_1, MT_GGML_Q5_1)
#undef MT_AVX512_U32
#endif
