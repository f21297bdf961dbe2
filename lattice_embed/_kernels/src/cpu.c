/* CPU feature detection. This file has no target region and no intrinsics, so it runs on any CPU
 * of the architecture: it never executes an instruction it is asking about (XGETBV only after
 * CPUID reports it). */
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

#if defined(LE_ARCH_X86_64)
#include <cpuid.h>

/* XCR0: which register states the OS saves on a context switch. Only called when CPUID says the
   OS enabled XSAVE (OSXSAVE), so the instruction exists. */
static uint64_t le_xgetbv_(uint32_t index) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(index));
    return ((uint64_t)edx << 32) | eax;
}

/* CPUID and XGETBV by hand, the same with every compiler: a feature counts only when the CPU has
   it AND the OS saves its registers (YMM for AVX2/FMA/F16C; opmask and ZMM for AVX-512). */
static uint32_t le_detect_features_(void) {
    uint32_t eax, ebx, ecx, edx, features = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1, f16c = (ecx >> 29) & 1;
    const uint64_t xcr0 = osxsave ? le_xgetbv_(0) : 0;
    const int ymm = avx && (xcr0 & 0x6) == 0x6;     /* SSE and AVX state */
    const int zmm = ymm && (xcr0 & 0xE0) == 0xE0;   /* opmask, ZMM_Hi256, Hi16_ZMM state */
    if (ymm && fma) features |= LE_CPU_FMA;
    if (ymm && f16c) features |= LE_CPU_F16C;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        const uint32_t max_subleaf = eax;
        if (ymm && (ebx >> 5) & 1) features |= LE_CPU_AVX2;
        if (zmm) {
            if ((ebx >> 16) & 1) features |= LE_CPU_AVX512F;
            if ((ebx >> 17) & 1) features |= LE_CPU_AVX512DQ;
            if ((ebx >> 30) & 1) features |= LE_CPU_AVX512BW;
            if ((ebx >> 31) & 1) features |= LE_CPU_AVX512VL;
            if ((ecx >> 11) & 1) features |= LE_CPU_AVX512VNNI;
            if ((ecx >> 14) & 1) features |= LE_CPU_AVX512VPOPCNTDQ;
            if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && ((eax >> 5) & 1))
                features |= LE_CPU_AVX512BF16;
        }
    }
    return features;
}
#else
static uint32_t le_detect_features_(void) {
    uint32_t features = 0;
#if defined(LE_ARCH_AARCH64)
    features |= LE_CPU_NEON; /* Advanced SIMD is mandatory on AArch64 */
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) features |= LE_CPU_DOTPROD;
#elif defined(__APPLE__)
    features |= LE_CPU_DOTPROD; /* every Apple AArch64 core has FEAT_DotProd */
#endif
#endif
    return features;
}
#endif

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
