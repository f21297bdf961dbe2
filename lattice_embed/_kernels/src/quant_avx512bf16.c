/* bf16 dot products with AVX-512 BF16: vdpbf16ps multiplies pairs of bf16 values exactly in f32
 * and adds both products to one f32 lane (32 products per instruction). */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"
#include "le/quant.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX512BF16)

/* 16-bit lanes [0, rem) set, rem in [0, 32] */
LE_ALWAYS_INLINE __mmask32 le_word_mask_avx512_(size_t rem) {
    return rem >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << rem) - 1);
}

LE_ALWAYS_INLINE __m512 le_dpbf16_(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

/* TQ queries (ldq apart) x NR rows (`spread` apart): out[t * ldo + r * out_spread]. Every pair has
   the two accumulators, steps and reduction of the pair kernel (TQ = NR = 1), so a score does not
   depend on the queries and rows it was grouped with. vdpbf16ps needs no widening: the queries are
   read as they are stored. */
LE_ALWAYS_INLINE void le_dot_bf16_qtile_avx512bf16_(const uint16_t *q, size_t ldq, const int TQ,
                                                    const uint16_t *x, size_t spread, const int NR, size_t n,
                                                    float *out, size_t ldo, size_t out_spread) {
    __m512 acc[6][LE_STREAMS][2];
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < NR; r++) acc[t][r][0] = acc[t][r][1] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i x0[LE_STREAMS], x1[LE_STREAMS];
        for (int r = 0; r < NR; r++) {
            x0[r] = _mm512_loadu_si512(x + r * spread + i);
            x1[r] = _mm512_loadu_si512(x + r * spread + i + 32);
        }
        for (int t = 0; t < TQ; t++) {
            __m512i q0 = _mm512_loadu_si512(q + t * ldq + i), q1 = _mm512_loadu_si512(q + t * ldq + i + 32);
            for (int r = 0; r < NR; r++) {
                acc[t][r][0] = le_dpbf16_(acc[t][r][0], q0, x0[r]);
                acc[t][r][1] = le_dpbf16_(acc[t][r][1], q1, x1[r]);
            }
        }
    }
    for (; i < n; i += 32) {
        __mmask32 mask = le_word_mask_avx512_(n - i);
        __m512i x0[LE_STREAMS];
        for (int r = 0; r < NR; r++) x0[r] = _mm512_maskz_loadu_epi16(mask, x + r * spread + i);
        for (int t = 0; t < TQ; t++) {
            __m512i q0 = _mm512_maskz_loadu_epi16(mask, q + t * ldq + i);
            for (int r = 0; r < NR; r++) acc[t][r][0] = le_dpbf16_(acc[t][r][0], q0, x0[r]);
        }
    }
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < NR; r++)
            out[t * ldo + r * out_spread] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][r][0], acc[t][r][1]));
}

/* NR rows of one query (see LE_DEFINE_BF16_ROWS_STREAMED) */
LE_ALWAYS_INLINE void le_dot_bf16_tile_avx512bf16_(const uint16_t *q, const uint16_t *x, size_t spread,
                                                   const int NR, size_t n, float *out, size_t out_spread) {
    le_dot_bf16_qtile_avx512bf16_(q, 0, 1, x, spread, NR, n, out, 0, out_spread);
}

LE_DEFINE_BF16_ROWS_STREAMED(avx512bf16)

/* TQ queries against every row, two rows at a time: the queries (TQ x d bf16) stay in L1 while
   the rows stream past from L2. 6 x 2 pairs hold 24 accumulators, with 4 row vectors and a
   query vector: 29 of the 32 registers. */
LE_ALWAYS_INLINE void le_dot_bf16_qrows_avx512bf16_(const uint16_t *q, size_t ldq, const int TQ, const uint16_t *x,
                                                    size_t ldx, size_t n, size_t d, float *out, size_t ldo) {
    size_t j = 0;
    for (; j + 2 <= n; j += 2) le_dot_bf16_qtile_avx512bf16_(q, ldq, TQ, x + j * ldx, ldx, 2, d, out + j, ldo, 1);
    if (j < n) le_dot_bf16_qtile_avx512bf16_(q, ldq, TQ, x + j * ldx, ldx, 1, d, out + j, ldo, 1);
}

static void le_dot_bf16_block_avx512bf16(const uint16_t *q, size_t ldq, size_t m, const uint16_t *x, size_t ldx,
                                         size_t n, size_t d, float *out, size_t ldo) {
    if (m == 1) { /* memory-bound: the rows kernel walks LE_STREAMS rows */
        le_dot_bf16_rows_avx512bf16(q, x, ldx, n, d, out);
        return;
    }
    size_t i = 0;
    for (; i + 6 <= m; i += 6) le_dot_bf16_qrows_avx512bf16_(q + i * ldq, ldq, 6, x, ldx, n, d, out + i * ldo, ldo);
    for (; i + 2 <= m; i += 2) le_dot_bf16_qrows_avx512bf16_(q + i * ldq, ldq, 2, x, ldx, n, d, out + i * ldo, ldo);
    if (i < m) le_dot_bf16_qrows_avx512bf16_(q + i * ldq, ldq, 1, x, ldx, n, d, out + i * ldo, ldo);
}

LE_TARGET_END

const le_kernel_table_t le_quant_avx512bf16 = {
    .dot_bf16 = le_dot_bf16_avx512bf16,
    .dot_bf16_rows = le_dot_bf16_rows_avx512bf16,
    .dot_bf16_block = le_dot_bf16_block_avx512bf16,
};

#endif /* LE_ARCH_X86_64 */
