// Included twice by mt_kernels_x86.c: MT_X86_NAME(x) names this copy's functions, MT_X86_TARGET is
// its target attribute, MT_VNNI says whether it multiplies bytes with AVX-VNNI.
#define MT_X86_BODY static inline __attribute__((always_inline)) MT_X86_TARGET

// Lane l: the integer dot of bytes 4l..4l+3 of unsigned u and signed y (u < 128 or y never -128 with
// u below 64: no sixteen-bit pair sum saturates).
static inline MT_X86_TARGET __m256i MT_X86_NAME(bytes)(__m256i u, __m256i y) {
#if MT_VNNI
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, y);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1));
#endif
}

// `nr` weight rows (1 or 2, `row_bytes` apart) against `nt` activation rows: out[nt * r + t].
// Each activation block is loaded once for the rows.
MT_X86_BODY void MT_X86_NAME(q8_0)(const uint8_t *w, size_t row_bytes, int nr, const uint8_t *const *a, int n, int nt, float *out) {
    __m256 acc[2][4];
    for (int r = 0; r < nr; r++) for (int t = 0; t < nt; t++) acc[r][t] = _mm256_setzero_ps();
    for (int b = 0; b < n / 32; b++) {
        __m256i x[2], magnitude[2];
        float dw[2];
        for (int r = 0; r < nr; r++) {
            const uint8_t *wb = w + r * row_bytes + b * MT_Q8_0;
            x[r] = _mm256_loadu_si256((const __m256i *)(wb + 2));
            magnitude[r] = _mm256_sign_epi8(x[r], x[r]);
            dw[r] = half_hw(wb);
        }
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_0;
            __m256i y = _mm256_loadu_si256((const __m256i *)(ab + 2));
            float da = half_hw(ab);
            for (int r = 0; r < nr; r++) {
                __m256i p = MT_X86_NAME(bytes)(magnitude[r], _mm256_sign_epi8(y, x[r]));
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw[r] * da), acc[r][t]);
            }
        }
    }
    for (int r = 0; r < nr; r++) for (int t = 0; t < nt; t++) out[nt * r + t] = sum8(acc[r][t]);
}

// Q4_1, Q5_0, Q5_1: the block's 32 unsigned values (element order: low nibbles, then high; plus 16
// where the high bit is set) against each activation row (Q8_1: its block sum carries the min, or
// Q5_0's offset). `nr` rows (1 or 2) as Q8_0's. Sixteen-bit pair sums stay within range:
// 2 x 31 x 127 < 32768.
MT_X86_BODY void MT_X86_NAME(u32)(const uint8_t *w, size_t row_bytes, int nr, const uint8_t *const *a, int n, int nt, float *out, int type) {
    const __m128i low4 = _mm_set1_epi8(0xF);
    const __m256i high = _mm256_set1_epi8(0x10);
    // Byte j of a 32-byte vector holds byte j / 8 of the high bits, and the mask of bit j % 8.
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const int bytes = mt_u32_block(type), qs_at = mt_u32_qs_at(type);
    __m256 s[2][4];
    float o[2][4];
    for (int r = 0; r < nr; r++) for (int t = 0; t < nt; t++) s[r][t] = _mm256_setzero_ps(), o[r][t] = 0;
    for (int b = 0; b < n / 32; b++) {
        __m256i u[2];
        float dw[2], m[2];
        for (int r = 0; r < nr; r++) {
            const uint8_t *wb = w + r * row_bytes + b * bytes;
            __m128i q = _mm_loadu_si128((const __m128i *)(wb + qs_at));
            u[r] = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm_and_si128(q, low4));
            if (type != MT_GGML_Q4_1) {
                int32_t qh;
                memcpy(&qh, wb + (type == MT_GGML_Q5_0 ? 2 : 4), 4);
                __m256i bits = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), spread), bit);
                u[r] = _mm256_or_si256(u[r], _mm256_and_si256(_mm256_cmpeq_epi8(bits, bit), high));
            }
            dw[r] = half_hw(wb);
            m[r] = type == MT_GGML_Q5_0 ? dw[r] * -16.0f : half_hw(wb + 2);
        }
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a[t] + b * MT_Q8_1;
            __m256i y = _mm256_loadu_si256((const __m256i *)(ab + 8));
            float da = half_hw(ab), sa = mt_f32(ab + 4);
            for (int r = 0; r < nr; r++) {
                __m256i p = MT_X86_NAME(bytes)(u[r], y);
                s[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw[r] * da), s[r][t]);
                o[r][t] = o[r][t] + m[r] * sa;
            }
        }
    }
    for (int r = 0; r < nr; r++) for (int t = 0; t < nt; t++) out[nt * r + t] = sum8(s[r][t]) + o[r][t];
}

// One activation row, four, and two rows against four.
MT_X86_TARGET float MT_X86_NAME(mt_dot_q8_0)(const uint8_t *w, const uint8_t *a1, int n) {
    const uint8_t *a[1] = {a1};
    float out;
    MT_X86_NAME(q8_0)(w, 0, 1, a, n, 1, &out);
    return out;
}
MT_X86_TARGET void MT_X86_NAME(mt_dot4_q8_0)(const uint8_t *w, const uint8_t *const *a, int n, float *out) {
    MT_X86_NAME(q8_0)(w, 0, 1, a, n, 4, out);
}
MT_X86_TARGET void MT_X86_NAME(mt_dot2x4_q8_0)(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, float *out) {
    MT_X86_NAME(q8_0)(w, row_bytes, 2, a, n, 4, out);
}
#define MT_X86_U32(type, number)                                                                                          \
    MT_X86_TARGET float MT_X86_NAME(mt_dot_##type)(const uint8_t *w, const uint8_t *a1, int n) {                         \
        const uint8_t *a[1] = {a1};                                                                                     \
        float out;                                                                                                      \
        MT_X86_NAME(u32)(w, 0, 1, a, n, 1, &out, number);                                                               \
        return out;                                                                                                     \
    }                                                                                                                   \
    MT_X86_TARGET void MT_X86_NAME(mt_dot4_##type)(const uint8_t *w, const uint8_t *const *a, int n, float *out) {       \
        MT_X86_NAME(u32)(w, 0, 1, a, n, 4, out, number);                                                                \
    }                                                                                                                   \
    MT_X86_TARGET void MT_X86_NAME(mt_dot2x4_##type)(const uint8_t *w, size_t row_bytes, const uint8_t *const *a, int n, \
                                                     float *out) {                                                      \
        MT_X86_NAME(u32)(w, row_bytes, 2, a, n, 4, out, number);                                                        \
    }
MT_X86_U32(q4_1, MT_GGML_Q4_1)
MT_X86_U32(q5_0, MT_GGML_Q5_0)
MT_X86_U32(q5_1, MT_GGML_Q5_1)
#undef MT_X86_U32
#undef MT_X86_BODY
