/* AVX2 + FMA building blocks shared by the *_avx2.c families. Include inside
 * LE_TARGET_BEGIN(LE_FEATURES_AVX2) ... LE_TARGET_END. */
#ifndef LE_ISA_AVX2_H
#define LE_ISA_AVX2_H

/* lanes [0, rem) set, rem in [0, 8] */
LE_ALWAYS_INLINE __m256i le_tail_mask_avx2_(size_t rem) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

LE_ALWAYS_INLINE float le_hsum_f32x8_avx2_(__m256 v) {
    __m128 sum_f32x4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum_f32x4 = _mm_add_ps(sum_f32x4, _mm_movehl_ps(sum_f32x4, sum_f32x4));
    sum_f32x4 = _mm_add_ss(sum_f32x4, _mm_movehdup_ps(sum_f32x4));
    return _mm_cvtss_f32(sum_f32x4);
}

/* A step folds one pair of vectors into an accumulator; kernels take the step as a constant
   argument of an always-inlined loop, so each (loop, step) pair compiles to its own code. */
typedef __m256 (*le_step_f32x8_fn)(__m256 acc, __m256 a, __m256 b);

LE_ALWAYS_INLINE __m256 le_step_dot_avx2_(__m256 acc, __m256 a, __m256 b) {
    return _mm256_fmadd_ps(a, b, acc);
}

LE_ALWAYS_INLINE __m256 le_step_l2sq_avx2_(__m256 acc, __m256 a, __m256 b) {
    __m256 diff = _mm256_sub_ps(a, b);
    return _mm256_fmadd_ps(diff, diff, acc);
}

LE_ALWAYS_INLINE __m256 le_step_l1_avx2_(__m256 acc, __m256 a, __m256 b) {
    return _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(a, b)));
}

#endif /* LE_ISA_AVX2_H */
