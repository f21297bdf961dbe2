/* Quant family, portable C: the reference every other tier must match bit for bit (integers) or
 * within the f32 tolerance (bf16). */
#include "le/common.h"
#include "le/kernels.h"
#include "le/quant.h"

static int64_t le_dot_i8_scalar(const int8_t *a, const int8_t *b, size_t n) {
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

static void le_dot_i8_panels_scalar(const int8_t *q, size_t ldq, size_t m, const int8_t *panels,
                                    size_t n_panels, size_t dp, const int32_t *x_sums, int32_t *out,
                                    size_t ldo) {
    (void)x_sums;
    for (size_t i = 0; i < m; i++, q += ldq)
        for (size_t p = 0; p < n_panels; p++) {
            const int8_t *panel = panels + p * LE_I8_PANEL_ROWS * dp;
            int32_t sums[LE_I8_PANEL_ROWS] = {0};
            for (size_t g = 0; g < dp / 4; g++, panel += 4 * LE_I8_PANEL_ROWS)
                for (int r = 0; r < LE_I8_PANEL_ROWS; r++)
                    for (int b = 0; b < 4; b++) sums[r] += (int32_t)q[4 * g + b] * panel[4 * r + b];
            memcpy(out + i * ldo + p * LE_I8_PANEL_ROWS, sums, sizeof sums);
        }
}

static int64_t le_dot_u4_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    int64_t sum = 0;
    for (size_t i = 0; i < nbytes; i++) sum += (a[i] >> 4) * (b[i] >> 4) + (a[i] & 15) * (b[i] & 15);
    return sum;
}

static uint64_t le_hamming_b1_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    uint64_t count = 0;
    size_t i = 0;
    for (; i + 8 <= nbytes; i += 8) {
        uint64_t wa, wb;
        memcpy(&wa, a + i, 8), memcpy(&wb, b + i, 8);
        count += (uint64_t)__builtin_popcountll(wa ^ wb);
    }
    for (; i < nbytes; i++) count += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return count;
}

/* Summed in double, as the scalar f32 kernels are (see dense_scalar.c); each product of two
   bf16 values is exact in float already. */
static float le_dot_bf16_scalar(const uint16_t *a, const uint16_t *b, size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += le_bf16_to_f32_(a[i]) * le_bf16_to_f32_(b[i]);
        s1 += le_bf16_to_f32_(a[i + 1]) * le_bf16_to_f32_(b[i + 1]);
        s2 += le_bf16_to_f32_(a[i + 2]) * le_bf16_to_f32_(b[i + 2]);
        s3 += le_bf16_to_f32_(a[i + 3]) * le_bf16_to_f32_(b[i + 3]);
    }
    for (; i < n; i++) s0 += le_bf16_to_f32_(a[i]) * le_bf16_to_f32_(b[i]);
    return (float)((s0 + s1) + (s2 + s3));
}

LE_DEFINE_QUANT_ROWS(scalar)
LE_DEFINE_BF16_ROWS(scalar)
LE_DEFINE_BF16_BLOCK_BY_ROWS(scalar)

const le_kernel_table_t le_quant_scalar = {
    .dot_i8 = le_dot_i8_scalar,
    .dot_i8_panels = le_dot_i8_panels_scalar,
    .dot_u4 = le_dot_u4_scalar,
    .dot_u4_rows = le_dot_u4_rows_scalar,
    .hamming_b1 = le_hamming_b1_scalar,
    .hamming_b1_rows = le_hamming_b1_rows_scalar,
    .dot_bf16 = le_dot_bf16_scalar,
    .dot_bf16_rows = le_dot_bf16_rows_scalar,
    .dot_bf16_block = le_dot_bf16_block_scalar,
};
