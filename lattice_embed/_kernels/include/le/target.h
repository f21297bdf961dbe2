/* Target regions: ISA code is compiled inside LE_TARGET_BEGIN(...) / LE_TARGET_END, so the whole
 * extension builds with one portable baseline and no per-file flags. Code outside a region (CPU
 * detection, dispatch, the partial tables) never contains an instruction the baseline lacks.
 *
 * LE_EMULATE_X86 (tests/c only): the x86 intrinsics come from SIMDe's portable C implementation,
 * so the AVX-512 kernels can be checked on a CPU without AVX-512. Regions are then empty.
 */
#ifndef LE_TARGET_H
#define LE_TARGET_H

#define LE_PRAGMA_(x) _Pragma(#x)

#if defined(LE_EMULATE_X86)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include "le_emulate_x86_extra.h" /* tests/c: the few intrinsics SIMDe 0.7 lacks */
#define LE_TARGET_BEGIN(features)
#define LE_TARGET_END
#else
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif
#if defined(__clang__)
#define LE_TARGET_BEGIN(features) \
    LE_PRAGMA_(clang attribute push(__attribute__((target(features))), apply_to = function))
#define LE_TARGET_END LE_PRAGMA_(clang attribute pop)
#elif defined(__GNUC__)
#define LE_TARGET_BEGIN(features) LE_PRAGMA_(GCC push_options) LE_PRAGMA_(GCC target(features))
#define LE_TARGET_END LE_PRAGMA_(GCC pop_options)
#else
#error "lattice_embed kernels need GCC or Clang (target regions)"
#endif
#endif

/* The feature strings of each tier (kept beside the feature bits in kernels.h). */
#define LE_FEATURES_AVX2 "avx2,fma,f16c"
#define LE_FEATURES_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"
#define LE_FEATURES_AVX512VNNI LE_FEATURES_AVX512 ",avx512vnni,avx512vpopcntdq"
#define LE_FEATURES_AVX512BF16 LE_FEATURES_AVX512VNNI ",avx512bf16"
#if defined(__clang__)
#define LE_FEATURES_NEONDOTPROD "dotprod"
#else
#define LE_FEATURES_NEONDOTPROD "arch=armv8.2-a+dotprod"
#endif
/* Clang before 16 declares the dot-product intrinsics only when the whole file targets them, so
   there the neondotprod tier is left out (its kernels fall back to the neon tier's). */
#if defined(__clang__) && __clang_major__ < 16
#define LE_HAVE_DOTPROD_REGION 0
#else
#define LE_HAVE_DOTPROD_REGION 1
#endif

#endif /* LE_TARGET_H */
