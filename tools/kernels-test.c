// The engine's C kernels (Sources/CMicroturnKernels) outside Swift: every variant this CPU can run
// must equal the scalar twins bit for bit on random blocks. Built by tools/test-kernels-aarch64.sh
// for aarch64 (run under qemu-user with and without the dot product extension) and natively.
// Prints the variant the library chose and one line per kernel; exits 1 on any difference.
#include "../Sources/CMicroturnKernels/mt_kernels.c"
#include "../Sources/CMicroturnKernels/mt_repack.c"
#include "../Sources/CMicroturnKernels/mt_quantize.c"
#include "../Sources/CMicroturnKernels/mt_attend.c"
#include "../Sources/CMicroturnKernels/mt_kernels_arm.c"
#include "../Sources/CMicroturnKernels/mt_kernels_x86.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float uniform(void) { return (float)(next() % 2000001) / 1000000.0f - 1.0f; }

static uint16_t to_half(float f) {  // f is small and normal here: truncating is enough
    uint32_t b;
    memcpy(&b, &f, 4);
    int32_t e = (int32_t)((b >> 23) & 0xFF) - 127 + 15;
    if (e <= 0) return (uint16_t)((b >> 16) & 0x8000);
    return (uint16_t)(((b >> 16) & 0x8000) | (uint32_t)(e << 10) | ((b >> 13) & 0x3FF));
}

// Random weight blocks: random bytes, then finite f16 scales where the block keeps them.
static void random_weights(uint8_t *w, int blocks, int bytes, const int *scale_at, int scales) {
    for (int i = 0; i < blocks * bytes; i++) w[i] = (uint8_t)next();
    for (int b = 0; b < blocks; b++) {
        for (int s = 0; s < scales; s++) {
            uint16_t h = to_half(uniform() * 0.01f);
            memcpy(w + b * bytes + scale_at[s], &h, 2);
        }
    }
}

// Activations as MicroturnInference quantizes them (values within -127...127).
static void quantize_q8_0(const float *x, uint8_t *out, int n) {
    for (int b = 0; b < n / 32; b++, x += 32, out += MT_Q8_0) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        uint16_t h = to_half(d);
        memcpy(out, &h, 2);
        for (int i = 0; i < 32; i++) out[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

// Q8_1: a Q8_0 block at byte 8 (its scale moved to byte 0), the block's sum at byte 4.
static void quantize_q8_1(const float *x, uint8_t *out, int n) {
    for (int b = 0; b < n / 32; b++, x += 32, out += MT_Q8_1) {
        uint8_t block[MT_Q8_0];
        quantize_q8_0(x, block, 32);
        memcpy(out, block, 2);
        memset(out + 2, 0, 2);
        memcpy(out + 8, block + 2, 32);
        int32_t sum = 0;
        for (int i = 0; i < 32; i++) sum += (int8_t)block[2 + i];
        float s = mt_half(block) * (float)sum;
        memcpy(out + 4, &s, 4);
    }
}


static void quantize_q8_K(const float *x, uint8_t *out, int n) {
    for (int b = 0; b < n / 256; b++, x += 256, out += MT_Q8_K) {
        float amax = 0, extreme = 0;
        for (int i = 0; i < 256; i++) {
            if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); extreme = x[i]; }
        }
        float iscale = amax != 0 ? -127 / extreme : 0, d = amax != 0 ? 1 / iscale : 0;
        memcpy(out, &d, 4);
        for (int j = 0; j < 16; j++) {
            int16_t sum = 0;
            for (int i = 16 * j; i < 16 * j + 16; i++) {
                int8_t q = (int8_t)fminf(127, nearbyintf(iscale * x[i]));
                out[4 + i] = (uint8_t)q;
                sum += q;
            }
            memcpy(out + 260 + 2 * j, &sum, 2);
        }
    }
}

// Activations for weights with `block_values` values a block (0: Q8_1).
static void quantize_for(int block_values, const float *x, uint8_t *out, int n) {
    if (block_values == 256) quantize_q8_K(x, out, n); else if (block_values == 32) quantize_q8_0(x, out, n); else quantize_q8_1(x, out, n);
}

typedef float (*kernel)(const uint8_t *, const uint8_t *, int);
typedef float (*twin)(const void *, const void *, int);
typedef void (*four)(const void *, const void *, const void *, const void *, const void *, int, float *);

// With `rows4` (the library's four-row entry point), each random row is also checked against
// four activation rows at once.
static int check(const char *name, const char *variant, kernel fast, twin scalar, int block_values, int block_bytes,
                 const int *scale_at, int scales, four rows4, int sums) {
    static float x[4096];
    static uint8_t w[4096 / 32 * MT_Q5_K], act[4][4096 / 256 * MT_Q8_K + 4096 / 32 * MT_Q8_1];
    uint8_t *a = act[0];
    int failures = 0, trials = 0;
    for (int n = block_values; n <= 4096; n *= 4) {
        for (int t = 0; t < 100; t++, trials++) {
            random_weights(w, n / block_values, block_bytes, scale_at, scales);
            for (int i = 0; i < n; i++) x[i] = (t % 5 == 0 && i % 7 == 0) ? 0 : uniform() * (next() % 16 == 0 ? 40 : 1);
            quantize_for(sums ? 0 : block_values, x, a, n);
            float f = fast(w, a, n), s = scalar(w, a, n);
            if (memcmp(&f, &s, 4) != 0) {
                if (failures++ < 3) fprintf(stderr, "%s %s: %d values: %.9g, scalar twin %.9g\n", variant, name, n, f, s);
            }
            if (rows4) {
                for (int r = 1; r < 4; r++) {
                    for (int i = 0; i < n; i++) x[i] = uniform() * (r == 3 ? 100 : 1);
                    quantize_for(sums ? 0 : block_values, x, act[r], n);
                }
                float out[4];
                rows4(w, act[0], act[1], act[2], act[3], n, out);
                for (int r = 0; r < 4; r++) {
                    float e = scalar(w, act[r], n);
                    if (memcmp(&out[r], &e, 4) != 0 && failures++ < 3) {
                        fprintf(stderr, "%s %s x4: row %d of %d values: %.9g, scalar twin %.9g\n", variant, name, r, n, out[r], e);
                    }
                }
            }
        }
    }
    printf("%s %s: %d random rows, %d differ\n", variant, name, trials, failures);
    return failures;
}

// mt_product over 11 rows and 13 tokens (row tiles against four tokens at once where the variant has
// it, then the rest): every output equals the scalar twin on its row and token.
static int check_product(const char *name, int type, twin scalar, int block_bytes, const int *scale_at, int scales, int sums) {
    enum { rows = 11, tokens = 13, n = 512 };
    static uint8_t w[rows * n / 32 * MT_Q8_1], act[tokens][n / 32 * MT_Q8_1];
    static float x[n];
    int failures = 0;
    for (int trial = 0; trial < 20; trial++) {
        random_weights(w, rows * n / 32, block_bytes, scale_at, scales);
        const void *a[tokens];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < n; i++) x[i] = uniform() * (t + 1);
            quantize_for(sums ? 0 : 32, x, act[t], n);
            a[t] = act[t];
        }
        float out[tokens * rows];
        mt_product(type, w, (size_t)(n / 32 * block_bytes), rows, a, tokens, n, out, rows);
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                float e = scalar(w + (size_t)r * (n / 32 * block_bytes), act[t], n);
                if (memcmp(&out[t * rows + r], &e, 4) != 0 && failures++ < 3) {
                    fprintf(stderr, "product %s: row %d token %d: %.9g, scalar twin %.9g\n", name, r, t, out[t * rows + r], e);
                }
            }
        }
    }
    printf("product %s: 20 random matrices of %d rows x %d tokens, %d differ\n", name, rows, tokens, failures);
    return failures;
}

// One x86 tile kernel directly (`rows` rows against `tokens` tokens, out[tokens * r + t]), whichever
// the library chose: each output against the scalar twin.
typedef void (*tile)(const uint8_t *, size_t, const uint8_t *const *, int, float *);
static int check_tile(const char *name, const char *variant, tile fn, int rows, int tokens, twin scalar, int block_bytes, const int *scale_at,
                      int scales, int sums) {
    enum { n = 1024 };
    static uint8_t w[4 * n / 32 * MT_Q8_1], act[8][n / 32 * MT_Q8_1];
    static float x[n];
    int failures = 0;
    size_t row_bytes = (size_t)(n / 32 * block_bytes);
    for (int trial = 0; trial < 50; trial++) {
        random_weights(w, rows * n / 32, block_bytes, scale_at, scales);
        const uint8_t *a[8];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < n; i++) x[i] = uniform() * (t == 3 ? 60 : 1);
            quantize_for(sums ? 0 : 32, x, act[t], n);
            a[t] = act[t];
        }
        float out[32];
        fn(w, row_bytes, a, n, out);
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float e = scalar(w + (size_t)r * row_bytes, act[t], n);
                if (memcmp(&out[tokens * r + t], &e, 4) != 0 && failures++ < 3) {
                    fprintf(stderr, "%s %s tile: row %d token %d: %.9g, scalar twin %.9g\n", variant, name, r, t, out[tokens * r + t], e);
                }
            }
        }
    }
    printf("%s %s %dx%d tile: 50 random tiles, %d differ\n", variant, name, rows, tokens, failures);
    return failures;
}

#if defined(__x86_64__)
#define MT_CHECK_TILES(variant, rows, tokens, suffix)                                                                     \
    (check_tile("q8_0", variant, mt_dot##rows##x##tokens##_q8_0_##suffix, rows, tokens, mt_dot_q8_0_scalar, MT_Q8_0, s32, 1, 0) + \
     check_tile("q4_1", variant, mt_dot##rows##x##tokens##_q4_1_##suffix, rows, tokens, mt_dot_q4_1_scalar, 20, dm, 2, 1) +       \
     check_tile("q5_0", variant, mt_dot##rows##x##tokens##_q5_0_##suffix, rows, tokens, mt_dot_q5_0_scalar, 22, s32, 1, 1) +      \
     check_tile("q5_1", variant, mt_dot##rows##x##tokens##_q5_1_##suffix, rows, tokens, mt_dot_q5_1_scalar, 24, dm, 2, 1))
// Every tile this CPU can run, not only the chosen one.
static int check_x86_tiles(void) {
    static const int s32[] = {0}, dm[] = {0, 2};
    int failures = MT_CHECK_TILES("avx2", 2, 4, avx2);
    if (__builtin_cpu_supports("avxvnni")) failures += MT_CHECK_TILES("avx2-vnni", 2, 4, avxvnni);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
        failures += MT_CHECK_TILES("avx512vnni", 4, 8, avx512);
    }
    return failures;
}
#endif

// Float rows: random values in the row's own type, lengths with and without a tail.
static void encode(uint8_t *p, float f, int kind) {  // 0: f32, 1: f16, 2: bf16 (truncated)
    if (kind == 0) { memcpy(p, &f, 4); return; }
    uint32_t b;
    memcpy(&b, &f, 4);
    uint16_t h = kind == 1 ? to_half(f) : (uint16_t)(b >> 16);
    memcpy(p, &h, 2);
}

static int check_floats(const char *name, const char *variant, kernel fast, twin scalar, int kind) {
    static uint8_t w[4 * 4099], a[4 * 4099];
    static const int lengths[] = {1, 7, 8, 33, 1024, 4099};
    int size = kind == 0 ? 4 : 2, failures = 0, trials = 0;
    for (int l = 0; l < 6; l++) {
        for (int t = 0; t < 50; t++, trials++) {
            int n = lengths[l];
            for (int i = 0; i < n; i++) {
                encode(w + size * i, uniform() * 2, kind);
                encode(a + size * i, uniform() * 2, kind);
            }
            float f = fast(w, a, n), s = scalar(w, a, n);
            if (memcmp(&f, &s, 4) != 0 && failures++ < 3) fprintf(stderr, "%s %s: %d values: %.9g, scalar twin %.9g\n", variant, name, n, f, s);
        }
    }
    printf("%s %s: %d random rows, %d differ\n", variant, name, trials, failures);
    return failures;
}

// Rows repacked eight together (Q4_0, Q4_K): 13 random rows (a partial last group), one and four
// tokens at a time, each result against the scalar twin on the original row.
typedef void (*x8)(const uint8_t *, const uint8_t *const *, int, int, float *);
typedef void (*repacker)(const void *, size_t, int, int, void *);
static int check_x8(const char *name, const char *variant, x8 fast, int kernel_type, repacker repack, size_t (*packed_bytes)(int, int),
                    twin scalar, int block_values, int block_bytes, const int *scale_at, int scales) {
    enum { rows = 13 };
    static float x[4096];
    static uint8_t w[rows * 4096 / 32 * MT_Q5_K], packed[2 * 4096 / 32 * MT_Q4_KX8_BLOCK], act[4][4096 / 32 * MT_Q8_K];
    int failures = 0, trials = 0;
    for (int n = block_values; n <= 4096; n *= 4) {
        size_t row_bytes = (size_t)(n / block_values) * block_bytes, group_bytes = packed_bytes(8, n);
        for (int trial = 0; trial < 20; trial++, trials++) {
            random_weights(w, rows * n / block_values, block_bytes, scale_at, scales);
            repack(w, row_bytes, rows, n, packed);
            for (int t = 0; t < 4; t++) {
                for (int i = 0; i < n; i++) x[i] = uniform() * (t == 3 ? 50 : 1);
                if (block_values == 32) quantize_q8_0(x, act[t], n); else quantize_q8_K(x, act[t], n);
            }
            const uint8_t *a[4] = {act[0], act[1], act[2], act[3]};
            for (int g = 0; g < 2; g++) {
                float out[32];
                int live = rows - 8 * g < 8 ? rows - 8 * g : 8;
                for (int nt = 1; nt <= 4; nt += 3) {
                    if (fast) fast(packed + g * group_bytes, a, n, nt, out);
                    else mt_product(kernel_type, packed + g * group_bytes, 0, live, (const void *const *)a, nt, n, out, 8);
                    for (int t = 0; t < nt; t++) {
                        for (int i = 0; i < live; i++) {
                            float e = scalar(w + (size_t)(8 * g + i) * row_bytes, act[t], n);
                            if (memcmp(&out[8 * t + i], &e, 4) != 0 && failures++ < 3) {
                                fprintf(stderr, "%s %s: row %d token %d of %d values: %.9g, scalar twin %.9g\n", variant, name, 8 * g + i, t, n, out[8 * t + i], e);
                            }
                        }
                    }
                }
            }
        }
    }
    printf("%s %s: %d random row sets, %d differ\n", variant, name, trials, failures);
    return failures;
}

static int check_q4_0x8(const char *variant, x8 fast) {
    static const int s32[] = {0};
    return check_x8("q4_0x8", variant, fast, MT_TYPE_Q4_0X8, mt_repack_q4_0x8, mt_q4_0x8_bytes, mt_dot_q4_0_scalar, 32, MT_Q4_0, s32, 1);
}

static int check_q4_Kx8(const char *variant, x8 fast) {
    static const int k45[] = {0, 2};
    return check_x8("q4_Kx8", variant, fast, MT_TYPE_Q4_KX8, mt_repack_q4_Kx8, mt_q4_Kx8_bytes, mt_dot_q4_K_scalar, 256, MT_Q4_K, k45, 2);
}

static int check_variant(const char *variant, kernel f32, kernel f16, kernel bf16, kernel q8_0, x8 q4_0x8, kernel q4_K, x8 q4_Kx8,
                         kernel q5_K, kernel q6_K, kernel q4_1, kernel q5_0, kernel q5_1, int with_rows4) {
    static const int s32[] = {0}, dm[] = {0, 2}, k45[] = {0, 2}, k6[] = {208};
    return check_floats("f32", variant, f32, mt_dot_f32_scalar, 0)
         + check_floats("f16", variant, f16, mt_dot_f16_scalar, 1)
         + check_floats("bf16", variant, bf16, mt_dot_bf16_scalar, 2)
         + check("q8_0", variant, q8_0, mt_dot_q8_0_scalar, 32, MT_Q8_0, s32, 1, with_rows4 ? mt_dot4_q8_0 : NULL, 0)
         + check_q4_0x8(variant, q4_0x8)
         + check_q4_Kx8(variant, q4_Kx8)
         + check("q4_K", variant, q4_K, mt_dot_q4_K_scalar, 256, MT_Q4_K, k45, 2, with_rows4 ? mt_dot4_q4_K : NULL, 0)
         + check("q5_K", variant, q5_K, mt_dot_q5_K_scalar, 256, MT_Q5_K, k45, 2, with_rows4 ? mt_dot4_q5_K : NULL, 0)
         + check("q6_K", variant, q6_K, mt_dot_q6_K_scalar, 256, MT_Q6_K, k6, 1, with_rows4 ? mt_dot4_q6_K : NULL, 0)
         + check("q4_1", variant, q4_1, mt_dot_q4_1_scalar, 32, 20, dm, 2, with_rows4 ? mt_dot4_q4_1 : NULL, 1)
         + check("q5_0", variant, q5_0, mt_dot_q5_0_scalar, 32, 22, s32, 1, with_rows4 ? mt_dot4_q5_0 : NULL, 1)
         + check("q5_1", variant, q5_1, mt_dot_q5_1_scalar, 32, 24, dm, 2, with_rows4 ? mt_dot4_q5_1 : NULL, 1);
}

int main(void) {
    int failures = 0;
    printf("chosen variant: %s\n", mt_kernels_variant());
#if defined(__aarch64__)
    failures += check_variant("neon", mt_dot_f32_neon, mt_dot_f16_neon, mt_dot_bf16_neon, mt_dot_q8_0_neon, mt_q4_0x8_neon, mt_dot_q4_K_neon, mt_q4_Kx8_neon, mt_dot_q5_K_neon, mt_dot_q6_K_neon,
                              mt_dot_q4_1_neon, mt_dot_q5_0_neon, mt_dot_q5_1_neon, 0);
    if (strcmp(mt_kernels_variant(), "neon-dotprod") == 0) {
        failures += check_variant("neon-dotprod", mt_dot_f32_neon_dotprod, mt_dot_f16_neon_dotprod, mt_dot_bf16_neon_dotprod, mt_dot_q8_0_neon_dotprod, mt_q4_0x8_neon_dotprod, mt_dot_q4_K_neon_dotprod, mt_q4_Kx8_neon_dotprod,
                                  mt_dot_q5_K_neon_dotprod, mt_dot_q6_K_neon_dotprod, mt_dot_q4_1_neon_dotprod, mt_dot_q5_0_neon_dotprod,
                                  mt_dot_q5_1_neon_dotprod, 0);
    }
#elif defined(__x86_64__)
    if (strncmp(mt_kernels_variant(), "avx2", 4) == 0) {
        failures += check_variant("avx2", mt_dot_f32_avx2, mt_dot_f16_avx2, mt_dot_bf16_avx2, mt_dot_q8_0_avx2, mt_q4_0x8_avx2, mt_dot_q4_K_avx2, mt_q4_Kx8_avx2, mt_dot_q5_K_avx2, mt_dot_q6_K_avx2,
                                  mt_dot_q4_1_avx2, mt_dot_q5_0_avx2, mt_dot_q5_1_avx2, 0);
        failures += check_x86_tiles();
    }
#endif
    // The x8 layout's reading without SIMD (for CPUs with no variant) against the twin too.
    failures += check_q4_0x8("scalar", mt_q4_0x8_scalar) + check_q4_Kx8("scalar", mt_q4_Kx8_scalar);
    // What the library's entry points call must be the chosen variant, equal to the twins too, and
    // so must the four-row entry points and mt_product on repacked Q4_0 (the NULL).
    failures += check_variant("chosen", (kernel)mt_dot_f32, (kernel)mt_dot_f16, (kernel)mt_dot_bf16, (kernel)mt_dot_q8_0, NULL, (kernel)mt_dot_q4_K, NULL, (kernel)mt_dot_q5_K, (kernel)mt_dot_q6_K,
                              (kernel)mt_dot_q4_1, (kernel)mt_dot_q5_0, (kernel)mt_dot_q5_1, 1);
    {
        static const int s32[] = {0}, dm[] = {0, 2};
        failures += check_product("q8_0", 8, mt_dot_q8_0_scalar, MT_Q8_0, s32, 1, 0) + check_product("q4_1", 3, mt_dot_q4_1_scalar, 20, dm, 2, 1)
                  + check_product("q5_0", 6, mt_dot_q5_0_scalar, 22, s32, 1, 1) + check_product("q5_1", 7, mt_dot_q5_1_scalar, 24, dm, 2, 1);
    }
    printf(failures ? "FAILED\n" : "all equal\n");
    return failures ? 1 : 0;
}
