// The scalar twins (the reference every SIMD variant must equal bit for bit; see mt_kernels.h for
// the float order), the choice of variant, made once when the library loads, and mt_product.
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
            s[l] = fmaf((float)p, scale, s[l]);
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

// Q4_1, Q5_0, Q5_1 (mt_kernels.h): the block's unsigned values (4 or 5 bits, element order) and
// its d and m (Q5_0 has no m: its offset of -16 is taken as m = -16 d through the activations).
static void unpack_u32(const uint8_t *w, int type, uint8_t u[32]) {
    const uint8_t *qs = w + mt_u32_qs_at(type);
    uint32_t qh = 0;
    if (type != MT_GGML_Q4_1) memcpy(&qh, w + (type == MT_GGML_Q5_0 ? 2 : 4), 4);
    for (int i = 0; i < 16; i++) {
        u[i] = (uint8_t)((qs[i] & 0xF) | (((qh >> i) & 1) << 4));
        u[i + 16] = (uint8_t)((qs[i] >> 4) | (((qh >> (i + 16)) & 1) << 4));
    }
}

static float dot_u32_scalar(const uint8_t *w, const uint8_t *a, int n, int type) {
    float s[8] = {0}, o = 0;
    int bytes = mt_u32_block(type);
    for (int b = 0; b < n / 32; b++, w += bytes, a += MT_Q8_1) {
        uint8_t u[32];
        unpack_u32(w, type, u);
        const int8_t *y = (const int8_t *)(a + 8);
        float dw = mt_half(w), scale = dw * mt_half(a);
        float m = type == MT_GGML_Q5_0 ? dw * -16.0f : mt_half(w + 2);
        for (int l = 0; l < 8; l++) {
            int32_t p = 0;
            for (int i = 4 * l; i < 4 * l + 4; i++) p += (int32_t)u[i] * (int32_t)y[i];
            s[l] = fmaf((float)p, scale, s[l]);
        }
        o = o + m * mt_f32(a + 4);
    }
    return mt_sum8(s) + o;
}

float mt_dot_q4_1_scalar(const void *w, const void *a, int n) { return dot_u32_scalar(w, a, n, MT_GGML_Q4_1); }
float mt_dot_q5_0_scalar(const void *w, const void *a, int n) { return dot_u32_scalar(w, a, n, MT_GGML_Q5_0); }
float mt_dot_q5_1_scalar(const void *w, const void *a, int n) { return dot_u32_scalar(w, a, n, MT_GGML_Q5_1); }

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
                 dot_q6_K = (mt_dot_fn)mt_dot_q6_K_scalar, dot_q4_1 = (mt_dot_fn)mt_dot_q4_1_scalar,
                 dot_q5_0 = (mt_dot_fn)mt_dot_q5_0_scalar, dot_q5_1 = (mt_dot_fn)mt_dot_q5_1_scalar;

// Four-row kernels where the variant has them; otherwise four calls of the one-row kernel.
typedef void (*mt_dot4_fn)(const uint8_t *, const uint8_t *const *, int, float *);
static mt_dot4_fn dot4_q8_0, dot4_q4_K, dot4_q5_K, dot4_q6_K, dot4_q4_1, dot4_q5_0, dot4_q5_1;
// Tiles of `tile_rows` rows against `tile_tokens` tokens (2 x 4 or 4 x 8) where the variant has them
// (activations shared by the rows): out[tile_tokens * r + t].
typedef void (*mt_tile_fn)(const uint8_t *, size_t, const uint8_t *const *, int, float *);
static mt_tile_fn tile_q8_0, tile_q4_1, tile_q5_0, tile_q5_1;
static int tile_rows = 2, tile_tokens = 4;
// Q4_0 repacked eight rows together (mt_repack_q4_0x8): one or four tokens, out[8 * t + row].
static mt_x8_fn q4_0x8 = mt_q4_0x8_scalar, q4_Kx8 = mt_q4_Kx8_scalar;

// Chosen before any caller can run, so the pointers are never written while read.
__attribute__((constructor)) static void choose_variant(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma")) {
        variant = "avx2";
        dot_f32 = mt_dot_f32_avx2, dot_f16 = mt_dot_f16_avx2, dot_bf16 = mt_dot_bf16_avx2;
        dot_q8_0 = mt_dot_q8_0_avx2, dot_q4_K = mt_dot_q4_K_avx2, q4_0x8 = mt_q4_0x8_avx2, q4_Kx8 = mt_q4_Kx8_avx2;
        dot_q5_K = mt_dot_q5_K_avx2, dot_q6_K = mt_dot_q6_K_avx2;
        dot4_q8_0 = mt_dot4_q8_0_avx2, dot4_q4_K = mt_dot4_q4_K_avx2;
        dot4_q5_K = mt_dot4_q5_K_avx2, dot4_q6_K = mt_dot4_q6_K_avx2;
        dot_q4_1 = mt_dot_q4_1_avx2, dot_q5_0 = mt_dot_q5_0_avx2, dot_q5_1 = mt_dot_q5_1_avx2;
        dot4_q4_1 = mt_dot4_q4_1_avx2, dot4_q5_0 = mt_dot4_q5_0_avx2, dot4_q5_1 = mt_dot4_q5_1_avx2;
        tile_q8_0 = mt_dot2x4_q8_0_avx2, tile_q4_1 = mt_dot2x4_q4_1_avx2;
        tile_q5_0 = mt_dot2x4_q5_0_avx2, tile_q5_1 = mt_dot2x4_q5_1_avx2;
        if (__builtin_cpu_supports("avxvnni")) {
            variant = "avx2-vnni";
            dot_q8_0 = mt_dot_q8_0_avxvnni, dot4_q8_0 = mt_dot4_q8_0_avxvnni, tile_q8_0 = mt_dot2x4_q8_0_avxvnni;
            dot_q4_1 = mt_dot_q4_1_avxvnni, dot4_q4_1 = mt_dot4_q4_1_avxvnni, tile_q4_1 = mt_dot2x4_q4_1_avxvnni;
            dot_q5_0 = mt_dot_q5_0_avxvnni, dot4_q5_0 = mt_dot4_q5_0_avxvnni, tile_q5_0 = mt_dot2x4_q5_0_avxvnni;
            dot_q5_1 = mt_dot_q5_1_avxvnni, dot4_q5_1 = mt_dot4_q5_1_avxvnni, tile_q5_1 = mt_dot2x4_q5_1_avxvnni;
        }
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
            variant = "avx2-avx512vnni", tile_rows = 4, tile_tokens = 8;
            dot4_q8_0 = mt_dot4_q8_0_avx512, tile_q8_0 = mt_dot4x8_q8_0_avx512;
            dot4_q4_1 = mt_dot4_q4_1_avx512, tile_q4_1 = mt_dot4x8_q4_1_avx512;
            dot4_q5_0 = mt_dot4_q5_0_avx512, tile_q5_0 = mt_dot4x8_q5_0_avx512;
            dot4_q5_1 = mt_dot4_q5_1_avx512, tile_q5_1 = mt_dot4x8_q5_1_avx512;
        }
    }
#elif defined(__aarch64__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) {
        variant = "neon-dotprod";
        dot_f32 = mt_dot_f32_neon_dotprod, dot_f16 = mt_dot_f16_neon_dotprod, dot_bf16 = mt_dot_bf16_neon_dotprod;
        dot_q8_0 = mt_dot_q8_0_neon_dotprod, dot_q4_K = mt_dot_q4_K_neon_dotprod, q4_0x8 = mt_q4_0x8_neon_dotprod, q4_Kx8 = mt_q4_Kx8_neon_dotprod;
        dot_q5_K = mt_dot_q5_K_neon_dotprod, dot_q6_K = mt_dot_q6_K_neon_dotprod;
        dot_q4_1 = mt_dot_q4_1_neon_dotprod, dot_q5_0 = mt_dot_q5_0_neon_dotprod, dot_q5_1 = mt_dot_q5_1_neon_dotprod;
    } else {
        variant = "neon";
        dot_f32 = mt_dot_f32_neon, dot_f16 = mt_dot_f16_neon, dot_bf16 = mt_dot_bf16_neon;
        dot_q8_0 = mt_dot_q8_0_neon, dot_q4_K = mt_dot_q4_K_neon, q4_0x8 = mt_q4_0x8_neon, q4_Kx8 = mt_q4_Kx8_neon;
        dot_q5_K = mt_dot_q5_K_neon, dot_q6_K = mt_dot_q6_K_neon;
        dot_q4_1 = mt_dot_q4_1_neon, dot_q5_0 = mt_dot_q5_0_neon, dot_q5_1 = mt_dot_q5_1_neon;
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
float mt_dot_q4_1(const void *w, const void *a, int n) { return dot_q4_1(w, a, n); }

float mt_dot_q5_0(const void *w, const void *a, int n) { return dot_q5_0(w, a, n); }
float mt_dot_q5_1(const void *w, const void *a, int n) { return dot_q5_1(w, a, n); }

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
MT_DOT4(q4_1)
MT_DOT4(q5_0)
MT_DOT4(q5_1)

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

static int product_tokens(int type, const void *weights, size_t row_bytes, int rows, const void *const *activations, int tokens,
                          int n, float *out, size_t out_stride);

// Tokens go in blocks whose activations (about a byte a value) fit in 16 KB, so a block stays in
// the first-level cache while every row of the range meets it (each output is computed the same
// way whatever the blocks: only the order of the work changes).
int mt_product(int type, const void *weights, size_t row_bytes, int rows, const void *const *activations, int tokens,
               int n, float *out, size_t out_stride) {
    if (tokens <= 0) return product_tokens(type, weights, row_bytes, rows, activations, 0, n, out, out_stride);  // says if the type exists
    int block = (16384 / (n > 0 ? n : 1)) & ~7;
    if (block < 8) block = 8;
    for (int t = 0; t < tokens; t += block) {
        int count = tokens - t < block ? tokens - t : block;
        if (product_tokens(type, weights, row_bytes, rows, activations + t, count, n, out + (size_t)t * out_stride, out_stride) != 0) return -1;
    }
    return 0;
}

// One row against tokens `from` up to `tokens`: four at a time where the variant can, then one by one.
static void row_tokens(mt_dot_fn one, mt_dot4_fn four, const uint8_t *w, const uint8_t *const *a, int from, int tokens, int n,
                       float *out, size_t out_stride) {
    int t = from;
    if (four) {
        for (; t + 4 <= tokens; t += 4) {
            float y[4];
            four(w, a + t, n, y);
            for (int i = 0; i < 4; i++) out[(size_t)(t + i) * out_stride] = y[i];
        }
    }
    for (; t < tokens; t++) out[(size_t)t * out_stride] = one(w, a[t], n);
}

static int product_tokens(int type, const void *weights, size_t row_bytes, int rows, const void *const *activations, int tokens,
                          int n, float *out, size_t out_stride) {
    mt_dot_fn one;
    mt_dot4_fn four = NULL;
    mt_tile_fn tile = NULL;
    switch (type) {
    case 0: one = dot_f32; break;
    case 1: one = dot_f16; break;
    case 30: one = dot_bf16; break;
    case 8: one = dot_q8_0, four = dot4_q8_0, tile = tile_q8_0; break;
    case 2: one = dot_q4_0; break;
    case 12: one = dot_q4_K, four = dot4_q4_K; break;
    case 13: one = dot_q5_K, four = dot4_q5_K; break;
    case 14: one = dot_q6_K, four = dot4_q6_K; break;
    case MT_GGML_Q4_1: one = dot_q4_1, four = dot4_q4_1, tile = tile_q4_1; break;
    case MT_GGML_Q5_0: one = dot_q5_0, four = dot4_q5_0, tile = tile_q5_0; break;
    case MT_GGML_Q5_1: one = dot_q5_1, four = dot4_q5_1, tile = tile_q5_1; break;
    case MT_TYPE_Q4_0X8: return product_x8(q4_0x8, (size_t)(n / 32) * MT_Q4_0X8, weights, rows, activations, tokens, n, out, out_stride);
    case MT_TYPE_Q4_KX8: return product_x8(q4_Kx8, (size_t)(n / 256) * MT_Q4_KX8_BLOCK, weights, rows, activations, tokens, n, out, out_stride);
    default: return -1;
    }
    const uint8_t *const *a = (const uint8_t *const *)activations;
    int r = 0;
    if (tile) {
        // Row tiles meet the tokens a tile at a time; the tokens left, and the rows left, go on below.
        for (; r + tile_rows <= rows && tokens >= tile_tokens; r += tile_rows) {
            const uint8_t *w = (const uint8_t *)weights + (size_t)r * row_bytes;
            int t = 0;
            for (; t + tile_tokens <= tokens; t += tile_tokens) {
                float y[32];
                tile(w, row_bytes, a + t, n, y);
                for (int k = 0; k < tile_rows; k++) {
                    for (int i = 0; i < tile_tokens; i++) out[(size_t)(t + i) * out_stride + r + k] = y[tile_tokens * k + i];
                }
            }
            for (int k = 0; k < tile_rows; k++) row_tokens(one, four, w + (size_t)k * row_bytes, a, t, tokens, n, out + r + k, out_stride);
        }
    }
    for (; r < rows; r++) row_tokens(one, four, (const uint8_t *)weights + (size_t)r * row_bytes, a, 0, tokens, n, out + r, out_stride);
    return 0;
}

// Reads n bytes (a multiple of 64) as the engines read weights, in wide loads, and returns a value
// that depends on every byte (so no load can be left out). For the bench's bandwidth ceiling.
uint64_t mt_read_bytes(const void *p, size_t n) {
    const uint64_t *w = p;
    uint64_t a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0;
    for (size_t i = 0; i < n / 8; i += 8) {
        a ^= w[i], b ^= w[i + 1], c ^= w[i + 2], d ^= w[i + 3];
        e ^= w[i + 4], f ^= w[i + 5], g ^= w[i + 6], h ^= w[i + 7];
    }
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h;
}
