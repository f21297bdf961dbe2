/* What the search driver (search.c) needs from a kind of stored matrix: a "source" scores blocks
 * of queries against blocks of rows; the driver does the rest (threads, blocking, top-k, output).
 * Internal to the extension. */
#ifndef LE_SOURCE_H
#define LE_SOURCE_H

#include <stddef.h>

typedef struct le_source le_source_t;

struct le_source {
    size_t m, n;            /* queries and rows */
    int distance;           /* smaller scores are better */
    size_t block_rows;      /* rows scored at a time: a multiple of row_align */
    size_t row_align;       /* a task's rows start at a multiple of this */
    size_t queries_at_once; /* queries a task prepares at a time (begin_queries) */
    /* Per-task state (NULL when out of memory), and its end. */
    void *(*task_begin)(const le_source_t *src);
    void (*task_end)(void *state);
    /* Optional: queries [s0, s0 + count) / rows [r0, r0 + count) are next. */
    void (*begin_queries)(void *state, size_t s0, size_t count);
    void (*begin_rows)(void *state, size_t r0, size_t count);
    /* scores[i * nb + j] = the score of query qi + i against row r0 + j (i < mb, j < nb).
       `first` marks the first query block scored against these rows. */
    void (*score)(void *state, size_t qi, size_t mb, size_t r0, size_t nb, float *scores, int first);
};

/* search.c: run a source. Each returns 0, or -1 when memory runs out. */
int le_similarity_source(const le_source_t *src, float *out, size_t threads);
int le_top_k_source(const le_source_t *src, size_t k, int64_t *idx, float *scores, size_t threads);

#endif /* LE_SOURCE_H */
