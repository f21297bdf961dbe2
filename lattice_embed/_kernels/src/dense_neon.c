/* Dense f32 kernels for AArch64 Advanced SIMD (NEON, mandatory on AArch64). Four lanes, four
 * independent accumulators in the main loop, then whole vectors, then a scalar tail. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_AARCH64)
#include "le/common.h"

#include "le/isa_neon.h"

/* NR rows `spread` floats apart against `a`, scores `out_spread` apart, each summed as the pair
   kernels sum one (NR = 1 is the pair kernel): a row's score is bit-identical in every stream. */
LE_ALWAYS_INLINE void le_reduce_rows_f32_neon_(const float *a, const float *b, size_t spread,
                                               const int NR, size_t n, le_step_f32x4_fn step,
                                               le_step_f32_fn tail, float *out, size_t out_spread) {
    float32x4_t acc[LE_STREAMS][4];
    for (int r = 0; r < NR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int s = 0; s < 4; s++) {
            float32x4_t a_f32x4 = vld1q_f32(a + i + 4 * s);
            for (int r = 0; r < NR; r++)
                acc[r][s] = step(acc[r][s], a_f32x4, vld1q_f32(b + r * spread + i + 4 * s));
        }
    for (; i + 4 <= n; i += 4) {
        float32x4_t a_f32x4 = vld1q_f32(a + i);
        for (int r = 0; r < NR; r++) acc[r][0] = step(acc[r][0], a_f32x4, vld1q_f32(b + r * spread + i));
    }
    for (int r = 0; r < NR; r++) {
        const float *row = b + r * spread;
        float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc[r][0], acc[r][1]), vaddq_f32(acc[r][2], acc[r][3])));
        for (size_t k = i; k < n; k++) sum += tail(a[k], row[k]);
        out[r * out_spread] = sum;
    }
}

float le_dot_f32_neon(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_neon_(a, b, 0, 1, n, le_step_dot_neon_, le_tail_dot_, &out, 0);
    return out;
}

float le_l2sq_f32_neon(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_neon_(a, b, 0, 1, n, le_step_l2sq_neon_, le_tail_l2sq_, &out, 0);
    return out;
}

float le_l1_f32_neon(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_neon_(a, b, 0, 1, n, le_step_l1_neon_, le_tail_l1_, &out, 0);
    return out;
}

/* As le_reduce_rows_f32_neon_, summing a.b and b.b (the rows' squared norms, into norm2). */
LE_ALWAYS_INLINE void le_dot_norm_rows_f32_neon_(const float *a, const float *b, size_t spread,
                                                 const int NR, size_t n, float *out,
                                                 size_t out_spread, float *norm2) {
    float32x4_t ab[LE_STREAMS][2], bb[LE_STREAMS][2];
    for (int r = 0; r < NR; r++) ab[r][0] = ab[r][1] = bb[r][0] = bb[r][1] = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int s = 0; s < 2; s++) {
            float32x4_t a_f32x4 = vld1q_f32(a + i + 4 * s);
            for (int r = 0; r < NR; r++) {
                float32x4_t b_f32x4 = vld1q_f32(b + r * spread + i + 4 * s);
                ab[r][s] = vfmaq_f32(ab[r][s], a_f32x4, b_f32x4);
                bb[r][s] = vfmaq_f32(bb[r][s], b_f32x4, b_f32x4);
            }
        }
    for (int r = 0; r < NR; r++) {
        const float *row = b + r * spread;
        float sum_ab = vaddvq_f32(vaddq_f32(ab[r][0], ab[r][1]));
        float sum_bb = vaddvq_f32(vaddq_f32(bb[r][0], bb[r][1]));
        for (size_t k = i; k < n; k++) {
            sum_ab += a[k] * row[k];
            sum_bb += row[k] * row[k];
        }
        norm2[r * out_spread] = sum_bb;
        out[r * out_spread] = sum_ab;
    }
}

float le_dot_norm_f32_neon(const float *a, const float *b, size_t n, float *b_norm2) {
    float out;
    le_dot_norm_rows_f32_neon_(a, b, 0, 1, n, &out, 0, b_norm2);
    return out;
}

/* One query against n rows `ldx` apart, LE_STREAMS rows at a time (see le/common.h). */
void le_dot_streams_f32_neon(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                             float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_neon_(q, x + j * ldx, spread * ldx, count, d,
                                             le_step_dot_neon_, le_tail_dot_, out + j, spread));
}

void le_dot_norm_streams_f32_neon(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                                  float *out, float *x_norm2) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_dot_norm_rows_f32_neon_(q, x + j * ldx, spread * ldx, count, d, out + j,
                                               spread, x_norm2 + j));
}

void le_l2sq_streams_f32_neon(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                              float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_neon_(q, x + j * ldx, spread * ldx, count, d,
                                             le_step_l2sq_neon_, le_tail_l2sq_, out + j, spread));
}

void le_l1_streams_f32_neon(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                            float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_neon_(q, x + j * ldx, spread * ldx, count, d,
                                             le_step_l1_neon_, le_tail_l1_, out + j, spread));
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
