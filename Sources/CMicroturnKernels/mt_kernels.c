// The scalar twins (the reference every SIMD variant must equal bit for bit; see mt_kernels.h for
// the float order) and the choice of variant, made once when the library loads.
#include "mt_kernels.h"
#include "mt_kernels_internal.h"

#include <math.h>

#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

// Floats: eight running sums by element index mod 8 (vectors of eight, or two of four, line up).
#define MT_FLOAT_SCALAR(name, size, load)                                   \
    float name(const void *weights, const void *activations, int n) {       \
        const uint8_t *w = weights, *a = activations;                       \
        float s[8] = {0};                                                   \
        for (int i = 0; i < n; i++) {                                       \
            s[i % 8] = s[i % 8] + load(w + (size) * i) * load(a + (size) * i); \
        }                                                                   \
        return mt_sum8(s);                                                  \
    }
MT_FLOAT_SCALAR(mt_dot_f32_scalar, 4, mt_f32)
MT_FLOAT_SCALAR(mt_dot_f16_scalar, 2, mt_half)
MT_FLOAT_SCALAR(mt_dot_bf16_scalar, 2, mt_bf16)

float mt_dot_q8_0_scalar(const void *weights, const void *activations, int n) {
    const uint8_t *w = weights, *a = activations;
    float s[8] = {0};
    for (int b = 0; b < n / 32; b++, w += MT_Q8_0, a += MT_Q8_0) {
        const int8_t *x = (const int8_t *)(w + 2), *y = (const int8_t *)(a + 2);
        float scale = mt_half(w) * mt_half(a);
        for (int l = 0; l < 8; l++) {
            int32_t p = 0;
            for (int i = 4 * l; i < 4 * l + 4; i++) p += (int32_t)x[i] * (int32_t)y[i];
            s[l] = s[l] + (float)p * scale;
        }
    }
    return mt_sum8(s);
}

// Q4_0 (mt_kernels.h): one running sum, block after block: (float)(the block's integer dot) *
// (weight scale * activation scale). Element i < 16 is the low nibble of byte i, element i + 16
// its high nibble, each offset by 8.
float mt_dot_q4_0_scalar(const void *weights, const void *activations, int n) {
    const uint8_t *w = weights, *a = activations;
    float s = 0;
    for (int b = 0; b < n / 32; b++, w += MT_Q4_0, a += MT_Q8_0) {
        const int8_t *y = (const int8_t *)(a + 2);
        int32_t dot = 0;
        for (int i = 0; i < 16; i++) dot += ((w[2 + i] & 0xF) - 8) * (int32_t)y[i] + ((w[2 + i] >> 4) - 8) * (int32_t)y[i + 16];
        s = s + (float)dot * (mt_half(w) * mt_half(a));
    }
    return s;
}

size_t mt_q4_0x8_bytes(int rows, int n) { return (size_t)((rows + 7) / 8) * (size_t)(n / 32) * MT_Q4_0X8; }

void mt_repack_q4_0x8(const void *source, size_t row_bytes, int rows, int n, void *destination) {
    const uint8_t *src = source;
    uint8_t *dst = destination;
    for (int g = 0; g < (rows + 7) / 8; g++) {
        for (int b = 0; b < n / 32; b++, dst += MT_Q4_0X8) {
            memset(dst, 0, MT_Q4_0X8);  // rows past the last: zero scale, zero nibbles
            for (int i = 0; i < 8 && 8 * g + i < rows; i++) {
                const uint8_t *block = src + (size_t)(8 * g + i) * row_bytes + (size_t)b * MT_Q4_0;
                memcpy(dst + 2 * i, block, 2);
                for (int q = 0; q < 4; q++) memcpy(dst + 16 + 32 * q + 4 * i, block + 2 + 4 * q, 4);
            }
        }
    }
}

// The x8 layout read back element by element, in mt_dot_q4_0_scalar's order: for machines
// without a SIMD variant.
static void q4_0x8_scalar(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    for (int t = 0; t < nt; t++) {
        float s[8] = {0};
        const uint8_t *g = w;
        for (int b = 0; b < n / 32; b++, g += MT_Q4_0X8) {
            const uint8_t *ab = a[t] + b * MT_Q8_0;
            const int8_t *y = (const int8_t *)(ab + 2);
            for (int i = 0; i < 8; i++) {
                int32_t dot = 0;
                for (int q = 0; q < 4; q++) {
                    for (int k = 0; k < 4; k++) {
                        uint8_t byte = g[16 + 32 * q + 4 * i + k];
                        dot += ((byte & 0xF) - 8) * (int32_t)y[4 * q + k] + ((byte >> 4) - 8) * (int32_t)y[16 + 4 * q + k];
                    }
                }
                s[i] = s[i] + (float)dot * (mt_half(g + 2 * i) * mt_half(ab));
            }
        }
        for (int i = 0; i < 8; i++) out[8 * t + i] = s[i];
    }
}

size_t mt_q4_Kx8_bytes(int rows, int n) { return (size_t)((rows + 7) / 8) * (size_t)(n / 256) * MT_Q4_KX8_BLOCK; }

void mt_repack_q4_Kx8(const void *source, size_t row_bytes, int rows, int n, void *destination) {
    const uint8_t *src = source;
    uint8_t *dst = destination;
    for (int g = 0; g < (rows + 7) / 8; g++) {
        for (int b = 0; b < n / 256; b++, dst += MT_Q4_KX8_BLOCK) {
            memset(dst, 0, MT_Q4_KX8_BLOCK);  // rows past the last: all zero
            for (int i = 0; i < 8 && 8 * g + i < rows; i++) {
                const uint8_t *block = src + (size_t)(8 * g + i) * row_bytes + (size_t)b * MT_Q4_K;
                memcpy(dst + 2 * i, block, 2);
                memcpy(dst + 16 + 2 * i, block + 2, 2);
                for (int j = 0; j < 8; j++) {
                    uint8_t sc, m;
                    mt_scale_min_k4(j, block + 4, &sc, &m);
                    dst[32 + 16 * j + 2 * i] = dst[32 + 16 * j + 2 * i + 1] = sc;
                    dst[160 + 16 * (j / 2) + 2 * i + j % 2] = m;
                }
                for (int p = 0; p < 4; p++) {
                    for (int q = 0; q < 8; q++) memcpy(dst + 224 + 256 * p + 32 * q + 4 * i, block + 16 + 32 * p + 4 * q, 4);
                }
            }
        }
    }
}

// The Q4_K x8 layout read back element by element, in mt_dot_q4_K_scalar's order.
static void q4_Kx8_scalar(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    for (int t = 0; t < nt; t++) {
        float s[8] = {0};
        const uint8_t *g = w;
        for (int b = 0; b < n / 256; b++, g += MT_Q4_KX8_BLOCK) {
            const uint8_t *ab = a[t] + b * MT_Q8_K;
            const int8_t *y = (const int8_t *)(ab + 4);
            for (int i = 0; i < 8; i++) {
                int32_t isum = 0, msum = 0;
                for (int j = 0; j < 8; j++) {
                    int32_t dot = 0;
                    for (int l = 0; l < 32; l++) {
                        uint8_t byte = g[224 + 256 * (j / 2) + 32 * (l / 4) + 4 * i + l % 4];
                        dot += (j % 2 ? byte >> 4 : byte & 0xF) * (int32_t)y[32 * j + l];
                    }
                    isum += g[32 + 16 * j + 2 * i] * dot;
                    msum += g[160 + 16 * (j / 2) + 2 * i + j % 2] * ((int32_t)mt_i16(ab + 260 + 4 * j) + (int32_t)mt_i16(ab + 262 + 4 * j));
                }
                float ad = mt_f32(ab);
                s[i] += mt_half(g + 2 * i) * ad * (float)isum - mt_half(g + 16 + 2 * i) * ad * (float)msum;
            }
        }
        for (int i = 0; i < 8; i++) out[8 * t + i] = s[i];
    }
}

// Q4_K (kind 4) and Q5_K (kind 5): sub-block j of 32 takes nibbles of qs[32 * (j / 2) ...] (low for
// even j, high for odd), plus 16 where bit j of qh[l] is set (Q5_K).
static float dot_k45_scalar(const uint8_t *w, const uint8_t *a, int n, int kind) {
    float s = 0;
    int bytes = kind == 5 ? MT_Q5_K : MT_Q4_K;
    for (int b = 0; b < n / 256; b++, w += bytes, a += MT_Q8_K) {
        const uint8_t *scales = w + 4, *qh = w + 16, *qs = w + (kind == 5 ? 48 : 16);
        const int8_t *q8 = (const int8_t *)(a + 4);
        int32_t isum = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            mt_scale_min_k4(j, scales, &sc, &m);
            int32_t dot = 0;
            for (int l = 0; l < 32; l++) {
                uint8_t byte = qs[32 * (j / 2) + l];
                int32_t v = j % 2 ? byte >> 4 : byte & 0xF;
                if (kind == 5 && (qh[l] >> j) & 1) v += 16;
                dot += v * (int32_t)q8[32 * j + l];
            }
            isum += (int32_t)sc * dot;
        }
        int32_t msum = mt_k4_min_sum(scales, a + 260);
        float ad = mt_f32(a);
        s += mt_half(w) * ad * (float)isum - mt_half(w + 2) * ad * (float)msum;
    }
    return s;
}

float mt_dot_q4_K_scalar(const void *weights, const void *activations, int n) {
    return dot_k45_scalar(weights, activations, n, 4);
}

float mt_dot_q5_K_scalar(const void *weights, const void *activations, int n) {
    return dot_k45_scalar(weights, activations, n, 5);
}

// Q6_K: two halves of 128; in each, runs r = 0..3 of 32 values: low bits from ql[l] (r even) or
// ql[l + 32] (r odd), low nibble for r < 2, high otherwise; two high bits from qh[l] >> 2r; minus 32.
// Sub-blocks of 16 have their own signed scale.
float mt_dot_q6_K_scalar(const void *weights, const void *activations, int n) {
    const uint8_t *w = weights, *a = activations;
    float s = 0;
    for (int b = 0; b < n / 256; b++, w += MT_Q6_K, a += MT_Q8_K) {
        const int8_t *sc = (const int8_t *)(w + 192), *q8 = (const int8_t *)(a + 4);
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            for (int r = 0; r < 4; r++) {
                for (int part = 0; part < 2; part++) {
                    int32_t dot = 0;
                    for (int l = 16 * part; l < 16 * part + 16; l++) {
                        uint8_t low = ql[l + 32 * (r % 2)];
                        int32_t v = ((r < 2 ? low & 0xF : low >> 4) | (((qh[l] >> (2 * r)) & 3) << 4)) - 32;
                        dot += v * (int32_t)q8[128 * h + 32 * r + l];
                    }
                    isum += (int32_t)sc[8 * h + 2 * r + part] * dot;
                }
            }
        }
        s += mt_half(w + 208) * mt_f32(a) * (float)isum;
    }
    return s;
}

typedef float (*mt_dot_fn)(const uint8_t *, const uint8_t *, int);
typedef void (*mt_x8_fn)(const uint8_t *, const uint8_t *const *, int, int, float *);

static const char *variant = "scalar";
static mt_dot_fn dot_f32 = (mt_dot_fn)mt_dot_f32_scalar, dot_f16 = (mt_dot_fn)mt_dot_f16_scalar,
                 dot_bf16 = (mt_dot_fn)mt_dot_bf16_scalar;
static mt_dot_fn dot_q8_0 = (mt_dot_fn)mt_dot_q8_0_scalar, dot_q4_0 = (mt_dot_fn)mt_dot_q4_0_scalar,
                 dot_q4_K = (mt_dot_fn)mt_dot_q4_K_scalar, dot_q5_K = (mt_dot_fn)mt_dot_q5_K_scalar,
                 dot_q6_K = (mt_dot_fn)mt_dot_q6_K_scalar;

// Four-row kernels where the variant has them; otherwise four calls of the one-row kernel.
typedef void (*mt_dot4_fn)(const uint8_t *, const uint8_t *const *, int, float *);
static mt_dot4_fn dot4_q8_0, dot4_q4_K, dot4_q5_K, dot4_q6_K;
// Q4_0 repacked eight rows together (mt_repack_q4_0x8): one or four tokens, out[8 * t + row].
static mt_x8_fn q4_0x8 = q4_0x8_scalar, q4_Kx8 = q4_Kx8_scalar;

// Chosen before any caller can run, so the pointers are never written while read.
__attribute__((constructor)) static void choose_variant(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) {
        variant = "avx2";
        dot_f32 = mt_dot_f32_avx2, dot_f16 = mt_dot_f16_avx2, dot_bf16 = mt_dot_bf16_avx2;
        dot_q8_0 = mt_dot_q8_0_avx2, dot_q4_K = mt_dot_q4_K_avx2, q4_0x8 = mt_q4_0x8_avx2, q4_Kx8 = mt_q4_Kx8_avx2;
        dot_q5_K = mt_dot_q5_K_avx2, dot_q6_K = mt_dot_q6_K_avx2;
        dot4_q8_0 = mt_dot4_q8_0_avx2, dot4_q4_K = mt_dot4_q4_K_avx2;
        dot4_q5_K = mt_dot4_q5_K_avx2, dot4_q6_K = mt_dot4_q6_K_avx2;
    }
#elif defined(__aarch64__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) {
        variant = "neon-dotprod";
        dot_f32 = mt_dot_f32_neon_dotprod, dot_f16 = mt_dot_f16_neon_dotprod, dot_bf16 = mt_dot_bf16_neon_dotprod;
        dot_q8_0 = mt_dot_q8_0_neon_dotprod, dot_q4_K = mt_dot_q4_K_neon_dotprod, q4_0x8 = mt_q4_0x8_neon_dotprod, q4_Kx8 = mt_q4_Kx8_neon_dotprod;
        dot_q5_K = mt_dot_q5_K_neon_dotprod, dot_q6_K = mt_dot_q6_K_neon_dotprod;
    } else {
        variant = "neon";
        dot_f32 = mt_dot_f32_neon, dot_f16 = mt_dot_f16_neon, dot_bf16 = mt_dot_bf16_neon;
        dot_q8_0 = mt_dot_q8_0_neon, dot_q4_K = mt_dot_q4_K_neon, q4_0x8 = mt_q4_0x8_neon, q4_Kx8 = mt_q4_Kx8_neon;
        dot_q5_K = mt_dot_q5_K_neon, dot_q6_K = mt_dot_q6_K_neon;
    }
#endif
}

const char *mt_kernels_variant(void) { return variant; }

float mt_dot_f32(const void *w, const void *a, int n) { return dot_f32(w, a, n); }
float mt_dot_f16(const void *w, const void *a, int n) { return dot_f16(w, a, n); }
float mt_dot_bf16(const void *w, const void *a, int n) { return dot_bf16(w, a, n); }
float mt_dot_q8_0(const void *w, const void *a, int n) { return dot_q8_0(w, a, n); }
float mt_dot_q4_0(const void *w, const void *a, int n) { return dot_q4_0(w, a, n); }
float mt_dot_q4_K(const void *w, const void *a, int n) { return dot_q4_K(w, a, n); }
float mt_dot_q5_K(const void *w, const void *a, int n) { return dot_q5_K(w, a, n); }
float mt_dot_q6_K(const void *w, const void *a, int n) { return dot_q6_K(w, a, n); }

#define MT_DOT4(type)                                                                                      \
    void mt_dot4_##type(const void *w, const void *a0, const void *a1, const void *a2, const void *a3, int n, \
                        float *out) {                                                                      \
        const uint8_t *a[4] = {a0, a1, a2, a3};                                                            \
        if (dot4_##type) {                                                                                 \
            dot4_##type(w, a, n, out);                                                                     \
        } else {                                                                                           \
            for (int t = 0; t < 4; t++) out[t] = dot_##type(w, a[t], n);                                   \
        }                                                                                                  \
    }
MT_DOT4(q8_0)
MT_DOT4(q4_K)
MT_DOT4(q5_K)
MT_DOT4(q6_K)

// Repacked rows: groups of eight, `group_bytes` apart; tokens four at a time, then one by one.
static int product_x8(mt_x8_fn fn, size_t group_bytes, const void *weights, int rows, const void *const *activations, int tokens,
                      int n, float *out, size_t out_stride) {
    const uint8_t *const *act = (const uint8_t *const *)activations;
    for (int g = 0; g < (rows + 7) / 8; g++) {
        const uint8_t *w = (const uint8_t *)weights + (size_t)g * group_bytes;
        int live = rows - 8 * g < 8 ? rows - 8 * g : 8;
        for (int t = 0; t < tokens;) {
            int nt = tokens - t >= 4 ? 4 : 1;
            float y[32];
            fn(w, act + t, n, nt, y);
            for (int k = 0; k < nt; k++) {
                for (int i = 0; i < live; i++) out[(size_t)(t + k) * out_stride + 8 * g + i] = y[8 * k + i];
            }
            t += nt;
        }
    }
    return 0;
}

int mt_product(int type, const void *weights, size_t row_bytes, int rows, const void *const *activations, int tokens,
               int n, float *out, size_t out_stride) {
    mt_dot_fn one;
    mt_dot4_fn four = NULL;
    switch (type) {
    case 0: one = dot_f32; break;
    case 1: one = dot_f16; break;
    case 30: one = dot_bf16; break;
    case 8: one = dot_q8_0, four = dot4_q8_0; break;
    case 2: one = dot_q4_0; break;
    case 12: one = dot_q4_K, four = dot4_q4_K; break;
    case 13: one = dot_q5_K, four = dot4_q5_K; break;
    case 14: one = dot_q6_K, four = dot4_q6_K; break;
    case MT_TYPE_Q4_0X8: return product_x8(q4_0x8, (size_t)(n / 32) * MT_Q4_0X8, weights, rows, activations, tokens, n, out, out_stride);
    case MT_TYPE_Q4_KX8: return product_x8(q4_Kx8, (size_t)(n / 256) * MT_Q4_KX8_BLOCK, weights, rows, activations, tokens, n, out, out_stride);
    default: return -1;
    }
    const uint8_t *const *a = (const uint8_t *const *)activations;
    for (int r = 0; r < rows; r++) {
        const uint8_t *w = (const uint8_t *)weights + (size_t)r * row_bytes;
        int t = 0;
        if (four) {
            for (; t + 4 <= tokens; t += 4) {
                float y[4];
                four(w, a + t, n, y);
                for (int i = 0; i < 4; i++) out[(size_t)(t + i) * out_stride + r] = y[i];
            }
        }
        for (; t < tokens; t++) out[(size_t)t * out_stride + r] = one(w, a[t], n);
    }
    return 0;
}

// Plain C: the weighted sum over positions is element-wise (each out[j] adds its terms in order of
// p), so the compiler's vectors give the same floats as a scalar loop.
void mt_attend(const float *q, const float *keys, const float *values, int positions, int d, size_t stride, float scale,
               float *scores, float *restrict out) {
    float best = -INFINITY, total = 0;
    for (int p = 0; p < positions; p++) {
        scores[p] = dot_f32((const uint8_t *)q, (const uint8_t *)(keys + (size_t)p * stride), d) * scale;
        if (scores[p] > best) best = scores[p];
    }
    for (int p = 0; p < positions; p++) {
        scores[p] = expf(scores[p] - best);
        total += scores[p];
    }
    for (int p = 0; p < positions; p++) {
        const float *restrict v = values + (size_t)p * stride;
        float w = scores[p] / total;
        for (int j = 0; j < d; j++) out[j] = out[j] + w * v[j];
    }
}

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

void mt_quantize_q8_0(const float *x, int n, void *out) {
    uint8_t *o = out;
    for (int b = 0; b < n / 32; b++, x += 32, o += MT_Q8_0) {
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            float a = fabsf(x[i]);
            amax = a > amax ? a : amax;
        }
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        uint16_t h = float_to_half(d);
        memcpy(o, &h, 2);
        for (int i = 0; i < 32; i++) o[2 + i] = (uint8_t)(int8_t)(int)roundf(x[i] * id);
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

void mt_quantize_f16(const float *x, int n, void *out) {
    uint16_t *o = out;
    for (int i = 0; i < n; i++) o[i] = float_to_half(x[i]);
}

void mt_quantize_bf16(const float *x, int n, void *out) {
    uint16_t *o = out;
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        o[i] = (x[i] != x[i]) ? (uint16_t)((u >> 16) | 64) : (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }
}
