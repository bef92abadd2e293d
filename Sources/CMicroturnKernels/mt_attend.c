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
