/* The dispatch table: filled once at import from CPU detection, refilled only when the tier cap
 * changes (LATTICE_EMBED_ISA, lattice_embed.simd.use_isa). No target region here either. */
#include "le/kernels.h"
#include "le/target.h"

#ifndef LE_BUILD_FLAGS
#define LE_BUILD_FLAGS "unknown"
#endif

le_kernel_table_t le_kernels;
static unsigned char le_kernel_isas[LE_KERNEL_COUNT];
static int le_cap = -1;

static const char *const le_isa_names[LE_ISA_COUNT] = {
    "scalar", "avx2", "avx512", "avx512vnni", "avx512bf16", "neon", "neondotprod"};

#define LE_AVX2_SET (LE_CPU_AVX2 | LE_CPU_FMA | LE_CPU_F16C)
#define LE_AVX512_SET (LE_AVX2_SET | LE_CPU_AVX512F | LE_CPU_AVX512BW | LE_CPU_AVX512DQ | LE_CPU_AVX512VL)
#define LE_AVX512VNNI_SET (LE_AVX512_SET | LE_CPU_AVX512VNNI | LE_CPU_AVX512VPOPCNTDQ)

static const uint32_t le_isa_feature_sets[LE_ISA_COUNT] = {
    [LE_ISA_SCALAR] = 0,
    [LE_ISA_AVX2] = LE_AVX2_SET,
    [LE_ISA_AVX512] = LE_AVX512_SET,
    [LE_ISA_AVX512VNNI] = LE_AVX512VNNI_SET,
    [LE_ISA_AVX512BF16] = LE_AVX512VNNI_SET | LE_CPU_AVX512BF16,
    [LE_ISA_NEON] = LE_CPU_NEON,
    [LE_ISA_NEONDOTPROD] = LE_CPU_NEON | LE_CPU_DOTPROD,
};

/* The partial tables of each tier, one per kernel family; NULL-terminated. */
#define LE_MAX_FAMILIES 5
static const le_kernel_table_t *const le_tier_tables[LE_ISA_COUNT][LE_MAX_FAMILIES + 1] = {
    [LE_ISA_SCALAR] = {&le_dense_scalar, &le_batch_scalar, &le_quant_scalar, &le_nn_scalar, NULL},
#if defined(LE_ARCH_X86_64)
    [LE_ISA_AVX2] = {&le_dense_avx2, &le_batch_avx2, &le_quant_avx2, &le_nn_avx2, NULL},
    [LE_ISA_AVX512] = {&le_dense_avx512, &le_batch_avx512, &le_nn_avx512, NULL},
    [LE_ISA_AVX512VNNI] = {&le_quant_avx512vnni, NULL},
    [LE_ISA_AVX512BF16] = {&le_quant_avx512bf16, NULL},
#elif defined(LE_ARCH_AARCH64)
    [LE_ISA_NEON] = {&le_dense_neon, &le_batch_neon, &le_quant_neon, &le_nn_neon, NULL},
#if LE_HAVE_DOTPROD_REGION
    [LE_ISA_NEONDOTPROD] = {&le_quant_neondotprod, NULL},
#endif
#endif
};

const char *le_isa_name(int isa) { return isa >= 0 && isa < LE_ISA_COUNT ? le_isa_names[isa] : NULL; }

uint32_t le_isa_features(int isa) { return isa >= 0 && isa < LE_ISA_COUNT ? le_isa_feature_sets[isa] : 0; }

int le_isa_compiled(int isa) { return isa >= 0 && isa < LE_ISA_COUNT && le_tier_tables[isa][0] != NULL; }

static int le_isa_runnable(int isa) {
    uint32_t needed = le_isa_features(isa);
    return le_isa_compiled(isa) && (le_cpu_features() & needed) == needed;
}

int le_isa_best(void) {
    int best = LE_ISA_SCALAR;
    for (int isa = 0; isa < LE_ISA_COUNT; isa++)
        if (le_isa_runnable(isa)) best = isa;
    return best;
}

int le_dispatch_cap(void) { return le_cap; }

int le_dispatch_set_cap(int cap) {
    if (!le_isa_runnable(cap)) return -1;
    le_kernel_table_t table = {0};
    unsigned char isas[LE_KERNEL_COUNT] = {0};
    /* Tiers form a chain per architecture, so layering every runnable tier up to the cap, lowest
       first, leaves each kernel with the best implementation the cap allows. */
    for (int isa = 0; isa <= cap; isa++) {
        if (!le_isa_runnable(isa)) continue;
        for (const le_kernel_table_t *const *family = le_tier_tables[isa]; *family; family++) {
#define LE_X_LAYER(name, ret, params, args)  \
    if ((*family)->name) {                   \
        table.name = (*family)->name;        \
        isas[LE_K_##name] = (unsigned char)isa; \
    }
            LE_KERNELS(LE_X_LAYER)
#undef LE_X_LAYER
        }
    }
    /* Each pointer store is atomic on the supported platforms: a kernel running in another thread
       sees either the old or the new implementation, both correct. */
#define LE_X_PUBLISH(name, ret, params, args) le_kernels.name = table.name;
    LE_KERNELS(LE_X_PUBLISH)
#undef LE_X_PUBLISH
    for (int k = 0; k < LE_KERNEL_COUNT; k++) le_kernel_isas[k] = isas[k];
    le_cap = cap;
    return 0;
}

static const char *const le_kernel_names[LE_KERNEL_COUNT] = {
#define LE_X_NAME(name, ret, params, args) #name,
    LE_KERNELS(LE_X_NAME)
#undef LE_X_NAME
};

const char *le_kernel_name(int kernel) {
    return kernel >= 0 && kernel < LE_KERNEL_COUNT ? le_kernel_names[kernel] : NULL;
}

int le_kernel_isa(int kernel) {
    return kernel >= 0 && kernel < LE_KERNEL_COUNT ? le_kernel_isas[kernel] : -1;
}

const char *le_build_info(void) {
#if defined(__clang__)
    return "clang " __clang_version__ "; flags: " LE_BUILD_FLAGS;
#elif defined(__GNUC__)
    return "gcc " __VERSION__ "; flags: " LE_BUILD_FLAGS;
#else
    return "unknown compiler; flags: " LE_BUILD_FLAGS;
#endif
}
