/* Batch f32 kernels, portable C: the same 3 x 4 tiles over plain floats (one accumulator per pair),
 * the reference the vector tiers are checked against. */
#include "le/common.h"
#include "le/kernels.h"
#include "le/tile.h"

typedef float (*le_step_f32_scalar_fn)(float acc, float a, float b);

LE_ALWAYS_INLINE float le_step_dot_scalar_(float acc, float a, float b) { return acc + a * b; }
LE_ALWAYS_INLINE float le_step_l2sq_scalar_(float acc, float a, float b) {
    return acc + (a - b) * (a - b);
}
LE_ALWAYS_INLINE float le_step_l1_scalar_(float acc, float a, float b) { return acc + fabsf(a - b); }

#define LE_LOAD_SCALAR(p) (*(p))
#define LE_TAIL_LOAD_SCALAR(p, rem) (*(p)) /* one lane: there is never a tail */
#define LE_FMA_SCALAR(a, b, c) ((a) * (b) + (c))
LE_ALWAYS_INLINE void le_reduce_row4_scalar_(const float *acc, float *sums) {
    memcpy(sums, acc, 4 * sizeof(float));
}

LE_DEFINE_TILE(scalar, float, le_step_f32_scalar_fn, 1, 3, 4, LE_LOAD_SCALAR, LE_TAIL_LOAD_SCALAR,
               LE_FMA_SCALAR, 0.0f, le_reduce_row4_scalar_)
LE_DEFINE_BLOCKS(scalar, le_step_f32_scalar_fn, 3, 4, le_step_dot_scalar_, le_step_l2sq_scalar_,
                 le_step_l1_scalar_)

const le_kernel_table_t le_batch_scalar = LE_BATCH_TABLE(scalar);
