/* Dense f32 kernels for AVX2 + FMA. Eight lanes, four independent accumulators in the main loop
 * (two loads feed each FMA, so four hide its latency), then whole vectors, then one masked vector
 * for the tail: vmaskmovps never touches memory in masked-out lanes, so nothing past the end is
 * read, and masked lanes load as 0.0, which every reduction here ignores. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX2)
#include "le/isa_avx2.h"

/* NR rows `spread` floats apart against `a`, scores `out_spread` apart. Each row is summed as the
   pair kernels sum one (NR = 1 is the pair kernel): the same accumulators, fed in the same order,
   reduced the same way, so a row's score is bit-identical whichever stream it falls in. */
LE_ALWAYS_INLINE void le_reduce_rows_f32_avx2_(const float *a, const float *b, size_t spread,
                                               const int NR, size_t n, le_step_f32x8_fn step,
                                               float *out, size_t out_spread) {
    __m256 acc[LE_STREAMS][4];
    for (int r = 0; r < NR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int s = 0; s < 4; s++) {
            __m256 a_f32x8 = _mm256_loadu_ps(a + i + 8 * s);
            for (int r = 0; r < NR; r++)
                acc[r][s] = step(acc[r][s], a_f32x8, _mm256_loadu_ps(b + r * spread + i + 8 * s));
        }
    for (; i + 8 <= n; i += 8) {
        __m256 a_f32x8 = _mm256_loadu_ps(a + i);
        for (int r = 0; r < NR; r++)
            acc[r][0] = step(acc[r][0], a_f32x8, _mm256_loadu_ps(b + r * spread + i));
    }
    if (i < n) {
        __m256i mask = le_tail_mask_avx2_(n - i);
        __m256 a_f32x8 = _mm256_maskload_ps(a + i, mask);
        for (int r = 0; r < NR; r++)
            acc[r][1] = step(acc[r][1], a_f32x8, _mm256_maskload_ps(b + r * spread + i, mask));
    }
    for (int r = 0; r < NR; r++)
        out[r * out_spread] = le_hsum_f32x8_avx2_(
            _mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
}

float le_dot_f32_avx2(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_avx2_(a, b, 0, 1, n, le_step_dot_avx2_, &out, 0);
    return out;
}

float le_l2sq_f32_avx2(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_avx2_(a, b, 0, 1, n, le_step_l2sq_avx2_, &out, 0);
    return out;
}

float le_l1_f32_avx2(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_avx2_(a, b, 0, 1, n, le_step_l1_avx2_, &out, 0);
    return out;
}

/* As le_reduce_rows_f32_avx2_, summing a.b and b.b (the rows' squared norms, into norm2). */
LE_ALWAYS_INLINE void le_dot_norm_rows_f32_avx2_(const float *a, const float *b, size_t spread,
                                                 const int NR, size_t n, float *out,
                                                 size_t out_spread, float *norm2) {
    __m256 ab[LE_STREAMS][2], bb[LE_STREAMS][2];
    for (int r = 0; r < NR; r++)
        ab[r][0] = ab[r][1] = bb[r][0] = bb[r][1] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int s = 0; s < 2; s++) {
            __m256 a_f32x8 = _mm256_loadu_ps(a + i + 8 * s);
            for (int r = 0; r < NR; r++) {
                __m256 b_f32x8 = _mm256_loadu_ps(b + r * spread + i + 8 * s);
                ab[r][s] = _mm256_fmadd_ps(a_f32x8, b_f32x8, ab[r][s]);
                bb[r][s] = _mm256_fmadd_ps(b_f32x8, b_f32x8, bb[r][s]);
            }
        }
    for (; i < n; i += 8) {
        __m256i mask = n - i >= 8 ? _mm256_set1_epi32(-1) : le_tail_mask_avx2_(n - i);
        __m256 a_f32x8 = _mm256_maskload_ps(a + i, mask);
        for (int r = 0; r < NR; r++) {
            __m256 b_f32x8 = _mm256_maskload_ps(b + r * spread + i, mask);
            ab[r][0] = _mm256_fmadd_ps(a_f32x8, b_f32x8, ab[r][0]);
            bb[r][0] = _mm256_fmadd_ps(b_f32x8, b_f32x8, bb[r][0]);
        }
    }
    for (int r = 0; r < NR; r++) {
        norm2[r * out_spread] = le_hsum_f32x8_avx2_(_mm256_add_ps(bb[r][0], bb[r][1]));
        out[r * out_spread] = le_hsum_f32x8_avx2_(_mm256_add_ps(ab[r][0], ab[r][1]));
    }
}

float le_dot_norm_f32_avx2(const float *a, const float *b, size_t n, float *b_norm2) {
    float out;
    le_dot_norm_rows_f32_avx2_(a, b, 0, 1, n, &out, 0, b_norm2);
    return out;
}

/* One query against n rows `ldx` apart, LE_STREAMS rows at a time (see le/common.h). */
void le_dot_streams_f32_avx2(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                             float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_avx2_(q, x + j * ldx, spread * ldx, count, d,
                                             le_step_dot_avx2_, out + j, spread));
}

void le_dot_norm_streams_f32_avx2(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                                  float *out, float *x_norm2) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_dot_norm_rows_f32_avx2_(q, x + j * ldx, spread * ldx, count, d, out + j,
                                               spread, x_norm2 + j));
}

void le_l2sq_streams_f32_avx2(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                              float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_avx2_(q, x + j * ldx, spread * ldx, count, d,
                                             le_step_l2sq_avx2_, out + j, spread));
}

void le_l1_streams_f32_avx2(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                            float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_avx2_(q, x + j * ldx, spread * ldx, count, d,
                                             le_step_l1_avx2_, out + j, spread));
}

static float le_cosine_f32_avx2(const float *a, const float *b, size_t n) {
    __m256 ab0 = _mm256_setzero_ps(), ab1 = _mm256_setzero_ps();
    __m256 aa0 = _mm256_setzero_ps(), aa1 = _mm256_setzero_ps();
    __m256 bb0 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a0 = _mm256_loadu_ps(a + i), b0 = _mm256_loadu_ps(b + i);
        __m256 a1 = _mm256_loadu_ps(a + i + 8), b1 = _mm256_loadu_ps(b + i + 8);
        ab0 = _mm256_fmadd_ps(a0, b0, ab0);
        aa0 = _mm256_fmadd_ps(a0, a0, aa0);
        bb0 = _mm256_fmadd_ps(b0, b0, bb0);
        ab1 = _mm256_fmadd_ps(a1, b1, ab1);
        aa1 = _mm256_fmadd_ps(a1, a1, aa1);
        bb1 = _mm256_fmadd_ps(b1, b1, bb1);
    }
    for (; i < n; i += 8) {
        __m256i mask = n - i >= 8 ? _mm256_set1_epi32(-1) : le_tail_mask_avx2_(n - i);
        __m256 a0 = _mm256_maskload_ps(a + i, mask), b0 = _mm256_maskload_ps(b + i, mask);
        ab0 = _mm256_fmadd_ps(a0, b0, ab0);
        aa0 = _mm256_fmadd_ps(a0, a0, aa0);
        bb0 = _mm256_fmadd_ps(b0, b0, bb0);
    }
    return le_cosine_from_parts_(le_hsum_f32x8_avx2_(_mm256_add_ps(ab0, ab1)),
                                 le_hsum_f32x8_avx2_(_mm256_add_ps(aa0, aa1)),
                                 le_hsum_f32x8_avx2_(_mm256_add_ps(bb0, bb1)));
}

static size_t le_normalize_f32_avx2(const float *x, float *out, size_t rows, size_t d) {
    size_t unchanged = 0;
    for (size_t r = 0; r < rows; r++, x += d, out += d) {
        float scale = le_inverse_norm_(le_dot_f32_avx2(x, x, d));
        if (scale == 0.0f) {
            if (out != x) memmove(out, x, d * sizeof(float));
            unchanged++;
            continue;
        }
        __m256 scale_f32x8 = _mm256_set1_ps(scale);
        size_t i = 0;
        for (; i + 8 <= d; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), scale_f32x8));
        if (i < d) {
            __m256i mask = le_tail_mask_avx2_(d - i);
            _mm256_maskstore_ps(out + i, mask, _mm256_mul_ps(_mm256_maskload_ps(x + i, mask), scale_f32x8));
        }
    }
    return unchanged;
}

LE_DEFINE_ROWS(avx2)

LE_TARGET_END

const le_kernel_table_t le_dense_avx2 = {
    .dot_f32 = le_dot_f32_avx2,
    .dot_norm_f32 = le_dot_norm_f32_avx2,
    .cosine_f32 = le_cosine_f32_avx2,
    .l2sq_f32 = le_l2sq_f32_avx2,
    .l1_f32 = le_l1_f32_avx2,
    .normalize_f32 = le_normalize_f32_avx2,
    .dot_rows_f32 = le_dot_rows_f32_avx2,
    .cosine_rows_f32 = le_cosine_rows_f32_avx2,
};

#endif /* LE_ARCH_X86_64 */
