// Attention for one head at one position (mt_kernels.h).
#include "mt_kernels_internal.h"

#include <math.h>

// Plain C: the weighted sum over positions is element-wise (each out[j] adds its terms in order of
// p), so the compiler's vectors give the same floats as a scalar loop.
void mt_attend(const float *q, const float *keys, const float *values, int positions, int d, size_t stride, float scale,
               float *scores, float *restrict out) {
    float best = -INFINITY, total = 0;
    for (int p = 0; p < positions; p++) {
        scores[p] = mt_dot_f32(q, keys + (size_t)p * stride, d) * scale;
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

// The same with keys and values kept as F16, as llama.cpp computes with an F16 cache: the query is
// rounded to F16 for the key dot products (mt_dot_f16), each softmax weight to F16 before it
// scales its values.
void mt_attend_f16(const float *q, const void *keys, const void *values, int positions, int d, size_t stride, float scale,
                   float *scores, float *restrict out) {
    uint16_t qh[d];
    mt_quantize_f16(q, d, qh);
    const uint8_t *k = keys, *v = values;
    float best = -INFINITY, total = 0;
    for (int p = 0; p < positions; p++) {
        scores[p] = mt_dot_f16(qh, k + 2 * (size_t)p * stride, d) * scale;
        if (scores[p] > best) best = scores[p];
    }
    for (int p = 0; p < positions; p++) {
        scores[p] = expf(scores[p] - best);
        total += scores[p];
    }
    for (int p = 0; p < positions; p++) scores[p] = scores[p] / total;
    // Each weight rounded to F16 and back, all in one call (the conversion is a vector
    // instruction where the CPU has one).
    for (int p0 = 0; p0 < positions; p0 += 256) {
        int count = positions - p0 < 256 ? positions - p0 : 256;
        uint16_t wh[256];
        mt_quantize_f16(scores + p0, count, wh);
        for (int p = p0; p < p0 + count; p++) mt_axpy_f16(out, mt_half((const uint8_t *)&wh[p - p0]), v + 2 * (size_t)p * stride, d);
    }
}
