/* Query x matrix similarity and top-k: blocking, threads and epilogues over the batch kernels.
 * Nothing here is ISA-specific: the inner loops are the dispatched le_*_block_f32 kernels. */
#ifndef LE_SEARCH_H
#define LE_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum le_metric {
    LE_METRIC_DOT = 0,    /* similarity: larger is better */
    LE_METRIC_COSINE = 1, /* similarity; 0 when either vector is all zeros */
    LE_METRIC_L2SQ = 2,   /* distance: smaller is better */
    LE_METRIC_L2 = 3,     /* distance */
    LE_METRIC_L1 = 4,     /* distance */
    LE_METRIC_HAMMING = 5, /* distance: differing bits (binary storage only) */
} le_metric_t;

/* Rows of the matrix per block (a block stays in L2 while every query tile passes over it) and
   query rows per block (their scores stay in L1/L2 for the epilogue and top-k). */
size_t le_search_block_rows(size_t d);
#define LE_SEARCH_BLOCK_QUERIES 60 /* a multiple of every tile height (3 and 6) */

/* out[i * n + j] = metric(q_i, x_j) for m queries and n rows of d floats. Work is split over
   `threads` threads (>= 1); every score is computed the same way whatever the split.
   Returns 0, or -1 when memory for the scratch buffers cannot be allocated. */
int le_similarity_f32(const float *q, size_t m, const float *x, size_t n, size_t d, le_metric_t metric,
                      float *out, size_t threads);

/* For each query, the k best rows (1 <= k <= n), best first: indices in idx[i * k + r], scores in
   scores[i * k + r]. Best = largest similarity or smallest distance; ties go to the lower index;
   NaN ranks below every number. Extra memory: per thread one block of scores and, when the rows
   are split between threads, k (index, score) pairs per query. Returns 0, or -1 (no memory). */
int le_top_k_f32(const float *q, size_t m, const float *x, size_t n, size_t d, le_metric_t metric,
                 size_t k, int64_t *idx, float *scores, size_t threads);

/* ---- quantized storage ---------------------------------------------------------------------- */

typedef enum le_store {
    LE_STORE_I8 = 1,   /* int8 with a per-row scale; matrices in the LE_I8_PANEL layout (kernels.h),
                          queries as plain rows, both zero-padded to dp = ceil(dims / 4) * 4 bytes */
    LE_STORE_U4 = 2,   /* 4-bit values offset by max_abs, two to a byte, even index in the high nibble */
    LE_STORE_B1 = 3,   /* one bit per dimension, most significant bit first, padding bits zero */
    LE_STORE_BF16 = 4, /* bfloat16 (the high half of an f32) */
} le_store_t;

/* Rows of one store and their per-row parameters (NULL where the store has none). */
typedef struct le_quant_rows {
    const void *data;
    size_t stride;        /* bytes from one row to the next (i8 matrices: dp, the padded row length) */
    const float *scale;   /* i8: 127 / max|x|; u4: 15 / (2 max|x|) */
    const float *max_abs; /* u4 */
    const float *norm;    /* i8, u4: L2 norm of the finite source values; bf16: of the bf16 values */
    const int32_t *sums;  /* i8 matrices: byte sums, to whole panels; u4: nibble sums */
} le_quant_rows_t;

/* As le_similarity_f32 / le_top_k_f32 over stored matrices. Metrics: dot and cosine (i8, u4, bf16),
   cosine (1 - 2h/dims) and hamming (b1). Scores use the original crate's formulas: i8 dot =
   raw / (scale_q scale_x); u4 dot is corrected for the offset; cosine = dot / (norm_q norm_x),
   0 when a norm is 0 or not finite. */
int le_similarity_quant(le_store_t store, const le_quant_rows_t *queries, size_t m,
                        const le_quant_rows_t *matrix, size_t n, size_t dims, le_metric_t metric,
                        float *out, size_t threads);
int le_top_k_quant(le_store_t store, const le_quant_rows_t *queries, size_t m,
                   const le_quant_rows_t *matrix, size_t n, size_t dims, le_metric_t metric, size_t k,
                   int64_t *idx, float *scores, size_t threads);

/* A row whose largest finite |value| is below this is stored as the zero vector (int8, int4:
   values, norm and, for int4, max_abs 0; bf16: norm 0), so its cosine is 0: to float32 it is
   zero (every square underflows), and the float32 path scores it 0 too. Above it, scales are
   127 / max|x| and 15 / (2 max|x|) however small max|x| is, so cosine does not depend on a
   vector's scale. (The original crate used scale 1 below max|x| = 1e-10, quantizing such a
   vector to zeros while keeping its norm and offset: int4 cosines then came out wrong.) */
#define LE_QUANT_TINY 1e-30f

/* quantize.c: n float32 rows of d values into a stored tier, rows of the output ldo elements apart,
   with each row's parameters (see le_quant_rows_t). The same code on every CPU tier. */
void le_quantize_i8_rows(const float *x, size_t n, size_t d, int8_t *out, size_t ldo, float *scale,
                         float *norm, int32_t *sums);
void le_quantize_u4_rows(const float *x, size_t n, size_t d, uint8_t *out, size_t ldo, float *scale,
                         float *max_abs, float *norm, int32_t *sums);
void le_quantize_b1_rows(const float *x, size_t n, size_t d, uint8_t *out, size_t ldo, float threshold);
void le_quantize_bf16_rows(const float *x, size_t n, size_t d, uint16_t *out, size_t ldo, float *norm);

/* Run task(ctx, t) for t in [0, tasks): t = 0 on the calling thread, the others on new threads
   (or on the caller, one after another, if a thread cannot be started). */
void le_parallel_run(void (*task)(void *ctx, size_t t), void *ctx, size_t tasks);

#ifdef __cplusplus
}
#endif
#endif /* LE_SEARCH_H */
