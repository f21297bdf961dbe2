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

/* Many queries. Widening bf16 costs a shuffle per 8 products, as much as the products' FMAs cost
   on Zen 3's shuffle pipes, so each query is widened once to f32 and a tile of TQ widened queries
   meets one row at a time: the row's 16 values are widened once for TQ queries, and the queries'
   floats feed the FMAs straight from L1. Widened queries keep the lane order the pair kernel's
   shuffles give each 16 values (le_bf16_low/high_avx2_), and every pair keeps the pair kernel's
   four accumulators, steps and reductions: a score is le_dot_bf16_avx2's, bit for bit (a product
   of two bf16 values is exact in f32, so which operand was widened first changes nothing). */
LE_ALWAYS_INLINE void le_bf16_widen_avx2_(const uint16_t *q, size_t d, float *out) {
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(q + i));
        _mm256_storeu_ps(out + i, le_bf16_low_avx2_(v));
        _mm256_storeu_ps(out + i + 8, le_bf16_high_avx2_(v));
    }
    for (; i < d; i++) out[i] = le_bf16_to_f32_(q[i]);
}

/* TQ widened queries (`ldw` floats apart) against one row: out[t * ldo] */
LE_ALWAYS_INLINE void le_dot_bf16_qtile_avx2_(const float *w, size_t ldw, const int TQ, const uint16_t *row,
                                              size_t n, float *out, size_t ldo) {
    __m256 acc[3][4];
    for (int t = 0; t < TQ; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int h = 0; h < 2; h++) { /* 16 values at a time: 12 accumulators, 3 row vectors, zero */
            __m256i xv = _mm256_loadu_si256((const __m256i *)(row + i + 16 * h));
            LE_IN_REGISTER(xv); /* one load for both shuffles: loads, not FMAs, bound this loop */
            __m256 x_low = le_bf16_low_avx2_(xv), x_high = le_bf16_high_avx2_(xv);
            for (int t = 0; t < TQ; t++) {
                const float *wt = w + t * ldw + i + 16 * h;
                acc[t][2 * h] = _mm256_fmadd_ps(_mm256_loadu_ps(wt), x_low, acc[t][2 * h]);
                acc[t][2 * h + 1] = _mm256_fmadd_ps(_mm256_loadu_ps(wt + 8), x_high, acc[t][2 * h + 1]);
            }
        }
    for (; i + 16 <= n; i += 16) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(row + i));
        __m256 x0_low = le_bf16_low_avx2_(x0), x0_high = le_bf16_high_avx2_(x0);
        for (int t = 0; t < TQ; t++) {
            acc[t][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + t * ldw + i), x0_low, acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(_mm256_loadu_ps(w + t * ldw + i + 8), x0_high, acc[t][1]);
        }
    }
    for (int t = 0; t < TQ; t++) {
        float sum = le_hsum_f32x8_avx2_(_mm256_add_ps(_mm256_add_ps(acc[t][0], acc[t][1]),
                                                      _mm256_add_ps(acc[t][2], acc[t][3])));
        for (size_t k = i; k < n; k++) sum += w[t * ldw + k] * le_bf16_to_f32_(row[k]);
        out[t * ldo] = sum;
    }
}

/* TQ queries, widened into w, against every row. */
LE_ALWAYS_INLINE void le_dot_bf16_qrows_avx2_(const uint16_t *q, size_t ldq, const int TQ, const uint16_t *x,
                                              size_t ldx, size_t n, size_t d, float *w, float *out, size_t ldo) {
    for (int t = 0; t < TQ; t++) le_bf16_widen_avx2_(q + t * ldq, d, w + t * d);
    for (size_t j = 0; j < n; j++) le_dot_bf16_qtile_avx2_(w, d, TQ, x + j * ldx, d, out + j, ldo);
}

static void le_dot_bf16_block_avx2(const uint16_t *q, size_t ldq, size_t m, const uint16_t *x, size_t ldx,
                                   size_t n, size_t d, float *out, size_t ldo) {
    float *w = m > 1 && d > 0 ? malloc(3 * d * sizeof(float)) : NULL;
    if (!w) { /* one query (memory-bound: the rows kernel walks LE_STREAMS rows), or no memory */
        for (size_t i = 0; i < m; i++) le_dot_bf16_rows_avx2(q + i * ldq, x, ldx, n, d, out + i * ldo);
        return;
    }
    size_t i = 0;
    for (; i + 3 <= m; i += 3) le_dot_bf16_qrows_avx2_(q + i * ldq, ldq, 3, x, ldx, n, d, w, out + i * ldo, ldo);
    if (m - i == 2) le_dot_bf16_qrows_avx2_(q + i * ldq, ldq, 2, x, ldx, n, d, w, out + i * ldo, ldo);
    if (m - i == 1) le_dot_bf16_qrows_avx2_(q + i * ldq, ldq, 1, x, ldx, n, d, w, out + i * ldo, ldo);
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
