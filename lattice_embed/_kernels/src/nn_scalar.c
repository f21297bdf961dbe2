/* nn family, portable C: erf-GELU, layer norm, softmax over rows. */
#include "le/common.h"
#include "le/kernels.h"
#include "le/nn.h"

static void le_bias_gelu_f32_scalar(float *x, size_t rows, size_t cols, const float *bias) {
    for (size_t r = 0; r < rows; r++, x += cols)
        for (size_t c = 0; c < cols; c++) x[c] = le_gelu_scalar_(bias ? x[c] + bias[c] : x[c]);
}

static void le_layer_norm_f32_scalar(float *x, size_t rows, size_t cols, const float *bias,
                                     const float *residual, const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        float sum = 0.0f;
        for (size_t c = 0; c < cols; c++) {
            float v = x[c];
            if (bias) v += bias[c];
            if (residual) v += residual[r * cols + c];
            x[c] = v, sum += v;
        }
        const float mean = sum / (float)cols;
        float squares = 0.0f;
        for (size_t c = 0; c < cols; c++) squares += (x[c] - mean) * (x[c] - mean);
        const float scale = 1.0f / sqrtf(squares / (float)cols + eps);
        for (size_t c = 0; c < cols; c++) x[c] = (x[c] - mean) * scale * gamma[c] + beta[c];
    }
}

static void le_softmax_f32_scalar(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        if (cols == 0) continue;
        float peak = x[0];
        for (size_t c = 1; c < cols; c++) peak = x[c] > peak ? x[c] : peak;
        double total = 0.0; /* one float accumulator drifts past 2e-6 over ~1500 terms */
        for (size_t c = 0; c < cols; c++) total += (x[c] = expf(x[c] - peak));
        const float scale = (float)(1.0 / total);
        for (size_t c = 0; c < cols; c++) x[c] *= scale;
    }
}

const le_kernel_table_t le_nn_scalar = {
    .bias_gelu_f32 = le_bias_gelu_f32_scalar,
    .layer_norm_f32 = le_layer_norm_f32_scalar,
    .softmax_f32 = le_softmax_f32_scalar,
};
