/* Dense f32 kernels for AArch64 Advanced SIMD (NEON, mandatory on AArch64). Four lanes, four
 * independent accumulators in the main loop, then whole vectors, then a scalar tail. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_AARCH64)
#include "le/common.h"

#include "le/isa_neon.h"

LE_ALWAYS_INLINE float le_reduce_f32_neon_(const float *a, const float *b, size_t n,
                                           le_step_f32x4_fn step, le_step_f32_fn tail) {
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    float32x4_t acc2 = vdupq_n_f32(0), acc3 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = step(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
        acc1 = step(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        acc2 = step(acc2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        acc3 = step(acc3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) acc0 = step(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
    for (; i < n; i++) sum += tail(a[i], b[i]);
    return sum;
}

float le_dot_f32_neon(const float *a, const float *b, size_t n) {
    return le_reduce_f32_neon_(a, b, n, le_step_dot_neon_, le_tail_dot_);
}

float le_l2sq_f32_neon(const float *a, const float *b, size_t n) {
    return le_reduce_f32_neon_(a, b, n, le_step_l2sq_neon_, le_tail_l2sq_);
}

float le_l1_f32_neon(const float *a, const float *b, size_t n) {
    return le_reduce_f32_neon_(a, b, n, le_step_l1_neon_, le_tail_l1_);
}

float le_dot_norm_f32_neon(const float *a, const float *b, size_t n, float *b_norm2) {
    float32x4_t ab0 = vdupq_n_f32(0), ab1 = vdupq_n_f32(0);
    float32x4_t bb0 = vdupq_n_f32(0), bb1 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t a0 = vld1q_f32(a + i), b0 = vld1q_f32(b + i);
        float32x4_t a1 = vld1q_f32(a + i + 4), b1 = vld1q_f32(b + i + 4);
        ab0 = vfmaq_f32(ab0, a0, b0);
        bb0 = vfmaq_f32(bb0, b0, b0);
        ab1 = vfmaq_f32(ab1, a1, b1);
        bb1 = vfmaq_f32(bb1, b1, b1);
    }
    float ab = vaddvq_f32(vaddq_f32(ab0, ab1)), bb = vaddvq_f32(vaddq_f32(bb0, bb1));
    for (; i < n; i++) {
        ab += a[i] * b[i];
        bb += b[i] * b[i];
    }
    *b_norm2 = bb;
    return ab;
}

static float le_cosine_f32_neon(const float *a, const float *b, size_t n) {
    float32x4_t ab0 = vdupq_n_f32(0), ab1 = vdupq_n_f32(0);
    float32x4_t aa0 = vdupq_n_f32(0), aa1 = vdupq_n_f32(0);
    float32x4_t bb0 = vdupq_n_f32(0), bb1 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t a0 = vld1q_f32(a + i), b0 = vld1q_f32(b + i);
        float32x4_t a1 = vld1q_f32(a + i + 4), b1 = vld1q_f32(b + i + 4);
        ab0 = vfmaq_f32(ab0, a0, b0);
        aa0 = vfmaq_f32(aa0, a0, a0);
        bb0 = vfmaq_f32(bb0, b0, b0);
        ab1 = vfmaq_f32(ab1, a1, b1);
        aa1 = vfmaq_f32(aa1, a1, a1);
        bb1 = vfmaq_f32(bb1, b1, b1);
    }
    float ab = vaddvq_f32(vaddq_f32(ab0, ab1));
    float aa = vaddvq_f32(vaddq_f32(aa0, aa1));
    float bb = vaddvq_f32(vaddq_f32(bb0, bb1));
    for (; i < n; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return le_cosine_from_parts_(ab, aa, bb);
}

static size_t le_normalize_f32_neon(const float *x, float *out, size_t rows, size_t d) {
    size_t unchanged = 0;
    for (size_t r = 0; r < rows; r++, x += d, out += d) {
        float scale = le_inverse_norm_(le_dot_f32_neon(x, x, d));
        if (scale == 0.0f) {
            if (out != x) memmove(out, x, d * sizeof(float));
            unchanged++;
            continue;
        }
        float32x4_t scale_f32x4 = vdupq_n_f32(scale);
        size_t i = 0;
        for (; i + 4 <= d; i += 4) vst1q_f32(out + i, vmulq_f32(vld1q_f32(x + i), scale_f32x4));
        for (; i < d; i++) out[i] = x[i] * scale;
    }
    return unchanged;
}

LE_DEFINE_ROWS(neon)

const le_kernel_table_t le_dense_neon = {
    .dot_f32 = le_dot_f32_neon,
    .dot_norm_f32 = le_dot_norm_f32_neon,
    .cosine_f32 = le_cosine_f32_neon,
    .l2sq_f32 = le_l2sq_f32_neon,
    .l1_f32 = le_l1_f32_neon,
    .normalize_f32 = le_normalize_f32_neon,
    .dot_rows_f32 = le_dot_rows_f32_neon,
    .cosine_rows_f32 = le_cosine_rows_f32_neon,
};

#endif /* LE_ARCH_AARCH64 */
