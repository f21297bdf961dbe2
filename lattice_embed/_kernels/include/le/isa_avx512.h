/* AVX-512 building blocks shared by the *_avx512.c families. Include inside
 * LE_TARGET_BEGIN(LE_FEATURES_AVX512) ... LE_TARGET_END. */
#ifndef LE_ISA_AVX512_H
#define LE_ISA_AVX512_H

/* lanes [0, rem) set, rem in [0, 16] */
LE_ALWAYS_INLINE __mmask16 le_tail_mask_avx512_(size_t rem) { return (__mmask16)((1u << rem) - 1u); }

/* See isa_avx2.h. */
typedef __m512 (*le_step_f32x16_fn)(__m512 acc, __m512 a, __m512 b);

LE_ALWAYS_INLINE __m512 le_step_dot_avx512_(__m512 acc, __m512 a, __m512 b) {
    return _mm512_fmadd_ps(a, b, acc);
}

LE_ALWAYS_INLINE __m512 le_step_l2sq_avx512_(__m512 acc, __m512 a, __m512 b) {
    __m512 diff = _mm512_sub_ps(a, b);
    return _mm512_fmadd_ps(diff, diff, acc);
}

LE_ALWAYS_INLINE __m512 le_step_l1_avx512_(__m512 acc, __m512 a, __m512 b) {
    return _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(a, b)));
}

#endif /* LE_ISA_AVX512_H */
