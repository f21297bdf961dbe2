/* Small helpers shared by every tier. Plain C, no intrinsics: safe inside and outside regions. */
#ifndef LE_COMMON_H
#define LE_COMMON_H

#include <math.h>
#include <stddef.h>
#include <string.h>

/* For helpers taking a constant step or tile shape: inlining specializes each call site. */
#define LE_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Keeps a vector loaded from the streaming operand in a register, so the compiler folds the
   other (cache-resident) operand into the arithmetic instead. Left to itself GCC folds the
   streamed load into the FMA or dot instruction, and on Zen 4 a one-query scan over a matrix in
   memory then ran 1.1-1.2x slower than the memory floor against 1.03-1.06x this way (100k x 768
   float32 rows). x86 only; a no-op where vectors are not registers (SIMDe in tests/c). */
#if defined(LE_ARCH_X86_64) && !defined(LE_EMULATE_X86)
#define LE_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define LE_IN_REGISTER(v) ((void)0)
#endif

/* One query against many rows walks LE_STREAMS of them at once, one from each part of the range
   cut in LE_STREAMS: a single sequential stream leaves the hardware prefetchers too few requests
   in flight. Zen 3, one thread, one query against 100k x 768 int8 rows: 1.23x the time of a
   one-stream read of the same bytes with one stream, 0.84-0.86x with four (paired runs). The f32,
   bf16 and int8 one-query kernels all walk this way. */
#define LE_STREAMS 4

/* Rows [0, n) cut in LE_STREAMS parts of `spread` rows: `call` runs for j in [0, spread) with
   `count` = LE_STREAMS (rows j, j + spread, ...), then for each row left over with `count` = 1.
   `count` is a constant in each, so an always-inlined kernel is specialized for it. */
#define LE_WALK_STREAMS(n, spread, j, count, call)                                                 \
    do {                                                                                           \
        const size_t spread = (n) / LE_STREAMS;                                                    \
        {                                                                                          \
            const int count = LE_STREAMS;                                                          \
            for (size_t j = 0; j < spread; j++) call;                                              \
        }                                                                                          \
        {                                                                                          \
            const int count = 1;                                                                   \
            for (size_t j = spread * LE_STREAMS; j < (n); j++) call;                               \
        }                                                                                          \
    } while (0)

/* cosine from its fused parts; 0 when either norm is 0 (the original crate's contract), NaN in,
   NaN out. The last step runs in double: aa * bb cannot overflow and it costs one division. */
static inline float le_cosine_from_parts_(float ab, float aa, float bb) {
    if (aa == 0.0f || bb == 0.0f) return 0.0f;
    return (float)((double)ab / sqrt((double)aa * (double)bb));
}

/* The scale that makes a row of squared norm `norm2` unit length, or 0 when the row must be left
   unchanged (norm 0, NaN, or infinite). */
static inline float le_inverse_norm_(float norm2) {
    if (!(norm2 > 0.0f) || !isfinite(norm2)) return 0.0f;
    return (float)(1.0 / sqrt((double)norm2));
}

/* Row-wise pair kernels of one ISA, over its pair kernels (defined in each dense_<isa>.c). */
#define LE_DEFINE_ROWS(isa)                                                                          \
    static void le_dot_rows_f32_##isa(const float *a, const float *b, size_t rows, size_t d,         \
                                      float *out) {                                                  \
        for (size_t r = 0; r < rows; r++) out[r] = le_dot_f32_##isa(a + r * d, b + r * d, d);       \
    }                                                                                                \
    static void le_cosine_rows_f32_##isa(const float *a, const float *b, size_t rows, size_t d,      \
                                         float *out) {                                               \
        for (size_t r = 0; r < rows; r++) out[r] = le_cosine_f32_##isa(a + r * d, b + r * d, d);    \
    }

#endif /* LE_COMMON_H */
