/* Quant family for AVX-512 VNNI + VPOPCNTDQ. vpdpbusd multiplies unsigned by signed bytes and adds
 * four products into each i32 lane without intermediate saturation, so int8 a * b is computed as
 * (a + 128) * b - 128 * sum(b): a + 128 is a's bytes with the top bit flipped. */
#include "le/kernels.h"
#include "le/target.h"

#if defined(LE_ARCH_X86_64)
#include "le/common.h"
#include "le/quant.h"

LE_TARGET_BEGIN(LE_FEATURES_AVX512VNNI)

/* bytes [0, rem) set, rem in [0, 64] */
LE_ALWAYS_INLINE __mmask64 le_byte_mask_avx512_(size_t rem) {
    return rem >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << rem) - 1);
}

/* The sum of 16 i32 lanes, in 64 bits: their total passes 2^31 long before any lane does (int8:
   from about 66,000 dimensions, far below LE_I8_MAX_DIMS). */
LE_ALWAYS_INLINE int64_t le_hsum_i32x16_wide_(__m512i v) {
    int32_t lanes[16];
    _mm512_storeu_si512(lanes, v);
    int64_t sum = 0;
    for (int i = 0; i < 16; i++) sum += lanes[i];
    return sum;
}

static int64_t le_dot_i8_avx512vnni(const int8_t *a, const int8_t *b, size_t n) {
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    __m512i acc = _mm512_setzero_si512(), b_sum = _mm512_setzero_si512();
    for (size_t i = 0; i < n; i += 64) {
        __mmask64 mask = le_byte_mask_avx512_(n - i);
        __m512i va = _mm512_maskz_loadu_epi8(mask, a + i), vb = _mm512_maskz_loadu_epi8(mask, b + i);
        /* masked lanes: a = 0 -> 128, b = 0: nothing added to either sum */
        acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(va, flip), vb);
        b_sum = _mm512_dpbusd_epi32(b_sum, ones, vb);
    }
    /* a lane adds n / 16 products (a + 128) b of at most 255 * 127: exact to n = 1,000,000 */
    return le_hsum_i32x16_wide_(acc) - 128 * le_hsum_i32x16_wide_(b_sum);
}

/* TQ queries x NP panels, `spread` panels apart: each query's 4-byte group is broadcast (top bits
   flipped) and meets 16 rows x 4 bytes in one register, so the i32 lanes are finished row sums. */
LE_ALWAYS_INLINE void le_i8_panel_tile_avx512vnni_(const int8_t *q, size_t ldq, const int TQ,
                                                   const int8_t *panel, const int NP, size_t spread,
                                                   size_t dp, const int32_t *x_sums, int32_t *out,
                                                   size_t ldo) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const size_t stride = spread * LE_I8_PANEL_ROWS * dp;
    __m512i acc[12][LE_STREAMS];
    for (int t = 0; t < TQ; t++)
        for (int k = 0; k < NP; k++) acc[t][k] = _mm512_setzero_si512();
    for (size_t g = 0; g < dp / 4; g++) {
        __m512i x[LE_STREAMS];
        for (int k = 0; k < NP; k++) x[k] = _mm512_loadu_si512(panel + k * stride + 64 * g);
        for (int t = 0; t < TQ; t++) {
            int32_t word;
            memcpy(&word, q + t * ldq + 4 * g, 4);
            __m512i qb = _mm512_xor_si512(_mm512_set1_epi32(word), flip);
            for (int k = 0; k < NP; k++) acc[t][k] = _mm512_dpbusd_epi32(acc[t][k], qb, x[k]);
        }
    }
    for (int k = 0; k < NP; k++) {
        const size_t at = k * spread * LE_I8_PANEL_ROWS;
        __m512i offset = _mm512_slli_epi32(_mm512_loadu_si512(x_sums + at), 7);
        for (int t = 0; t < TQ; t++)
            _mm512_storeu_si512(out + t * ldo + at, _mm512_sub_epi32(acc[t][k], offset));
    }
}

/* All queries against NP adjacent panels, in tiles of 12, then 4, then 1 query. */
LE_ALWAYS_INLINE void le_i8_panels_avx512vnni_(const int8_t *q, size_t ldq, size_t m, const int8_t *panel,
                                               const int NP, size_t dp, const int32_t *x_sums, int32_t *out,
                                               size_t ldo) {
    size_t i = 0;
    for (; i + 12 <= m; i += 12)
        le_i8_panel_tile_avx512vnni_(q + i * ldq, ldq, 12, panel, NP, 1, dp, x_sums, out + i * ldo, ldo);
    for (; i + 4 <= m; i += 4)
        le_i8_panel_tile_avx512vnni_(q + i * ldq, ldq, 4, panel, NP, 1, dp, x_sums, out + i * ldo, ldo);
    for (; i < m; i++)
        le_i8_panel_tile_avx512vnni_(q + i * ldq, ldq, 1, panel, NP, 1, dp, x_sums, out + i * ldo, ldo);
}

static void le_dot_i8_panels_avx512vnni(const int8_t *q, size_t ldq, size_t m, const int8_t *panels,
                                        size_t n_panels, size_t dp, const int32_t *x_sums,
                                        int32_t *out, size_t ldo) {
    const size_t panel_bytes = LE_I8_PANEL_ROWS * dp;
    size_t p = 0;
    if (m == 1) { /* see LE_STREAMS; one accumulator per stream also hides vpdpbusd's latency */
        const size_t spread = n_panels / LE_STREAMS;
        for (; p < spread; p++)
            le_i8_panel_tile_avx512vnni_(q, ldq, 1, panels + p * panel_bytes, LE_STREAMS, spread, dp,
                                         x_sums + p * LE_I8_PANEL_ROWS, out + p * LE_I8_PANEL_ROWS, ldo);
        p = spread * LE_STREAMS;
    }
    for (; p < n_panels; p += 2) {
        const int8_t *panel = panels + p * panel_bytes;
        const int32_t *sums = x_sums + p * LE_I8_PANEL_ROWS;
        int32_t *dst = out + p * LE_I8_PANEL_ROWS;
        if (p + 1 < n_panels)
            le_i8_panels_avx512vnni_(q, ldq, m, panel, 2, dp, sums, dst, ldo);
        else
            le_i8_panels_avx512vnni_(q, ldq, m, panel, 1, dp, sums, dst, ldo);
    }
}

static int64_t le_dot_u4_avx512vnni(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    const __m512i low = _mm512_set1_epi8(0x0f);
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < nbytes; i += 64) {
        __mmask64 mask = le_byte_mask_avx512_(nbytes - i);
        __m512i va = _mm512_maskz_loadu_epi8(mask, a + i), vb = _mm512_maskz_loadu_epi8(mask, b + i);
        /* nibbles are <= 15: exact as vpdpbusd's signed operand too */
        acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(va, low), _mm512_and_si512(vb, low));
        acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(va, 4), low),
                                  _mm512_and_si512(_mm512_srli_epi16(vb, 4), low));
    }
    return le_hsum_i32x16_wide_(acc);
}

static uint64_t le_hamming_b1_avx512vnni(const uint8_t *a, const uint8_t *b, size_t nbytes) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < nbytes; i += 64) {
        __mmask64 mask = le_byte_mask_avx512_(nbytes - i);
        __m512i diff = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, a + i), _mm512_maskz_loadu_epi8(mask, b + i));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(diff));
    }
    return (uint64_t)_mm512_reduce_add_epi64(acc);
}

LE_DEFINE_QUANT_ROWS(avx512vnni)

LE_TARGET_END

const le_kernel_table_t le_quant_avx512vnni = {
    .dot_i8 = le_dot_i8_avx512vnni,
    .dot_i8_panels = le_dot_i8_panels_avx512vnni,
    .dot_u4 = le_dot_u4_avx512vnni,
    .dot_u4_rows = le_dot_u4_rows_avx512vnni,
    .hamming_b1 = le_hamming_b1_avx512vnni,
    .hamming_b1_rows = le_hamming_b1_rows_avx512vnni,
};

#endif /* LE_ARCH_X86_64 */
