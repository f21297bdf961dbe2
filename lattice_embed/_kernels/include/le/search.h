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
} le_metric_t;

/* Rows of the matrix per block (a block stays in L2 while every query tile passes over it) and
   query rows per block (their scores stay in L1/L2 for the epilogue and top-k). */
size_t le_search_block_rows(size_t d);
#define LE_SEARCH_BLOCK_QUERIES 60 /* a multiple of every tile height (3) */

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

/* Run task(ctx, t) for t in [0, tasks): t = 0 on the calling thread, the others on new threads
   (or on the caller, one after another, if a thread cannot be started). */
void le_parallel_run(void (*task)(void *ctx, size_t t), void *ctx, size_t tasks);

#ifdef __cplusplus
}
#endif
#endif /* LE_SEARCH_H */
