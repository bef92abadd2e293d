// Activations converted for the dot products (mt_kernels.h), bit for bit as MicroturnInference's
// Swift reference does.
#include "mt_kernels_internal.h"

#include <math.h>

// Float to IEEE half, rounding to nearest even (subnormals, overflow to infinity, NaN kept NaN).
static uint16_t float_to_half(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000, a = b & 0x7FFFFFFF;
    if (a >= 0x7F800000) return (uint16_t)(sign | 0x7C00 | (a > 0x7F800000 ? 0x200 | ((a >> 13) & 0x3FF) : 0));
    if (a >= 0x477FF000) return (uint16_t)(sign | 0x7C00);  // 65520 and up round to infinity
    if (a < 0x38800000) {                                     // below 2^-14: a multiple of 2^-24
        float m;
        memcpy(&m, &a, 4);
        m = (m * 16777216.0f + 12582912.0f) - 12582912.0f;   // to an integer, nearest even
        return (uint16_t)(sign | (uint32_t)m);
    }
    uint32_t h = (((a >> 23) - 112) << 10) | ((a >> 13) & 0x3FF), rest = a & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;   // a carry moves into the exponent
    return (uint16_t)(sign | h);
}

// One block of 32: the f16 scale at `d`, the values at `q`; returns the sum of the values.
static int32_t quantize_block_q8(const float *x, uint8_t *d, int8_t *q) {
    float amax = 0;
    for (int i = 0; i < 32; i++) {
        float a = fabsf(x[i]);
        amax = a > amax ? a : amax;
    }
    float id = amax != 0 ? 127.0f / amax : 0;
    uint16_t h = float_to_half(amax / 127);
    memcpy(d, &h, 2);
    int32_t sum = 0;
    for (int i = 0; i < 32; i++) {
        float r = (x[i] * id + 12582912.0f) - 12582912.0f;  // nearest even (|value| <= 127)
        q[i] = (int8_t)(int)r;
        sum += q[i];
    }
    return sum;
}

void mt_quantize_q8_0(const float *x, int n, void *out) {
    uint8_t *o = out;
    for (int b = 0; b < n / 32; b++, x += 32, o += MT_Q8_0) quantize_block_q8(x, o, (int8_t *)(o + 2));
}

void mt_quantize_q8_1(const float *x, int n, void *out) {
    uint8_t *o = out;
    for (int b = 0; b < n / 32; b++, x += 32, o += MT_Q8_1) {
        int32_t sum = quantize_block_q8(x, o, (int8_t *)(o + 8));
        float s = mt_half(o) * (float)sum;
        memset(o + 2, 0, 2);
        memcpy(o + 4, &s, 4);
    }
}

void mt_quantize_q8_K(const float *x, int n, void *out) {
    uint8_t *o = out;
    for (int b = 0; b < n / 256; b++, x += 256, o += MT_Q8_K) {
        float amax = 0, extreme = 0;
        for (int i = 0; i < 256; i++) {
            float a = fabsf(x[i]);
            if (a > amax) { amax = a; extreme = x[i]; }
        }
        if (amax == 0) {
            memset(o, 0, MT_Q8_K);
            continue;
        }
        float iscale = -127 / extreme, d = 1 / iscale;
        int8_t *q = (int8_t *)(o + 4);
        for (int i = 0; i < 256; i++) {
            float r = (iscale * x[i] + 12582912.0f) - 12582912.0f;  // nearest even (|value| <= 127)
            q[i] = (int8_t)(int)(r > 127 ? 127 : r);
        }
        for (int j = 0; j < 16; j++) {
            int16_t sum = 0;
            for (int i = 0; i < 16; i++) sum += q[16 * j + i];
            memcpy(o + 260 + 2 * j, &sum, 2);
        }
        memcpy(o, &d, 4);
    }
}

static void quantize_f16_scalar(const float *x, int n, uint16_t *o) {
    for (int i = 0; i < n; i++) o[i] = float_to_half(x[i]);
}

#if defined(__x86_64__)
#include <immintrin.h>

// F16C's conversion rounds to nearest even like float_to_half (subnormals, overflow and NaN alike).
__attribute__((target("avx,f16c"))) static void quantize_f16_f16c(const float *x, int n, uint16_t *o) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(o + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; i < n; i++) o[i] = float_to_half(x[i]);
}
#endif

static void f16_to_f32_scalar(const uint8_t *x, int n, float *o) {
    for (int i = 0; i < n; i++) o[i] = mt_half(x + 2 * i);
}

#if defined(__x86_64__)
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint8_t *x, int n, float *o) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + 2 * i))));
    for (; i < n; i++) o[i] = mt_half(x + 2 * i);
}
#endif

static void (*quantize_f16)(const float *, int, uint16_t *) = quantize_f16_scalar;
static void (*f16_to_f32)(const uint8_t *, int, float *) = f16_to_f32_scalar;

__attribute__((constructor)) static void choose_f16_conversion(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c")) quantize_f16 = quantize_f16_f16c, f16_to_f32 = f16_to_f32_f16c;
#endif
}

void mt_quantize_f16(const float *x, int n, void *out) { quantize_f16(x, n, out); }

void mt_f16_to_f32(const void *in, int n, float *out) { f16_to_f32(in, n, out); }

void mt_quantize_bf16(const float *x, int n, void *out) {
    uint16_t *o = out;
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        o[i] = (x[i] != x[i]) ? (uint16_t)((u >> 16) | 64) : (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }
}
