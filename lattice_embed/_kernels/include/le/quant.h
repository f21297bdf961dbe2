/* Shared pieces of the quant family (int8, int4, binary, bf16). */
#ifndef LE_QUANT_H
#define LE_QUANT_H

#include <stdint.h>
#include <string.h>

#include "le/common.h"

/* bf16 is the high half of an f32: widening is a shift, exact. */
static inline float le_bf16_to_f32_(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, sizeof value);
    return value;
}

/* One query against many rows walks LE_STREAMS rows (int8: panels) at once: le/common.h. */

/* One query against n rows through an ISA's pair kernel (memory-bound: the query stays in L1 and
   the rows stream past once, in order). */
#define LE_DEFINE_QUANT_ROWS(isa)                                                                    \
    static void le_dot_u4_rows_##isa(const uint8_t *q, const uint8_t *x, size_t ldx, size_t n,       \
                                     size_t nbytes, int32_t *out) {                                  \
        for (size_t j = 0; j < n; j++) out[j] = (int32_t)le_dot_u4_##isa(q, x + j * ldx, nbytes);   \
    }                                                                                                \
    static void le_hamming_b1_rows_##isa(const uint8_t *q, const uint8_t *x, size_t ldx, size_t n,   \
                                         size_t nbytes, uint32_t *out) {                             \
        for (size_t j = 0; j < n; j++)                                                               \
            out[j] = (uint32_t)le_hamming_b1_##isa(q, x + j * ldx, nbytes);                          \
    }

/* bf16 rows through an ISA's tile le_dot_bf16_tile_<isa>_(q, x, spread, NR, d, out, out_spread):
   NR rows `spread` elements apart, scores `out_spread` apart, each row summed exactly as a lone
   row is (so a score does not depend on the rows it was grouped with, nor on the thread count). */
#define LE_DEFINE_BF16_ROWS_STREAMED(isa)                                                            \
    static float le_dot_bf16_##isa(const uint16_t *a, const uint16_t *b, size_t n) {                 \
        float out;                                                                                   \
        le_dot_bf16_tile_##isa##_(a, b, 0, 1, n, &out, 0);                                           \
        return out;                                                                                  \
    }                                                                                                \
    static void le_dot_bf16_rows_##isa(const uint16_t *q, const uint16_t *x, size_t ldx, size_t n,   \
                                       size_t d, float *out) {                                       \
        const size_t spread = n / LE_STREAMS;                                                        \
        for (size_t j = 0; j < spread; j++)                                                          \
            le_dot_bf16_tile_##isa##_(q, x + j * ldx, spread * ldx, LE_STREAMS, d, out + j, spread); \
        for (size_t j = spread * LE_STREAMS; j < n; j++)                                             \
            le_dot_bf16_tile_##isa##_(q, x + j * ldx, 0, 1, d, out + j, 0);                          \
    }

#define LE_DEFINE_BF16_ROWS(isa)                                                                     \
    static void le_dot_bf16_rows_##isa(const uint16_t *q, const uint16_t *x, size_t ldx, size_t n,   \
                                       size_t d, float *out) {                                       \
        for (size_t j = 0; j < n; j++) out[j] = le_dot_bf16_##isa(q, x + j * ldx, d);                \
    }

/* Many bf16 queries as one query after another (the scalar tier: the reference, not a tile). */
#define LE_DEFINE_BF16_BLOCK_BY_ROWS(isa)                                                            \
    static void le_dot_bf16_block_##isa(const uint16_t *q, size_t ldq, size_t m, const uint16_t *x, \
                                        size_t ldx, size_t n, size_t d, float *out, size_t ldo) {    \
        for (size_t i = 0; i < m; i++)                                                               \
            le_dot_bf16_rows_##isa(q + i * ldq, x, ldx, n, d, out + i * ldo);                        \
    }

#endif /* LE_QUANT_H */
