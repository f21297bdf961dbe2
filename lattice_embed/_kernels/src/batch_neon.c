/* Batch f32 kernels for NEON: 3 x 4 register tiles, four lanes along d, the tail loaded through a
 * zero-padded copy (NEON has no masked load). */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_AARCH64)
#include "le/common.h"
#include "le/isa_neon.h"
#include "le/tile.h"

LE_ALWAYS_INLINE float32x4_t le_tail_load_neon_(const float *p, size_t rem) {
    float lanes[4] = {0, 0, 0, 0};
    memcpy(lanes, p, rem * sizeof(float));
    return vld1q_f32(lanes);
}

#define LE_FMA_NEON(a, b, c) vfmaq_f32((c), (a), (b))

/* sums[j] = the sum of the lanes of acc[j], j < 4: a pairwise-add tree */
LE_ALWAYS_INLINE void le_reduce_row4_neon_(const float32x4_t *acc, float *sums) {
    vst1q_f32(sums, vpaddq_f32(vpaddq_f32(acc[0], acc[1]), vpaddq_f32(acc[2], acc[3])));
}

LE_DEFINE_TILE(neon, float32x4_t, le_step_f32x4_fn, 4, 3, 4, vld1q_f32, le_tail_load_neon_,
               LE_FMA_NEON, vdupq_n_f32(0.0f), le_reduce_row4_neon_)
LE_DEFINE_BLOCKS(neon, le_step_f32x4_fn, 3, 4, le_step_dot_neon_, le_step_l2sq_neon_,
                 le_step_l1_neon_)

const le_kernel_table_t le_batch_neon = LE_BATCH_TABLE(neon);

#endif /* LE_ARCH_AARCH64 */
