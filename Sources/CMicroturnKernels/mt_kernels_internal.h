// What the scalar twins and the SIMD variants share: scale decoding and the final sums.
#ifndef MT_KERNELS_INTERNAL_H
#define MT_KERNELS_INTERNAL_H

#include "mt_kernels.h"

#include <stdint.h>
#include <string.h>

// IEEE half to float, exactly (normal, subnormal, zero, infinity, NaN).
static inline float mt_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalize
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000 | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float mt_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

static inline int16_t mt_i16(const uint8_t *p) {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline float mt_bf16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// The eight running sums of the 32-element kinds, added up in their fixed order.
static inline float mt_sum8(const float s[8]) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// Q4_K/Q5_K: the 6-bit scale and min of sub-block j from the 12 packed bytes.
static inline void mt_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// All eight scales and mins at once, word-wise (the SIMD variants; the scalar twins decode each
// with mt_scale_min_k4, so the two ways check each other): scales 0-3 and mins 0-3 are the low six
// bits of bytes 0-3 and 4-7; scales and mins 4-7 take four bits from bytes 8-11 (low, high nibble)
// and their top two from the top bits of bytes 0-3 and 4-7.
static inline void mt_scales_mins_k4(const uint8_t *q, uint8_t sc[8], uint8_t m[8]) {
    uint32_t u[3], s[2], n[2];
    memcpy(u, q, 12);
    s[0] = u[0] & 0x3F3F3F3Fu;
    n[0] = u[1] & 0x3F3F3F3Fu;
    s[1] = (u[2] & 0x0F0F0F0Fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    n[1] = ((u[2] >> 4) & 0x0F0F0F0Fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    memcpy(sc, s, 8);
    memcpy(m, n, 8);
}

// The mins of a Q4_K/Q5_K block against the activations' sums of 16.
static inline int32_t mt_k4_min_sum(const uint8_t *scales, const uint8_t *bsums) {
    int32_t msum = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        mt_scale_min_k4(j, scales, &sc, &m);
        msum += (int32_t)m * ((int32_t)mt_i16(bsums + 4 * j) + (int32_t)mt_i16(bsums + 4 * j + 2));
    }
    return msum;
}

// Q6_K: 32 x the scale-weighted activation sums, taken off the dot of the unsigned values.
static inline int32_t mt_q6_offset(const int8_t *scales, const uint8_t *bsums) {
    int32_t s = 0;
    for (int j = 0; j < 16; j++) s += (int32_t)scales[j] * (int32_t)mt_i16(bsums + 2 * j);
    return 32 * s;
}

// Q4_1, Q5_0, Q5_1 by their ggml type numbers: block bytes, and where the 16 bytes of low bits start
// (Q4_1: f16 d, f16 m, nibbles; Q5_0: f16 d, 32 high bits, nibbles; Q5_1: f16 d, f16 m, high bits, nibbles).
enum { MT_GGML_Q4_1 = 3, MT_GGML_Q5_0 = 6, MT_GGML_Q5_1 = 7 };
static inline int mt_u32_block(int type) { return type == MT_GGML_Q4_1 ? 20 : type == MT_GGML_Q5_0 ? 22 : 24; }
static inline int mt_u32_qs_at(int type) { return type == MT_GGML_Q4_1 ? 4 : type == MT_GGML_Q5_0 ? 6 : 8; }

// Block sizes in bytes.
enum { MT_Q8_0 = 34, MT_Q8_1 = 40, MT_Q4_0 = 18, MT_Q4_K = 144, MT_Q5_K = 176, MT_Q6_K = 210, MT_Q8_K = 292, MT_Q4_0X8 = 144 };

// The repacked layouts read without SIMD (mt_repack.c): one or four tokens, out[8 * t + row].
void mt_q4_0x8_scalar(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out);
void mt_q4_Kx8_scalar(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out);

#if defined(__x86_64__)
float mt_dot_f32_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_f16_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_bf16_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_q8_0_avx2(const uint8_t *w, const uint8_t *a, int n);
void mt_q4_0x8_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out);
void mt_q4_Kx8_avx2(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out);
float mt_dot_q4_K_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_q5_K_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_q6_K_avx2(const uint8_t *w, const uint8_t *a, int n);
void mt_dot4_q8_0_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
void mt_dot4_q4_K_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
void mt_dot4_q5_K_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
void mt_dot4_q6_K_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
float mt_dot_q4_1_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_q5_0_avx2(const uint8_t *w, const uint8_t *a, int n);
float mt_dot_q5_1_avx2(const uint8_t *w, const uint8_t *a, int n);
void mt_dot4_q4_1_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
void mt_dot4_q5_0_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
void mt_dot4_q5_1_avx2(const uint8_t *w, const uint8_t *const *a, int n, float *out);
// Q8_0, Q4_1, Q5_0, Q5_1 with AVX-VNNI (the same integers as AVX2's, in fewer instructions).
#define MT_X86_Q8_DECLARE(suffix) \
    float mt_dot_q8_0_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q4_1_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q5_0_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q5_1_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    void mt_dot4_q8_0_##suffix(const uint8_t *w, const uint8_t *const *a, int n, float *out); \
    void mt_dot4_q4_1_##suffix(const uint8_t *w, const uint8_t *const *a, int n, float *out); \
    void mt_dot4_q5_0_##suffix(const uint8_t *w, const uint8_t *const *a, int n, float *out); \
    void mt_dot4_q5_1_##suffix(const uint8_t *w, const uint8_t *const *a, int n, float *out); \
    void mt_dot2x4_q8_0_##suffix(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out); \
    void mt_dot2x4_q4_1_##suffix(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out); \
    void mt_dot2x4_q5_0_##suffix(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out); \
    void mt_dot2x4_q5_1_##suffix(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out);
MT_X86_Q8_DECLARE(avxvnni)
// The same with AVX-512 VNNI, two tokens a register: four tokens against one row, eight against four.
#define MT_X86_512_DECLARE(type) \
    void mt_dot4_##type##_avx512(const uint8_t *w, const uint8_t *const *a, int n, float *out); \
    void mt_dot4x8_##type##_avx512(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out);
MT_X86_512_DECLARE(q8_0)
MT_X86_512_DECLARE(q4_1)
MT_X86_512_DECLARE(q5_0)
MT_X86_512_DECLARE(q5_1)
// Two weight rows (`row_bytes` apart) against four activation rows: out[4 * r + t].
void mt_dot2x4_q8_0_avx2(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out);
void mt_dot2x4_q4_1_avx2(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out);
void mt_dot2x4_q5_0_avx2(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out);
void mt_dot2x4_q5_1_avx2(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out);
#endif

#if defined(__aarch64__)
#define MT_NEON_DECLARE(suffix) \
    float mt_dot_f32_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_f16_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_bf16_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q8_0_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    void mt_q4_0x8_##suffix(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out); \
    void mt_q4_Kx8_##suffix(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out); \
    float mt_dot_q4_K_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q5_K_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q6_K_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q4_1_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q5_0_##suffix(const uint8_t *w, const uint8_t *a, int n); \
    float mt_dot_q5_1_##suffix(const uint8_t *w, const uint8_t *a, int n);
MT_NEON_DECLARE(neon)
MT_NEON_DECLARE(neon_dotprod)
#endif

#endif
