/* Dense f32 kernels, portable C: the reference tier every CPU can run. Products of two floats
 * are exact in double, and the sums are kept in double (four independent accumulators, so the
 * loop pipelines): the vector tiers spread a float32 sum over 32 to 64 accumulators, which a
 * scalar loop cannot, and four float32 accumulators of a few hundred terms each could exceed
 * tests/oracle.py's tolerance. The result is rounded to float once. */
#include "le/common.h"
#include "le/kernels.h"

float le_dot_f32_scalar(const float *a, const float *b, size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (double)a[i] * b[i];
        s1 += (double)a[i + 1] * b[i + 1];
        s2 += (double)a[i + 2] * b[i + 2];
        s3 += (double)a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += (double)a[i] * b[i];
    return (float)((s0 + s1) + (s2 + s3));
}

float le_dot_norm_f32_scalar(const float *a, const float *b, size_t n, float *b_norm2) {
    double ab0 = 0, ab1 = 0, bb0 = 0, bb1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        ab0 += (double)a[i] * b[i];
        bb0 += (double)b[i] * b[i];
        ab1 += (double)a[i + 1] * b[i + 1];
        bb1 += (double)b[i + 1] * b[i + 1];
    }
    for (; i < n; i++) {
        ab0 += (double)a[i] * b[i];
        bb0 += (double)b[i] * b[i];
    }
    *b_norm2 = (float)(bb0 + bb1);
    return (float)(ab0 + ab1);
}

static float le_cosine_f32_scalar(const float *a, const float *b, size_t n) {
    double ab0 = 0, ab1 = 0, aa0 = 0, aa1 = 0, bb0 = 0, bb1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        ab0 += (double)a[i] * b[i];
        aa0 += (double)a[i] * a[i];
        bb0 += (double)b[i] * b[i];
        ab1 += (double)a[i + 1] * b[i + 1];
        aa1 += (double)a[i + 1] * a[i + 1];
        bb1 += (double)b[i + 1] * b[i + 1];
    }
    for (; i < n; i++) {
        ab0 += (double)a[i] * b[i];
        aa0 += (double)a[i] * a[i];
        bb0 += (double)b[i] * b[i];
    }
    /* the parts as float, like every tier: a norm that overflows or underflows float32 is
       treated the same way everywhere */
    return le_cosine_from_parts_((float)(ab0 + ab1), (float)(aa0 + aa1), (float)(bb0 + bb1));
}

float le_l2sq_f32_scalar(const float *a, const float *b, size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        double d0 = (double)a[i] - b[i], d1 = (double)a[i + 1] - b[i + 1];
        double d2 = (double)a[i + 2] - b[i + 2], d3 = (double)a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < n; i++) {
        double d = (double)a[i] - b[i];
        s0 += d * d;
    }
    return (float)((s0 + s1) + (s2 + s3));
}

float le_l1_f32_scalar(const float *a, const float *b, size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += fabs((double)a[i] - b[i]);
        s1 += fabs((double)a[i + 1] - b[i + 1]);
        s2 += fabs((double)a[i + 2] - b[i + 2]);
        s3 += fabs((double)a[i + 3] - b[i + 3]);
    }
    for (; i < n; i++) s0 += fabs((double)a[i] - b[i]);
    return (float)((s0 + s1) + (s2 + s3));
}

static size_t le_normalize_f32_scalar(const float *x, float *out, size_t rows, size_t d) {
    size_t unchanged = 0;
    for (size_t r = 0; r < rows; r++, x += d, out += d) {
        float scale = le_inverse_norm_(le_dot_f32_scalar(x, x, d));
        if (scale == 0.0f) {
            if (out != x) memmove(out, x, d * sizeof(float));
            unchanged++;
            continue;
        }
        for (size_t i = 0; i < d; i++) out[i] = x[i] * scale;
    }
    return unchanged;
}

LE_DEFINE_ROWS(scalar)

const le_kernel_table_t le_dense_scalar = {
    .dot_f32 = le_dot_f32_scalar,
    .dot_norm_f32 = le_dot_norm_f32_scalar,
    .cosine_f32 = le_cosine_f32_scalar,
    .l2sq_f32 = le_l2sq_f32_scalar,
    .l1_f32 = le_l1_f32_scalar,
    .normalize_f32 = le_normalize_f32_scalar,
    .dot_rows_f32 = le_dot_rows_f32_scalar,
    .cosine_rows_f32 = le_cosine_rows_f32_scalar,
};
