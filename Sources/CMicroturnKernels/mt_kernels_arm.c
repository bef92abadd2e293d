// NEON variants for aarch64: one copy with the dot product extension (chosen when the CPU has it),
// one without. The bodies are in mt_kernels_neon.h.
#if defined(__aarch64__)
#include "mt_kernels_internal.h"

#include <arm_neon.h>

static inline float mt_half_hw(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

static inline float32x4_t mt_load4_f32(const uint8_t *p) { return vld1q_f32((const float *)p); }
static inline float32x4_t mt_load4_f16(const uint8_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)p))); }
static inline float32x4_t mt_load4_bf16(const uint8_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)p), 16)); }

#define MT_PASTE(a, b) a##_##b
#define MT_PASTE2(a, b) MT_PASTE(a, b)

#define MT_DOTPROD 0
#define MT_NAME(x) MT_PASTE2(x, neon)
#define MT_TARGET
#include "mt_kernels_neon.h"
#undef MT_DOTPROD
#undef MT_NAME
#undef MT_TARGET

#define MT_DOTPROD 1
#define MT_NAME(x) MT_PASTE2(x, neon_dotprod)
#if defined(__clang__)
#define MT_TARGET __attribute__((target("dotprod")))
#else
#define MT_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
#include "mt_kernels_neon.h"
#endif
