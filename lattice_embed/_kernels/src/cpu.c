/* CPU feature detection. This file has no target region and no intrinsics, so it runs on any CPU
 * of the architecture: it must never execute an instruction it is asking about. */
#include "le/kernels.h"

#if defined(LE_ARCH_AARCH64) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static const char *const le_cpu_feature_names[LE_CPU_FEATURE_COUNT] = {
    "avx2",       "fma",        "f16c",       "avx512f",         "avx512bw", "avx512dq",
    "avx512vl",   "avx512vnni", "avx512bf16", "avx512vpopcntdq", "neon",     "dotprod",
};

const char *le_cpu_feature_name(unsigned bit) {
    return bit < LE_CPU_FEATURE_COUNT ? le_cpu_feature_names[bit] : NULL;
}

static uint32_t le_detect_features_(void) {
    uint32_t features = 0;
#if defined(LE_ARCH_X86_64)
    /* libgcc/compiler-rt check CPUID and XGETBV: a feature counts only when the OS also saves
       its register state (YMM for AVX2, ZMM and opmask for AVX-512). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) features |= LE_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) features |= LE_CPU_FMA;
    if (__builtin_cpu_supports("f16c")) features |= LE_CPU_F16C;
    if (__builtin_cpu_supports("avx512f")) features |= LE_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) features |= LE_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512dq")) features |= LE_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vl")) features |= LE_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512vnni")) features |= LE_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avx512bf16")) features |= LE_CPU_AVX512BF16;
    if (__builtin_cpu_supports("avx512vpopcntdq")) features |= LE_CPU_AVX512VPOPCNTDQ;
#elif defined(LE_ARCH_AARCH64)
    features |= LE_CPU_NEON; /* Advanced SIMD is mandatory on AArch64 */
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) features |= LE_CPU_DOTPROD;
#elif defined(__APPLE__)
    features |= LE_CPU_DOTPROD; /* every Apple AArch64 core has FEAT_DotProd */
#endif
#endif
    return features;
}

/* Detected once: the answer cannot change while the process runs. */
uint32_t le_cpu_features(void) {
    static int detected = 0;
    static uint32_t features = 0;
    if (!detected) {
        features = le_detect_features_();
        detected = 1;
    }
    return features;
}
