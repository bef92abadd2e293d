#include "mt_kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MT_X86 1
#endif

// IEEE half to float, exactly (normal, subnormal, zero, infinity, NaN).
static inline float half_to_float(uint16_t h) {
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

static inline float scale_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return half_to_float(h);
}

float mt_dot_q8_0_scalar(const void *weights, const void *activations, int n) {
    const uint8_t *w = weights, *a = activations;
    float s = 0;
    for (int b = 0; b < n / 32; b++, w += 34, a += 34) {
        const int8_t *x = (const int8_t *)(w + 2), *y = (const int8_t *)(a + 2);
        int32_t sum = 0;
        for (int i = 0; i < 32; i++) sum += (int32_t)x[i] * (int32_t)y[i];
        s += (float)sum * (scale_at(w) * scale_at(a));
    }
    return s;
}

float mt_dot_q4_0_scalar(const void *weights, const void *activations, int n) {
    const uint8_t *w = weights, *a = activations;
    float s = 0;
    for (int b = 0; b < n / 32; b++, w += 18, a += 34) {
        const uint8_t *x = w + 2;
        const int8_t *y = (const int8_t *)(a + 2);
        int32_t sum = 0;
        for (int i = 0; i < 16; i++) {
            sum += ((int32_t)(x[i] & 0xF) - 8) * (int32_t)y[i] + ((int32_t)(x[i] >> 4) - 8) * (int32_t)y[i + 16];
        }
        s += (float)sum * (scale_at(w) * scale_at(a));
    }
    return s;
}

#ifdef MT_X86
// 32 int8 times 32 int8, summed exactly: widened to 16 bits, multiplied and pair-summed to 32.
__attribute__((target("avx2"))) static inline int32_t dot32_avx2(__m256i x, __m256i y) {
    __m256i x0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(x)), x1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(x, 1));
    __m256i y0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(y)), y1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(y, 1));
    __m256i p = _mm256_add_epi32(_mm256_madd_epi16(x0, y0), _mm256_madd_epi16(x1, y1));
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
    return _mm_cvtsi128_si32(q);
}

__attribute__((target("avx2"))) static float dot_q8_0_avx2(const uint8_t *w, const uint8_t *a, int n) {
    float s = 0;
    for (int b = 0; b < n / 32; b++, w += 34, a += 34) {
        int32_t sum = dot32_avx2(_mm256_loadu_si256((const __m256i *)(w + 2)), _mm256_loadu_si256((const __m256i *)(a + 2)));
        s += (float)sum * (scale_at(w) * scale_at(a));
    }
    return s;
}

__attribute__((target("avx2"))) static float dot_q4_0_avx2(const uint8_t *w, const uint8_t *a, int n) {
    const __m128i low4 = _mm_set1_epi8(0xF);
    const __m256i eight = _mm256_set1_epi8(8);
    float s = 0;
    for (int b = 0; b < n / 32; b++, w += 18, a += 34) {
        __m128i packed = _mm_loadu_si128((const __m128i *)(w + 2));
        __m128i lo = _mm_and_si128(packed, low4), hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
        __m256i x = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), eight);
        int32_t sum = dot32_avx2(x, _mm256_loadu_si256((const __m256i *)(a + 2)));
        s += (float)sum * (scale_at(w) * scale_at(a));
    }
    return s;
}
#endif

int mt_kernels_have_avx2(void) {
#ifdef MT_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

float mt_dot_q8_0(const void *weights, const void *activations, int n) {
#ifdef MT_X86
    if (mt_kernels_have_avx2()) return dot_q8_0_avx2(weights, activations, n);
#endif
    return mt_dot_q8_0_scalar(weights, activations, n);
}

float mt_dot_q4_0(const void *weights, const void *activations, int n) {
#ifdef MT_X86
    if (mt_kernels_have_avx2()) return dot_q4_0_avx2(weights, activations, n);
#endif
    return mt_dot_q4_0_scalar(weights, activations, n);
}
