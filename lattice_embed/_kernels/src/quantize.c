/* Quantizing float32 rows for the stored tiers. Plain C at the baseline (the compiler vectorizes
 * the loops), the same on every tier, so stored values never depend on the CPU. Rules of the
 * original crate: non-finite values count as 0; scales come from the finite values' max |x|;
 * rounding is to nearest with halves away from zero; norms are of the finite values. Not the
 * original's: a row below LE_QUANT_TINY is the zero vector (search.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "le/search.h"

static float le_finite_or_zero_(float v) { return v - v == 0.0f ? v : 0.0f; }

/* round to nearest, halves away from zero, for |x| < 2^31 (what roundf does, vectorizable) */
static inline int32_t le_round_half_away_(float x) {
    int32_t whole = (int32_t)x;
    float rest = x - (float)whole;
    return whole + (rest >= 0.5f) - (rest <= -0.5f);
}

static float le_row_max_abs_(const float *x, size_t d, double *norm2) {
    float max_abs = 0.0f;
    double sum = 0.0;
    for (size_t k = 0; k < d; k++) {
        float v = le_finite_or_zero_(x[k]);
        float a = fabsf(v);
        max_abs = a > max_abs ? a : max_abs;
        sum += (double)v * v;
    }
    *norm2 = sum;
    return max_abs;
}

void le_quantize_i8_rows(const float *x, size_t n, size_t d, int8_t *out, size_t ldo, float *scale,
                         float *norm, int32_t *sums) {
    for (size_t r = 0; r < n; r++, x += d, out += ldo) {
        double norm2;
        float max_abs = le_row_max_abs_(x, d, &norm2);
        if (!(max_abs >= LE_QUANT_TINY)) { /* zero to float32: the zero vector */
            memset(out, 0, d);
            scale[r] = 1.0f, norm[r] = 0.0f, sums[r] = 0;
            continue;
        }
        float s = 127.0f / max_abs; /* finite: max_abs >= 1e-30 */
        int32_t sum = 0;
        for (size_t k = 0; k < d; k++) {
            int32_t q = le_round_half_away_(le_finite_or_zero_(x[k]) * s);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            out[k] = (int8_t)q;
            sum += q;
        }
        scale[r] = s, norm[r] = (float)sqrt(norm2), sums[r] = sum;
    }
}

void le_quantize_u4_rows(const float *x, size_t n, size_t d, uint8_t *out, size_t ldo, float *scale,
                         float *max_abs_out, float *norm, int32_t *sums) {
    for (size_t r = 0; r < n; r++, x += d, out += ldo) {
        double norm2;
        float max_abs = le_row_max_abs_(x, d, &norm2);
        memset(out, 0, (d + 1) / 2);
        if (!(max_abs >= LE_QUANT_TINY)) { /* zero to float32: the zero vector (no offset) */
            scale[r] = 1.0f, max_abs_out[r] = 0.0f, norm[r] = 0.0f, sums[r] = 0;
            continue;
        }
        float s = 7.5f / max_abs; /* = 15 / (2 max_abs), exactly, without overflow */
        int32_t sum = 0;
        for (size_t k = 0; k < d; k++) {
            float t = (le_finite_or_zero_(x[k]) + max_abs) * s;
            t = t < 15.5f ? t : 15.5f; /* x + max_abs overflows to infinity near the float limit */
            int32_t q = le_round_half_away_(t);
            q = q > 15 ? 15 : q < 0 ? 0 : q;
            out[k / 2] |= (uint8_t)(k % 2 ? q : q << 4); /* even index in the high nibble */
            sum += q;
        }
        scale[r] = s, max_abs_out[r] = max_abs, norm[r] = (float)sqrt(norm2), sums[r] = sum;
    }
}

void le_quantize_b1_rows(const float *x, size_t n, size_t d, uint8_t *out, size_t ldo, float threshold) {
    for (size_t r = 0; r < n; r++, x += d, out += ldo) {
        size_t k = 0;
        for (; k + 8 <= d; k += 8) { /* one byte, most significant bit first, without branches */
            unsigned byte = 0;
            for (int b = 0; b < 8; b++) byte |= (unsigned)(le_finite_or_zero_(x[k + b]) >= threshold) << (7 - b);
            out[k / 8] = (uint8_t)byte;
        }
        if (k < d) {
            unsigned byte = 0;
            for (int b = 0; k + b < d; b++) byte |= (unsigned)(le_finite_or_zero_(x[k + b]) >= threshold) << (7 - b);
            out[k / 8] = (uint8_t)byte; /* padding bits stay 0 */
        }
    }
}

void le_quantize_bf16_rows(const float *x, size_t n, size_t d, uint16_t *out, size_t ldo, float *norm) {
    for (size_t r = 0; r < n; r++, x += d, out += ldo) {
        double norm2 = 0.0;
        float max_abs = 0.0f;
        for (size_t k = 0; k < d; k++) {
            uint32_t bits;
            memcpy(&bits, &x[k], sizeof bits);
            /* round to nearest, ties to even; NaN stays NaN */
            uint16_t h = x[k] != x[k] ? 0x7FC0 : (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
            uint32_t wide = (uint32_t)h << 16;
            float v;
            memcpy(&v, &wide, sizeof v);
            out[k] = h;
            v = le_finite_or_zero_(v);
            norm2 += (double)v * v;
            max_abs = fabsf(v) > max_abs ? fabsf(v) : max_abs;
        }
        if (norm) norm[r] = max_abs >= LE_QUANT_TINY ? (float)sqrt(norm2) : 0.0f;
    }
}
