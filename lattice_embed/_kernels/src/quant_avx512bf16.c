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

/* NR rows (see LE_DEFINE_BF16_ROWS_STREAMED), each with two accumulators */
LE_ALWAYS_INLINE void le_dot_bf16_tile_avx512bf16_(const uint16_t *q, const uint16_t *x, size_t spread,
                                                   const int NR, size_t n, float *out, size_t out_spread) {
    __m512 acc[LE_STREAMS][2];
    for (int r = 0; r < NR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i q0 = _mm512_loadu_si512(q + i), q1 = _mm512_loadu_si512(q + i + 32);
        for (int r = 0; r < NR; r++) {
            acc[r][0] = le_dpbf16_(acc[r][0], q0, _mm512_loadu_si512(x + r * spread + i));
            acc[r][1] = le_dpbf16_(acc[r][1], q1, _mm512_loadu_si512(x + r * spread + i + 32));
        }
    }
    for (; i < n; i += 32) {
        __mmask32 mask = le_word_mask_avx512_(n - i);
        __m512i q0 = _mm512_maskz_loadu_epi16(mask, q + i);
        for (int r = 0; r < NR; r++)
            acc[r][0] = le_dpbf16_(acc[r][0], q0, _mm512_maskz_loadu_epi16(mask, x + r * spread + i));
    }
    for (int r = 0; r < NR; r++) out[r * out_spread] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
}

LE_DEFINE_BF16_ROWS_STREAMED(avx512bf16)

LE_TARGET_END

const le_kernel_table_t le_quant_avx512bf16 = {
    .dot_bf16 = le_dot_bf16_avx512bf16,
    .dot_bf16_rows = le_dot_bf16_rows_avx512bf16,
};

#endif /* LE_ARCH_X86_64 */
