// Block dot products in C with SIMD intrinsics, each with a scalar twin it must equal exactly:
// integer sums per block, then the same float operations in the same order as the Swift scalar
// reference (VecDot.scalarRow). Blocks are ggml's: Q8_0 = f16 scale + 32 int8, Q4_0 = f16 scale
// + 16 bytes of nibbles offset by 8. Activations are Q8_0 blocks.
#ifndef MT_KERNELS_H
#define MT_KERNELS_H

/// 1 when the AVX2 kernels run on this CPU.
int mt_kernels_have_avx2(void);

/// Sum over `n / 32` blocks of (integer dot of the block) * (weight scale * activation scale).
float mt_dot_q8_0(const void *weights, const void *activations, int n);
float mt_dot_q8_0_scalar(const void *weights, const void *activations, int n);
float mt_dot_q4_0(const void *weights, const void *activations, int n);
float mt_dot_q4_0_scalar(const void *weights, const void *activations, int n);

#endif
