// The NEON variants' bodies, included twice by mt_kernels_arm.c: with MT_DOTPROD set (SDOT, the
// Armv8.2 dot product extension) and without (widening multiplies, any Armv8). MT_NAME(x) names
// the functions of this copy, MT_TARGET is its target attribute. Integer sums are exact; float
// steps follow mt_kernels.h's order.

// acc lane l += the integer dot of bytes 4l..4l+3 of x and y.
static inline MT_TARGET int32x4_t MT_NAME(quads)(int32x4_t acc, int8x16_t x, int8x16_t y) {
#if MT_DOTPROD
    return vdotq_s32(acc, x, y);
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(x), vget_low_s8(y)), p1 = vmull_high_s8(x, y);
    return vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(p0), vpaddlq_s16(p1)));
#endif
}

// Floats: eight at a time (two vectors of four) into the eight running sums; a tail one by one.
#define MT_FLOAT_NEON(kind, size, load4, load1)                                                        \
    MT_TARGET float MT_NAME(mt_dot_##kind)(const uint8_t *w, const uint8_t *a, int n) {               \
        float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);                                          \
        int i = 0;                                                                                     \
        for (; i + 8 <= n; i += 8) {                                                                   \
            s0 = vaddq_f32(s0, vmulq_f32(load4(w + (size) * i), load4(a + (size) * i)));               \
            s1 = vaddq_f32(s1, vmulq_f32(load4(w + (size) * (i + 4)), load4(a + (size) * (i + 4))));   \
        }                                                                                              \
        float s[8];                                                                                    \
        vst1q_f32(s, s0);                                                                              \
        vst1q_f32(s + 4, s1);                                                                          \
        for (; i < n; i++) s[i % 8] = s[i % 8] + load1(w + (size) * i) * load1(a + (size) * i);       \
        return mt_sum8(s);                                                                             \
    }
MT_FLOAT_NEON(f32, 4, mt_load4_f32, mt_f32)
MT_FLOAT_NEON(f16, 2, mt_load4_f16, mt_half)
MT_FLOAT_NEON(bf16, 2, mt_load4_bf16, mt_bf16)
#undef MT_FLOAT_NEON

static inline MT_TARGET int32_t MT_NAME(dot32)(int8x16_t x0, int8x16_t x1, const uint8_t *y) {
    int32x4_t acc = MT_NAME(quads)(vdupq_n_s32(0), x0, vld1q_s8((const int8_t *)y));
    return vaddvq_s32(MT_NAME(quads)(acc, x1, vld1q_s8((const int8_t *)y + 16)));
}

MT_TARGET float MT_NAME(mt_dot_q8_0)(const uint8_t *w, const uint8_t *a, int n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
    for (int b = 0; b < n / 32; b++, w += MT_Q8_0, a += MT_Q8_0) {
        int32x4_t p0 = MT_NAME(quads)(vdupq_n_s32(0), vld1q_s8((const int8_t *)w + 2), vld1q_s8((const int8_t *)a + 2));
        int32x4_t p1 = MT_NAME(quads)(vdupq_n_s32(0), vld1q_s8((const int8_t *)w + 18), vld1q_s8((const int8_t *)a + 18));
        float32x4_t scale = vdupq_n_f32(mt_half_hw(w) * mt_half_hw(a));
        s0 = vfmaq_f32(s0, vcvtq_f32_s32(p0), scale);
        s1 = vfmaq_f32(s1, vcvtq_f32_s32(p1), scale);
    }
    float s[8];
    vst1q_f32(s, s0);
    vst1q_f32(s + 4, s1);
    return mt_sum8(s);
}

// Q4_0 repacked eight rows together (mt_repack_q4_0x8): rows 0-3 in one vector, 4-7 in the
// other. The nibbles go in as they are (0..15), each against four activations broadcast; the
// offset of 8 comes off as 8 x their sum.
MT_TARGET void MT_NAME(mt_q4_0x8)(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    const uint8x16_t low4 = vdupq_n_u8(0xF);
    float32x4_t s[4][2];
    for (int t = 0; t < nt; t++) s[t][0] = s[t][1] = vdupq_n_f32(0);
    for (int b = 0; b < n / 32; b++, w += MT_Q4_0X8) {
        float32x4_t dw0 = mt_load4_f16(w), dw1 = mt_load4_f16(w + 8);
        int8x16_t lo[4][2], hi[4][2];
        for (int q = 0; q < 4; q++) {
            for (int h = 0; h < 2; h++) {
                uint8x16_t v = vld1q_u8(w + 16 + 32 * q + 16 * h);
                lo[q][h] = vreinterpretq_s8_u8(vandq_u8(v, low4));
                hi[q][h] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
            }
        }
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_0, *y = ab + 2;
            int32x4_t p0 = vdupq_n_s32(0), p1 = vdupq_n_s32(0);
            for (int q = 0; q < 4; q++) {
                int32_t y0, y1;
                memcpy(&y0, y + 4 * q, 4);
                memcpy(&y1, y + 16 + 4 * q, 4);
                int8x16_t b0 = vreinterpretq_s8_s32(vdupq_n_s32(y0)), b1 = vreinterpretq_s8_s32(vdupq_n_s32(y1));
                p0 = MT_NAME(quads)(MT_NAME(quads)(p0, lo[q][0], b0), hi[q][0], b1);
                p1 = MT_NAME(quads)(MT_NAME(quads)(p1, lo[q][1], b0), hi[q][1], b1);
            }
            int32_t sum = vaddlvq_s8(vld1q_s8((const int8_t *)y)) + vaddlvq_s8(vld1q_s8((const int8_t *)y + 16));
            int32x4_t offset = vdupq_n_s32(8 * sum);
            float da = mt_half_hw(ab);
            s[t][0] = vaddq_f32(s[t][0], vmulq_f32(vcvtq_f32_s32(vsubq_s32(p0, offset)), vmulq_n_f32(dw0, da)));
            s[t][1] = vaddq_f32(s[t][1], vmulq_f32(vcvtq_f32_s32(vsubq_s32(p1, offset)), vmulq_n_f32(dw1, da)));
        }
    }
    for (int t = 0; t < nt; t++) {
        vst1q_f32(out + 8 * t, s[t][0]);
        vst1q_f32(out + 8 * t + 4, s[t][1]);
    }
}

// Q4_K repacked eight rows together (mt_repack_q4_Kx8): rows 0-3 in one vector, 4-7 in the other.
// Each sub-block's row dots (four nibbles per row per run, against four activations broadcast)
// take the rows' scales; mins go row-wise against the sub-blocks' activation sums.
MT_TARGET void MT_NAME(mt_q4_Kx8)(const uint8_t *w, const uint8_t *const *a, int n, int nt, float *out) {
    const uint8x16_t low4 = vdupq_n_u8(0xF);
    float32x4_t s[4][2];
    for (int t = 0; t < nt; t++) s[t][0] = s[t][1] = vdupq_n_f32(0);
    for (int b = 0; b < n / 256; b++, w += MT_Q4_KX8_BLOCK) {
        float32x4_t d[2] = {mt_load4_f16(w), mt_load4_f16(w + 8)}, dmin[2] = {mt_load4_f16(w + 16), mt_load4_f16(w + 24)};
        int32x4_t acc[4][2];
        for (int t = 0; t < nt; t++) acc[t][0] = acc[t][1] = vdupq_n_s32(0);
        for (int j = 0; j < 8; j++) {
            int32x4_t dot[4][2];
            for (int t = 0; t < nt; t++) dot[t][0] = dot[t][1] = vdupq_n_s32(0);
            for (int q = 0; q < 8; q++) {
                for (int h = 0; h < 2; h++) {
                    uint8x16_t v = vld1q_u8(w + 224 + 256 * (j / 2) + 32 * q + 16 * h);
                    int8x16_t x = vreinterpretq_s8_u8(j % 2 ? vshrq_n_u8(v, 4) : vandq_u8(v, low4));
                    for (int t = 0; t < nt; t++) {
                        int32_t y;
                        memcpy(&y, a[t] + b * MT_Q8_K + 4 + 32 * j + 4 * q, 4);
                        dot[t][h] = MT_NAME(quads)(dot[t][h], x, vreinterpretq_s8_s32(vdupq_n_s32(y)));
                    }
                }
            }
            // The rows' scales: every other byte of the sub-block's sixteen.
            uint16x8_t sc = vmovl_u8(vld2_u8(w + 32 + 16 * j).val[0]);
            int32x4_t sc0 = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sc))), sc1 = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(sc)));
            for (int t = 0; t < nt; t++) {
                acc[t][0] = vmlaq_s32(acc[t][0], dot[t][0], sc0);
                acc[t][1] = vmlaq_s32(acc[t][1], dot[t][1], sc1);
            }
        }
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_K;
            int32x4_t mins[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
            for (int k = 0; k < 4; k++) {
                uint8x8x2_t m = vld2_u8(w + 160 + 16 * k);
                for (int e = 0; e < 2; e++) {
                    int j = 2 * k + e;
                    int32_t sum = (int32_t)mt_i16(ab + 260 + 4 * j) + (int32_t)mt_i16(ab + 262 + 4 * j);
                    uint16x8_t mj = vmovl_u8(m.val[e]);
                    mins[0] = vmlaq_n_s32(mins[0], vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(mj))), sum);
                    mins[1] = vmlaq_n_s32(mins[1], vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(mj))), sum);
                }
            }
            float ad = mt_f32(ab);
            for (int h = 0; h < 2; h++) {
                float32x4_t plus = vmulq_f32(vmulq_n_f32(d[h], ad), vcvtq_f32_s32(acc[t][h]));
                float32x4_t minus = vmulq_f32(vmulq_n_f32(dmin[h], ad), vcvtq_f32_s32(mins[h]));
                s[t][h] = vaddq_f32(s[t][h], vsubq_f32(plus, minus));
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        vst1q_f32(out + 8 * t, s[t][0]);
        vst1q_f32(out + 8 * t + 4, s[t][1]);
    }
}

static inline MT_TARGET float MT_NAME(k45)(const uint8_t *w, const uint8_t *a, int n, int kind) {
    const uint8x16_t low4 = vdupq_n_u8(0xF), sixteen = vdupq_n_u8(16);
    int bytes = kind == 5 ? MT_Q5_K : MT_Q4_K;
    float s = 0;
    for (int b = 0; b < n / 256; b++, w += bytes, a += MT_Q8_K) {
        const uint8_t *scales = w + 4, *qs = w + (kind == 5 ? 48 : 16), *q8 = a + 4;
        uint8x16_t qh0 = vld1q_u8(w + 16), qh1 = vld1q_u8(w + 32);
        uint8_t scs[8], mins[8];
        mt_scales_mins_k4(scales, scs, mins);
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc = scs[j];
            msum += (int32_t)mins[j] * ((int32_t)mt_i16(a + 260 + 4 * j) + (int32_t)mt_i16(a + 262 + 4 * j));
            uint8x16_t q0 = vld1q_u8(qs + 32 * (j / 2)), q1 = vld1q_u8(qs + 32 * (j / 2) + 16);
            uint8x16_t v0 = j % 2 ? vshrq_n_u8(q0, 4) : vandq_u8(q0, low4), v1 = j % 2 ? vshrq_n_u8(q1, 4) : vandq_u8(q1, low4);
            if (kind == 5) {
                uint8x16_t bit = vdupq_n_u8((uint8_t)(1 << j));
                v0 = vaddq_u8(v0, vandq_u8(vtstq_u8(qh0, bit), sixteen));
                v1 = vaddq_u8(v1, vandq_u8(vtstq_u8(qh1, bit), sixteen));
            }
            isum += (int32_t)sc * MT_NAME(dot32)(vreinterpretq_s8_u8(v0), vreinterpretq_s8_u8(v1), q8 + 32 * j);
        }
        float ad = mt_f32(a);
        s += mt_half_hw(w) * ad * (float)isum - mt_half_hw(w + 2) * ad * (float)msum;
    }
    return s;
}

MT_TARGET float MT_NAME(mt_dot_q4_K)(const uint8_t *w, const uint8_t *a, int n) { return MT_NAME(k45)(w, a, n, 4); }
MT_TARGET float MT_NAME(mt_dot_q5_K)(const uint8_t *w, const uint8_t *a, int n) { return MT_NAME(k45)(w, a, n, 5); }

MT_TARGET float MT_NAME(mt_dot_q6_K)(const uint8_t *w, const uint8_t *a, int n) {
    const uint8x16_t low4 = vdupq_n_u8(0xF), three = vdupq_n_u8(3);
    float s = 0;
    for (int b = 0; b < n / 256; b++, w += MT_Q6_K, a += MT_Q8_K) {
        const int8_t *sc = (const int8_t *)(w + 192);
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            for (int r = 0; r < 4; r++) {
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * r));
                for (int part = 0; part < 2; part++) {
                    uint8x16_t low = vld1q_u8(w + 64 * h + 32 * (r % 2) + 16 * part);
                    uint8x16_t nib = r < 2 ? vandq_u8(low, low4) : vshrq_n_u8(low, 4);
                    uint8x16_t high = vshlq_n_u8(vandq_u8(vshlq_u8(vld1q_u8(w + 128 + 32 * h + 16 * part), shift), three), 4);
                    int8x16_t v = vreinterpretq_s8_u8(vorrq_u8(nib, high));
                    int8x16_t y = vld1q_s8((const int8_t *)a + 4 + 128 * h + 32 * r + 16 * part);
                    int32_t dot = vaddvq_s32(MT_NAME(quads)(vdupq_n_s32(0), v, y));
                    isum += (int32_t)sc[8 * h + 2 * r + part] * dot;
                }
            }
        }
        isum -= mt_q6_offset(sc, a + 260);
        s += mt_half_hw(w + 208) * mt_f32(a) * (float)isum;
    }
    return s;
}

// Q4_1, Q5_0, Q5_1: the block's unsigned values (elements 0-15, then 16-31, plus 16 where the high
// bit is set) against the activations (Q8_1: their block sum carries the min, or Q5_0's offset).
static inline MT_TARGET float MT_NAME(u32)(const uint8_t *w, const uint8_t *a, int n, int type) {
    const uint8x16_t low4 = vdupq_n_u8(0xF), high = vdupq_n_u8(0x10);
    const uint8x16_t bit = vcombine_u8(vcreate_u8(0x8040201008040201ull), vcreate_u8(0x8040201008040201ull));
    const int bytes = mt_u32_block(type), qs_at = mt_u32_qs_at(type);
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
    float o = 0;
    for (int b = 0; b < n / 32; b++, w += bytes, a += MT_Q8_1) {
        uint8x16_t q = vld1q_u8(w + qs_at), lo = vandq_u8(q, low4), hi = vshrq_n_u8(q, 4);
        if (type != MT_GGML_Q4_1) {
            uint32_t qh;
            memcpy(&qh, w + (type == MT_GGML_Q5_0 ? 2 : 4), 4);
            // Byte j of each half holds byte j / 8 of its 16 high bits; its bit j % 8 is element j's.
            uint8x16_t h0 = vcombine_u8(vdup_n_u8((uint8_t)qh), vdup_n_u8((uint8_t)(qh >> 8)));
            uint8x16_t h1 = vcombine_u8(vdup_n_u8((uint8_t)(qh >> 16)), vdup_n_u8((uint8_t)(qh >> 24)));
            lo = vorrq_u8(lo, vandq_u8(vtstq_u8(h0, bit), high));
            hi = vorrq_u8(hi, vandq_u8(vtstq_u8(h1, bit), high));
        }
        int8x16_t y0 = vld1q_s8((const int8_t *)a + 8), y1 = vld1q_s8((const int8_t *)a + 24);
        int32x4_t p0 = MT_NAME(quads)(vdupq_n_s32(0), vreinterpretq_s8_u8(lo), y0);
        int32x4_t p1 = MT_NAME(quads)(vdupq_n_s32(0), vreinterpretq_s8_u8(hi), y1);
        float dw = mt_half_hw(w), scale = dw * mt_half_hw(a);
        float m = type == MT_GGML_Q5_0 ? dw * -16.0f : mt_half_hw(w + 2);
        s0 = vfmaq_f32(s0, vcvtq_f32_s32(p0), vdupq_n_f32(scale));
        s1 = vfmaq_f32(s1, vcvtq_f32_s32(p1), vdupq_n_f32(scale));
        o = o + m * mt_f32(a + 4);
    }
    float s[8];
    vst1q_f32(s, s0);
    vst1q_f32(s + 4, s1);
    return mt_sum8(s) + o;
}

MT_TARGET float MT_NAME(mt_dot_q4_1)(const uint8_t *w, const uint8_t *a, int n) { return MT_NAME(u32)(w, a, n, MT_GGML_Q4_1); }
MT_TARGET float MT_NAME(mt_dot_q5_0)(const uint8_t *w, const uint8_t *a, int n) { return MT_NAME(u32)(w, a, n, MT_GGML_Q5_0); }
MT_TARGET float MT_NAME(mt_dot_q5_1)(const uint8_t *w, const uint8_t *a, int n) { return MT_NAME(u32)(w, a, n, MT_GGML_Q5_1); }
