/* int8 and int4 dot products with the AArch64 dot-product instructions (SDOT/UDOT, FEAT_DotProd):
 * four byte products added into each i32 lane. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_AARCH64) && LE_HAVE_DOTPROD_REGION
#include "le/common.h"
#include "le/quant.h"

LE_TARGET_BEGIN(LE_FEATURES_NEONDOTPROD)

static int64_t le_dot_i8_neondotprod(const int8_t *a, const int8_t *b, size_t n) {
    int32x4_t acc0 = vdupq_n_s32(0), acc1 = vdupq_n_s32(0);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = vdotq_s32(acc0, vld1q_s8(a + i), vld1q_s8(b + i));
        acc1 = vdotq_s32(acc1, vld1q_s8(a + i + 16), vld1q_s8(b + i + 16));
    }
    for (; i + 16 <= n; i += 16) acc0 = vdotq_s32(acc0, vld1q_s8(a + i), vld1q_s8(b + i));
    int64_t sum = vaddlvq_s32(acc0) + vaddlvq_s32(acc1);
    for (; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

/* TQ queries x one 16-row panel: a group of 16 rows x 4 bytes is four registers, and each query
   register holds four 4-byte groups, used one lane at a time. */
#define LE_DOT_GROUP(lane)                                                                 \
    for (int t = 0; t < TQ; t++)                                                           \
        for (int r = 0; r < 4; r++) acc[t][r] = vdotq_laneq_s32(acc[t][r], x[lane][r], qv[t], lane);

LE_ALWAYS_INLINE void le_i8_panel_tile_neondotprod_(const int8_t *q, size_t ldq, const int TQ,
                                                    const int8_t *panel, size_t dp, int32_t *out, size_t ldo) {
    const size_t groups = dp / 4;
    int32x4_t acc[4][4];
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < 4; r++) acc[t][r] = vdupq_n_s32(0);
    for (size_t g = 0; g < groups; g += 4) {
        /* four groups of every query (zero past the end), and of the panel's 16 rows */
        int8x16_t qv[4], x[4][4];
        size_t here = groups - g < 4 ? groups - g : 4;
        for (int t = 0; t < TQ; t++) {
            int8_t bytes[16] = {0};
            memcpy(bytes, q + t * ldq + 4 * g, 4 * here);
            qv[t] = vld1q_s8(bytes);
        }
        for (size_t l = 0; l < 4; l++)
            for (int r = 0; r < 4; r++) x[l][r] = l < here ? vld1q_s8(panel + 64 * (g + l) + 16 * r) : vdupq_n_s8(0);
        LE_DOT_GROUP(0)
        LE_DOT_GROUP(1)
        LE_DOT_GROUP(2)
        LE_DOT_GROUP(3)
    }
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < 4; r++) vst1q_s32(out + t * ldo + 4 * r, acc[t][r]);
}

static void le_dot_i8_panels_neondotprod(const int8_t *q, size_t ldq, size_t m, const int8_t *panels,
                                         size_t n_panels, size_t dp, const int32_t *x_sums,
                                         int32_t *out, size_t ldo) {
    (void)x_sums;
    for (size_t p = 0; p < n_panels; p++) {
        const int8_t *panel = panels + p * LE_I8_PANEL_ROWS * dp;
        int32_t *dst = out + p * LE_I8_PANEL_ROWS;
        size_t i = 0;
        for (; i + 4 <= m; i += 4) le_i8_panel_tile_neondotprod_(q + i * ldq, ldq, 4, panel, dp, dst + i * ldo, ldo);
        for (; i < m; i++) le_i8_panel_tile_neondotprod_(q + i * ldq, ldq, 1, panel, dp, dst + i * ldo, ldo);
    }
}

static int64_t le_dot_u4_neondotprod(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    const uint8x16_t low = vdupq_n_u8(0x0f);
    uint32x4_t acc = vdupq_n_u32(0);
    size_t i = 0;
    for (; i + 16 <= nbytes; i += 16) {
        uint8x16_t va = vld1q_u8(a + i), vb = vld1q_u8(b + i);
        acc = vdotq_u32(acc, vandq_u8(va, low), vandq_u8(vb, low));
        acc = vdotq_u32(acc, vshrq_n_u8(va, 4), vshrq_n_u8(vb, 4));
    }
    int64_t sum = (int64_t)vaddlvq_u32(acc);
    for (; i < nbytes; i++) sum += (a[i] >> 4) * (b[i] >> 4) + (a[i] & 15) * (b[i] & 15);
    return sum;
}

static void le_dot_u4_rows_neondotprod(const uint8_t *q, const uint8_t *x, size_t ldx, size_t n,
                                       size_t nbytes, int32_t *out) {
    for (size_t j = 0; j < n; j++) out[j] = (int32_t)le_dot_u4_neondotprod(q, x + j * ldx, nbytes);
}

LE_TARGET_END

const le_kernel_table_t le_quant_neondotprod = {
    .dot_i8 = le_dot_i8_neondotprod,
    .dot_i8_panels = le_dot_i8_panels_neondotprod,
    .dot_u4 = le_dot_u4_neondotprod,
    .dot_u4_rows = le_dot_u4_rows_neondotprod,
};

#endif /* LE_ARCH_AARCH64 */
