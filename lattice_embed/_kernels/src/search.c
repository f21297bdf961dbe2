/* Query x matrix similarity and top-k over the dispatched batch kernels.
 *
 * Blocking: the matrix is walked in blocks of rows that fit in L2; every block of queries passes
 * over a block before the next is read, so each matrix row comes from memory once per call (per
 * thread that needs it). For cosine, the first query block of a row block also sums the rows'
 * squared norms, in the same pass.
 *
 * Threads: a call is cut into one task per thread, by queries when there are plenty of them (each
 * thread then owns its queries' results outright) and by rows otherwise (each thread keeps its own
 * best k per query, merged at the end). A score is computed by the same instructions whatever the
 * cut, and top-k ranks by a total order, so results do not depend on the thread count.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "le/kernels.h"
#include "le/search.h"

#define LE_L2_BUDGET_BYTES (128u * 1024u)

size_t le_search_block_rows(size_t d) {
    size_t rows = LE_L2_BUDGET_BYTES / (d ? d * sizeof(float) : sizeof(float));
    rows = rows < 16 ? 16 : rows > 1024 ? 1024 : rows;
    return rows / 8 * 8;
}

/* ---- ranking: a total order on (key, index); larger keys are better, NaN is worst ---------- */

static inline int le_better_(float key_a, int64_t idx_a, float key_b, int64_t idx_b) {
    if (key_a > key_b) return 1;
    if (key_a < key_b) return 0;
    if (key_a == key_b) return idx_a < idx_b;
    if (isnan(key_a)) return isnan(key_b) && idx_a < idx_b; /* NaN never beats a number */
    return 1;                                               /* a number beats NaN */
}

/* A bounded min-heap of the best entries seen: the root is the worst of them. */
typedef struct {
    float *keys;
    int64_t *idx;
    size_t size, capacity;
} le_heap_t;

static void le_heap_sift_down_(le_heap_t *h, size_t at, size_t size) {
    for (;;) {
        size_t worst = at, left = 2 * at + 1, right = left + 1;
        if (left < size && le_better_(h->keys[worst], h->idx[worst], h->keys[left], h->idx[left]))
            worst = left;
        if (right < size && le_better_(h->keys[worst], h->idx[worst], h->keys[right], h->idx[right]))
            worst = right;
        if (worst == at) return;
        float key = h->keys[at];
        int64_t idx = h->idx[at];
        h->keys[at] = h->keys[worst], h->idx[at] = h->idx[worst];
        h->keys[worst] = key, h->idx[worst] = idx;
        at = worst;
    }
}

static void le_heap_push_(le_heap_t *h, float key, int64_t idx) {
    if (h->size < h->capacity) {
        size_t at = h->size++;
        while (at > 0) { /* sift up past better parents */
            size_t parent = (at - 1) / 2;
            if (!le_better_(h->keys[parent], h->idx[parent], key, idx)) break;
            h->keys[at] = h->keys[parent], h->idx[at] = h->idx[parent];
            at = parent;
        }
        h->keys[at] = key, h->idx[at] = idx;
    } else if (key >= h->keys[0] || key != key || h->keys[0] != h->keys[0]) { /* cheap reject */
        if (le_better_(key, idx, h->keys[0], h->idx[0])) {
            h->keys[0] = key, h->idx[0] = idx;
            le_heap_sift_down_(h, 0, h->size);
        }
    }
}

/* Push row[j] (negated for distances) as entry first_index + j. Once the heap is full, runs of
   scores that cannot enter are skipped with one vectorizable comparison each. */
static void le_heap_push_scores_(le_heap_t *h, const float *row, size_t count, size_t first_index,
                                 int negate) {
    size_t j = 0;
    while (j < count) {
        const float bar = h->keys[0]; /* the worst kept key */
        if (h->size < h->capacity || bar != bar) {
            le_heap_push_(h, negate ? -row[j] : row[j], (int64_t)(first_index + j));
            j++;
            continue;
        }
        size_t end = count - j < 16 ? count : j + 16;
        int any = 0;
        if (negate)
            for (size_t t = j; t < end; t++) any |= -row[t] >= bar;
        else
            for (size_t t = j; t < end; t++) any |= row[t] >= bar;
        for (; any && j < end; j++) le_heap_push_(h, negate ? -row[j] : row[j], (int64_t)(first_index + j));
        j = end;
    }
}

/* Heap sort in place: best first. */
static void le_heap_sort_(le_heap_t *h) {
    for (size_t end = h->size; end > 1; end--) {
        float key = h->keys[0];
        int64_t idx = h->idx[0];
        h->keys[0] = h->keys[end - 1], h->idx[0] = h->idx[end - 1];
        h->keys[end - 1] = key, h->idx[end - 1] = idx;
        le_heap_sift_down_(h, 0, end - 1);
    }
}

/* ---- one call ------------------------------------------------------------------------------ */

typedef struct {
    const float *q, *x;
    size_t m, n, d;
    le_metric_t metric;
    const float *q_norm2, *q_inv; /* cosine only */
    size_t tasks;
    int split_rows;
    float *out;     /* similarity: m x n scores */
    size_t k;       /* top-k: heaps of `k` entries, `m` per part (one part per task when */
    le_heap_t *heaps; /* the rows are split, else one part shared by query ranges) */
    int failed;
} le_search_job_t;

static int le_is_distance_(le_metric_t metric) { return metric >= LE_METRIC_L2SQ; }

/* Raw sums for a block: dot (and the rows' squared norms when asked), squared L2 or L1. */
static void le_score_block_(const le_search_job_t *job, const float *q, size_t ldq, size_t m,
                            const float *x, size_t ldx, size_t n, float *out, size_t ldo,
                            float *x_norm2) {
    const size_t d = job->d;
    switch (job->metric) {
    case LE_METRIC_DOT:
    case LE_METRIC_COSINE: le_dot_block_f32(q, ldq, m, x, ldx, n, d, out, ldo, x_norm2); break;
    case LE_METRIC_L2SQ:
    case LE_METRIC_L2: le_l2sq_block_f32(q, ldq, m, x, ldx, n, d, out, ldo); break;
    case LE_METRIC_L1: le_l1_block_f32(q, ldq, m, x, ldx, n, d, out, ldo); break;
    }
}

static float le_inverse_sqrt_(float norm2) { return norm2 == 0.0f ? 0.0f : (float)(1.0 / sqrt((double)norm2)); }

/* Register tiles read whole vectors from every row: rows starting on a cache line never split a
   load across two lines. Inputs (numpy's included) rarely start there, so the tiled path reads
   its operands from aligned copies whose rows are padded to a multiple of 16 floats. */
#define LE_CACHE_LINE 64
#define LE_QUERY_COPY_BYTES (4u << 20) /* queries copied at a time, per thread */

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

/* A span of `count` items cut into pieces of `piece`, where a remainder of one joins the last
   piece: a query block never holds a lone query unless the call has only one (a lone query takes
   the pair kernels, whose sums are ordered differently from a tile's). */
static size_t le_piece_(size_t at, size_t end, size_t piece) {
    size_t left = end - at;
    return left <= piece + 1 ? left : piece;
}

static void le_search_task_(void *ctx, size_t t) {
    le_search_job_t *job = ctx;
    const size_t d = job->d, n = job->n, block_rows = le_search_block_rows(d);
    const int cosine = job->metric == LE_METRIC_COSINE, top_k = job->out == NULL;
    size_t qa = 0, qb = job->m, ra = 0, rb = n;
    if (job->split_rows)
        ra = n * t / job->tasks, rb = n * (t + 1) / job->tasks;
    else
        qa = job->m * t / job->tasks, qb = job->m * (t + 1) / job->tasks;
    le_heap_t *heaps = job->heaps ? job->heaps + (job->split_rows ? t * job->m : 0) : NULL;

    /* one query streams the matrix in place; tiles read aligned copies unless the input is so */
    const int tiled = job->m > 1;
    const int copy_q = tiled && !le_rows_aligned_(job->q, d);
    const int copy_x = tiled && !le_rows_aligned_(job->x, d);
    const size_t ldq = copy_q ? le_padded_(d) : d, ldx = copy_x ? le_padded_(d) : d;
    size_t queries_at_once = qb - qa;
    if (copy_q) {
        size_t fit = LE_QUERY_COPY_BYTES / (ldq * sizeof(float));
        queries_at_once = fit < LE_SEARCH_BLOCK_QUERIES ? LE_SEARCH_BLOCK_QUERIES : fit;
    }
    const size_t query_block = LE_SEARCH_BLOCK_QUERIES;
    float *scratch = malloc((query_block + 1) * block_rows * sizeof(float));
    float *x_norm2 = cosine ? malloc(2 * block_rows * sizeof(float)) : NULL;
    float *q_copy = copy_q ? aligned_alloc(LE_CACHE_LINE, (queries_at_once + 1) * ldq * sizeof(float)) : NULL;
    float *x_copy = copy_x ? aligned_alloc(LE_CACHE_LINE, block_rows * ldx * sizeof(float)) : NULL;
    if (!scratch || (cosine && !x_norm2) || (copy_q && !q_copy) || (copy_x && !x_copy)) {
        job->failed = 1;
        goto done;
    }
    float *x_inv = cosine ? x_norm2 + block_rows : NULL;

    for (size_t s0 = qa, sn; s0 < qb; s0 += sn) {
        sn = le_piece_(s0, qb, queries_at_once);
        const float *qs = job->q + s0 * d;
        if (copy_q) le_copy_rows_(q_copy, ldq, qs, sn, d), qs = q_copy;

        for (size_t r0 = ra; r0 < rb; r0 += block_rows) {
            const size_t nb = rb - r0 < block_rows ? rb - r0 : block_rows;
            const float *xb = job->x + r0 * d;
            if (copy_x) le_copy_rows_(x_copy, ldx, xb, nb, d), xb = x_copy;
            for (size_t i0 = 0, mb; i0 < sn; i0 += mb) {
                mb = le_piece_(i0, sn, query_block);
                /* scores land in a block that stays in cache, then go out in whole rows */
                const size_t qi = s0 + i0; /* the first query's index in the call */
                const int first = i0 == 0;
                le_score_block_(job, qs + i0 * ldq, ldq, mb, xb, ldx, nb, scratch, nb,
                                cosine && first ? x_norm2 : NULL);
                if (cosine && first)
                    for (size_t j = 0; j < nb; j++) x_inv[j] = le_inverse_sqrt_(x_norm2[j]);

                for (size_t i = 0; i < mb; i++) {
                    float *row = scratch + i * nb;
                    if (cosine) {
                        const float qn2 = job->q_norm2[qi + i], qinv = job->q_inv[qi + i];
                        for (size_t j = 0; j < nb; j++)
                            row[j] = qn2 == 0.0f || x_norm2[j] == 0.0f ? 0.0f : row[j] * qinv * x_inv[j];
                    }
                    if (!top_k) {
                        if (job->metric == LE_METRIC_L2)
                            for (size_t j = 0; j < nb; j++) row[j] = sqrtf(row[j]);
                        memcpy(job->out + (qi + i) * n + r0, row, nb * sizeof(float));
                        continue;
                    }
                    /* rank distances by their negation (so larger is better); L2 by its square */
                    le_heap_push_scores_(&heaps[qi + i], row, nb, r0, le_is_distance_(job->metric));
                }
            }
        }
    }
done:
    free(scratch);
    free(x_norm2);
    free(q_copy);
    free(x_copy);
}

/* Tasks cut queries when each thread gets several query tiles' worth, else rows. */
static void le_plan_(le_search_job_t *job, size_t threads) {
    size_t tasks = threads ? threads : 1;
    job->split_rows = job->m < 4 * tasks;
    size_t units = job->split_rows ? job->n : job->m;
    job->tasks = tasks < units ? tasks : (units ? units : 1);
}

static int le_prepare_cosine_(le_search_job_t *job, float **buffer) {
    *buffer = NULL;
    if (job->metric != LE_METRIC_COSINE) return 0;
    float *norms = malloc(2 * (job->m ? job->m : 1) * sizeof(float));
    if (!norms) return -1;
    for (size_t i = 0; i < job->m; i++) {
        const float *qi = job->q + i * job->d;
        norms[i] = le_dot_f32(qi, qi, job->d);
        norms[job->m + i] = le_inverse_sqrt_(norms[i]);
    }
    job->q_norm2 = norms, job->q_inv = norms + job->m;
    *buffer = norms;
    return 0;
}

int le_similarity_f32(const float *q, size_t m, const float *x, size_t n, size_t d, le_metric_t metric,
                      float *out, size_t threads) {
    le_search_job_t job = {.q = q, .x = x, .m = m, .n = n, .d = d, .metric = metric, .out = out};
    float *norms;
    if (le_prepare_cosine_(&job, &norms) != 0) return -1;
    le_plan_(&job, threads);
    le_parallel_run(le_search_task_, &job, job.tasks);
    free(norms);
    return job.failed ? -1 : 0;
}

int le_top_k_f32(const float *q, size_t m, const float *x, size_t n, size_t d, le_metric_t metric,
                 size_t k, int64_t *idx, float *scores, size_t threads) {
    if (m == 0 || k == 0) return 0;
    le_search_job_t job = {.q = q, .x = x, .m = m, .n = n, .d = d, .metric = metric, .k = k};
    le_plan_(&job, threads);
    /* Part 0 keeps its heaps in the caller's output arrays; other parts (rows split) get their own. */
    size_t parts = job.split_rows ? job.tasks : 1;
    job.heaps = calloc(parts * m, sizeof(le_heap_t));
    float *extra_keys = parts > 1 ? malloc((parts - 1) * m * k * sizeof(float)) : NULL;
    int64_t *extra_idx = parts > 1 ? malloc((parts - 1) * m * k * sizeof(int64_t)) : NULL;
    float *norms = NULL;
    int status = -1;
    if (!job.heaps || (parts > 1 && (!extra_keys || !extra_idx)) || le_prepare_cosine_(&job, &norms))
        goto done;
    for (size_t p = 0; p < parts; p++)
        for (size_t i = 0; i < m; i++) {
            le_heap_t *h = &job.heaps[p * m + i];
            h->capacity = k;
            h->keys = p ? extra_keys + ((p - 1) * m + i) * k : scores + i * k;
            h->idx = p ? extra_idx + ((p - 1) * m + i) * k : idx + i * k;
        }

    le_parallel_run(le_search_task_, &job, job.tasks);
    if (job.failed) goto done;

    for (size_t i = 0; i < m; i++) {
        le_heap_t *best = &job.heaps[i];
        for (size_t p = 1; p < parts; p++) {
            const le_heap_t *part = &job.heaps[p * m + i];
            for (size_t e = 0; e < part->size; e++) le_heap_push_(best, part->keys[e], part->idx[e]);
        }
        le_heap_sort_(best);
        if (le_is_distance_(metric))
            for (size_t r = 0; r < best->size; r++) {
                float distance = -best->keys[r];
                best->keys[r] = metric == LE_METRIC_L2 ? sqrtf(distance) : distance;
            }
    }
    status = 0;
done:
    free(job.heaps);
    free(extra_keys);
    free(extra_idx);
    free(norms);
    return status;
}
