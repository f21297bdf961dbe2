/* Dense f32 kernels for AVX-512 (F, BW, DQ, VL). Sixteen lanes, four independent accumulators in
 * the main loop, then whole vectors, then one masked vector for the tail: masked-out lanes are
 * neither read nor faulted on, and load as 0.0, which every reduction here ignores. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX512)
#include "le/isa_avx512.h"

/* NR rows `spread` floats apart against `a`, scores `out_spread` apart, each summed as the pair
   kernels sum one (NR = 1 is the pair kernel): a row's score is bit-identical in every stream. */
LE_ALWAYS_INLINE void le_reduce_rows_f32_avx512_(const float *a, const float *b, size_t spread,
                                                 const int NR, size_t n, le_step_f32x16_fn step,
                                                 float *out, size_t out_spread) {
    __m512 acc[LE_STREAMS][4];
    for (int r = 0; r < NR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int r = 0; r < NR; r++) {
            const float *row = b + r * spread + i;
            __m512 b0 = _mm512_loadu_ps(row), b1 = _mm512_loadu_ps(row + 16);
            __m512 b2 = _mm512_loadu_ps(row + 32), b3 = _mm512_loadu_ps(row + 48);
            LE_IN_REGISTER(b0); LE_IN_REGISTER(b1); LE_IN_REGISTER(b2); LE_IN_REGISTER(b3);
            acc[r][0] = step(acc[r][0], _mm512_loadu_ps(a + i), b0);
            acc[r][1] = step(acc[r][1], _mm512_loadu_ps(a + i + 16), b1);
            acc[r][2] = step(acc[r][2], _mm512_loadu_ps(a + i + 32), b2);
            acc[r][3] = step(acc[r][3], _mm512_loadu_ps(a + i + 48), b3);
        }
    for (; i + 16 <= n; i += 16)
        for (int r = 0; r < NR; r++)
            acc[r][0] = step(acc[r][0], _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + r * spread + i));
    if (i < n) {
        __mmask16 mask = le_tail_mask_avx512_(n - i);
        for (int r = 0; r < NR; r++)
            acc[r][1] = step(acc[r][1], _mm512_maskz_loadu_ps(mask, a + i),
                             _mm512_maskz_loadu_ps(mask, b + r * spread + i));
    }
    for (int r = 0; r < NR; r++)
        out[r * out_spread] = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3])));
}

float le_dot_f32_avx512(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_avx512_(a, b, 0, 1, n, le_step_dot_avx512_, &out, 0);
    return out;
}

float le_l2sq_f32_avx512(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_avx512_(a, b, 0, 1, n, le_step_l2sq_avx512_, &out, 0);
    return out;
}

float le_l1_f32_avx512(const float *a, const float *b, size_t n) {
    float out;
    le_reduce_rows_f32_avx512_(a, b, 0, 1, n, le_step_l1_avx512_, &out, 0);
    return out;
}

/* As le_reduce_rows_f32_avx512_, summing a.b and b.b (the rows' squared norms, into norm2). */
LE_ALWAYS_INLINE void le_dot_norm_rows_f32_avx512_(const float *a, const float *b, size_t spread,
                                                   const int NR, size_t n, float *out,
                                                   size_t out_spread, float *norm2) {
    __m512 ab[LE_STREAMS][2], bb[LE_STREAMS][2];
    for (int r = 0; r < NR; r++)
        ab[r][0] = ab[r][1] = bb[r][0] = bb[r][1] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int r = 0; r < NR; r++) {
            const float *row = b + r * spread + i;
            __m512 b0 = _mm512_loadu_ps(row), b1 = _mm512_loadu_ps(row + 16);
            LE_IN_REGISTER(b0); LE_IN_REGISTER(b1);
            ab[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), b0, ab[r][0]);
            bb[r][0] = _mm512_fmadd_ps(b0, b0, bb[r][0]);
            ab[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), b1, ab[r][1]);
            bb[r][1] = _mm512_fmadd_ps(b1, b1, bb[r][1]);
        }
    for (; i < n; i += 16) {
        __mmask16 mask = le_tail_mask_avx512_(n - i >= 16 ? 16 : n - i);
        __m512 a0 = _mm512_maskz_loadu_ps(mask, a + i);
        for (int r = 0; r < NR; r++) {
            __m512 b0 = _mm512_maskz_loadu_ps(mask, b + r * spread + i);
            ab[r][0] = _mm512_fmadd_ps(a0, b0, ab[r][0]);
            bb[r][0] = _mm512_fmadd_ps(b0, b0, bb[r][0]);
        }
    }
    for (int r = 0; r < NR; r++) {
        norm2[r * out_spread] = _mm512_reduce_add_ps(_mm512_add_ps(bb[r][0], bb[r][1]));
        out[r * out_spread] = _mm512_reduce_add_ps(_mm512_add_ps(ab[r][0], ab[r][1]));
    }
}

float le_dot_norm_f32_avx512(const float *a, const float *b, size_t n, float *b_norm2) {
    float out;
    le_dot_norm_rows_f32_avx512_(a, b, 0, 1, n, &out, 0, b_norm2);
    return out;
}

/* One query against n rows `ldx` apart, LE_STREAMS rows at a time (see le/common.h). */
void le_dot_streams_f32_avx512(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                               float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_avx512_(q, x + j * ldx, spread * ldx, count, d,
                                               le_step_dot_avx512_, out + j, spread));
}

void le_dot_norm_streams_f32_avx512(const float *q, const float *x, size_t ldx, size_t n,
                                    size_t d, float *out, float *x_norm2) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_dot_norm_rows_f32_avx512_(q, x + j * ldx, spread * ldx, count, d, out + j,
                                                 spread, x_norm2 + j));
}

void le_l2sq_streams_f32_avx512(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                                float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_avx512_(q, x + j * ldx, spread * ldx, count, d,
                                               le_step_l2sq_avx512_, out + j, spread));
}

void le_l1_streams_f32_avx512(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                              float *out) {
    LE_WALK_STREAMS(n, spread, j, count,
                    le_reduce_rows_f32_avx512_(q, x + j * ldx, spread * ldx, count, d,
                                               le_step_l1_avx512_, out + j, spread));
}

static float le_cosine_f32_avx512(const float *a, const float *b, size_t n) {
    __m512 ab0 = _mm512_setzero_ps(), ab1 = _mm512_setzero_ps();
    __m512 aa0 = _mm512_setzero_ps(), aa1 = _mm512_setzero_ps();
    __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a0 = _mm512_loadu_ps(a + i), b0 = _mm512_loadu_ps(b + i);
        __m512 a1 = _mm512_loadu_ps(a + i + 16), b1 = _mm512_loadu_ps(b + i + 16);
        ab0 = _mm512_fmadd_ps(a0, b0, ab0);
        aa0 = _mm512_fmadd_ps(a0, a0, aa0);
        bb0 = _mm512_fmadd_ps(b0, b0, bb0);
        ab1 = _mm512_fmadd_ps(a1, b1, ab1);
        aa1 = _mm512_fmadd_ps(a1, a1, aa1);
        bb1 = _mm512_fmadd_ps(b1, b1, bb1);
    }
    for (; i < n; i += 16) {
        __mmask16 mask = le_tail_mask_avx512_(n - i >= 16 ? 16 : n - i);
        __m512 a0 = _mm512_maskz_loadu_ps(mask, a + i), b0 = _mm512_maskz_loadu_ps(mask, b + i);
        ab0 = _mm512_fmadd_ps(a0, b0, ab0);
        aa0 = _mm512_fmadd_ps(a0, a0, aa0);
        bb0 = _mm512_fmadd_ps(b0, b0, bb0);
    }
    return le_cosine_from_parts_(_mm512_reduce_add_ps(_mm512_add_ps(ab0, ab1)),
                                 _mm512_reduce_add_ps(_mm512_add_ps(aa0, aa1)),
                                 _mm512_reduce_add_ps(_mm512_add_ps(bb0, bb1)));
}

static size_t le_normalize_f32_avx512(const float *x, float *out, size_t rows, size_t d) {
    size_t unchanged = 0;
    for (size_t r = 0; r < rows; r++, x += d, out += d) {
        float scale = le_inverse_norm_(le_dot_f32_avx512(x, x, d));
        if (scale == 0.0f) {
            if (out != x) memmove(out, x, d * sizeof(float));
            unchanged++;
            continue;
        }
        __m512 scale_f32x16 = _mm512_set1_ps(scale);
        for (size_t i = 0; i < d; i += 16) {
            __mmask16 mask = le_tail_mask_avx512_(d - i >= 16 ? 16 : d - i);
            _mm512_mask_storeu_ps(out + i, mask,
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), scale_f32x16));
        }
    }
    return unchanged;
}

LE_DEFINE_ROWS(avx512)

LE_TARGET_END

const le_kernel_table_t le_dense_avx512 = {
    .dot_f32 = le_dot_f32_avx512,
    .dot_norm_f32 = le_dot_norm_f32_avx512,
    .cosine_f32 = le_cosine_f32_avx512,
    .l2sq_f32 = le_l2sq_f32_avx512,
    .l1_f32 = le_l1_f32_avx512,
    .normalize_f32 = le_normalize_f32_avx512,
    .dot_rows_f32 = le_dot_rows_f32_avx512,
    .cosine_rows_f32 = le_cosine_rows_f32_avx512,
};

#endif /* LE_ARCH_X86_64 */
