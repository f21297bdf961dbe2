/* float32 matrices as a search source: register tiles over aligned copies, the pair kernels for a
 * lone query, cosine from norms summed in the same pass. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "le/kernels.h"
#include "le/search.h"
#include "le/source.h"

#define LE_L2_BUDGET_BYTES (256u * 1024u)

size_t le_search_block_rows(size_t d) {
    size_t rows = LE_L2_BUDGET_BYTES / (d ? d * sizeof(float) : sizeof(float));
    rows = rows < 16 ? 16 : rows > 1024 ? 1024 : rows;
    return rows / 16 * 16;
}

/* A lone query keeps nothing in cache but itself and its block of scores: its blocks are longer,
   so each of the LE_STREAMS streams (le/common.h) runs on for a quarter of a block before the
   walk moves on. */
#define LE_ONE_QUERY_BLOCK_BYTES (1u << 20)
#define LE_ONE_QUERY_BLOCK_MAX_ROWS 4096

static size_t le_one_query_block_rows_(size_t d) {
    size_t rows = LE_ONE_QUERY_BLOCK_BYTES / (d ? d * sizeof(float) : sizeof(float));
    rows = rows < 16 ? 16 : rows > LE_ONE_QUERY_BLOCK_MAX_ROWS ? LE_ONE_QUERY_BLOCK_MAX_ROWS : rows;
    return rows / 16 * 16;
}

/* Register tiles read whole vectors from every row: rows starting on a cache line never split a
   load across two lines. Inputs (numpy's included) rarely start there, so the tiled path reads
   its operands from aligned copies whose rows are padded to a multiple of 16 floats. */
#define LE_CACHE_LINE 64
#define LE_QUERY_COPY_BYTES (4u << 20) /* queries copied at a time, per thread */

typedef struct {
    le_source_t base;
    const float *q, *x;
    size_t d;
    le_metric_t metric;
    int copy_q, copy_x;  /* read the tiles' operands from aligned copies */
    size_t ldq, ldx;     /* row strides of what the tiles read */
    const float *q_norm2, *q_inv; /* cosine */
} le_f32_source_t;

typedef struct {
    const le_f32_source_t *src;
    const float *qs, *xb; /* the current queries (from s0) and rows (from r0) as the tiles read them */
    size_t s0;
    float *q_copy, *x_copy, *x_norm2, *x_inv;
} le_f32_state_t;

static size_t le_padded_(size_t d) { return (d + 15) / 16 * 16; }

static int le_rows_aligned_(const float *rows, size_t d) {
    return d == 0 || ((uintptr_t)rows % LE_CACHE_LINE == 0 && d % 16 == 0);
}

static void le_copy_rows_(float *dst, size_t ld, const float *src, size_t rows, size_t d) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(dst + r * ld, src + r * d, d * sizeof(float));
        memset(dst + r * ld + d, 0, (ld - d) * sizeof(float));
    }
}

static float le_inverse_sqrt_(float norm2) { return norm2 == 0.0f ? 0.0f : (float)(1.0 / sqrt((double)norm2)); }

static void le_f32_task_end_(void *state) {
    le_f32_state_t *st = state;
    free(st->q_copy), free(st->x_copy), free(st->x_norm2), free(st);
}

static void *le_f32_task_begin_(const le_source_t *base) {
    const le_f32_source_t *src = (const le_f32_source_t *)base;
    le_f32_state_t *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->src = src;
    const size_t rows = base->block_rows;
    int ok = 1;
    if (src->copy_q)
        ok &= (st->q_copy = aligned_alloc(LE_CACHE_LINE, (base->queries_at_once + 1) * src->ldq * sizeof(float))) != NULL;
    if (src->copy_x) ok &= (st->x_copy = aligned_alloc(LE_CACHE_LINE, rows * src->ldx * sizeof(float))) != NULL;
    if (src->metric == LE_METRIC_COSINE) {
        ok &= (st->x_norm2 = malloc(2 * rows * sizeof(float))) != NULL;
        st->x_inv = st->x_norm2 ? st->x_norm2 + rows : NULL;
    }
    if (!ok) {
        le_f32_task_end_(st);
        return NULL;
    }
    return st;
}

static void le_f32_begin_queries_(void *state, size_t s0, size_t count) {
    le_f32_state_t *st = state;
    const le_f32_source_t *src = st->src;
    st->s0 = s0;
    st->qs = src->q + s0 * src->d;
    if (src->copy_q) le_copy_rows_(st->q_copy, src->ldq, st->qs, count, src->d), st->qs = st->q_copy;
}

static void le_f32_begin_rows_(void *state, size_t r0, size_t count) {
    le_f32_state_t *st = state;
    const le_f32_source_t *src = st->src;
    st->xb = src->x + r0 * src->d;
    if (src->copy_x) le_copy_rows_(st->x_copy, src->ldx, st->xb, count, src->d), st->xb = st->x_copy;
}

/* Dot products to cosines, in place: a row or a query of norm 0 scores 0. Branch-free loops over
   restrict pointers, so that they vectorize: a lone query's rows cost little more than dot's. */
static void le_cosine_scores_(float *restrict scores, size_t mb, size_t nb, const float *restrict x_norm2,
                              float *restrict x_inv, const float *q_norm2, const float *q_inv, int first) {
    if (first)
        for (size_t j = 0; j < nb; j++) x_inv[j] = 1.0f / sqrtf(x_norm2[j]); /* inf at 0: masked below */
    for (size_t i = 0; i < mb; i++) {
        float *restrict row = scores + i * nb;
        if (q_norm2[i] == 0.0f) {
            memset(row, 0, nb * sizeof(float));
            continue;
        }
        const float scale = q_inv[i];
        for (size_t j = 0; j < nb; j++) {
            const float cosine = row[j] * scale * x_inv[j];
            row[j] = x_norm2[j] == 0.0f ? 0.0f : cosine;
        }
    }
}

static void le_f32_score_(void *state, size_t qi, size_t mb, size_t r0, size_t nb, float *scores, int first) {
    (void)r0;
    le_f32_state_t *st = state;
    const le_f32_source_t *src = st->src;
    const float *q = st->qs + (qi - st->s0) * src->ldq;
    const size_t d = src->d;
    const int cosine = src->metric == LE_METRIC_COSINE;
    switch (src->metric) {
    case LE_METRIC_DOT:
    case LE_METRIC_COSINE:
        le_dot_block_f32(q, src->ldq, mb, st->xb, src->ldx, nb, d, scores, nb,
                         cosine && first ? st->x_norm2 : NULL);
        break;
    case LE_METRIC_L2SQ:
    case LE_METRIC_L2: le_l2sq_block_f32(q, src->ldq, mb, st->xb, src->ldx, nb, d, scores, nb); break;
    default: le_l1_block_f32(q, src->ldq, mb, st->xb, src->ldx, nb, d, scores, nb); break;
    }
    if (cosine) le_cosine_scores_(scores, mb, nb, st->x_norm2, st->x_inv, src->q_norm2 + qi, src->q_inv + qi, first); else if (src->metric == LE_METRIC_L2) {
        for (size_t t = 0; t < mb * nb; t++) scores[t] = sqrtf(scores[t]);
    }
}

/* The source for one call, and (cosine) the queries' norms it points to. */
static int le_f32_source_init_(le_f32_source_t *src, float **norms, const float *q, size_t m,
                               const float *x, size_t n, size_t d, le_metric_t metric) {
    const int tiled = m > 1; /* a lone query streams the rows in place through the pair kernels */
    *src = (le_f32_source_t){
        .base = {.m = m, .n = n, .distance = metric >= LE_METRIC_L2SQ, .block_rows = tiled ? le_search_block_rows(d) : le_one_query_block_rows_(d),
                 .row_align = 1, .task_begin = le_f32_task_begin_, .task_end = le_f32_task_end_,
                 .begin_queries = le_f32_begin_queries_, .begin_rows = le_f32_begin_rows_,
                 .score = le_f32_score_},
        .q = q, .x = x, .d = d, .metric = metric,
        .copy_q = tiled && !le_rows_aligned_(q, d),
        .copy_x = tiled && !le_rows_aligned_(x, d),
    };
    src->ldq = src->copy_q ? le_padded_(d) : d;
    src->ldx = src->copy_x ? le_padded_(d) : d;
    size_t fit = LE_QUERY_COPY_BYTES / (src->ldq ? src->ldq * sizeof(float) : sizeof(float));
    src->base.queries_at_once = src->copy_q ? (fit < LE_SEARCH_BLOCK_QUERIES ? LE_SEARCH_BLOCK_QUERIES : fit) : (m ? m : 1);
    *norms = NULL;
    if (metric != LE_METRIC_COSINE) return 0;
    if (!(*norms = malloc(2 * (m ? m : 1) * sizeof(float)))) return -1;
    for (size_t i = 0; i < m; i++) {
        (*norms)[i] = le_dot_f32(q + i * d, q + i * d, d);
        (*norms)[m + i] = le_inverse_sqrt_((*norms)[i]);
    }
    src->q_norm2 = *norms, src->q_inv = *norms + m;
    return 0;
}

int le_similarity_f32(const float *q, size_t m, const float *x, size_t n, size_t d, le_metric_t metric,
                      float *out, size_t threads) {
    le_f32_source_t src;
    float *norms;
    if (le_f32_source_init_(&src, &norms, q, m, x, n, d, metric) != 0) return -1;
    int status = le_similarity_source(&src.base, out, threads);
    free(norms);
    return status;
}

int le_top_k_f32(const float *q, size_t m, const float *x, size_t n, size_t d, le_metric_t metric,
                 size_t k, int64_t *idx, float *scores, size_t threads) {
    le_f32_source_t src;
    float *norms;
    if (le_f32_source_init_(&src, &norms, q, m, x, n, d, metric) != 0) return -1;
    int status = le_top_k_source(&src.base, k, idx, scores, threads);
    free(norms);
    return status;
}
