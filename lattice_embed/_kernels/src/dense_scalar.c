/* Dense f32 kernels, portable C: the reference tier every CPU can run. Products of two floats
 * are exact in double, and the sums are kept in double (four independent accumulators, so the
 * loop pipelines): the vector tiers spread a float32 sum over 32 to 64 accumulators, which a
 * scalar loop cannot, and four float32 accumulators of a few hundred terms each could exceed
 * tests/oracle.py's tolerance. The result is rounded to float once. */
#include "le/common.h"
#include "le/kernels.h"

typedef double (*le_step_f64_fn)(double acc, float a, float b);

LE_ALWAYS_INLINE double le_step_dot_f64_(double acc, float a, float b) { return acc + (double)a * b; }
LE_ALWAYS_INLINE double le_step_l2sq_f64_(double acc, float a, float b) {
    double diff = (double)a - b;
    return acc + diff * diff;
}
LE_ALWAYS_INLINE double le_step_l1_f64_(double acc, float a, float b) {
    return acc + fabs((double)a - b);
}

/* NR rows `spread` floats apart against `a`, scores `out_spread` apart, each summed as the pair
   kernels sum one (NR = 1 is the pair kernel): a row's score is bit-identical in every stream. */
LE_ALWAYS_INLINE void le_reduce_rows_f32_scalar_(const float *a, const float *b, size_t spread,
                                                 const int NR, size_t n, le_step_f64_fn step,
                                                 float *out, size_t out_spread) {
    double acc[LE_STREAMS][4];
    for (int r = 0; r < NR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int r = 0; r < NR; r++) {
            const float *row = b + r * spread + i;
            acc[r][0] = step(acc[r][0], a[i], row[0]);
            acc[r][1] = step(acc[r][1], a[i + 1], row[1]);
            acc[r][2] = step(acc[r][2], a[i + 2], row[2]);
            acc[r][3] = step(acc[r][3], a[i + 3], row[3]);
        }
    for (; i < n; i++)
        for (int r = 0; r < NR; r++) acc[r][0] = step(acc[r][0], a[i], b[r * spread + i]);
    for (int r = 0; r < NR; r++)
        out[r * out_spread] = (float)((acc[r][0] + acc[r][1]) + (acc[r][2] + acc[r][3]));
}

float le_dot_f32_scalar(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_scalar_(a, b, 0, 1, n, le_step_dot_f64_, &out, 0);
    return out;
}

/* As le_reduce_rows_f32_scalar_, summing a.b and b.b (the rows' squared norms, into norm2). */
LE_ALWAYS_INLINE void le_dot_norm_rows_f32_scalar_(const float *a, const float *b, size_t spread,
                                                   const int NR, size_t n, float *out,
                                                   size_t out_spread, float *norm2) {
    double ab[LE_STREAMS][2], bb[LE_STREAMS][2];
    for (int r = 0; r < NR; r++) ab[r][0] = ab[r][1] = bb[r][0] = bb[r][1] = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2)
        for (int r = 0; r < NR; r++) {
            const float *row = b + r * spread + i;
            ab[r][0] += (double)a[i] * row[0];
            bb[r][0] += (double)row[0] * row[0];
            ab[r][1] += (double)a[i + 1] * row[1];
            bb[r][1] += (double)row[1] * row[1];
        }
    for (; i < n; i++)
        for (int r = 0; r < NR; r++) {
            const float value = b[r * spread + i];
            ab[r][0] += (double)a[i] * value;
            bb[r][0] += (double)value * value;
        }
    for (int r = 0; r < NR; r++) {
        norm2[r * out_spread] = (float)(bb[r][0] + bb[r][1]);
        out[r * out_spread] = (float)(ab[r][0] + ab[r][1]);
    }
}

float le_dot_norm_f32_scalar(const float *a, const float *b, size_t n, float *b_norm2) {
    float out;
    le_dot_norm_rows_f32_scalar_(a, b, 0, 1, n, &out, 0, b_norm2);
    return out;
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
    float out;
    le_reduce_rows_f32_scalar_(a, b, 0, 1, n, le_step_l2sq_f64_, &out, 0);
    return out;
}

float le_l1_f32_scalar(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_scalar_(a, b, 0, 1, n, le_step_l1_f64_, &out, 0);
    return out;
}

/* One query against n rows `ldx` apart, LE_STREAMS rows at a time (see le/common.h). */
void le_dot_streams_f32_scalar(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                               float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_scalar_(q, x + j * ldx, spread * ldx, count, d,
                                               le_step_dot_f64_, out + j, spread));
}

void le_dot_norm_streams_f32_scalar(const float *q, const float *x, size_t ldx, size_t n,
                                    size_t d, float *out, float *x_norm2) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_dot_norm_rows_f32_scalar_(q, x + j * ldx, spread * ldx, count, d, out + j,
                                                 spread, x_norm2 + j));
}

void le_l2sq_streams_f32_scalar(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                                float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_scalar_(q, x + j * ldx, spread * ldx, count, d,
                                               le_step_l2sq_f64_, out + j, spread));
}

void le_l1_streams_f32_scalar(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                              float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_scalar_(q, x + j * ldx, spread * ldx, count, d,
                                               le_step_l1_f64_, out + j, spread));
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
