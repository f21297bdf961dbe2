/* C harness: every kernel of every tier in this build against a double-precision oracle, on every
 * tail length, with inputs that end right before an unreadable page (a read past the end crashes)
 * and start off a vector boundary.
 *
 * Built three ways by tests/test_c_harness.py:
 *   native x86-64 ........ tiers this CPU runs (the others are reported as skipped)
 *   x86-64 + SIMDe ....... -DLE_EMULATE_X86: AVX2 and AVX-512 intrinsics emulated in portable C,
 *                          so the AVX-512 kernels are checked on CPUs without AVX-512
 *   aarch64 under QEMU ... the NEON kernels, cross-compiled
 * Exit status 0 when every check passes; each failure is printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "le/kernels.h"
#include "le/quant.h"
#include "le/search.h"

static const size_t LENGTHS[] = {0,  1,  2,  3,  7,   8,   9,   15,  16,  17,  31,  32,
                                 33, 63, 64, 65, 127, 128, 129, 384, 768, 1536, 1537};
#define N_LENGTHS (sizeof LENGTHS / sizeof LENGTHS[0])
#define SUM_RTOL 1e-5 /* tests/oracle.py TOLERANCE["f32_sum"] */
#define COS_ATOL 1e-5
#define UNIT_ATOL 2e-6

static int failures = 0;

#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            failures++;                           \
            printf("FAIL %s:%d ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                  \
            printf("\n");                         \
        }                                         \
    } while (0)

/* n floats that end exactly where an inaccessible page begins. */
static float *guarded(size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = n * sizeof(float), span = (bytes + page - 1) / page * page;
    char *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) abort();
    mprotect(base + span, page, PROT_NONE);
    return (float *)(base + span - bytes);
}

static unsigned long long rng_state = 88172645463325252ull;
static float uniform(void) { /* xorshift64 in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int close_to_sum(double got, double exact, double abs_terms) {
    return fabs(got - exact) <= SUM_RTOL * abs_terms + 1e-30;
}

static void check_table(const char *tier, const le_kernel_table_t *t) {
    for (size_t li = 0; li < N_LENGTHS; li++) {
        size_t n = LENGTHS[li];
        float *a = guarded(n), *b = guarded(n), *out = guarded(n);
        for (size_t i = 0; i < n; i++) a[i] = uniform(), b[i] = uniform();
        double ab = 0, aa = 0, bb = 0, l2 = 0, l1 = 0, abs_ab = 0;
        for (size_t i = 0; i < n; i++) {
            ab += (double)a[i] * b[i];
            abs_ab += fabs((double)a[i] * b[i]);
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
            l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            l1 += fabs((double)a[i] - b[i]);
        }
        CHECK(close_to_sum(t->dot_f32(a, b, n), ab, abs_ab), "%s dot_f32 n=%zu", tier, n);
        float b_norm2 = -1;
        float dot = t->dot_norm_f32(a, b, n, &b_norm2);
        CHECK(close_to_sum(dot, ab, abs_ab) && close_to_sum(b_norm2, bb, bb), "%s dot_norm_f32 n=%zu",
              tier, n);
        double cosine = (aa == 0 || bb == 0) ? 0.0 : ab / sqrt(aa * bb);
        CHECK(fabs(t->cosine_f32(a, b, n) - cosine) <= COS_ATOL, "%s cosine_f32 n=%zu", tier, n);
        CHECK(close_to_sum(t->l2sq_f32(a, b, n), l2, l2), "%s l2sq_f32 n=%zu", tier, n);
        CHECK(close_to_sum(t->l1_f32(a, b, n), l1, l1), "%s l1_f32 n=%zu", tier, n);

        /* normalize: out of place, then in place, from an input that starts one float late */
        size_t unchanged = t->normalize_f32(a, out, 1, n);
        CHECK(unchanged == (n == 0), "%s normalize_f32 n=%zu unchanged=%zu", tier, n, unchanged);
        int ok = 1;
        for (size_t i = 0; i < n; i++) ok &= fabs(out[i] - a[i] / sqrt(aa)) <= UNIT_ATOL;
        CHECK(ok, "%s normalize_f32 n=%zu", tier, n);
        if (n > 1) {
            float *late = a + 1;
            double late_norm = sqrt(aa - (double)a[0] * a[0]);
            double expect_last = late[n - 2] / late_norm;
            t->normalize_f32(late, late, 1, n - 1);
            CHECK(fabs(late[n - 2] - expect_last) <= UNIT_ATOL, "%s normalize_f32 in place n=%zu", tier,
                  n - 1);
        }
    }
    /* a zero row and a NaN row come back unchanged; the row after them is normalized */
    float rows[3][5] = {{0}, {1, NAN, 1, 1, 1}, {3, 4, 0, 0, 0}}, result[3][5];
    CHECK(t->normalize_f32(&rows[0][0], &result[0][0], 3, 5) == 2, "%s normalize_f32 unchanged count",
          tier);
    CHECK(result[0][0] == 0 && isnan(result[1][1]) && result[1][0] == 1, "%s normalize_f32 kept rows",
          tier);
    CHECK(fabsf(result[2][0] - 0.6f) < 1e-7 && fabsf(result[2][1] - 0.8f) < 1e-7, "%s normalize_f32 row",
          tier);
    /* NaN propagates, zero vectors have cosine 0 */
    float nan_vec[9] = {1, 2, 3, 4, 5, 6, 7, 8, NAN}, zero[9] = {0};
    CHECK(isnan(t->dot_f32(nan_vec, nan_vec, 9)) && isnan(t->l1_f32(nan_vec, zero, 9)),
          "%s NaN propagation", tier);
    CHECK(t->cosine_f32(nan_vec, zero, 9) == 0.0f || isnan(t->cosine_f32(nan_vec, zero, 9)),
          "%s cosine with zero", tier);
    CHECK(t->cosine_f32(zero, zero, 9) == 0.0f, "%s cosine of zeros", tier);
}

/* Absorption, the worst case of a float32 sum: one large term, then ones the accumulator holding
   it rounds away. An accumulator of k terms loses (k - 1) 2^-24 of their magnitudes, so each
   must add fewer than ~168 (tests/kernels/test_tolerances.py does the same through Python). */
static void check_absorption(const char *tier, const le_kernel_table_t *dense,
                             const le_kernel_table_t *batch) {
    static const size_t ds[] = {384, 1536, 1537, 4096};
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        size_t d = ds[di], m = 7, n = 5;
        float *q = guarded(m * d), *x = guarded(n * d), *out = guarded(m * n);
        for (size_t i = 0; i < m * d; i++) q[i] = i % d ? 1.0f : 16777216.0f;
        for (size_t i = 0; i < n * d; i++) x[i] = 1.0f;
        double exact = 16777216.0 + (double)(d - 1);
        if (dense && d <= 1537) /* the pair kernels: 16 to 64 accumulators */
            CHECK(close_to_sum(dense->dot_f32(q, x, d), exact, exact),
                  "%s dot_f32 absorption d=%zu", tier, d);
        if (batch) { /* the tiles: a chunk of at most LE_TILE_CHUNK_STEPS steps per accumulator */
            batch->dot_block_f32(q, d, m, x, d, n, d, out, n, NULL);
            int ok = 1;
            for (size_t i = 0; i < m * n; i++) ok &= close_to_sum(out[i], exact, exact);
            CHECK(ok, "%s dot_block_f32 absorption d=%zu: %.1f, expected %.1f", tier, d, out[0],
                  exact);
        }
    }
}

/* Batch kernels: every (m, n) edge of the tiles, several tails of d, with and without the fused
   row norms; row-wise pairs; batch4. Scores are checked against a double oracle per pair. */
static void check_batch(const char *tier, const le_kernel_table_t *dense, const le_kernel_table_t *t) {
    static const size_t ms[] = {1, 2, 3, 4, 7}, ns[] = {1, 3, 4, 5, 9, 17}, ds[] = {1, 7, 8, 17, 33, 129};
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++)
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                size_t d = ds[di], m = ms[mi], n = ns[ni];
                float *q = guarded(m * d), *x = guarded(n * d), *out = guarded(m * n), *norms = guarded(n);
                for (size_t i = 0; i < m * d; i++) q[i] = uniform();
                for (size_t i = 0; i < n * d; i++) x[i] = uniform();
                for (int op = 0; op < 4; op++) { /* dot, dot + norms, l2sq, l1 */
                    if (op <= 1) t->dot_block_f32(q, d, m, x, d, n, d, out, n, op == 1 ? norms : NULL);
                    if (op == 2) t->l2sq_block_f32(q, d, m, x, d, n, d, out, n);
                    if (op == 3) t->l1_block_f32(q, d, m, x, d, n, d, out, n);
                    int ok = 1;
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++) {
                            double exact = 0, terms = 0;
                            for (size_t k = 0; k < d; k++) {
                                double a = q[i * d + k], b = x[j * d + k];
                                double term = op <= 1 ? a * b : op == 2 ? (a - b) * (a - b) : fabs(a - b);
                                exact += term, terms += fabs(term);
                            }
                            ok &= close_to_sum(out[i * n + j], exact, terms);
                        }
                    if (op == 1)
                        for (size_t j = 0; j < n; j++) {
                            double exact = 0;
                            for (size_t k = 0; k < d; k++) exact += (double)x[j * d + k] * x[j * d + k];
                            ok &= close_to_sum(norms[j], exact, exact);
                        }
                    CHECK(ok, "%s block op=%d m=%zu n=%zu d=%zu", tier, op, m, n, d);
                }
                if (d > 1) { /* rows further apart than d: the first d - 1 floats of each row */
                    t->dot_block_f32(q, d, m, x, d, n, d - 1, out, n, NULL);
                    int ok = 1;
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++) {
                            double exact = 0, terms = 0;
                            for (size_t k = 0; k + 1 < d; k++) {
                                double term = (double)q[i * d + k] * x[j * d + k];
                                exact += term, terms += fabs(term);
                            }
                            ok &= close_to_sum(out[i * n + j], exact, terms);
                        }
                    CHECK(ok, "%s dot_block_f32 strided m=%zu n=%zu d=%zu", tier, m, n, d - 1);
                }
                if (m == n) { /* row-wise pairs */
                    dense->dot_rows_f32(q, x, m, d, out);
                    int ok = 1;
                    for (size_t r = 0; r < m; r++) ok &= out[r] == dense->dot_f32(q + r * d, x + r * d, d);
                    CHECK(ok, "%s dot_rows_f32 rows=%zu d=%zu", tier, m, d);
                }
                if (n >= 4) {
                    const float *c[4] = {x, x + d, x + 2 * d, x + 3 * d};
                    float four[4];
                    t->dot_batch4_f32(q, c, d, four);
                    int ok = 1;
                    for (int j = 0; j < 4; j++) {
                        double exact = 0, terms = 0;
                        for (size_t k = 0; k < d; k++) exact += (double)q[k] * c[j][k], terms += fabs((double)q[k] * c[j][k]);
                        ok &= close_to_sum(four[j], exact, terms);
                    }
                    CHECK(ok, "%s dot_batch4_f32 d=%zu", tier, d);
                }
            }
}

/* One query against n rows walks LE_STREAMS rows at a time (le/common.h): every score must be
   the pair kernel's, bit for bit, wherever its row falls (a stream or the rows left over), for
   every tail of d and rows further apart than d; the last row ends at an unreadable page. */
static void check_streams(const char *tier, const le_kernel_table_t *dense, const le_kernel_table_t *t) {
    static const size_t ns[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 100};
    static const size_t ds[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 384, 1537};
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++)
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (size_t pad = 0; pad <= 3; pad += 3) {
                size_t d = ds[di], n = ns[ni], ldx = d + pad;
                float *q = guarded(d), *x = guarded((n - 1) * ldx + d), *out = guarded(n);
                float *norms = guarded(n);
                for (size_t i = 0; i < d; i++) q[i] = uniform();
                for (size_t i = 0; i < (n - 1) * ldx + d; i++) x[i] = uniform();
                int ok[4] = {1, 1, 1, 1};
                t->dot_block_f32(q, d, 1, x, ldx, n, d, out, n, NULL);
                for (size_t j = 0; j < n; j++) ok[0] &= out[j] == dense->dot_f32(q, x + j * ldx, d);
                t->dot_block_f32(q, d, 1, x, ldx, n, d, out, n, norms);
                for (size_t j = 0; j < n; j++) {
                    float norm2 = -1, dot = dense->dot_norm_f32(q, x + j * ldx, d, &norm2);
                    ok[1] &= out[j] == dot && norms[j] == norm2;
                }
                t->l2sq_block_f32(q, d, 1, x, ldx, n, d, out, n);
                for (size_t j = 0; j < n; j++) ok[2] &= out[j] == dense->l2sq_f32(q, x + j * ldx, d);
                t->l1_block_f32(q, d, 1, x, ldx, n, d, out, n);
                for (size_t j = 0; j < n; j++) ok[3] &= out[j] == dense->l1_f32(q, x + j * ldx, d);
                static const char *const ops[4] = {"dot", "dot + norms", "l2sq", "l1"};
                for (int op = 0; op < 4; op++)
                    CHECK(ok[op], "%s one-query %s differs from the pair kernel n=%zu d=%zu ldx=%zu",
                          tier, ops[op], n, d, ldx);
            }
}

/* Quant kernels: integer results must equal the scalar tier's exactly, on every tail; bf16 sums
   within the f32 tolerance of a double oracle; the int8 panel layout against plain row dots. */
static int8_t random_i8(void) { return (int8_t)((int)(uniform() * 127.0f)); }

static uint16_t random_bf16(void) { /* a uniform float, truncated */
    float f = uniform();
    uint32_t bits;
    memcpy(&bits, &f, 4);
    return (uint16_t)(bits >> 16);
}

/* At the documented limits (LE_I8_MAX_DIMS, LE_U4_MAX_DIMS) every 32-bit sum is at its largest:
   the results must be exact, against the closed form, not only equal to the scalar tier's. */
static void check_quant_limits(const char *tier, const le_kernel_table_t *t) {
    const size_t n = LE_I8_MAX_DIMS, nbytes = LE_U4_MAX_DIMS / 2;
    int8_t *a = malloc(n), *b = malloc(n);
    static const int signs[][2] = {{127, 127}, {-127, -127}, {127, -127}, {-127, 127}};
    for (size_t s = 0; s < sizeof signs / sizeof signs[0]; s++) {
        memset(a, signs[s][0], n), memset(b, signs[s][1], n);
        int64_t expect = (int64_t)signs[s][0] * signs[s][1] * (int64_t)n;
        if (t->dot_i8) {
            int64_t got = t->dot_i8(a, b, n);
            CHECK(got == expect, "%s dot_i8 n=%zu (%d x %d): %lld, expected %lld", tier, n,
                  signs[s][0], signs[s][1], (long long)got, (long long)expect);
            got = t->dot_i8(a, b, 70000); /* where the VNNI horizontal sum used to wrap */
            CHECK(got == expect / (int64_t)n * 70000, "%s dot_i8 n=70000: %lld", tier,
                  (long long)got);
        }
        if (t->dot_i8_panels) { /* one panel of 16 rows of n values: rows alternate b and -b */
            int8_t *panel = malloc(LE_I8_PANEL_ROWS * n);
            int32_t sums[LE_I8_PANEL_ROWS], out[LE_I8_PANEL_ROWS];
            for (size_t g = 0; g < n / 4; g++)
                for (int r = 0; r < LE_I8_PANEL_ROWS; r++)
                    memset(panel + 64 * g + 4 * r, r % 2 ? -signs[s][1] : signs[s][1], 4);
            for (int r = 0; r < LE_I8_PANEL_ROWS; r++)
                sums[r] = (int32_t)(r % 2 ? -signs[s][1] : signs[s][1]) * (int32_t)n;
            t->dot_i8_panels(a, n, 1, panel, 1, n, sums, out, LE_I8_PANEL_ROWS);
            int ok = 1;
            for (int r = 0; r < LE_I8_PANEL_ROWS; r++) ok &= out[r] == (r % 2 ? -expect : expect);
            CHECK(ok, "%s dot_i8_panels d=%zu (%d x %d): %d, expected %lld", tier, n, signs[s][0],
                  signs[s][1], out[0], (long long)expect);
            free(panel);
        }
    }
    free(a), free(b);
    uint8_t *ua = malloc(2 * nbytes);
    memset(ua, 0xFF, 2 * nbytes); /* every nibble 15: 225 per dimension */
    if (t->dot_u4) {
        int64_t got = t->dot_u4(ua, ua, nbytes);
        CHECK(got == 225 * (int64_t)LE_U4_MAX_DIMS, "%s dot_u4 at the limit: %lld", tier,
              (long long)got);
    }
    if (t->dot_u4_rows) {
        int32_t out[2];
        t->dot_u4_rows(ua, ua, nbytes, 2, nbytes, out);
        CHECK(out[0] == 225 * LE_U4_MAX_DIMS && out[1] == out[0], "%s dot_u4_rows at the limit: %d",
              tier, out[0]);
    }
    free(ua);
}

static void check_quant(const char *tier, const le_kernel_table_t *t) {
    const le_kernel_table_t *ref = &le_quant_scalar;
    for (size_t li = 0; li < N_LENGTHS; li++) {
        size_t n = LENGTHS[li];
        int8_t *a = (int8_t *)guarded(n / 4 + 1), *b = (int8_t *)guarded(n / 4 + 1); /* >= n bytes */
        a = (int8_t *)((char *)a + (n / 4 + 1) * 4 - n), b = (int8_t *)((char *)b + (n / 4 + 1) * 4 - n);
        for (size_t i = 0; i < n; i++) a[i] = random_i8(), b[i] = random_i8();
        if (n) a[0] = -127, b[0] = -127; /* the extremes */
        if (t->dot_i8)
            CHECK(t->dot_i8(a, b, n) == ref->dot_i8(a, b, n), "%s dot_i8 n=%zu", tier, n);
        if (t->dot_u4)
            CHECK(t->dot_u4((uint8_t *)a, (uint8_t *)b, n) == ref->dot_u4((uint8_t *)a, (uint8_t *)b, n),
                  "%s dot_u4 nbytes=%zu", tier, n);
        if (t->hamming_b1)
            CHECK(t->hamming_b1((uint8_t *)a, (uint8_t *)b, n) == ref->hamming_b1((uint8_t *)a, (uint8_t *)b, n),
                  "%s hamming_b1 nbytes=%zu", tier, n);
        if (t->dot_bf16) {
            uint16_t *ha = (uint16_t *)guarded(n / 2 + 1), *hb = (uint16_t *)guarded(n / 2 + 1);
            ha = (uint16_t *)((char *)ha + (n / 2 + 1) * 4 - 2 * n), hb = (uint16_t *)((char *)hb + (n / 2 + 1) * 4 - 2 * n);
            double exact = 0, terms = 0;
            for (size_t i = 0; i < n; i++) {
                ha[i] = random_bf16(), hb[i] = random_bf16();
                double product = (double)le_bf16_to_f32_(ha[i]) * le_bf16_to_f32_(hb[i]);
                exact += product, terms += fabs(product);
            }
            CHECK(close_to_sum(t->dot_bf16(ha, hb, n), exact, terms), "%s dot_bf16 n=%zu", tier, n);
        }
    }
    check_quant_limits(tier, t);
    /* rows kernels: the pair kernel applied row after row */
    enum { ROWS = 5, WIDTH = 67 };
    uint8_t q[WIDTH], x[ROWS * WIDTH];
    for (int i = 0; i < WIDTH; i++) q[i] = (uint8_t)random_i8();
    for (int i = 0; i < ROWS * WIDTH; i++) x[i] = (uint8_t)random_i8();
    if (t->dot_u4_rows) {
        int32_t out[ROWS];
        t->dot_u4_rows(q, x, WIDTH, ROWS, WIDTH - 2, out);
        int ok = 1;
        for (int j = 0; j < ROWS; j++) ok &= out[j] == ref->dot_u4(q, x + j * WIDTH, WIDTH - 2);
        CHECK(ok, "%s dot_u4_rows", tier);
    }
    if (t->hamming_b1_rows) {
        uint32_t out[ROWS];
        t->hamming_b1_rows(q, x, WIDTH, ROWS, WIDTH - 2, out);
        int ok = 1;
        for (int j = 0; j < ROWS; j++) ok &= out[j] == ref->hamming_b1(q, x + j * WIDTH, WIDTH - 2);
        CHECK(ok, "%s hamming_b1_rows", tier);
    }
    /* bf16 rows: each score bit-identical to the tier's pair kernel, wherever the row falls among
       the streams (so scores do not depend on how a call is cut into blocks or threads) */
    if (t->dot_bf16_rows) {
        static const size_t counts[] = {1, 3, 4, 5, 9, 17}, dims[] = {1, 15, 16, 31, 33, 64, 65, 768};
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++)
            for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
                size_t n = counts[ci], d = dims[di], ldx = d + 3;
                uint16_t *hq = malloc(d * 2), *hx = malloc(n * ldx * 2);
                float *got = malloc(n * sizeof(float));
                for (size_t i = 0; i < d; i++) hq[i] = random_bf16();
                for (size_t i = 0; i < n * ldx; i++) hx[i] = random_bf16();
                t->dot_bf16_rows(hq, hx, ldx, n, d, got);
                int ok = 1;
                for (size_t j = 0; j < n; j++) ok &= got[j] == t->dot_bf16(hq, hx + j * ldx, d);
                CHECK(ok, "%s dot_bf16_rows rows=%zu d=%zu", tier, n, d);
                free(hq), free(hx), free(got);
            }
    }
    /* bf16 many-query tiles: every score is the tier's pair kernel's, bit for bit, for 1 to 17
       queries (every tile height and its remainders) and past one chunk of widened queries (61,
       65, 130: AVX2 widens at most 64 at a time), rows a multiple of the tiles' widths and not,
       d on both sides of each step (16, 32, 64), queries and rows further apart than d; the last
       query and the last row end at an unreadable page, and nothing is written past n in a row of
       out */
    if (t->dot_bf16_block) {
        static const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 17, 61, 65, 130},
                            ns[] = {1, 2, 3, 4, 5, 7, 8, 13, 17, 33};
        static const size_t dims[] = {1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129, 768};
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
                for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                    size_t d = dims[di], m = ms[mi], n = ns[ni], ldq = d + (mi % 2 ? 5 : 0), ldx = d + (ni % 2 ? 0 : 3);
                    size_t q_len = (m - 1) * ldq + d, x_len = (n - 1) * ldx + d, ldo = n + 1;
                    uint16_t *hq = (uint16_t *)guarded(q_len / 2 + 1), *hx = (uint16_t *)guarded(x_len / 2 + 1);
                    hq = (uint16_t *)((char *)hq + (q_len / 2 + 1) * 4 - 2 * q_len);
                    hx = (uint16_t *)((char *)hx + (x_len / 2 + 1) * 4 - 2 * x_len);
                    float *got = malloc(m * ldo * sizeof(float));
                    for (size_t i = 0; i < q_len; i++) hq[i] = random_bf16();
                    for (size_t i = 0; i < x_len; i++) hx[i] = random_bf16();
                    for (size_t i = 0; i < m * ldo; i++) got[i] = -12345.0f;
                    t->dot_bf16_block(hq, ldq, m, hx, ldx, n, d, got, ldo);
                    int ok = 1;
                    for (size_t i = 0; i < m; i++) {
                        for (size_t j = 0; j < n; j++) ok &= got[i * ldo + j] == t->dot_bf16(hq + i * ldq, hx + j * ldx, d);
                        ok &= got[i * ldo + n] == -12345.0f;
                    }
                    CHECK(ok, "%s dot_bf16_block differs from the pair kernel m=%zu n=%zu d=%zu ldq=%zu ldx=%zu",
                          tier, m, n, d, ldq, ldx);
                    free(got);
                }
    }
    /* int8 panels: m queries x rows laid out in panels, against plain row dots */
    if (t->dot_i8_panels) {
        static const size_t ms[] = {1, 3, 5, 13, 25}, rows_list[] = {1, 15, 16, 17, 33, 48, 64, 65, 100, 176},
                            ds[] = {1, 3, 4, 5, 63, 64, 65, 767, 768};
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++)
            for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
                for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                    size_t d = ds[di], dp = (d + 3) / 4 * 4, n = rows_list[ri], m = ms[mi];
                    size_t n_panels = (n + LE_I8_PANEL_ROWS - 1) / LE_I8_PANEL_ROWS;
                    int8_t *qs = calloc(m * dp, 1), *plain = calloc(n_panels * LE_I8_PANEL_ROWS * dp, 1);
                    int8_t *panels = calloc(n_panels * LE_I8_PANEL_ROWS * dp, 1);
                    int32_t *sums = calloc(n_panels * LE_I8_PANEL_ROWS, 4);
                    int32_t *got = calloc(m * n_panels * LE_I8_PANEL_ROWS, 4);
                    for (size_t i = 0; i < m; i++)
                        for (size_t k = 0; k < d; k++) qs[i * dp + k] = random_i8();
                    for (size_t r = 0; r < n; r++)
                        for (size_t k = 0; k < d; k++) {
                            int8_t v = random_i8();
                            plain[r * dp + k] = v, sums[r] += v;
                            size_t p = r / LE_I8_PANEL_ROWS, row = r % LE_I8_PANEL_ROWS;
                            panels[p * LE_I8_PANEL_ROWS * dp + (k / 4) * 64 + row * 4 + k % 4] = v;
                        }
                    size_t ldo = n_panels * LE_I8_PANEL_ROWS;
                    t->dot_i8_panels(qs, dp, m, panels, n_panels, dp, sums, got, ldo);
                    int ok = 1;
                    for (size_t i = 0; i < m; i++)
                        for (size_t r = 0; r < ldo; r++)
                            ok &= got[i * ldo + r] == (int32_t)ref->dot_i8(qs + i * dp, plain + r * dp, dp);
                    CHECK(ok, "%s dot_i8_panels m=%zu rows=%zu d=%zu", tier, m, n, d);
                    free(qs), free(plain), free(panels), free(sums), free(got);
                }
    }
}

/* nn kernels against double-precision formulas: GELU with libm's erf, layer norm, softmax. */
static void check_nn(const char *tier, const le_kernel_table_t *t) {
    static const size_t cols_list[] = {1, 3, 7, 8, 9, 16, 17, 33, 384, 1537};
    for (size_t ci = 0; ci < sizeof cols_list / sizeof cols_list[0]; ci++) {
        size_t cols = cols_list[ci], rows = 3;
        float *x = guarded(rows * cols), *bias = guarded(cols), *res = guarded(rows * cols);
        float *gamma = guarded(cols), *beta = guarded(cols), *keep = malloc(rows * cols * sizeof(float));
        for (size_t i = 0; i < rows * cols; i++) x[i] = 6.0f * uniform(), res[i] = uniform();
        for (size_t i = 0; i < cols; i++) bias[i] = uniform(), gamma[i] = 1.0f + uniform(), beta[i] = uniform();
        memcpy(keep, x, rows * cols * sizeof(float));

        t->bias_gelu_f32(x, rows, cols, bias);
        int ok = 1;
        for (size_t i = 0; i < rows * cols; i++) {
            double v = (double)keep[i] + bias[i % cols], exact = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
            ok &= fabs(x[i] - exact) <= 5e-7 * fabs(v) + 1e-7; /* a few ulp of x: GELU(x) ~ x */
        }
        CHECK(ok, "%s bias_gelu_f32 cols=%zu", tier, cols);

        memcpy(x, keep, rows * cols * sizeof(float));
        t->layer_norm_f32(x, rows, cols, bias, res, gamma, beta, 1e-12f);
        ok = 1;
        for (size_t r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (size_t c = 0; c < cols; c++) mean += (double)keep[r * cols + c] + bias[c] + res[r * cols + c];
            mean /= (double)cols;
            for (size_t c = 0; c < cols; c++) {
                double v = (double)keep[r * cols + c] + bias[c] + res[r * cols + c] - mean;
                var += v * v;
            }
            var /= (double)cols;
            for (size_t c = 0; c < cols; c++) {
                double v = (double)keep[r * cols + c] + bias[c] + res[r * cols + c];
                double exact = var == 0 ? beta[c] : (v - mean) / sqrt(var + 1e-12) * gamma[c] + beta[c];
                ok &= fabs(x[r * cols + c] - exact) <= 1e-4 * (fabs(exact) + 1.0);
            }
        }
        CHECK(ok, "%s layer_norm_f32 cols=%zu", tier, cols);

        memcpy(x, keep, rows * cols * sizeof(float));
        x[0] = -200.0f; /* a score that underflows: exactly 0 after exp */
        keep[0] = -200.0f;
        t->softmax_f32(x, rows, cols);
        ok = 1;
        for (size_t r = 0; r < rows; r++) {
            double peak = -INFINITY, total = 0;
            for (size_t c = 0; c < cols; c++) peak = keep[r * cols + c] > peak ? keep[r * cols + c] : peak;
            for (size_t c = 0; c < cols; c++) total += exp((double)keep[r * cols + c] - peak);
            for (size_t c = 0; c < cols; c++) {
                double exact = exp((double)keep[r * cols + c] - peak) / total;
                ok &= fabs(x[r * cols + c] - exact) <= 2e-6 * exact + 1e-30;
            }
        }
        CHECK(ok, "%s softmax_f32 cols=%zu", tier, cols);
        free(keep);
    }
}

/* The search driver (search.c) cuts a call by queries or by rows, one piece per thread: every cut
   must give the same scores and top-k (Python caps threads at the cores, so the cuts of 3, 7 and
   64 threads are checked here, where the driver takes any count). */
static void check_search_threads(void) {
    static const size_t shapes[][2] = {{1, 1000}, {3, 1000}, {40, 300}, {121, 20}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        size_t m = shapes[si][0], n = shapes[si][1], d = 96, k = 17;
        float *q = malloc(m * d * sizeof(float)), *x = malloc(n * d * sizeof(float));
        float *one = malloc(m * n * sizeof(float)), *many = malloc(m * n * sizeof(float));
        float *top1 = malloc(m * k * sizeof(float)), *topn = malloc(m * k * sizeof(float));
        int64_t *idx1 = malloc(m * k * sizeof(int64_t)), *idxn = malloc(m * k * sizeof(int64_t));
        for (size_t i = 0; i < m * d; i++) q[i] = uniform();
        for (size_t i = 0; i < n * d; i++) x[i] = uniform();
        for (int metric = LE_METRIC_DOT; metric <= LE_METRIC_L1; metric++) {
            CHECK(le_similarity_f32(q, m, x, n, d, metric, one, 1) == 0, "similarity");
            CHECK(le_top_k_f32(q, m, x, n, d, metric, k, idx1, top1, 1) == 0, "top_k");
            static const size_t counts[] = {2, 3, 7, 64};
            for (size_t ti = 0; ti < sizeof counts / sizeof counts[0]; ti++) {
                le_similarity_f32(q, m, x, n, d, metric, many, counts[ti]);
                le_top_k_f32(q, m, x, n, d, metric, k, idxn, topn, counts[ti]);
                CHECK(memcmp(one, many, m * n * sizeof(float)) == 0,
                      "similarity m=%zu n=%zu metric=%d threads=%zu differs from one thread", m, n,
                      metric, counts[ti]);
                CHECK(memcmp(idx1, idxn, m * k * sizeof(int64_t)) == 0 &&
                          memcmp(top1, topn, m * k * sizeof(float)) == 0,
                      "top_k m=%zu n=%zu metric=%d threads=%zu differs from one thread", m, n,
                      metric, counts[ti]);
            }
        }
        free(q), free(x), free(one), free(many), free(top1), free(topn), free(idx1), free(idxn);
    }
}

/* bf16 search (source_quant.c over dot_bf16_block): the same scores and top-k whatever the
   thread count, and each query's scores those of the query searched alone (a block of queries
   and a lone query are summed alike). */
static void check_search_threads_bf16(void) {
    static const size_t shapes[][2] = {{1, 1000}, {3, 1000}, {17, 300}, {121, 20}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        size_t m = shapes[si][0], n = shapes[si][1], d = 97, k = 17;
        uint16_t *q = malloc(m * d * 2), *x = malloc(n * d * 2);
        float *q_norm = malloc(m * sizeof(float)), *x_norm = malloc(n * sizeof(float));
        float *one = malloc(m * n * sizeof(float)), *many = malloc(m * n * sizeof(float)), *alone = malloc(n * sizeof(float));
        float *top1 = malloc(m * k * sizeof(float)), *topn = malloc(m * k * sizeof(float));
        int64_t *idx1 = malloc(m * k * sizeof(int64_t)), *idxn = malloc(m * k * sizeof(int64_t));
        for (size_t i = 0; i < m * d; i++) q[i] = random_bf16();
        for (size_t i = 0; i < n * d; i++) x[i] = random_bf16();
        for (size_t i = 0; i < m; i++) q_norm[i] = 1.0f + (float)i;
        for (size_t j = 0; j < n; j++) x_norm[j] = 2.0f + (float)j;
        le_quant_rows_t qr = {.data = q, .stride = d * 2, .norm = q_norm}, xr = {.data = x, .stride = d * 2, .norm = x_norm};
        for (int metric = LE_METRIC_DOT; metric <= LE_METRIC_COSINE; metric++) {
            CHECK(le_similarity_quant(LE_STORE_BF16, &qr, m, &xr, n, d, metric, one, 1) == 0, "bf16 similarity");
            CHECK(le_top_k_quant(LE_STORE_BF16, &qr, m, &xr, n, d, metric, k, idx1, top1, 1) == 0, "bf16 top_k");
            int same = 1;
            for (size_t i = 0; i < m; i++) {
                le_quant_rows_t qi = qr;
                qi.data = q + i * d, qi.norm = q_norm + i;
                le_similarity_quant(LE_STORE_BF16, &qi, 1, &xr, n, d, metric, alone, 1);
                same &= memcmp(alone, one + i * n, n * sizeof(float)) == 0;
            }
            CHECK(same, "bf16 similarity m=%zu n=%zu metric=%d: a query scored alone differs", m, n, metric);
            static const size_t counts[] = {2, 3, 7, 64};
            for (size_t ti = 0; ti < sizeof counts / sizeof counts[0]; ti++) {
                le_similarity_quant(LE_STORE_BF16, &qr, m, &xr, n, d, metric, many, counts[ti]);
                le_top_k_quant(LE_STORE_BF16, &qr, m, &xr, n, d, metric, k, idxn, topn, counts[ti]);
                CHECK(memcmp(one, many, m * n * sizeof(float)) == 0,
                      "bf16 similarity m=%zu n=%zu metric=%d threads=%zu differs from one thread", m, n, metric,
                      counts[ti]);
                CHECK(memcmp(idx1, idxn, m * k * sizeof(int64_t)) == 0 && memcmp(top1, topn, m * k * sizeof(float)) == 0,
                      "bf16 top_k m=%zu n=%zu metric=%d threads=%zu differs from one thread", m, n, metric, counts[ti]);
            }
        }
        free(q), free(x), free(q_norm), free(x_norm), free(one), free(many), free(alone);
        free(top1), free(topn), free(idx1), free(idxn);
    }
}

static int runnable(int isa) {
#if defined(LE_EMULATE_X86)
    (void)isa;
    return 1; /* every x86 tier runs in portable emulation */
#else
    uint32_t needed = le_isa_features(isa);
    return (le_cpu_features() & needed) == needed;
#endif
}

int main(void) {
    struct {
        int isa;
        const le_kernel_table_t *dense, *batch, *quant, *nn; /* NULL: the tier has no such family */
    } tiers[] = {
        {LE_ISA_SCALAR, &le_dense_scalar, &le_batch_scalar, &le_quant_scalar, &le_nn_scalar},
#if defined(LE_ARCH_X86_64)
        {LE_ISA_AVX2, &le_dense_avx2, &le_batch_avx2, &le_quant_avx2, &le_nn_avx2},
        {LE_ISA_AVX512, &le_dense_avx512, &le_batch_avx512, NULL, &le_nn_avx512},
        {LE_ISA_AVX512VNNI, NULL, NULL, &le_quant_avx512vnni, NULL},
        {LE_ISA_AVX512BF16, NULL, NULL, &le_quant_avx512bf16, NULL},
#elif defined(LE_ARCH_AARCH64)
        {LE_ISA_NEON, &le_dense_neon, &le_batch_neon, &le_quant_neon, &le_nn_neon},
        {LE_ISA_NEONDOTPROD, NULL, NULL, &le_quant_neondotprod, NULL},
#endif
    };
    for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++) {
        const char *name = le_isa_name(tiers[i].isa);
        if (!runnable(tiers[i].isa)) {
            printf("skip %s (this CPU lacks it)\n", name);
            continue;
        }
        int before = failures;
        if (tiers[i].dense) check_table(name, tiers[i].dense);
        if (tiers[i].batch) check_batch(name, tiers[i].dense, tiers[i].batch);
        if (tiers[i].dense && tiers[i].batch) check_streams(name, tiers[i].dense, tiers[i].batch);
        if (tiers[i].dense || tiers[i].batch)
            check_absorption(name, tiers[i].dense, tiers[i].batch);
        if (tiers[i].quant) check_quant(name, tiers[i].quant);
        if (tiers[i].nn) check_nn(name, tiers[i].nn);
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", name);
    }
    /* dispatch picks the best runnable tier and the entries go through it */
    CHECK(le_dispatch_set_cap(le_isa_best()) == 0, "dispatch init");
    float ones[3] = {1, 1, 1};
    CHECK(le_dot_f32(ones, ones, 3) == 3.0f, "dispatched dot");
    printf("dispatch best=%s\n", le_isa_name(le_dispatch_cap()));
    check_search_threads();
    check_search_threads_bf16();
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures != 0;
}
