/* The search driver: queries x matrix similarity and top-k over any source (le/source.h).
 *
 * Blocking: the matrix is walked in blocks of rows; every block of queries passes over a block
 * before the next is read, so each matrix row comes from memory once per call (per thread that
 * needs it). Scores land in a small block that stays in cache, then go out whole rows at a time
 * (similarity) or into a bounded heap per query (top-k).
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
#include "le/source.h"

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
        size_t end = count - j < 64 ? count : j + 64;
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
    const le_source_t *src;
    size_t tasks;
    int split_rows;
    float *out;       /* similarity: m x n scores */
    le_heap_t *heaps; /* top-k: `m` heaps per part (one part per task when the rows are split) */
    int failed;
} le_job_t;

/* A span cut into pieces of `piece`, where a remainder of one joins the last piece: a query block
   never holds a lone query unless the call has only one (sources may score a lone query with
   other kernels than a block, summing in another order). */
static size_t le_piece_(size_t at, size_t end, size_t piece) {
    size_t left = end - at;
    return left <= piece + 1 ? left : piece;
}

static void le_task_(void *ctx, size_t t) {
    le_job_t *job = ctx;
    const le_source_t *src = job->src;
    const size_t n = src->n, align = src->row_align, block_rows = src->block_rows;
    size_t qa = 0, qb = src->m, ra = 0, rb = n;
    if (job->split_rows) {
        ra = n * t / job->tasks / align * align;
        rb = t + 1 == job->tasks ? n : n * (t + 1) / job->tasks / align * align;
    } else {
        qa = src->m * t / job->tasks, qb = src->m * (t + 1) / job->tasks;
    }
    le_heap_t *heaps = job->heaps ? job->heaps + (job->split_rows ? t * src->m : 0) : NULL;
    void *state = src->task_begin(src);
    /* a query block holds at most LE_SEARCH_BLOCK_QUERIES + 1 queries (le_piece_), and m at most */
    const size_t block_queries = src->m < LE_SEARCH_BLOCK_QUERIES + 1 ? src->m : LE_SEARCH_BLOCK_QUERIES + 1;
    float *scores = malloc((block_queries ? block_queries : 1) * block_rows * sizeof(float));
    if (!state || !scores) {
        job->failed = 1;
        goto done;
    }
    for (size_t s0 = qa, sn; s0 < qb; s0 += sn) {
        sn = le_piece_(s0, qb, src->queries_at_once);
        if (src->begin_queries) src->begin_queries(state, s0, sn);
        for (size_t r0 = ra; r0 < rb; r0 += block_rows) {
            const size_t nb = rb - r0 < block_rows ? rb - r0 : block_rows;
            if (src->begin_rows) src->begin_rows(state, r0, nb);
            for (size_t i0 = s0, mb; i0 < s0 + sn; i0 += mb) {
                mb = le_piece_(i0, s0 + sn, LE_SEARCH_BLOCK_QUERIES);
                src->score(state, i0, mb, r0, nb, scores, i0 == s0);
                for (size_t i = 0; i < mb; i++) {
                    const float *row = scores + i * nb;
                    if (heaps) /* distances rank by their negation, so larger is always better */
                        le_heap_push_scores_(&heaps[i0 + i], row, nb, r0, src->distance);
                    else
                        memcpy(job->out + (i0 + i) * n + r0, row, nb * sizeof(float));
                }
            }
        }
    }
done:
    free(scores);
    if (state) src->task_end(state);
}

/* Tasks cut queries when each thread gets several query tiles' worth, else rows. */
static void le_plan_(le_job_t *job, size_t threads) {
    const le_source_t *src = job->src;
    size_t tasks = threads ? threads : 1;
    job->split_rows = src->m < 4 * tasks;
    size_t units = job->split_rows ? (src->n + src->row_align - 1) / src->row_align : src->m;
    job->tasks = tasks < units ? tasks : (units ? units : 1);
}

int le_similarity_source(const le_source_t *src, float *out, size_t threads) {
    le_job_t job = {.src = src, .out = out};
    le_plan_(&job, threads);
    le_parallel_run(le_task_, &job, job.tasks);
    return job.failed ? -1 : 0;
}

int le_top_k_source(const le_source_t *src, size_t k, int64_t *idx, float *scores, size_t threads) {
    const size_t m = src->m;
    if (m == 0 || k == 0) return 0;
    le_job_t job = {.src = src};
    le_plan_(&job, threads);
    /* Part 0 keeps its heaps in the caller's output arrays; other parts (rows split) get their own. */
    size_t parts = job.split_rows ? job.tasks : 1;
    job.heaps = calloc(parts * m, sizeof(le_heap_t));
    float *extra_keys = parts > 1 ? malloc((parts - 1) * m * k * sizeof(float)) : NULL;
    int64_t *extra_idx = parts > 1 ? malloc((parts - 1) * m * k * sizeof(int64_t)) : NULL;
    int status = -1;
    if (!job.heaps || (parts > 1 && (!extra_keys || !extra_idx))) goto done;
    for (size_t p = 0; p < parts; p++)
        for (size_t i = 0; i < m; i++) {
            le_heap_t *h = &job.heaps[p * m + i];
            h->capacity = k;
            h->keys = p ? extra_keys + ((p - 1) * m + i) * k : scores + i * k;
            h->idx = p ? extra_idx + ((p - 1) * m + i) * k : idx + i * k;
        }

    le_parallel_run(le_task_, &job, job.tasks);
    if (job.failed) goto done;

    for (size_t i = 0; i < m; i++) {
        le_heap_t *best = &job.heaps[i];
        for (size_t p = 1; p < parts; p++) {
            const le_heap_t *part = &job.heaps[p * m + i];
            for (size_t e = 0; e < part->size; e++) le_heap_push_(best, part->keys[e], part->idx[e]);
        }
        le_heap_sort_(best);
        if (src->distance)
            for (size_t r = 0; r < best->size; r++) best->keys[r] = -best->keys[r];
    }
    status = 0;
done:
    free(job.heaps);
    free(extra_keys);
    free(extra_idx);
    return status;
}
