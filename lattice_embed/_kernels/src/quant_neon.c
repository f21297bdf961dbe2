/* Quant family for NEON (any AArch64): widening multiplies with pairwise accumulation into i32
 * lanes, vcnt for popcounts, and a shift to widen bf16. The int8 panel kernel has no NEON-only
 * version: the scalar one serves until the dot-product tier (quant_neondotprod.c). */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_AARCH64)
#include <stdlib.h>

#include "le/common.h"
#include "le/quant.h"

static int64_t le_dot_i8_neon(const int8_t *a, const int8_t *b, size_t n) {
    int32x4_t acc = vdupq_n_s32(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        int8x16_t va = vld1q_s8(a + i), vb = vld1q_s8(b + i);
        acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
        acc = vpadalq_s16(acc, vmull_high_s8(va, vb));
    }
    int64_t sum = vaddlvq_s32(acc);
    for (; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

static int64_t le_dot_u4_neon(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    const uint8x16_t low = vdupq_n_u8(0x0f);
    uint32x4_t acc = vdupq_n_u32(0);
    size_t i = 0;
    for (; i + 16 <= nbytes; i += 16) {
        uint8x16_t va = vld1q_u8(a + i), vb = vld1q_u8(b + i);
        uint8x16_t a_lo = vandq_u8(va, low), b_lo = vandq_u8(vb, low);
        uint8x16_t a_hi = vshrq_n_u8(va, 4), b_hi = vshrq_n_u8(vb, 4);
        acc = vpadalq_u16(acc, vmull_u8(vget_low_u8(a_lo), vget_low_u8(b_lo)));
        acc = vpadalq_u16(acc, vmull_high_u8(a_lo, b_lo));
        acc = vpadalq_u16(acc, vmull_u8(vget_low_u8(a_hi), vget_low_u8(b_hi)));
        acc = vpadalq_u16(acc, vmull_high_u8(a_hi, b_hi));
    }
    int64_t sum = (int64_t)vaddlvq_u32(acc);
    for (; i < nbytes; i++) sum += (a[i] >> 4) * (b[i] >> 4) + (a[i] & 15) * (b[i] & 15);
    return sum;
}

static uint64_t le_hamming_b1_neon(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    uint32x4_t acc = vdupq_n_u32(0);
    size_t i = 0;
    for (; i + 16 <= nbytes; i += 16) {
        uint8x16_t counts = vcntq_u8(veorq_u8(vld1q_u8(a + i), vld1q_u8(b + i)));
        acc = vpadalq_u16(acc, vpaddlq_u8(counts));
    }
    uint64_t count = vaddlvq_u32(acc);
    for (; i < nbytes; i++) count += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return count;
}

LE_ALWAYS_INLINE float32x4_t le_bf16_low_neon_(uint16x8_t v) {
    return vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16));
}
LE_ALWAYS_INLINE float32x4_t le_bf16_high_neon_(uint16x8_t v) {
    return vreinterpretq_f32_u32(vshll_high_n_u16(v, 16));
}

static float le_dot_bf16_neon(const uint16_t *a, const uint16_t *b, size_t n) {
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t va = vld1q_u16(a + i), vb = vld1q_u16(b + i);
        acc0 = vfmaq_f32(acc0, le_bf16_low_neon_(va), le_bf16_low_neon_(vb));
        acc1 = vfmaq_f32(acc1, le_bf16_high_neon_(va), le_bf16_high_neon_(vb));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) sum += le_bf16_to_f32_(a[i]) * le_bf16_to_f32_(b[i]);
    return sum;
}

LE_DEFINE_QUANT_ROWS(neon)
LE_DEFINE_BF16_ROWS(neon)

/* Many queries: each query is widened to f32 once, and a tile of TQ widened queries meets one row
   at a time, so the row is widened once for TQ queries. Every pair keeps the pair kernel's two
   accumulators, steps and reduction (widening is exact, and vshll keeps the values in order):
   a score is le_dot_bf16_neon's, bit for bit. 8 queries: 16 accumulators, 2 row vectors. */
LE_ALWAYS_INLINE void le_dot_bf16_qtile_neon_(const float *w, size_t ldw, const int TQ, const uint16_t *row,
                                              size_t n, float *out, size_t ldo) {
    float32x4_t acc[8][2];
    for (int t = 0; t < TQ; t++) acc[t][0] = acc[t][1] = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t vx = vld1q_u16(row + i);
        float32x4_t x_low = le_bf16_low_neon_(vx), x_high = le_bf16_high_neon_(vx);
        for (int t = 0; t < TQ; t++) {
            acc[t][0] = vfmaq_f32(acc[t][0], vld1q_f32(w + t * ldw + i), x_low);
            acc[t][1] = vfmaq_f32(acc[t][1], vld1q_f32(w + t * ldw + i + 4), x_high);
        }
    }
    for (int t = 0; t < TQ; t++) {
        float sum = vaddvq_f32(vaddq_f32(acc[t][0], acc[t][1]));
        for (size_t k = i; k < n; k++) sum += w[t * ldw + k] * le_bf16_to_f32_(row[k]);
        out[t * ldo] = sum;
    }
}

LE_ALWAYS_INLINE void le_dot_bf16_qrows_neon_(const uint16_t *q, size_t ldq, const int TQ, const uint16_t *x,
                                              size_t ldx, size_t n, size_t d, float *w, float *out, size_t ldo) {
    for (int t = 0; t < TQ; t++)
        for (size_t k = 0; k < d; k++) w[t * d + k] = le_bf16_to_f32_(q[t * ldq + k]);
    for (size_t j = 0; j < n; j++) le_dot_bf16_qtile_neon_(w, d, TQ, x + j * ldx, d, out + j, ldo);
}

static void le_dot_bf16_block_neon(const uint16_t *q, size_t ldq, size_t m, const uint16_t *x, size_t ldx,
                                   size_t n, size_t d, float *out, size_t ldo) {
    float *w = m > 1 && d > 0 ? malloc(8 * d * sizeof(float)) : NULL;
    if (!w) { /* one query, or no memory: the rows kernel, which sums the same way */
        for (size_t i = 0; i < m; i++) le_dot_bf16_rows_neon(q + i * ldq, x, ldx, n, d, out + i * ldo);
        return;
    }
    size_t i = 0;
    for (; i + 8 <= m; i += 8) le_dot_bf16_qrows_neon_(q + i * ldq, ldq, 8, x, ldx, n, d, w, out + i * ldo, ldo);
    for (; i + 2 <= m; i += 2) le_dot_bf16_qrows_neon_(q + i * ldq, ldq, 2, x, ldx, n, d, w, out + i * ldo, ldo);
    if (i < m) le_dot_bf16_qrows_neon_(q + i * ldq, ldq, 1, x, ldx, n, d, w, out + i * ldo, ldo);
    free(w);
}

const le_kernel_table_t le_quant_neon = {
    .dot_i8 = le_dot_i8_neon,
    .dot_u4 = le_dot_u4_neon,
    .dot_u4_rows = le_dot_u4_rows_neon,
    .hamming_b1 = le_hamming_b1_neon,
    .hamming_b1_rows = le_hamming_b1_rows_neon,
    .dot_bf16 = le_dot_bf16_neon,
    .dot_bf16_rows = le_dot_bf16_rows_neon,
    .dot_bf16_block = le_dot_bf16_block_neon,
};

#endif /* LE_ARCH_AARCH64 */
