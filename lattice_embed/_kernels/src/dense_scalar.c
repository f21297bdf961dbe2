/* Dense f32 kernels, portable C: the reference tier every CPU can run. Four independent
 * accumulators, like the vector tiers, so results stay close to theirs and the loop pipelines. */
#include "le/common.h"
#include "le/kernels.h"

float le_dot_f32_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

float le_dot_norm_f32_scalar(const float *a, const float *b, size_t n, float *b_norm2) {
    float ab0 = 0, ab1 = 0, bb0 = 0, bb1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        ab0 += a[i] * b[i];
        bb0 += b[i] * b[i];
        ab1 += a[i + 1] * b[i + 1];
        bb1 += b[i + 1] * b[i + 1];
    }
    for (; i < n; i++) {
        ab0 += a[i] * b[i];
        bb0 += b[i] * b[i];
    }
    *b_norm2 = bb0 + bb1;
    return ab0 + ab1;
}

static float le_cosine_f32_scalar(const float *a, const float *b, size_t n) {
    float ab0 = 0, ab1 = 0, aa0 = 0, aa1 = 0, bb0 = 0, bb1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        ab0 += a[i] * b[i];
        aa0 += a[i] * a[i];
        bb0 += b[i] * b[i];
        ab1 += a[i + 1] * b[i + 1];
        aa1 += a[i + 1] * a[i + 1];
        bb1 += b[i + 1] * b[i + 1];
    }
    for (; i < n; i++) {
        ab0 += a[i] * b[i];
        aa0 += a[i] * a[i];
        bb0 += b[i] * b[i];
    }
    return le_cosine_from_parts_(ab0 + ab1, aa0 + aa1, bb0 + bb1);
}

float le_l2sq_f32_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1];
        float d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

float le_l1_f32_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += fabsf(a[i] - b[i]);
        s1 += fabsf(a[i + 1] - b[i + 1]);
        s2 += fabsf(a[i + 2] - b[i + 2]);
        s3 += fabsf(a[i + 3] - b[i + 3]);
    }
    for (; i < n; i++) s0 += fabsf(a[i] - b[i]);
    return (s0 + s1) + (s2 + s3);
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
