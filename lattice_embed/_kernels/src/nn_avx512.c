/* nn family for AVX-512: the polynomials of le/nn.h sixteen lanes at a time, tails masked. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"
#include "le/nn.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX512)
#include "le/isa_avx512.h"

LE_ALWAYS_INLINE __m512 le_erf_avx512_(__m512 z) {
    z = _mm512_min_ps(_mm512_max_ps(z, _mm512_set1_ps(-LE_ERF_CLAMP)), _mm512_set1_ps(LE_ERF_CLAMP));
    __m512 z2 = _mm512_mul_ps(z, z);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(LE_ERF_P0), z2, _mm512_set1_ps(LE_ERF_P1));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LE_ERF_P2));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LE_ERF_P3));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LE_ERF_P4));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LE_ERF_P5));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LE_ERF_P6));
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(LE_ERF_Q0), z2, _mm512_set1_ps(LE_ERF_Q1));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LE_ERF_Q2));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LE_ERF_Q3));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LE_ERF_Q4));
    return _mm512_div_ps(_mm512_mul_ps(z, p), q);
}

LE_ALWAYS_INLINE __m512 le_gelu_avx512_(__m512 x) {
    __m512 erf = le_erf_avx512_(_mm512_mul_ps(x, _mm512_set1_ps(LE_INV_SQRT2)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

LE_ALWAYS_INLINE __m512 le_exp_avx512_(__m512 x) {
    __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(LE_EXP_LO), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(LE_EXP_LO)), _mm512_set1_ps(LE_EXP_HI));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LE_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LE_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LE_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(LE_EXP_P0), r, _mm512_set1_ps(LE_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(LE_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(LE_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(LE_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(LE_EXP_P5));
    __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i pow2 = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps((__mmask16)~underflow, e, _mm512_castsi512_ps(pow2));
}

static void le_bias_gelu_f32_avx512(float *x, size_t rows, size_t cols, const float *bias) {
    for (size_t r = 0; r < rows; r++, x += cols)
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            __m512 v = _mm512_maskz_loadu_ps(m, x + c);
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + c));
            _mm512_mask_storeu_ps(x + c, m, le_gelu_avx512_(v));
        }
}

static void le_layer_norm_f32_avx512(float *x, size_t rows, size_t cols, const float *bias,
                                     const float *residual, const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        const float *res = residual ? residual + r * cols : NULL;
        __m512 sum16 = _mm512_setzero_ps();
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            __m512 v = _mm512_maskz_loadu_ps(m, x + c);
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + c));
            if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + c));
            _mm512_mask_storeu_ps(x + c, m, v);
            sum16 = _mm512_add_ps(sum16, v);
        }
        const float mean = _mm512_reduce_add_ps(sum16) / (float)cols;
        const __m512 mean16 = _mm512_set1_ps(mean);
        __m512 squares16 = _mm512_setzero_ps();
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            __m512 centered = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + c), mean16);
            squares16 = _mm512_fmadd_ps(centered, centered, squares16);
        }
        const float scale = 1.0f / sqrtf(_mm512_reduce_add_ps(squares16) / (float)cols + eps);
        const __m512 scale16 = _mm512_set1_ps(scale);
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + c), mean16), scale16);
            v = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m, gamma + c), _mm512_maskz_loadu_ps(m, beta + c));
            _mm512_mask_storeu_ps(x + c, m, v);
        }
    }
}

static void le_softmax_f32_avx512(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        if (cols == 0) continue;
        __m512 peak16 = _mm512_set1_ps(x[0]);
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            peak16 = _mm512_mask_max_ps(peak16, m, peak16, _mm512_maskz_loadu_ps(m, x + c));
        }
        const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(peak16));
        __m512 total16 = _mm512_setzero_ps();
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            __m512 e = _mm512_maskz_mov_ps(m, le_exp_avx512_(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + c), shift)));
            _mm512_mask_storeu_ps(x + c, m, e);
            total16 = _mm512_add_ps(total16, e);
        }
        const __m512 scale16 = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(total16));
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 m = le_tail_mask_avx512_(cols - c >= 16 ? 16 : cols - c);
            _mm512_mask_storeu_ps(x + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c), scale16));
        }
    }
}

LE_TARGET_END

const le_kernel_table_t le_nn_avx512 = {
    .bias_gelu_f32 = le_bias_gelu_f32_avx512,
    .layer_norm_f32 = le_layer_norm_f32_avx512,
    .softmax_f32 = le_softmax_f32_avx512,
};

#endif /* LE_ARCH_X86_64 */
