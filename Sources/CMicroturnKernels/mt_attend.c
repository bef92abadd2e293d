// Attention for the query heads that share one key/value head, at one position (mt_kernels.h).
#include "mt_kernels_internal.h"

#include <math.h>

// Keys and values are read a chunk of positions at a time (converted to floats first when the cache
// keeps F16: exactly, so every product is what F16 x F16 gives), and each chunk serves every query
// head of the group. Plain C: the sums are element-wise in a fixed order (the eight running sums of
// mt_dot_f32, and out[j] adding its terms in order of p), so the compiler's vectors give the same
// floats as a scalar loop.
enum { CHUNK = 32 };

// `count` rows of `d` elements from the cache, as floats.
static const float *rows(const void *cache, int f16, int first, int count, int d, float *scratch) {
    if (!f16) return (const float *)cache + (size_t)first * d;
    mt_f16_to_f32((const uint8_t *)cache + 2 * (size_t)first * d, count * d, scratch);
    return scratch;
}

// Built for AVX2 as well as the baseline where the compiler can (chosen when the library loads): the
// loops are element-wise, so both give the same floats.
#if defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
void mt_attend_heads(const float *q, int heads, const void *keys, const void *values, int f16, int positions, int d,
                     float scale, float *scores, float *restrict out) {
    float qf[heads * d], chunk[CHUNK * d];
    // With an F16 cache, the queries rounded to F16 (as llama.cpp's F16 product does).
    if (f16) {
        uint16_t qh[heads * d];
        mt_quantize_f16(q, heads * d, qh);
        mt_f16_to_f32(qh, heads * d, qf);
    } else {
        memcpy(qf, q, sizeof(float) * (size_t)heads * d);
    }
    for (int p0 = 0; p0 < positions; p0 += CHUNK) {
        int count = positions - p0 < CHUNK ? positions - p0 : CHUNK;
        const float *k = rows(keys, f16, p0, count, d, chunk);
        for (int p = 0; p < count; p++) {
            const float *kp = k + (size_t)p * d;
            for (int g = 0; g < heads; g++) {
                const float *qg = qf + (size_t)g * d;
                float s[8] = {0};
                int i = 0;
                for (; i + 8 <= d; i += 8) {
                    for (int l = 0; l < 8; l++) s[l] = s[l] + qg[i + l] * kp[i + l];
                }
                for (; i < d; i++) s[i % 8] = s[i % 8] + qg[i] * kp[i];
                scores[(size_t)g * positions + p0 + p] = mt_sum8(s) * scale;
            }
        }
    }
    for (int g = 0; g < heads; g++) {
        float *sg = scores + (size_t)g * positions, best = -INFINITY, total = 0;
        for (int p = 0; p < positions; p++) best = sg[p] > best ? sg[p] : best;
        for (int p = 0; p < positions; p++) {
            sg[p] = expf(sg[p] - best);
            total += sg[p];
        }
        for (int p = 0; p < positions; p++) sg[p] = sg[p] / total;
        // With an F16 cache, each weight rounded to F16 before it scales its values (llama.cpp).
        if (f16) {
            for (int p0 = 0; p0 < positions; p0 += CHUNK) {
                int count = positions - p0 < CHUNK ? positions - p0 : CHUNK;
                uint16_t wh[CHUNK];
                mt_quantize_f16(sg + p0, count, wh);
                mt_f16_to_f32(wh, count, sg + p0);
            }
        }
    }
    for (int p0 = 0; p0 < positions; p0 += CHUNK) {
        int count = positions - p0 < CHUNK ? positions - p0 : CHUNK;
        const float *v = rows(values, f16, p0, count, d, chunk);
        for (int p = 0; p < count; p++) {
            const float *restrict vp = v + (size_t)p * d;
            for (int g = 0; g < heads; g++) {
                float w = scores[(size_t)g * positions + p0 + p], *restrict og = out + (size_t)g * d;
                for (int j = 0; j < d; j++) og[j] = og[j] + w * vp[j];
            }
        }
    }
}
