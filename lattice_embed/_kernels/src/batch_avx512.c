/* Batch f32 kernels for AVX-512: 3 x 8 register tiles (24 accumulators of 32 zmm registers),
 * sixteen lanes along d, one masked load for the tail. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"
#include "le/tile.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX512)
#include "le/isa_avx512.h"

#define LE_LOAD_AVX512(p) _mm512_loadu_ps(p)
#define LE_TAIL_LOAD_AVX512(p, rem) _mm512_maskz_loadu_ps(le_tail_mask_avx512_(rem), (p))
#define LE_FMA_AVX512(a, b, c) _mm512_fmadd_ps((a), (b), (c))

/* sums[j] = the sum of the lanes of acc[j], j < 8: halves folded, then a horizontal-add tree */
LE_ALWAYS_INLINE void le_reduce_row8_avx512_(const __m512 *acc, float *sums) {
    __m256 half[8];
    for (int j = 0; j < 8; j++)
        half[j] = _mm256_add_ps(_mm512_castps512_ps256(acc[j]), _mm512_extractf32x8_ps(acc[j], 1));
    __m256 s0123 = _mm256_hadd_ps(_mm256_hadd_ps(half[0], half[1]), _mm256_hadd_ps(half[2], half[3]));
    __m256 s4567 = _mm256_hadd_ps(_mm256_hadd_ps(half[4], half[5]), _mm256_hadd_ps(half[6], half[7]));
    /* s0123 = [0 1 2 3 | 0 1 2 3] partial sums by 128-bit lane; likewise s4567 */
    __m256 low = _mm256_permute2f128_ps(s0123, s4567, 0x20), high = _mm256_permute2f128_ps(s0123, s4567, 0x31);
    _mm256_storeu_ps(sums, _mm256_add_ps(low, high));
}

LE_DEFINE_TILE(avx512, __m512, le_step_f32x16_fn, 16, 3, 8, LE_LOAD_AVX512, LE_TAIL_LOAD_AVX512,
               LE_FMA_AVX512, _mm512_setzero_ps(), le_reduce_row8_avx512_)
LE_DEFINE_BLOCKS(avx512, le_step_f32x16_fn, 3, 8, le_step_dot_avx512_, le_step_l2sq_avx512_,
                 le_step_l1_avx512_)

LE_TARGET_END

const le_kernel_table_t le_batch_avx512 = LE_BATCH_TABLE(avx512);

#endif /* LE_ARCH_X86_64 */
