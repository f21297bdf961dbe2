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

static float le_dot_bf16_avx512bf16(const uint16_t *a, const uint16_t *b, size_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        acc0 = le_dpbf16_(acc0, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        acc1 = le_dpbf16_(acc1, _mm512_loadu_si512(a + i + 32), _mm512_loadu_si512(b + i + 32));
    }
    for (; i < n; i += 32) {
        __mmask32 mask = le_word_mask_avx512_(n - i);
        acc0 = le_dpbf16_(acc0, _mm512_maskz_loadu_epi16(mask, a + i), _mm512_maskz_loadu_epi16(mask, b + i));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

LE_DEFINE_BF16_ROWS(avx512bf16)

LE_TARGET_END

const le_kernel_table_t le_quant_avx512bf16 = {
    .dot_bf16 = le_dot_bf16_avx512bf16,
    .dot_bf16_rows = le_dot_bf16_rows_avx512bf16,
};

#endif /* LE_ARCH_X86_64 */
