/* Batch f32 kernels, portable C: the same 3 x 4 tiles over plain numbers (one accumulator per
 * pair), the reference the vector tiers are checked against. Like the scalar pair kernels, the
 * sums are in double: a lone float32 accumulator per pair added d terms and, from a few hundred
 * dimensions, could exceed tests/oracle.py's tolerance. */
#include "le/common.h"
#include "le/kernels.h"
#include "le/tile.h"

typedef double (*le_step_f64_scalar_fn)(double acc, double a, double b);

LE_ALWAYS_INLINE double le_step_dot_scalar_(double acc, double a, double b) { return acc + a * b; }
LE_ALWAYS_INLINE double le_step_l2sq_scalar_(double acc, double a, double b) {
    return acc + (a - b) * (a - b);
}
LE_ALWAYS_INLINE double le_step_l1_scalar_(double acc, double a, double b) {
    return acc + fabs(a - b);
}

#define LE_LOAD_SCALAR(p) ((double)*(p))
#define LE_TAIL_LOAD_SCALAR(p, rem) ((double)*(p)) /* one lane: there is never a tail */
#define LE_FMA_SCALAR(a, b, c) ((a) * (b) + (c))
LE_ALWAYS_INLINE void le_reduce_row4_scalar_(const double *acc, float *sums) {
    for (int j = 0; j < 4; j++) sums[j] = (float)acc[j];
}

LE_DEFINE_TILE(scalar, double, le_step_f64_scalar_fn, 1, 3, 4, LE_LOAD_SCALAR, LE_TAIL_LOAD_SCALAR,
               LE_FMA_SCALAR, 0.0, le_reduce_row4_scalar_)
LE_DEFINE_BLOCKS(scalar, le_step_f64_scalar_fn, 3, 4, le_step_dot_scalar_, le_step_l2sq_scalar_,
                 le_step_l1_scalar_)

const le_kernel_table_t le_batch_scalar = LE_BATCH_TABLE(scalar);
