/* Register tiles for the batch family, written once as a macro and instantiated per ISA.
 *
 * A tile sums op(a_i, b_j) over d for every pair of TM query rows x TN matrix rows, one vector
 * accumulator per pair (the "dot form": both operands are read along d, so no packing is needed
 * and every pair is summed in the same order whatever tile it falls in). Edge tiles repeat the
 * last real row: those pairs are computed and never stored. With `with_norms`, the tile also sums
 * b_j * b_j, the matrix rows' squared norms, in the same pass.
 *
 * LE_DEFINE_TILE(isa, vec, step type, lanes, max TM, max TN, load, tail_load, fma, zero,
 * reduce_row) defines
 *   le_tile_<isa>_(a, TM, b, TN, d, step, with_norms, out, ldo, store_m, store_n, b_norm2)
 * where TM, TN and with_norms must be constants at every call site, and reduce_row(acc, sums)
 * turns one row of max TN accumulators into max TN sums (a transposed reduction: cheaper than
 * reducing each accumulator on its own). Long rows are summed in chunks (LE_TILE_CHUNK_STEPS).
 */
#ifndef LE_TILE_H
#define LE_TILE_H

#define LE_UNROLL _Pragma("GCC unroll 8")

/* Vector steps summed into one accumulator before it is folded into the pair's total (in
   double): a float32 accumulator adding k terms errs by up to k 2^-24 of their magnitudes, so
   k <= 128 keeps every tier within tests/oracle.py's 1e-5 at any d (one accumulator per pair
   added 1537 / 8 = 192 terms at d = 1537 on AVX2). Dimensions up to 128 steps (1024 floats on
   AVX2, 2048 on AVX-512) are one chunk: summed, and compiled, exactly as a tile without chunks
   (the chunk loop and its double totals cost 5-10% at d = 384 on Zen 3 when always taken). */
#define LE_TILE_CHUNK_STEPS 128

#define LE_DEFINE_TILE(isa, vec, step_fn_t, lanes, max_m, max_n, load, tail_load, fma, zero,       \
                       reduce_row)                                                                 \
    /* The sums over [k0, k1) of every pair, reduced to float and stored (rows `ldo` apart). */    \
    LE_ALWAYS_INLINE void le_tile_span_##isa##_(                                                   \
        const float *const *a, const int tm, const float *const *b, const int tn, size_t k0,       \
        size_t k1, step_fn_t step, const int with_norms, float *out, size_t ldo, size_t store_m,   \
        size_t store_n, float *b_norm2) {                                                          \
        vec acc[max_m][max_n], norm_acc[max_n];                                                    \
        /* all max_n columns: reduce_row reads them all, stores only the real ones */              \
        LE_UNROLL for (int i = 0; i < tm; i++) LE_UNROLL for (int j = 0; j < (max_n); j++)         \
            acc[i][j] = zero;                                                                      \
        LE_UNROLL for (int j = 0; j < (max_n); j++) norm_acc[j] = zero;                            \
        size_t k = k0;                                                                             \
        for (; k + (lanes) <= k1; k += (lanes)) {                                                  \
            vec av[max_m];                                                                         \
            LE_UNROLL for (int i = 0; i < tm; i++) av[i] = load(a[i] + k);                         \
            LE_UNROLL for (int j = 0; j < tn; j++) {                                               \
                vec bv = load(b[j] + k);                                                           \
                LE_UNROLL for (int i = 0; i < tm; i++) acc[i][j] = step(acc[i][j], av[i], bv);     \
                if (with_norms) norm_acc[j] = fma(bv, bv, norm_acc[j]);                            \
            }                                                                                      \
        }                                                                                          \
        if (k < k1) {                                                                              \
            vec av[max_m];                                                                         \
            LE_UNROLL for (int i = 0; i < tm; i++) av[i] = tail_load(a[i] + k, k1 - k);            \
            LE_UNROLL for (int j = 0; j < tn; j++) {                                               \
                vec bv = tail_load(b[j] + k, k1 - k);                                              \
                LE_UNROLL for (int i = 0; i < tm; i++) acc[i][j] = step(acc[i][j], av[i], bv);     \
                if (with_norms) norm_acc[j] = fma(bv, bv, norm_acc[j]);                            \
            }                                                                                      \
        }                                                                                          \
        /* constant row indices keep the accumulators in registers through the reduction */      \
        float sums[max_n];                                                                         \
        LE_UNROLL for (int i = 0; i < tm; i++) {                                                   \
            if ((size_t)i >= store_m) break;                                                       \
            if (store_n == (max_n)) {                                                              \
                reduce_row(acc[i], out + i * ldo);                                                 \
            } else {                                                                               \
                reduce_row(acc[i], sums);                                                          \
                memcpy(out + i * ldo, sums, store_n * sizeof(float));                              \
            }                                                                                      \
        }                                                                                          \
        if (with_norms) {                                                                          \
            reduce_row(norm_acc, sums);                                                            \
            memcpy(b_norm2, sums, store_n * sizeof(float));                                        \
        }                                                                                          \
    }                                                                                              \
    LE_ALWAYS_INLINE void le_tile_##isa##_(                                                        \
        const float *const *a, const int tm, const float *const *b, const int tn, size_t d,        \
        step_fn_t step, const int with_norms, float *out, size_t ldo, size_t store_m,              \
        size_t store_n, float *b_norm2) {                                                          \
        const size_t chunk = (size_t)LE_TILE_CHUNK_STEPS * (lanes);                                \
        if (d <= chunk) {                                                                          \
            le_tile_span_##isa##_(a, tm, b, tn, 0, d, step, with_norms, out, ldo, store_m,         \
                                  store_n, b_norm2);                                               \
            return;                                                                                \
        }                                                                                          \
        double total[max_m][max_n] = {{0}}, norm_total[max_n] = {0};                               \
        float part[max_m][max_n], norm_part[max_n];                                                \
        for (size_t c0 = 0; c0 < d; c0 += chunk) {                                                 \
            const size_t c1 = d - c0 > chunk ? c0 + chunk : d;                                     \
            le_tile_span_##isa##_(a, tm, b, tn, c0, c1, step, with_norms, &part[0][0], (max_n),   \
                                  store_m, (max_n), norm_part);                                    \
            LE_UNROLL for (int i = 0; i < tm; i++) {                                               \
                if ((size_t)i >= store_m) break;                                                   \
                for (int j = 0; j < (max_n); j++) total[i][j] += (double)part[i][j];               \
            }                                                                                      \
            if (with_norms)                                                                        \
                for (int j = 0; j < (max_n); j++) norm_total[j] += (double)norm_part[j];           \
        }                                                                                          \
        LE_UNROLL for (int i = 0; i < tm; i++) {                                                   \
            if ((size_t)i >= store_m) break;                                                       \
            for (size_t j = 0; j < store_n; j++) out[i * ldo + j] = (float)total[i][j];            \
        }                                                                                          \
        if (with_norms)                                                                            \
            for (size_t j = 0; j < store_n; j++) b_norm2[j] = (float)norm_total[j];                \
    }

/* Rows [r0, r0 + count) of a matrix with rows `ld` floats apart, as tile row pointers; rows past
   `rows` repeat the last one. */
LE_ALWAYS_INLINE void le_tile_rows_(const float **ptrs, int count, const float *base, size_t r0,
                                    size_t rows, size_t ld) {
    for (int t = 0; t < count; t++) {
        size_t r = r0 + (size_t)t < rows ? r0 + (size_t)t : rows - 1;
        ptrs[t] = base + r * ld;
    }
}


/* The batch kernels of one ISA. Many queries go through TM x TN tiles, and the first query rows
 * through a (TM - 1) x TN tile that also sums the matrix rows' norms when they are wanted (one
 * accumulator row fewer keeps the norm accumulators in registers). Matrix tiles are the outer
 * loop: a tile's rows stay in L1 while the block's query tiles stream past from L2. One query
 * walks the matrix LE_STREAMS rows at a time (le/common.h) through the ISA's le_<op>_streams_f32
 * kernels (dense_<isa>.c), which sum each row exactly as the pair kernel le_<op>_f32_<isa> does:
 * a one-query score is the pair operation's, bit for bit, whichever stream its row falls in. */
#define LE_DECLARE_STREAMS(isa)                                                                    \
    void le_dot_streams_f32_##isa(const float *q, const float *x, size_t ldx, size_t n, size_t d,  \
                                  float *out);                                                     \
    void le_dot_norm_streams_f32_##isa(const float *q, const float *x, size_t ldx, size_t n,       \
                                       size_t d, float *out, float *x_norm2);                      \
    void le_l2sq_streams_f32_##isa(const float *q, const float *x, size_t ldx, size_t n, size_t d, \
                                   float *out);                                                    \
    void le_l1_streams_f32_##isa(const float *q, const float *x, size_t ldx, size_t n, size_t d,   \
                                 float *out);

typedef void (*le_streams_f32_fn)(const float *q, const float *x, size_t ldx, size_t n, size_t d,
                                  float *out);

#define LE_DEFINE_BLOCKS(isa, step_fn_t, TM, TN, step_dot, step_l2sq, step_l1)                     \
    LE_DECLARE_STREAMS(isa)                                                                        \
    LE_ALWAYS_INLINE void le_block_##isa##_(const float *q, size_t ldq, size_t m, const float *x,  \
                                            size_t ldx, size_t n, size_t d, float *out, size_t ldo,  \
                                            float *x_norm2, step_fn_t step, le_streams_f32_fn walk) { \
        const float *a[TM], *b[TN];                                                                \
        size_t i0 = 0;                                                                             \
        if (m == 0 || n == 0) return;                                                              \
        if (m == 1) {                                                                              \
            if (x_norm2)                                                                           \
                le_dot_norm_streams_f32_##isa(q, x, ldx, n, d, out, x_norm2);                      \
            else                                                                                   \
                walk(q, x, ldx, n, d, out);                                                        \
            return;                                                                                \
        }                                                                                          \
        if (x_norm2) {                                                                             \
            i0 = TM - 1;                                                                           \
            le_tile_rows_(a, TM - 1, q, 0, m, ldq);                                                \
            for (size_t j0 = 0; j0 < n; j0 += TN) {                                                \
                size_t sn = n - j0 < TN ? n - j0 : TN;                                             \
                le_tile_rows_(b, TN, x, j0, n, ldx);                                               \
                le_tile_##isa##_(a, TM - 1, b, TN, d, step, 1, out + j0, ldo,                      \
                                 m < TM - 1 ? m : TM - 1, sn, x_norm2 + j0);                       \
            }                                                                                      \
        }                                                                                          \
        for (size_t j0 = 0; j0 < n; j0 += TN) {                                                    \
            size_t sn = n - j0 < TN ? n - j0 : TN;                                                 \
            le_tile_rows_(b, TN, x, j0, n, ldx);                                                   \
            for (size_t i = i0; i < m; i += TM) {                                                  \
                size_t sm = m - i < TM ? m - i : TM;                                               \
                le_tile_rows_(a, TM, q, i, m, ldq);                                                \
                le_tile_##isa##_(a, TM, b, TN, d, step, 0, out + i * ldo + j0, ldo, sm, sn, NULL); \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void le_dot_block_f32_##isa(const float *q, size_t ldq, size_t m, const float *x,       \
                                       size_t ldx, size_t n, size_t d, float *out, size_t ldo,     \
                                       float *x_norm2) {                                           \
        le_block_##isa##_(q, ldq, m, x, ldx, n, d, out, ldo, x_norm2, step_dot,                 \
                          le_dot_streams_f32_##isa);                                               \
    }                                                                                              \
    static void le_l2sq_block_f32_##isa(const float *q, size_t ldq, size_t m, const float *x,      \
                                        size_t ldx, size_t n, size_t d, float *out, size_t ldo) {  \
        le_block_##isa##_(q, ldq, m, x, ldx, n, d, out, ldo, NULL, step_l2sq,                   \
                          le_l2sq_streams_f32_##isa);                                              \
    }                                                                                              \
    static void le_l1_block_f32_##isa(const float *q, size_t ldq, size_t m, const float *x,        \
                                      size_t ldx, size_t n, size_t d, float *out, size_t ldo) {    \
        le_block_##isa##_(q, ldq, m, x, ldx, n, d, out, ldo, NULL, step_l1,                     \
                          le_l1_streams_f32_##isa);                                                \
    }                                                                                              \
    static void le_dot_batch4_f32_##isa(const float *q, const float *const *c, size_t d,           \
                                        float *out) {                                              \
        const float *a[1] = {q};                                                                   \
        le_tile_##isa##_(a, 1, c, 4, d, step_dot, 0, out, 4, 1, 4, NULL);                          \
    }

#define LE_BATCH_TABLE(isa)                       \
    {                                             \
        .dot_block_f32 = le_dot_block_f32_##isa,   \
        .l2sq_block_f32 = le_l2sq_block_f32_##isa, \
        .l1_block_f32 = le_l1_block_f32_##isa,     \
        .dot_batch4_f32 = le_dot_batch4_f32_##isa, \
    }

#endif /* LE_TILE_H */
