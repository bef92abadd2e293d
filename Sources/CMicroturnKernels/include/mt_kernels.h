// Block dot products in C with SIMD intrinsics (AVX2, AVX-VNNI and AVX-512 VNNI on x86-64, NEON with or without the dot
// product extension on aarch64), chosen at run time, each with a scalar twin it must equal
// exactly. Blocks are ggml's. Weights: Q8_0 (f16 scale + 32 int8), Q4_0 (f16 scale + 16 bytes of
// nibbles offset by 8), Q4_1, Q5_0, Q5_1 (32 values with a scale, and a min or an offset), Q4_K, Q5_K, Q6_K (256 values). Activations come from
// MicroturnInference's QuantizeActivations: floats of the weights' own type against F32/F16/BF16, Q8_0 blocks against Q8_0/Q4_0, Q8_1 blocks (f16 d, 2 bytes
// of zero, f32 sum, 32 int8) against Q4_1/Q5_0/Q5_1, Q8_K blocks (f32 scale,
// 256 int8, 16 int16 sums) against the K-quants; their values are never -128.
//
// Float order (the same in every variant, so results are equal bit for bit):
// - Q4_0: one running sum, block after block: (float)(the block's integer dot) * (weight scale *
//   activation scale). The SIMD variants run on Q4_0 repacked eight rows together (below).
// - Q8_0: eight running sums; sum l takes, block after block, (float)(the integer dot of
//   elements 4l..4l+3 of the block) * (weight scale * activation scale), fused (one rounding, as
//   fmaf); at the end
//   ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
// - Q4_1, Q5_0, Q5_1 (against Q8_1 activations): each value is an unsigned integer u (4 bits, or 5
//   with the block's 32 high bits) and x = d u + m (Q5_0: m = -16 d). Eight running sums as Q8_0's
//   (fused),
//   sum l taking (float)(the integer dot of u 4l..4l+3 with the activations) * (d * da), and one
//   more taking m * sa block after block (sa: the activations' block sum, da * their integer sum);
//   at the end the eight added up as above, plus the one.
// - K-quants: one integer sum per block, then s += d * ad * isum (- dmin * ad * msum), in block order.
// - F32, F16, BF16 (activations in the same type): eight running sums, sum l taking the products of
//   elements i with i % 8 == l in order, added up as above.
#ifndef MT_KERNELS_H
#define MT_KERNELS_H

/// The variant this CPU runs: "avx2-avx512vnni" (as "avx2-vnni", with AVX-512 VNNI for four tokens
/// of the 32-value blocks at once), "avx2-vnni" (AVX2 with AVX-VNNI's byte products for the 32-value
/// blocks), "avx2", "neon-dotprod", "neon" or "scalar".
const char *mt_kernels_variant(void);

/// `n` elements (a whole number of blocks) of weights dot prepared activations.
float mt_dot_q8_0(const void *weights, const void *activations, int n);
float mt_dot_q4_0(const void *weights, const void *activations, int n);
float mt_dot_q4_K(const void *weights, const void *activations, int n);
float mt_dot_q5_K(const void *weights, const void *activations, int n);
float mt_dot_q6_K(const void *weights, const void *activations, int n);
float mt_dot_q4_1(const void *weights, const void *activations, int n);
float mt_dot_q5_0(const void *weights, const void *activations, int n);
float mt_dot_q5_1(const void *weights, const void *activations, int n);

float mt_dot_f32(const void *weights, const void *activations, int n);
float mt_dot_f16(const void *weights, const void *activations, int n);
float mt_dot_bf16(const void *weights, const void *activations, int n);

/// One weight row against four activation rows: out[t] equals mt_dot_<type>(weights, a<t>, n)
/// exactly (where the CPU's variant has a four-row kernel, each weight block is unpacked once).
void mt_dot4_q8_0(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);
void mt_dot4_q4_K(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);
void mt_dot4_q5_K(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);
void mt_dot4_q6_K(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);
void mt_dot4_q4_1(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);
void mt_dot4_q5_0(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);
void mt_dot4_q5_1(const void *weights, const void *a0, const void *a1, const void *a2, const void *a3, int n, float *out);

#include <stddef.h>
#include <stdint.h>

/// Q4_0 rows repacked eight together, so one activation block meets eight rows in one vector: per
/// group of eight rows and block, the eight f16 scales (16 bytes), then four runs of 32 bytes, run q
/// holding bytes 4q..4q+3 of each row's nibbles (row 0 first). Rows past the last are zero.
enum { MT_TYPE_Q4_0X8 = 1000 };
size_t mt_q4_0x8_bytes(int rows, int n);
void mt_repack_q4_0x8(const void *source, size_t row_bytes, int rows, int n, void *destination);

/// Q4_K rows repacked eight together the same way: per group of eight rows and block of 256, the
/// eight d, the eight dmin (f16), the scales (sub-block j: each row's 6-bit scale twice, 16 bytes),
/// the mins (sub-blocks 2k, 2k + 1: each row's two mins, 16 bytes per k), then for each pair of
/// sub-blocks eight runs of 32 bytes, run q holding nibble bytes 4q..4q+3 of the pair for each row.
/// Same results as the rows' own kernels (mt_dot_q4_K), bit for bit.
enum { MT_TYPE_Q4_KX8 = 1001, MT_Q4_KX8_BLOCK = 16 + 16 + 128 + 64 + 1024 };
size_t mt_q4_Kx8_bytes(int rows, int n);
void mt_repack_q4_Kx8(const void *source, size_t row_bytes, int rows, int n, void *destination);

/// A matrix product for one row range: out[t * out_stride + r] = row r of `weights` (rows
/// `row_bytes` apart) dot activations[t], for r < rows and t < tokens, four tokens at a time where
/// there are four (each row stays in cache while it meets every token). `type` is the ggml type
/// number (0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 6 Q5_0, 7 Q5_1, 8 Q8_0, 12 Q4_K, 13 Q5_K, 14 Q6_K, 30 BF16), MT_TYPE_Q4_0X8 or
/// MT_TYPE_Q4_KX8 (`weights` then points at a group of eight rows, `row_bytes` is unused; plain
/// Q4_0 has only its scalar twin); returns 0, or -1 for a type without kernels (nothing written).
int mt_product(int type, const void *weights, size_t row_bytes, int rows, const void *const *activations, int tokens,
               int n, float *out, size_t out_stride);

/// Activations converted for the dot products, as MicroturnInference's QuantizeActivations (the
/// Swift reference) does, bit for bit: Q8_0 (d = max|x| / 127 stored as f16, q = x * (127 / max|x|)
/// rounded to nearest even, as llama.cpp's x86 code does), Q8_1 (the same, plus the block's sum
/// d * (sum of q) as f32), Q8_K (scale from the value of largest magnitude, q rounded to nearest
/// even, with its sums of 16), F16 and BF16 (round to nearest even).
void mt_quantize_q8_0(const float *x, int n, void *out);
void mt_quantize_q8_1(const float *x, int n, void *out);
void mt_quantize_q8_K(const float *x, int n, void *out);
void mt_quantize_f16(const float *x, int n, void *out);
void mt_quantize_bf16(const float *x, int n, void *out);

/// Attention at one position for the `heads` query heads (rows of `d` floats, one after another,
/// in `q` and `out`) that share one key/value head: scores[g * positions + p] = (q_g . keys[p]) *
/// scale for p < positions (keys and values `d` elements apart, F32, or F16 with `f16`), a softmax
/// per head, out_g[j] += weight[p] * values[p][j] in order of p. With an F16 cache the queries and
/// the softmax weights are rounded to F16 first, as llama.cpp computes with one. `scores` has room
/// for heads x positions.
void mt_attend_heads(const float *q, int heads, const void *keys, const void *values, int f16, int positions, int d,
                     float scale, float *scores, float *out);

/// F16 to float, exactly.
void mt_f16_to_f32(const void *in, int n, float *out);

float mt_dot_f32_scalar(const void *weights, const void *activations, int n);
float mt_dot_f16_scalar(const void *weights, const void *activations, int n);
float mt_dot_bf16_scalar(const void *weights, const void *activations, int n);
float mt_dot_q8_0_scalar(const void *weights, const void *activations, int n);
float mt_dot_q4_0_scalar(const void *weights, const void *activations, int n);
float mt_dot_q4_K_scalar(const void *weights, const void *activations, int n);
float mt_dot_q5_K_scalar(const void *weights, const void *activations, int n);
float mt_dot_q6_K_scalar(const void *weights, const void *activations, int n);
float mt_dot_q4_1_scalar(const void *weights, const void *activations, int n);
float mt_dot_q5_0_scalar(const void *weights, const void *activations, int n);
float mt_dot_q5_1_scalar(const void *weights, const void *activations, int n);

/// Reads `n` bytes (a multiple of 64) in wide loads; the result depends on every byte. The bench
/// measures read bandwidth with it, the way the kernels read weights.
uint64_t mt_read_bytes(const void *p, size_t n);

/// A hint to the CPU that this thread is spinning on a flag (x86 PAUSE, Arm YIELD).
static inline void mt_spin_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}


/// Fitting (mt_fit.c). g (n x n, row-major; the upper triangle, diagonal included) += x^T x for
/// `rows` rows of n floats.
void mt_gram_add(const float *x, int rows, int n, double *g);
/// out (m rows of n) += y^T x: out[e][i] += sum over rows r of y[r][e] * x[r][i].
void mt_cross_add(const float *x, int rows, int n, const float *y, int m, double *out);
/// Solves a x = b for the m right-hand sides in b (m rows of n, overwritten by x), with a
/// symmetric positive definite (its upper triangle read; a is overwritten by its Cholesky
/// factor); returns 0, or -1 when a is not positive definite.
int mt_cholesky_solve(double *a, int n, double *b, int m);
/// Drops columns of a least-squares fit one at a time, each the one whose loss (the rest refitted)
/// raises the squared error least, until `keep` of the `alive` ones (flags, cleared as they go)
/// remain. gram: n x n, its upper triangle read (ridged by the caller), overwritten by its
/// Cholesky factor; cross: m rows of n (the products with the m outputs). Returns 0, or -1 when
/// gram is not positive definite (or memory ran out).
int mt_eliminate(double *gram, const double *cross, int n, int m, int keep, unsigned char *alive);

#endif
