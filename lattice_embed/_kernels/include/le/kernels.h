/* lattice_embed kernels: the one list of dispatched kernels, their table, and the dispatch API.
 *
 * Every kernel is declared once, in LE_KERNELS below, as X(name, return type, parameters, arguments).
 * That single line generates the table field, the dispatched entry `le_<name>(...)` (one indirect
 * call through the table), the kernel's name in capability reports, and its per-kernel tier slot.
 *
 * Implementations live in src/<family>_<isa>.c. Each file defines a partial table
 * (`le_<family>_<isa>`) holding the kernels it implements; dispatch.c layers the partial tables of
 * every tier the CPU can run, lowest first, so each kernel ends up with its best available tier.
 *
 * Numerics (all tiers): f32 inputs accumulate in f32 with several independent accumulators (the
 * scalar tier, with no lanes to spread a sum over, in double), so tiers differ only in summation
 * order and rounding; NaN propagates (never compiled with -ffast-math); tails never read past
 * the end of an input; kernels are re-entrant and keep no state.
 */
#ifndef LE_KERNELS_H
#define LE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, return type, (parameters), (arguments)) */
#define LE_KERNELS(X)                                                                              \
    /* sum a[i] * b[i] */                                                                          \
    X(dot_f32, float, (const float *a, const float *b, size_t n), (a, b, n))                       \
    /* sum a[i] * b[i], and sum b[i]^2 into *b_norm2, in one pass */                               \
    X(dot_norm_f32, float, (const float *a, const float *b, size_t n, float *b_norm2),             \
      (a, b, n, b_norm2))                                                                          \
    /* dot / (|a| |b|) from one pass; 0 when either norm is 0 */                                   \
    X(cosine_f32, float, (const float *a, const float *b, size_t n), (a, b, n))                    \
    /* sum (a[i] - b[i])^2 */                                                                      \
    X(l2sq_f32, float, (const float *a, const float *b, size_t n), (a, b, n))                      \
    /* sum |a[i] - b[i]| */                                                                        \
    X(l1_f32, float, (const float *a, const float *b, size_t n), (a, b, n))                        \
    /* each of `rows` rows of length d scaled to unit L2 norm; rows whose norm is 0 or not finite  \
       are copied unchanged (returns how many). `out` may be `x` itself. */                        \
    X(normalize_f32, size_t, (const float *x, float *out, size_t rows, size_t d),                  \
      (x, out, rows, d))                                                                           \
    /* ---- batch family: q is m rows and x is n rows of d floats, rows ldq and ldx floats apart ---- */ \
    /* out[i * ldo + j] = dot(q_i, x_j); when x_norm2 is not NULL, x_norm2[j] = |x_j|^2 from the   \
       same pass. Each pair is summed in the same order whatever m, n and the tile it falls in. */ \
    X(dot_block_f32, void,                                                                         \
      (const float *q, size_t ldq, size_t m, const float *x, size_t ldx, size_t n, size_t d,       \
       float *out, size_t ldo, float *x_norm2),                                                    \
      (q, ldq, m, x, ldx, n, d, out, ldo, x_norm2))                                                \
    /* out[i * ldo + j] = |q_i - x_j|^2 */                                                         \
    X(l2sq_block_f32, void,                                                                        \
      (const float *q, size_t ldq, size_t m, const float *x, size_t ldx, size_t n, size_t d,       \
       float *out, size_t ldo),                                                                    \
      (q, ldq, m, x, ldx, n, d, out, ldo))                                                         \
    /* out[i * ldo + j] = sum |q_i - x_j| */                                                       \
    X(l1_block_f32, void,                                                                          \
      (const float *q, size_t ldq, size_t m, const float *x, size_t ldx, size_t n, size_t d,       \
       float *out, size_t ldo),                                                                    \
      (q, ldq, m, x, ldx, n, d, out, ldo))                                                         \
    /* out[r] = dot(a_r, b_r) and cosine(a_r, b_r) for row-wise pairs of two rows x d matrices */  \
    X(dot_rows_f32, void, (const float *a, const float *b, size_t rows, size_t d, float *out),     \
      (a, b, rows, d, out))                                                                        \
    X(cosine_rows_f32, void, (const float *a, const float *b, size_t rows, size_t d, float *out),  \
      (a, b, rows, d, out))                                                                        \
    /* out[j] = dot(q, c[j]) for four candidates, the query read once */                          \
    X(dot_batch4_f32, void, (const float *q, const float *const *c, size_t d, float *out),         \
      (q, c, d, out))                                                                              \
    /* ---- quant family: exact integer results, identical on every tier ----------------------- */ \
    /* sum a[i] * b[i] of int8 values in [-127, 127] (not -128); exact for n <= LE_I8_MAX_DIMS */  \
    X(dot_i8, int64_t, (const int8_t *a, const int8_t *b, size_t n), (a, b, n))                    \
    /* out[i * ldo + r] = dot of query i (dp bytes, ldq apart) with row r of an int8 matrix stored \
       in panels (LE_I8_PANEL layout below), for n_panels * 16 rows; x_sums[r] = the sum of row r  \
       (the VNNI tier needs it, the others ignore it) */                                           \
    X(dot_i8_panels, void,                                                                         \
      (const int8_t *q, size_t ldq, size_t m, const int8_t *panels, size_t n_panels, size_t dp,    \
       const int32_t *x_sums, int32_t *out, size_t ldo),                                           \
      (q, ldq, m, panels, n_panels, dp, x_sums, out, ldo))                                         \
    /* sum of products of the 4-bit values packed two to a byte (both nibbles) over nbytes */      \
    X(dot_u4, int64_t, (const uint8_t *a, const uint8_t *b, size_t nbytes), (a, b, nbytes))        \
    X(dot_u4_rows, void,                                                                           \
      (const uint8_t *q, const uint8_t *x, size_t ldx, size_t n, size_t nbytes, int32_t *out),     \
      (q, x, ldx, n, nbytes, out))                                                                 \
    /* number of differing bits over nbytes */                                                     \
    X(hamming_b1, uint64_t, (const uint8_t *a, const uint8_t *b, size_t nbytes), (a, b, nbytes))   \
    X(hamming_b1_rows, void,                                                                       \
      (const uint8_t *q, const uint8_t *x, size_t ldx, size_t n, size_t nbytes, uint32_t *out),    \
      (q, x, ldx, n, nbytes, out))                                                                 \
    /* ---- bfloat16: products exact in f32, summed in f32 (a tolerance, not bit-identity) ------ */ \
    X(dot_bf16, float, (const uint16_t *a, const uint16_t *b, size_t n), (a, b, n))                \
    X(dot_bf16_rows, void,                                                                         \
      (const uint16_t *q, const uint16_t *x, size_t ldx, size_t n, size_t d, float *out),          \
      (q, x, ldx, n, d, out))                                                                      \
    /* out[i * ldo + j] = dot_bf16(q_i, x_j) for m queries (ldq apart) and n rows (ldx apart),     \
       through register tiles: each score is this tier's dot_bf16, bit for bit, whatever m,        \
       n and the tile (or thread) a pair falls in */                                               \
    X(dot_bf16_block, void,                                                                        \
      (const uint16_t *q, size_t ldq, size_t m, const uint16_t *x, size_t ldx, size_t n,           \
       size_t d, float *out, size_t ldo),                                                          \
      (q, ldq, m, x, ldx, n, d, out, ldo))                                                         \
    /* ---- nn family: a transformer encoder's row operations, in place on rows x cols -------- */ \
    /* x = gelu(x + bias) with the exact (erf) GELU; bias may be NULL */                           \
    X(bias_gelu_f32, void, (float *x, size_t rows, size_t cols, const float *bias),                \
      (x, rows, cols, bias))                                                                       \
    /* x = layer_norm(x + bias + residual) * gamma + beta over each row (biased variance, as       \
       PyTorch); bias and residual (rows x cols) may be NULL */                                    \
    X(layer_norm_f32, void,                                                                        \
      (float *x, size_t rows, size_t cols, const float *bias, const float *residual,               \
       const float *gamma, const float *beta, float eps),                                          \
      (x, rows, cols, bias, residual, gamma, beta, eps))                                           \
    /* softmax over each row */                                                                    \
    X(softmax_f32, void, (float *x, size_t rows, size_t cols), (x, rows, cols))

/* The longest int8 and int4 vectors the quant kernels take: row sums are held in 32 bits, and
   127 * 127 * LE_I8_MAX_DIMS and 15 * 15 * LE_U4_MAX_DIMS (int4 dimensions, two per byte) stay
   below 2^31. Callers refuse longer vectors (lattice_embed.simd checks every entry point). */
#define LE_I8_MAX_DIMS 131072
#define LE_U4_MAX_DIMS 8388608

/* The int8 panel layout: rows in panels of LE_I8_PANEL_ROWS, each row's d bytes zero-padded to dp
   (a multiple of 4). Panel p holds, for each 4-byte group g in [0, dp / 4), the 4 bytes of group g
   of its 16 rows, row after row: panel[p][g][r][0..3] = x[16 p + r][4 g .. 4 g + 3]. One 64-byte
   load then feeds 16 rows x 4 dimensions to a dot-product instruction with no horizontal sum.
   Rows past the matrix are zero. */
#define LE_I8_PANEL_ROWS 16

/* Function pointer types: le_dot_f32_fn, ... */
#define LE_X_TYPEDEF(name, ret, params, args) typedef ret(*le_##name##_fn) params;
LE_KERNELS(LE_X_TYPEDEF)
#undef LE_X_TYPEDEF

/* A (partial) table of kernels; NULL where a tier has no implementation. */
typedef struct le_kernel_table {
#define LE_X_FIELD(name, ret, params, args) le_##name##_fn name;
    LE_KERNELS(LE_X_FIELD)
#undef LE_X_FIELD
} le_kernel_table_t;

/* Kernel ids, in list order: LE_K_dot_f32, ..., LE_KERNEL_COUNT */
enum {
#define LE_X_ID(name, ret, params, args) LE_K_##name,
    LE_KERNELS(LE_X_ID)
#undef LE_X_ID
    LE_KERNEL_COUNT
};

/* ---- tiers ------------------------------------------------------------------------------- */

/* One vocabulary everywhere: C suffix, Python string, pytest id, LATTICE_EMBED_ISA, reports.
   On each architecture the tiers form a chain: a tier needs every feature of the tiers below it. */
typedef enum le_isa {
    LE_ISA_SCALAR = 0,
    LE_ISA_AVX2,       /* x86-64: AVX2 + FMA + F16C */
    LE_ISA_AVX512,     /* x86-64: AVX-512 F + BW + DQ + VL (+ the avx2 set) */
    LE_ISA_AVX512VNNI, /* x86-64: avx512 + VNNI + VPOPCNTDQ (Ice Lake, Sapphire Rapids, Zen 4) */
    LE_ISA_AVX512BF16, /* x86-64: avx512vnni + BF16 (Sapphire Rapids, Zen 4) */
    LE_ISA_NEON,       /* AArch64: Advanced SIMD (mandatory on AArch64) */
    LE_ISA_NEONDOTPROD, /* AArch64: neon + the SDOT/UDOT dot-product instructions */
    LE_ISA_COUNT
} le_isa_t;

/* CPU feature bits reported by le_cpu_features(). */
enum {
    LE_CPU_AVX2 = 1u << 0,
    LE_CPU_FMA = 1u << 1,
    LE_CPU_F16C = 1u << 2,
    LE_CPU_AVX512F = 1u << 3,
    LE_CPU_AVX512BW = 1u << 4,
    LE_CPU_AVX512DQ = 1u << 5,
    LE_CPU_AVX512VL = 1u << 6,
    LE_CPU_AVX512VNNI = 1u << 7,
    LE_CPU_AVX512BF16 = 1u << 8,
    LE_CPU_AVX512VPOPCNTDQ = 1u << 9,
    LE_CPU_NEON = 1u << 10,
    LE_CPU_DOTPROD = 1u << 11,
    LE_CPU_FEATURE_COUNT = 12
};

/* cpu.c: detection only (no target region). Features the CPU has AND the OS saves state for. */
uint32_t le_cpu_features(void);
const char *le_cpu_feature_name(unsigned bit); /* "avx2", ... for bit index 0..COUNT-1 */

/* dispatch.c */
extern le_kernel_table_t le_kernels;  /* the dispatch table, filled by le_dispatch_set_cap */

const char *le_isa_name(int isa);             /* "scalar", ...; NULL when out of range */
uint32_t le_isa_features(int isa);            /* CPU features a tier needs */
int le_isa_compiled(int isa);                 /* 1 when this build contains the tier */
int le_isa_best(void);                        /* best tier both compiled and runnable here */
int le_dispatch_cap(void);                    /* current cap (a tier id) */
/* Fill the table with the best kernels of tiers <= cap. Returns 0, or -1 when the tier is not
   compiled in or this CPU lacks one of its features (the table is then left unchanged). */
int le_dispatch_set_cap(int isa);
int le_kernel_isa(int kernel);                /* tier serving a kernel id now */
const char *le_kernel_name(int kernel);       /* "dot_f32", ... */
const char *le_build_info(void);              /* compiler and flags this library was built with */

/* Dispatched entries: le_dot_f32(a, b, n) == le_kernels.dot_f32(a, b, n). */
#define LE_X_ENTRY(name, ret, params, args) \
    static inline ret le_##name params { return le_kernels.name args; }
LE_KERNELS(LE_X_ENTRY)
#undef LE_X_ENTRY

/* Partial tables defined by the family x ISA files (only those compiled for this architecture). */
extern const le_kernel_table_t le_dense_scalar, le_batch_scalar, le_quant_scalar, le_nn_scalar;
#if defined(__x86_64__) || defined(_M_X64)
#define LE_ARCH_X86_64 1
extern const le_kernel_table_t le_dense_avx2, le_batch_avx2, le_quant_avx2, le_nn_avx2;
extern const le_kernel_table_t le_dense_avx512, le_batch_avx512, le_nn_avx512;
extern const le_kernel_table_t le_quant_avx512vnni, le_quant_avx512bf16;
#elif defined(__aarch64__)
#define LE_ARCH_AARCH64 1
extern const le_kernel_table_t le_dense_neon, le_batch_neon, le_quant_neon, le_nn_neon;
extern const le_kernel_table_t le_quant_neondotprod;
#endif

#ifdef __cplusplus
}
#endif
#endif /* LE_KERNELS_H */
