/* nn family for NEON: the polynomials of le/nn.h four lanes at a time, scalar tails. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_AARCH64)
#include "le/common.h"
#include "le/nn.h"

LE_ALWAYS_INLINE float32x4_t le_erf_neon_(float32x4_t z) {
    z = vminq_f32(vmaxq_f32(z, vdupq_n_f32(-LE_ERF_CLAMP)), vdupq_n_f32(LE_ERF_CLAMP));
    float32x4_t z2 = vmulq_f32(z, z);
    float32x4_t p = vfmaq_f32(vdupq_n_f32(LE_ERF_P1), vdupq_n_f32(LE_ERF_P0), z2);
    p = vfmaq_f32(vdupq_n_f32(LE_ERF_P2), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LE_ERF_P3), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LE_ERF_P4), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LE_ERF_P5), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LE_ERF_P6), p, z2);
    float32x4_t q = vfmaq_f32(vdupq_n_f32(LE_ERF_Q1), vdupq_n_f32(LE_ERF_Q0), z2);
    q = vfmaq_f32(vdupq_n_f32(LE_ERF_Q2), q, z2);
    q = vfmaq_f32(vdupq_n_f32(LE_ERF_Q3), q, z2);
    q = vfmaq_f32(vdupq_n_f32(LE_ERF_Q4), q, z2);
    return vdivq_f32(vmulq_f32(z, p), q);
}

LE_ALWAYS_INLINE float32x4_t le_gelu_neon_(float32x4_t x) {
    float32x4_t erf = le_erf_neon_(vmulq_n_f32(x, LE_INV_SQRT2));
    return vmulq_f32(vmulq_n_f32(x, 0.5f), vaddq_f32(vdupq_n_f32(1.0f), erf));
}

LE_ALWAYS_INLINE float32x4_t le_exp_neon_(float32x4_t x) {
    uint32x4_t underflow = vcltq_f32(x, vdupq_n_f32(LE_EXP_LO));
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(LE_EXP_LO)), vdupq_n_f32(LE_EXP_HI));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, LE_LOG2E));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(LE_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(LE_LN2_LO));
    float32x4_t p = vfmaq_f32(vdupq_n_f32(LE_EXP_P1), vdupq_n_f32(LE_EXP_P0), r);
    p = vfmaq_f32(vdupq_n_f32(LE_EXP_P2), p, r);
    p = vfmaq_f32(vdupq_n_f32(LE_EXP_P3), p, r);
    p = vfmaq_f32(vdupq_n_f32(LE_EXP_P4), p, r);
    p = vfmaq_f32(vdupq_n_f32(LE_EXP_P5), p, r);
    float32x4_t e = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
    int32x4_t pow2 = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    float32x4_t result = vmulq_f32(e, vreinterpretq_f32_s32(pow2));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(result), underflow));
}

static void le_bias_gelu_f32_neon(float *x, size_t rows, size_t cols, const float *bias) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            float32x4_t v = vld1q_f32(x + c);
            if (bias) v = vaddq_f32(v, vld1q_f32(bias + c));
            vst1q_f32(x + c, le_gelu_neon_(v));
        }
        for (; c < cols; c++) x[c] = le_gelu_scalar_(bias ? x[c] + bias[c] : x[c]);
    }
}

static void le_layer_norm_f32_neon(float *x, size_t rows, size_t cols, const float *bias,
                                   const float *residual, const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        const float *res = residual ? residual + r * cols : NULL;
        float32x4_t sum4 = vdupq_n_f32(0);
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            float32x4_t v = vld1q_f32(x + c);
            if (bias) v = vaddq_f32(v, vld1q_f32(bias + c));
            if (res) v = vaddq_f32(v, vld1q_f32(res + c));
            vst1q_f32(x + c, v);
            sum4 = vaddq_f32(sum4, v);
        }
        float sum = vaddvq_f32(sum4);
        for (; c < cols; c++) {
            float v = x[c];
            if (bias) v += bias[c];
            if (res) v += res[c];
            x[c] = v, sum += v;
        }
        const float mean = sum / (float)cols;
        float32x4_t squares4 = vdupq_n_f32(0);
        for (c = 0; c + 4 <= cols; c += 4) {
            float32x4_t centered = vsubq_f32(vld1q_f32(x + c), vdupq_n_f32(mean));
            squares4 = vfmaq_f32(squares4, centered, centered);
        }
        float squares = vaddvq_f32(squares4);
        for (; c < cols; c++) squares += (x[c] - mean) * (x[c] - mean);
        const float scale = 1.0f / sqrtf(squares / (float)cols + eps);
        for (c = 0; c + 4 <= cols; c += 4) {
            float32x4_t v = vmulq_n_f32(vsubq_f32(vld1q_f32(x + c), vdupq_n_f32(mean)), scale);
            vst1q_f32(x + c, vfmaq_f32(vld1q_f32(beta + c), v, vld1q_f32(gamma + c)));
        }
        for (; c < cols; c++) x[c] = (x[c] - mean) * scale * gamma[c] + beta[c];
    }
}

static void le_softmax_f32_neon(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        if (cols == 0) continue;
        float32x4_t peak4 = vdupq_n_f32(x[0]);
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) peak4 = vmaxq_f32(peak4, vld1q_f32(x + c));
        float peak = vmaxvq_f32(peak4);
        for (; c < cols; c++) peak = x[c] > peak ? x[c] : peak;
        float32x4_t total4 = vdupq_n_f32(0);
        for (c = 0; c + 4 <= cols; c += 4) {
            float32x4_t e = le_exp_neon_(vsubq_f32(vld1q_f32(x + c), vdupq_n_f32(peak)));
            vst1q_f32(x + c, e);
            total4 = vaddq_f32(total4, e);
        }
        float total = vaddvq_f32(total4);
        for (; c < cols; c++) total += (x[c] = expf(x[c] - peak));
        const float scale = 1.0f / total;
        for (c = 0; c + 4 <= cols; c += 4) vst1q_f32(x + c, vmulq_n_f32(vld1q_f32(x + c), scale));
        for (; c < cols; c++) x[c] *= scale;
    }
}

const le_kernel_table_t le_nn_neon = {
    .bias_gelu_f32 = le_bias_gelu_f32_neon,
    .layer_norm_f32 = le_layer_norm_f32_neon,
    .softmax_f32 = le_softmax_f32_neon,
};

#endif /* LE_ARCH_AARCH64 */
