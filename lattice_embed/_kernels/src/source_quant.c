/* Quantized matrices (int8, int4, binary, bf16) as search sources: the quant kernels give raw
 * integer sums (or bf16 dots), and per-query and per-row factors turn them into the original
 * crate's scores. Factors are computed once (queries) or once per row block (rows), so a score
 * costs a conversion and two multiplications on top of its kernel. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "le/kernels.h"
#include "le/search.h"
#include "le/source.h"

#define LE_QUANT_BLOCK_BYTES (256u * 1024u) /* matrix bytes scored at a time */

typedef struct {
    le_source_t base;
    le_store_t store;
    le_metric_t metric;
    le_quant_rows_t q, x;
    size_t dims, row_bytes;
    double *q_factor; /* per query: the query's share of the scale (and norm) division */
} le_quant_source_t;

typedef struct {
    const le_quant_source_t *src;
    int32_t *raw;     /* integer sums of a block */
    double *x_factor; /* per row of the block: the row's share */
} le_quant_state_t;

/* Factors and scores are in double: a scale of a tiny vector (127 / 1e-30) times another's
   overflows float32, and a tiny norm's reciprocal does too; in double every product here is
   in range, and cosine factors (1 / (scale norm), between 1 / (127 sqrt(d)) and 1 / 127 for
   int8) are well scaled whatever the vectors' magnitudes. */

/* 1 / (scale norm) of a query or row, the parts it has: 0 when that divisor is 0 or not finite
   (a zero vector: a 0 cosine). */
static double le_factor_(const float *scale, const float *norm, size_t r) {
    double divisor = (scale ? (double)scale[r] : 1.0) * (norm ? (double)norm[r] : 1.0);
    return divisor != 0.0 && isfinite(divisor) ? 1.0 / divisor : 0.0;
}

static void le_quant_task_end_(void *state) {
    le_quant_state_t *st = state;
    free(st->raw), free(st->x_factor), free(st);
}

static void *le_quant_task_begin_(const le_source_t *base) {
    le_quant_state_t *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->src = (const le_quant_source_t *)base;
    st->raw = malloc((LE_SEARCH_BLOCK_QUERIES + 1) * base->block_rows * sizeof(int32_t));
    st->x_factor = malloc(base->block_rows * sizeof(double));
    if (!st->raw || !st->x_factor) {
        le_quant_task_end_(st);
        return NULL;
    }
    return st;
}

static void le_quant_begin_rows_(void *state, size_t r0, size_t count) {
    le_quant_state_t *st = state;
    const le_quant_source_t *src = st->src;
    const float *scale = src->store == LE_STORE_I8 ? src->x.scale + r0 : NULL;
    const float *norm = src->metric == LE_METRIC_COSINE && src->store != LE_STORE_B1 ? src->x.norm + r0 : NULL;
    for (size_t j = 0; j < count; j++) st->x_factor[j] = le_factor_(scale, norm, j);
}

/* The int4 dot of the original: raw / (sa sb) - mb sum_a / sa - ma sum_b / sb + dims ma mb, where
   x = q / s - max_abs undoes the offset of each value. */
static double le_u4_dot_(const le_quant_source_t *src, int32_t raw, size_t i, size_t j) {
    const le_quant_rows_t *a = &src->q, *b = &src->x;
    double sa = a->scale[i], sb = b->scale[j], ma = a->max_abs[i], mb = b->max_abs[j];
    return raw / (sa * sb) - mb * a->sums[i] / sa - ma * b->sums[j] / sb +
           (double)src->dims * ma * mb;
}

static void le_quant_score_(void *state, size_t qi, size_t mb, size_t r0, size_t nb, float *scores, int first) {
    (void)first;
    le_quant_state_t *st = state;
    const le_quant_source_t *src = st->src;
    const uint8_t *q = (const uint8_t *)src->q.data + qi * src->q.stride;
    const uint8_t *x = (const uint8_t *)src->x.data;
    switch (src->store) {
    case LE_STORE_I8: {
        const size_t dp = src->x.stride, panels = (nb + LE_I8_PANEL_ROWS - 1) / LE_I8_PANEL_ROWS;
        const size_t ldo = panels * LE_I8_PANEL_ROWS;
        le_dot_i8_panels((const int8_t *)q, src->q.stride, mb, (const int8_t *)(x + r0 * dp), panels, dp,
                         src->x.sums + r0, st->raw, ldo);
        for (size_t i = 0; i < mb; i++) {
            const double fq = src->q_factor[qi + i];
            for (size_t j = 0; j < nb; j++)
                scores[i * nb + j] = (float)((double)st->raw[i * ldo + j] * fq * st->x_factor[j]);
        }
        break;
    }
    case LE_STORE_U4:
        for (size_t i = 0; i < mb; i++) {
            le_dot_u4_rows(q + i * src->q.stride, x + r0 * src->x.stride, src->x.stride, nb, src->row_bytes, st->raw);
            const double fq = src->q_factor[qi + i];
            for (size_t j = 0; j < nb; j++) {
                const double dot = le_u4_dot_(src, st->raw[j], qi + i, r0 + j);
                scores[i * nb + j] = (float)(dot * fq * st->x_factor[j]);
            }
        }
        break;
    case LE_STORE_B1: {
        const float per_bit = src->dims ? 2.0f / (float)src->dims : 0.0f;
        for (size_t i = 0; i < mb; i++) {
            le_hamming_b1_rows(q + i * src->q.stride, x + r0 * src->x.stride, src->x.stride, nb, src->row_bytes,
                               (uint32_t *)st->raw);
            const uint32_t *h = (const uint32_t *)st->raw;
            for (size_t j = 0; j < nb; j++)
                scores[i * nb + j] = src->metric == LE_METRIC_HAMMING ? (float)h[j] : 1.0f - (float)h[j] * per_bit;
        }
        break;
    }
    case LE_STORE_BF16: /* each dot is the pair kernel's, whatever the query block (see kernels.h) */
        le_dot_bf16_block((const uint16_t *)q, src->q.stride / sizeof(uint16_t), mb,
                          (const uint16_t *)(x + r0 * src->x.stride), src->x.stride / sizeof(uint16_t), nb,
                          src->dims, scores, nb);
        if (src->metric == LE_METRIC_COSINE)
            for (size_t i = 0; i < mb; i++) {
                float *row = scores + i * nb;
                const double fq = src->q_factor[qi + i];
                for (size_t j = 0; j < nb; j++) row[j] = (float)((double)row[j] * fq * st->x_factor[j]);
            }
        break;
    }
}

static size_t le_row_bytes_(le_store_t store, size_t dims) {
    switch (store) {
    case LE_STORE_I8: return (dims + 3) / 4 * 4;
    case LE_STORE_U4: return (dims + 1) / 2;
    case LE_STORE_B1: return (dims + 7) / 8;
    default: return dims * sizeof(uint16_t);
    }
}

static int le_quant_source_init_(le_quant_source_t *src, le_store_t store, const le_quant_rows_t *queries,
                                 size_t m, const le_quant_rows_t *matrix, size_t n, size_t dims,
                                 le_metric_t metric) {
    const size_t row_bytes = le_row_bytes_(store, dims);
    size_t block_rows = LE_QUANT_BLOCK_BYTES / (row_bytes ? row_bytes : 1);
    block_rows = block_rows < 16 ? 16 : block_rows > 1024 ? 1024 : block_rows / 16 * 16;
    *src = (le_quant_source_t){
        .base = {.m = m, .n = n, .distance = metric == LE_METRIC_HAMMING, .block_rows = block_rows,
                 .row_align = store == LE_STORE_I8 ? LE_I8_PANEL_ROWS : 1, .queries_at_once = m ? m : 1,
                 .task_begin = le_quant_task_begin_, .task_end = le_quant_task_end_,
                 .begin_rows = le_quant_begin_rows_, .score = le_quant_score_},
        .store = store, .metric = metric, .q = *queries, .x = *matrix, .dims = dims, .row_bytes = row_bytes,
    };
    if (!(src->q_factor = malloc((m ? m : 1) * sizeof(double)))) return -1;
    const float *scale = store == LE_STORE_I8 ? src->q.scale : NULL;
    const float *norm = metric == LE_METRIC_COSINE && store != LE_STORE_B1 ? src->q.norm : NULL;
    for (size_t i = 0; i < m; i++) src->q_factor[i] = le_factor_(scale, norm, i);
    return 0;
}

int le_similarity_quant(le_store_t store, const le_quant_rows_t *queries, size_t m,
                        const le_quant_rows_t *matrix, size_t n, size_t dims, le_metric_t metric,
                        float *out, size_t threads) {
    le_quant_source_t src;
    if (le_quant_source_init_(&src, store, queries, m, matrix, n, dims, metric) != 0) return -1;
    int status = le_similarity_source(&src.base, out, threads);
    free(src.q_factor);
    return status;
}

int le_top_k_quant(le_store_t store, const le_quant_rows_t *queries, size_t m,
                   const le_quant_rows_t *matrix, size_t n, size_t dims, le_metric_t metric, size_t k,
                   int64_t *idx, float *scores, size_t threads) {
    le_quant_source_t src;
    if (le_quant_source_init_(&src, store, queries, m, matrix, n, dims, metric) != 0) return -1;
    int status = le_top_k_source(&src.base, k, idx, scores, threads);
    free(src.q_factor);
    return status;
}
