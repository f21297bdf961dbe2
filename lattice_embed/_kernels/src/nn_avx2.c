/* nn family for AVX2 + FMA: the polynomials of le/nn.h eight lanes at a time; each row's tail is
 * run through a zero-padded copy of one vector. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"
#include "le/nn.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX2)
#include "le/isa_avx2.h"

LE_ALWAYS_INLINE __m256 le_erf_avx2_(__m256 z) {
    z = _mm256_min_ps(_mm256_max_ps(z, _mm256_set1_ps(-LE_ERF_CLAMP)), _mm256_set1_ps(LE_ERF_CLAMP));
    __m256 z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(LE_ERF_P0), z2, _mm256_set1_ps(LE_ERF_P1));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LE_ERF_P2));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LE_ERF_P3));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LE_ERF_P4));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LE_ERF_P5));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LE_ERF_P6));
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(LE_ERF_Q0), z2, _mm256_set1_ps(LE_ERF_Q1));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LE_ERF_Q2));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LE_ERF_Q3));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LE_ERF_Q4));
    return _mm256_div_ps(_mm256_mul_ps(z, p), q);
}

LE_ALWAYS_INLINE __m256 le_gelu_avx2_(__m256 x) {
    __m256 erf = le_erf_avx2_(_mm256_mul_ps(x, _mm256_set1_ps(LE_INV_SQRT2)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

/* exp(x); x below LE_EXP_LO gives 0 */
LE_ALWAYS_INLINE __m256 le_exp_avx2_(__m256 x) {
    __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(LE_EXP_LO), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(LE_EXP_LO)), _mm256_set1_ps(LE_EXP_HI));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LE_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LE_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LE_LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(LE_EXP_P0), r, _mm256_set1_ps(LE_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(LE_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(LE_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(LE_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(LE_EXP_P5));
    __m256 e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i pow2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(e, _mm256_castsi256_ps(pow2)));
}

LE_ALWAYS_INLINE float le_hmax_f32x8_avx2_(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static void le_bias_gelu_f32_avx2(float *x, size_t rows, size_t cols, const float *bias) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(x + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(x + c, le_gelu_avx2_(v));
        }
        for (; c < cols; c++) x[c] = le_gelu_scalar_(bias ? x[c] + bias[c] : x[c]);
    }
}

static void le_layer_norm_f32_avx2(float *x, size_t rows, size_t cols, const float *bias,
                                   const float *residual, const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        const float *res = residual ? residual + r * cols : NULL;
        __m256 sum8 = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(x + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + c));
            _mm256_storeu_ps(x + c, v);
            sum8 = _mm256_add_ps(sum8, v);
        }
        float sum = le_hsum_f32x8_avx2_(sum8);
        for (; c < cols; c++) {
            float v = x[c];
            if (bias) v += bias[c];
            if (res) v += res[c];
            x[c] = v, sum += v;
        }
        const float mean = sum / (float)cols;
        const __m256 mean8 = _mm256_set1_ps(mean);
        __m256 squares8 = _mm256_setzero_ps();
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 centered = _mm256_sub_ps(_mm256_loadu_ps(x + c), mean8);
            squares8 = _mm256_fmadd_ps(centered, centered, squares8);
        }
        float squares = le_hsum_f32x8_avx2_(squares8);
        for (; c < cols; c++) squares += (x[c] - mean) * (x[c] - mean);
        const float scale = 1.0f / sqrtf(squares / (float)cols + eps);
        const __m256 scale8 = _mm256_set1_ps(scale);
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), mean8), scale8);
            _mm256_storeu_ps(x + c, _mm256_fmadd_ps(v, _mm256_loadu_ps(gamma + c), _mm256_loadu_ps(beta + c)));
        }
        for (; c < cols; c++) x[c] = (x[c] - mean) * scale * gamma[c] + beta[c];
    }
}

static void le_softmax_f32_avx2(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        if (cols == 0) continue;
        __m256 peak8 = _mm256_set1_ps(x[0]);
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) peak8 = _mm256_max_ps(peak8, _mm256_loadu_ps(x + c));
        float peak = le_hmax_f32x8_avx2_(peak8);
        for (; c < cols; c++) peak = x[c] > peak ? x[c] : peak;
        const __m256 shift = _mm256_set1_ps(peak);
        __m256 total8 = _mm256_setzero_ps();
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 e = le_exp_avx2_(_mm256_sub_ps(_mm256_loadu_ps(x + c), shift));
            _mm256_storeu_ps(x + c, e);
            total8 = _mm256_add_ps(total8, e);
        }
        float total = le_hsum_f32x8_avx2_(total8);
        for (; c < cols; c++) total += (x[c] = expf(x[c] - peak));
        const float scale = 1.0f / total;
        const __m256 scale8 = _mm256_set1_ps(scale);
        for (c = 0; c + 8 <= cols; c += 8) _mm256_storeu_ps(x + c, _mm256_mul_ps(_mm256_loadu_ps(x + c), scale8));
        for (; c < cols; c++) x[c] *= scale;
    }
}

LE_TARGET_END

const le_kernel_table_t le_nn_avx2 = {
    .bias_gelu_f32 = le_bias_gelu_f32_avx2,
    .layer_norm_f32 = le_layer_norm_f32_avx2,
    .softmax_f32 = le_softmax_f32_avx2,
};

#endif /* LE_ARCH_X86_64 */
