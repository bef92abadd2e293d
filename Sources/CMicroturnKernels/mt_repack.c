// Rows repacked eight together for the kernels that read them so (Q4_0, Q4_K; layouts in
// mt_kernels.h), and the scalar readers of those layouts, for CPUs without a SIMD variant.
#include "mt_kernels_internal.h"

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
void mt_q4_0x8_scalar(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
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
void mt_q4_Kx8_scalar(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
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
