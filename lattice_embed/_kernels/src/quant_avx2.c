/* Quant family for AVX2. int8 products use the sign trick: |a| * (b with a's sign) through
 * vpmaddubsw, whose pairwise i16 sums cannot saturate because values stay in [-127, 127]; vpmaddwd
 * then widens to i32. Tails run the scalar loop: integer sums are exact in any order. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include <stdlib.h>

#include "le/common.h"
#include "le/quant.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX2)
#include "le/isa_avx2.h"

LE_ALWAYS_INLINE int64_t le_hsum_i32x8_avx2_(__m256i v) {
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, v);
    int64_t sum = 0;
    for (int i = 0; i < 8; i++) sum += lanes[i];
    return sum;
}

/* a * b summed per 4 bytes into i32 lanes, for int8 a, b in [-127, 127] */
LE_ALWAYS_INLINE __m256i le_dot_i8x32_avx2_(__m256i a, __m256i b) {
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

static int64_t le_dot_i8_avx2(const int8_t *a, const int8_t *b, size_t n) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        acc0 = _mm256_add_epi32(acc0, le_dot_i8x32_avx2_(_mm256_loadu_si256((const __m256i *)(a + i)),
                                                         _mm256_loadu_si256((const __m256i *)(b + i))));
        acc1 = _mm256_add_epi32(acc1, le_dot_i8x32_avx2_(_mm256_loadu_si256((const __m256i *)(a + i + 32)),
                                                         _mm256_loadu_si256((const __m256i *)(b + i + 32))));
    }
    for (; i + 32 <= n; i += 32)
        acc0 = _mm256_add_epi32(acc0, le_dot_i8x32_avx2_(_mm256_loadu_si256((const __m256i *)(a + i)),
                                                         _mm256_loadu_si256((const __m256i *)(b + i))));
    int64_t sum = le_hsum_i32x8_avx2_(acc0) + le_hsum_i32x8_avx2_(acc1);
    for (; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

/* TQ queries x NP panels, `spread` panels apart: each 4-byte query group is broadcast and meets
   16 rows x 4 bytes in two registers, so the i32 lanes are finished row sums (no horizontal add). */
LE_ALWAYS_INLINE void le_i8_panel_tile_avx2_(const int8_t *q, size_t ldq, const int TQ, const int8_t *panel,
                                             const int NP, size_t spread, size_t dp, int32_t *out, size_t ldo) {
    const size_t stride = spread * LE_I8_PANEL_ROWS * dp;
    __m256i acc[4][LE_STREAMS][2];
    for (int t = 0; t < TQ; t++)
        for (int k = 0; k < NP; k++) acc[t][k][0] = acc[t][k][1] = _mm256_setzero_si256();
    for (size_t g = 0; g < dp / 4; g++) {
        __m256i x[LE_STREAMS][2];
        for (int k = 0; k < NP; k++) {
            x[k][0] = _mm256_loadu_si256((const __m256i *)(panel + k * stride + 64 * g));
            x[k][1] = _mm256_loadu_si256((const __m256i *)(panel + k * stride + 64 * g + 32));
        }
        for (int t = 0; t < TQ; t++) {
            int32_t word;
            memcpy(&word, q + t * ldq + 4 * g, 4);
            __m256i qb = _mm256_set1_epi32(word);
            for (int k = 0; k < NP; k++) {
                acc[t][k][0] = _mm256_add_epi32(acc[t][k][0], le_dot_i8x32_avx2_(qb, x[k][0]));
                acc[t][k][1] = _mm256_add_epi32(acc[t][k][1], le_dot_i8x32_avx2_(qb, x[k][1]));
            }
        }
    }
    for (int t = 0; t < TQ; t++)
        for (int k = 0; k < NP; k++) {
            int32_t *dst = out + t * ldo + k * spread * LE_I8_PANEL_ROWS;
            _mm256_storeu_si256((__m256i *)dst, acc[t][k][0]);
            _mm256_storeu_si256((__m256i *)(dst + 8), acc[t][k][1]);
        }
}

static void le_dot_i8_panels_avx2(const int8_t *q, size_t ldq, size_t m, const int8_t *panels,
                                  size_t n_panels, size_t dp, const int32_t *x_sums, int32_t *out,
                                  size_t ldo) {
    (void)x_sums;
    const size_t panel_bytes = LE_I8_PANEL_ROWS * dp;
    size_t p = 0;
    if (m == 1) { /* see LE_STREAMS */
        const size_t spread = n_panels / LE_STREAMS;
        for (; p < spread; p++)
            le_i8_panel_tile_avx2_(q, ldq, 1, panels + p * panel_bytes, LE_STREAMS, spread, dp,
                                   out + p * LE_I8_PANEL_ROWS, ldo);
        p = spread * LE_STREAMS;
    }
    for (; p < n_panels; p++) {
        const int8_t *panel = panels + p * panel_bytes;
        int32_t *dst = out + p * LE_I8_PANEL_ROWS;
        size_t i = 0;
        for (; i + 4 <= m; i += 4) le_i8_panel_tile_avx2_(q + i * ldq, ldq, 4, panel, 1, 1, dp, dst + i * ldo, ldo);
        for (; i < m; i++) le_i8_panel_tile_avx2_(q + i * ldq, ldq, 1, panel, 1, 1, dp, dst + i * ldo, ldo);
    }
}

static int64_t le_dot_u4_avx2(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    const __m256i low = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i)), vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i a_lo = _mm256_and_si256(va, low), a_hi = _mm256_and_si256(_mm256_srli_epi16(va, 4), low);
        __m256i b_lo = _mm256_and_si256(vb, low), b_hi = _mm256_and_si256(_mm256_srli_epi16(vb, 4), low);
        /* nibbles are <= 15, so the signed operand of vpmaddubsw is exact */
        __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(a_lo, b_lo), _mm256_maddubs_epi16(a_hi, b_hi));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    int64_t sum = le_hsum_i32x8_avx2_(acc);
    for (; i < nbytes; i++) sum += (a[i] >> 4) * (b[i] >> 4) + (a[i] & 15) * (b[i] & 15);
    return sum;
}

/* popcount of 32 bytes via a 4-bit lookup table, summed to four u64 lanes */
static uint64_t le_hamming_b1_avx2(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i diff = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + i)),
                                        _mm256_loadu_si256((const __m256i *)(b + i)));
        __m256i counts = _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(diff, low)),
                                         _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(diff, 4), low)));
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(counts, _mm256_setzero_si256()));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    uint64_t count = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < nbytes; i++) count += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return count;
}

/* bf16 is the high half of an f32: interleaving zeros below 16 values gives two vectors of f32
   (in a lane-permuted order, the same for both operands, which a dot product does not see) */
LE_ALWAYS_INLINE __m256 le_bf16_low_avx2_(__m256i v) {
    return _mm256_castsi256_ps(_mm256_unpacklo_epi16(_mm256_setzero_si256(), v));
}
LE_ALWAYS_INLINE __m256 le_bf16_high_avx2_(__m256i v) {
    return _mm256_castsi256_ps(_mm256_unpackhi_epi16(_mm256_setzero_si256(), v));
}

/* NR rows (see LE_DEFINE_BF16_ROWS_STREAMED), each with four accumulators */
LE_ALWAYS_INLINE void le_dot_bf16_tile_avx2_(const uint16_t *q, const uint16_t *x, size_t spread, const int NR,
                                             size_t n, float *out, size_t out_spread) {
    __m256 acc[LE_STREAMS][4];
    for (int r = 0; r < NR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(q + i)), q1 = _mm256_loadu_si256((const __m256i *)(q + i + 16));
        for (int r = 0; r < NR; r++) {
            const uint16_t *row = x + r * spread;
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(row + i));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(row + i + 16));
            acc[r][0] = _mm256_fmadd_ps(le_bf16_low_avx2_(q0), le_bf16_low_avx2_(x0), acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(le_bf16_high_avx2_(q0), le_bf16_high_avx2_(x0), acc[r][1]);
            acc[r][2] = _mm256_fmadd_ps(le_bf16_low_avx2_(q1), le_bf16_low_avx2_(x1), acc[r][2]);
            acc[r][3] = _mm256_fmadd_ps(le_bf16_high_avx2_(q1), le_bf16_high_avx2_(x1), acc[r][3]);
        }
    }
    for (; i + 16 <= n; i += 16) {
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(q + i));
        for (int r = 0; r < NR; r++) {
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + r * spread + i));
            acc[r][0] = _mm256_fmadd_ps(le_bf16_low_avx2_(q0), le_bf16_low_avx2_(x0), acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(le_bf16_high_avx2_(q0), le_bf16_high_avx2_(x0), acc[r][1]);
        }
    }
    for (int r = 0; r < NR; r++) {
        const uint16_t *row = x + r * spread;
        float sum = le_hsum_f32x8_avx2_(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]),
                                                      _mm256_add_ps(acc[r][2], acc[r][3])));
        for (size_t k = i; k < n; k++) sum += le_bf16_to_f32_(q[k]) * le_bf16_to_f32_(row[k]);
        out[r * out_spread] = sum;
    }
}

LE_DEFINE_QUANT_ROWS(avx2)
LE_DEFINE_BF16_ROWS_STREAMED(avx2)

/* Many queries. The pair kernel's four accumulators are four independent sequential sums: acc_p
   adds, in order, the 8-float group p of each 32-value step (p = 0, 1: low and high lanes of the
   first 16 values, le_bf16_low/high_avx2_; p = 2, 3: the same of the second 16), and acc0, acc1
   also the groups of a last 16 values. So queries and rows are widened once to f32 "phase-major":
   phase p's groups stored together in that order, then the d % 16 tail values. A plain f32
   register tile (3 queries x 4 rows, one accumulator per pair: 12 accumulators, 3 query vectors,
   1 row vector) then sums each phase as the pair kernel sums acc_p, and the four phase sums are
   combined exactly as it combines them (same adds, same le_hsum_f32x8_avx2_, same scalar tail):
   a score is le_dot_bf16_avx2's, bit for bit (a product of two bf16 values is exact in f32, so
   only the order of the adds matters). The loop spends 7 loads on 12 FMAs, where widening each
   row against 3 widened queries spent 7 loads and 2 shuffles on 6: FMAs, not loads, bound it. A
   tile's 4 rows are widened into L1 and meet every query of a chunk, widened once into L2.
   Zen 3, one thread, 1,000 x 100,000 x 768: 0.86x the rate of the f32 tiles (0.74x before);
   what is left is four short phase loops per tile (f32 tiles at d = 192 lose as much) and
   widening the rows again for each call's queries (search.c passes ~60 at a time; ~5%). */
#define LE_BF16_TQ 3
#define LE_BF16_TR 4
#define LE_BF16_CHUNK_QUERIES 64 /* widened queries at a time: 192 KB at d = 768, in L2 */

/* The phase-major floats of one bf16 vector: phase p spans [start[p], start[p + 1]) of `out`,
   with start = {0, g01, 2 g01, 2 g01 + g23, 16 (d / 16)}, g01 = 8 (steps + d % 32 / 16),
   g23 = 8 steps, steps = d / 32; then out[k] for k in [16 (d / 16), d) is value k. */
LE_ALWAYS_INLINE void le_bf16_widen_phases_avx2_(const uint16_t *v, size_t d, float *out) {
    const size_t steps = d / 32, g01 = 8 * (steps + d % 32 / 16);
    float *p0 = out, *p1 = out + g01, *p2 = out + 2 * g01, *p3 = p2 + 8 * steps;
    size_t s = 0;
    for (; s < steps; s++) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(v + 32 * s));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(v + 32 * s + 16));
        _mm256_store_ps(p0 + 8 * s, le_bf16_low_avx2_(v0));
        _mm256_store_ps(p1 + 8 * s, le_bf16_high_avx2_(v0));
        _mm256_store_ps(p2 + 8 * s, le_bf16_low_avx2_(v1));
        _mm256_store_ps(p3 + 8 * s, le_bf16_high_avx2_(v1));
    }
    size_t i = 32 * steps;
    if (i + 16 <= d) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(v + i));
        _mm256_store_ps(p0 + 8 * s, le_bf16_low_avx2_(v0));
        _mm256_store_ps(p1 + 8 * s, le_bf16_high_avx2_(v0));
        i += 16;
    }
    for (; i < d; i++) out[i] = le_bf16_to_f32_(v[i]);
}

/* One phase, floats [k0, k1), of TQ widened queries a[t] x LE_BF16_TR widened rows b[r] */
LE_ALWAYS_INLINE void le_dot_bf16_phase_avx2_(const float *const *a, const int TQ, const float *const *b,
                                              size_t k0, size_t k1, __m256 part[LE_BF16_TQ][LE_BF16_TR]) {
    __m256 acc[LE_BF16_TQ][LE_BF16_TR];
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < LE_BF16_TR; r++) acc[t][r] = _mm256_setzero_ps();
    for (size_t k = k0; k < k1; k += 8) {
        __m256 av[LE_BF16_TQ];
        for (int t = 0; t < TQ; t++) av[t] = _mm256_load_ps(a[t] + k);
        for (int r = 0; r < LE_BF16_TR; r++) {
            __m256 bv = _mm256_load_ps(b[r] + k);
            for (int t = 0; t < TQ; t++) acc[t][r] = _mm256_fmadd_ps(av[t], bv, acc[t][r]);
        }
    }
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < LE_BF16_TR; r++) part[t][r] = acc[t][r];
}

/* le_hsum_f32x8_avx2_ of four vectors at once, by the same adds of the same operands in the same
   order (halves, then lanes k and k + 2, then lanes 0 and 1): the four sums, bit for bit */
LE_ALWAYS_INLINE __m128 le_hsum4_f32x8_avx2_(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    __m256 x01 = _mm256_add_ps(_mm256_permute2f128_ps(v0, v1, 0x20), _mm256_permute2f128_ps(v0, v1, 0x31));
    __m256 x23 = _mm256_add_ps(_mm256_permute2f128_ps(v2, v3, 0x20), _mm256_permute2f128_ps(v2, v3, 0x31));
    __m256 y = _mm256_add_ps(_mm256_shuffle_ps(x01, x23, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(x01, x23, _MM_SHUFFLE(3, 2, 3, 2)));
    __m256 z = _mm256_add_ps(_mm256_shuffle_ps(y, y, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm256_shuffle_ps(y, y, _MM_SHUFFLE(3, 1, 3, 1)));
    /* z = [v0 v2 v0 v2 | v1 v3 v1 v3] */
    return _mm_unpacklo_ps(_mm256_castps256_ps128(z), _mm256_extractf128_ps(z, 1));
}

/* TQ queries x LE_BF16_TR rows, all widened: stores TQ x sn scores (rows ldo apart). Each pair's
   phase sums combine as the pair kernel's accumulators do: (acc0 + acc1) + (acc2 + acc3), hsum,
   then the scalar tail. */
LE_ALWAYS_INLINE void le_dot_bf16_wtile_avx2_(const float *const *a, const int TQ, const float *const *b, size_t d,
                                              float *out, size_t ldo, size_t sn) {
    const size_t steps = d / 32, g01 = 8 * (steps + d % 32 / 16), d16 = d / 16 * 16;
    __m256 s01[LE_BF16_TQ][LE_BF16_TR], s23[LE_BF16_TQ][LE_BF16_TR], part[LE_BF16_TQ][LE_BF16_TR];
    le_dot_bf16_phase_avx2_(a, TQ, b, 0, g01, s01);
    le_dot_bf16_phase_avx2_(a, TQ, b, g01, 2 * g01, part);
    for (int t = 0; t < TQ; t++)
        for (int r = 0; r < LE_BF16_TR; r++) s01[t][r] = _mm256_add_ps(s01[t][r], part[t][r]);
    le_dot_bf16_phase_avx2_(a, TQ, b, 2 * g01, 2 * g01 + 8 * steps, s23);
    le_dot_bf16_phase_avx2_(a, TQ, b, 2 * g01 + 8 * steps, d16, part);
    for (int t = 0; t < TQ; t++) {
        __m256 v[LE_BF16_TR];
        for (int r = 0; r < LE_BF16_TR; r++)
            v[r] = _mm256_add_ps(s01[t][r], _mm256_add_ps(s23[t][r], part[t][r]));
        __m128 sums = le_hsum4_f32x8_avx2_(v[0], v[1], v[2], v[3]);
        if (d16 == d && sn == LE_BF16_TR) {
            _mm_storeu_ps(out + t * ldo, sums);
            continue;
        }
        float sum[LE_BF16_TR];
        _mm_storeu_ps(sum, sums);
        for (size_t r = 0; r < sn; r++) {
            for (size_t k = d16; k < d; k++) sum[r] += a[t][k] * b[r][k];
            out[t * ldo + r] = sum[r];
        }
    }
}

static void le_dot_bf16_block_avx2(const uint16_t *q, size_t ldq, size_t m, const uint16_t *x, size_t ldx,
                                   size_t n, size_t d, float *out, size_t ldo) {
    const size_t ld = (d + 15) / 16 * 16; /* floats per widened vector: whole cache lines */
    const size_t chunks = (m + LE_BF16_CHUNK_QUERIES - 1) / LE_BF16_CHUNK_QUERIES;
    const size_t chunk = chunks ? (m + chunks - 1) / chunks : 0; /* even chunks: no lone leftover */
    float *w = m > 1 && n > 0 && d > 0 ? aligned_alloc(64, (chunk + LE_BF16_TR) * ld * sizeof(float)) : NULL;
    if (!w) { /* one query (memory-bound: the rows kernel walks LE_STREAMS rows), or no memory */
        for (size_t i = 0; i < m; i++) le_dot_bf16_rows_avx2(q + i * ldq, x, ldx, n, d, out + i * ldo);
        return;
    }
    float *wx = w + chunk * ld;
    for (size_t i0 = 0; i0 < m; i0 += chunk) {
        const size_t mc = m - i0 < chunk ? m - i0 : chunk;
        for (size_t i = 0; i < mc; i++) le_bf16_widen_phases_avx2_(q + (i0 + i) * ldq, d, w + i * ld);
        for (size_t j0 = 0; j0 < n; j0 += LE_BF16_TR) {
            const size_t sn = n - j0 < LE_BF16_TR ? n - j0 : LE_BF16_TR;
            const float *b[LE_BF16_TR];
            for (size_t r = 0; r < LE_BF16_TR; r++) { /* missing rows repeat the last: summed, not stored */
                if (r < sn) le_bf16_widen_phases_avx2_(x + (j0 + r) * ldx, d, wx + r * ld);
                b[r] = wx + (r < sn ? r : sn - 1) * ld;
            }
            size_t i = 0;
            for (; i + 3 <= mc; i += 3) {
                const float *a[LE_BF16_TQ] = {w + i * ld, w + (i + 1) * ld, w + (i + 2) * ld};
                le_dot_bf16_wtile_avx2_(a, 3, b, d, out + (i0 + i) * ldo + j0, ldo, sn);
            }
            if (mc - i == 2) {
                const float *a[LE_BF16_TQ] = {w + i * ld, w + (i + 1) * ld, NULL};
                le_dot_bf16_wtile_avx2_(a, 2, b, d, out + (i0 + i) * ldo + j0, ldo, sn);
            } else if (mc - i == 1) {
                const float *a[LE_BF16_TQ] = {w + i * ld, NULL, NULL};
                le_dot_bf16_wtile_avx2_(a, 1, b, d, out + (i0 + i) * ldo + j0, ldo, sn);
            }
        }
    }
    free(w);
}

LE_TARGET_END

const le_kernel_table_t le_quant_avx2 = {
    .dot_i8 = le_dot_i8_avx2,
    .dot_i8_panels = le_dot_i8_panels_avx2,
    .dot_u4 = le_dot_u4_avx2,
    .dot_u4_rows = le_dot_u4_rows_avx2,
    .hamming_b1 = le_hamming_b1_avx2,
    .hamming_b1_rows = le_hamming_b1_rows_avx2,
    .dot_bf16 = le_dot_bf16_avx2,
    .dot_bf16_rows = le_dot_bf16_rows_avx2,
    .dot_bf16_block = le_dot_bf16_block_avx2,
};

#endif /* LE_ARCH_X86_64 */
