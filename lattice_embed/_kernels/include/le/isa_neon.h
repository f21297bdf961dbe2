/* NEON building blocks shared by the *_neon.c families (AArch64 baseline: no target region). */
#ifndef LE_ISA_NEON_H
#define LE_ISA_NEON_H

/* See isa_avx2.h; `tail` steps are the scalar equivalents for the last n % 4 elements. */
typedef float32x4_t (*le_step_f32x4_fn)(float32x4_t acc, float32x4_t a, float32x4_t b);
typedef float (*le_step_f32_fn)(float a, float b);

LE_ALWAYS_INLINE float32x4_t le_step_dot_neon_(float32x4_t acc, float32x4_t a, float32x4_t b) {
    return vfmaq_f32(acc, a, b);
}
LE_ALWAYS_INLINE float le_tail_dot_(float a, float b) { return a * b; }

LE_ALWAYS_INLINE float32x4_t le_step_l2sq_neon_(float32x4_t acc, float32x4_t a, float32x4_t b) {
    float32x4_t diff = vsubq_f32(a, b);
    return vfmaq_f32(acc, diff, diff);
}
LE_ALWAYS_INLINE float le_tail_l2sq_(float a, float b) { return (a - b) * (a - b); }

LE_ALWAYS_INLINE float32x4_t le_step_l1_neon_(float32x4_t acc, float32x4_t a, float32x4_t b) {
    return vaddq_f32(acc, vabdq_f32(a, b));
}
LE_ALWAYS_INLINE float le_tail_l1_(float a, float b) { return fabsf(a - b); }

#endif /* LE_ISA_NEON_H */
