/* Batch f32 kernels for AVX2 + FMA: 3 x 4 register tiles (12 accumulators, 3 query vectors and
 * one matrix vector: all 16 ymm registers), eight lanes along d, one masked load for the tail. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"
#include "le/tile.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX2)
#include "le/isa_avx2.h"

#define LE_LOAD_AVX2(p) _mm256_loadu_ps(p)
#define LE_TAIL_LOAD_AVX2(p, rem) _mm256_maskload_ps((p), le_tail_mask_avx2_(rem))
#define LE_FMA_AVX2(a, b, c) _mm256_fmadd_ps((a), (b), (c))

/* sums[j] = the sum of the lanes of acc[j], j < 4 */
LE_ALWAYS_INLINE void le_reduce_row4_avx2_(const __m256 *acc, float *sums) {
    __m256 pairs = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
    _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(pairs), _mm256_extractf128_ps(pairs, 1)));
}

LE_DEFINE_TILE(avx2, __m256, le_step_f32x8_fn, 8, 3, 4, LE_LOAD_AVX2, LE_TAIL_LOAD_AVX2, LE_FMA_AVX2,
               _mm256_setzero_ps(), le_reduce_row4_avx2_)
LE_DEFINE_BLOCKS(avx2, le_step_f32x8_fn, 3, 4, le_step_dot_avx2_, le_step_l2sq_avx2_,
                 le_step_l1_avx2_)

LE_TARGET_END

const le_kernel_table_t le_batch_avx2 = LE_BATCH_TABLE(avx2);

#endif /* LE_ARCH_X86_64 */
