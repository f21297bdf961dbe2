/* Intrinsics the kernels use that SIMDe 0.7 does not provide, written over SIMDe's public API.
 * Only for the C harness's emulated x86 build (LE_EMULATE_X86); never part of the extension.
 * Masked loads read only the selected lanes, like the hardware, so the guard-page checks of the
 * harness still catch a read past the end of an input. */
#ifndef LE_EMULATE_X86_EXTRA_H
#define LE_EMULATE_X86_EXTRA_H

#include <stddef.h>

#ifndef __mmask16
#define __mmask16 simde__mmask16
#endif

/* SIMDe's AVX masked load reads all eight lanes; the hardware reads only the selected ones. */
static inline simde__m256 le_emu_mm256_maskload_ps(const float *src, simde__m256i mask) {
    int selected[8];
    float lanes[8] = {0};
    simde_mm256_storeu_si256((simde__m256i *)selected, mask);
    for (int i = 0; i < 8; i++)
        if (selected[i] < 0) lanes[i] = src[i];
    return simde_mm256_loadu_ps(lanes);
}
#undef _mm256_maskload_ps
#define _mm256_maskload_ps le_emu_mm256_maskload_ps

static inline void le_emu_mm256_maskstore_ps(float *dst, simde__m256i mask, simde__m256 v) {
    int selected[8];
    float lanes[8];
    simde_mm256_storeu_si256((simde__m256i *)selected, mask);
    simde_mm256_storeu_ps(lanes, v);
    for (int i = 0; i < 8; i++)
        if (selected[i] < 0) dst[i] = lanes[i];
}
#undef _mm256_maskstore_ps
#define _mm256_maskstore_ps le_emu_mm256_maskstore_ps

static inline simde__m512 le_emu_mm512_maskz_loadu_ps(simde__mmask16 k, const void *p) {
    const float *src = (const float *)p;
    float lanes[16] = {0};
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) lanes[i] = src[i];
    return simde_mm512_loadu_ps(lanes);
}
#define _mm512_maskz_loadu_ps le_emu_mm512_maskz_loadu_ps

static inline void le_emu_mm512_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 v) {
    float *dst = (float *)p, lanes[16];
    simde_mm512_storeu_ps(lanes, v);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) dst[i] = lanes[i];
}
#define _mm512_mask_storeu_ps le_emu_mm512_mask_storeu_ps

static inline float le_emu_mm512_reduce_add_ps(simde__m512 v) {
    float lanes[16], sum = 0.0f;
    simde_mm512_storeu_ps(lanes, v);
    for (int i = 0; i < 16; i++) sum += lanes[i];
    return sum;
}
#define _mm512_reduce_add_ps le_emu_mm512_reduce_add_ps

static inline simde__m256 le_emu_mm512_extractf32x8_ps(simde__m512 v, int upper) {
    float lanes[16];
    simde_mm512_storeu_ps(lanes, v);
    return simde_mm256_loadu_ps(lanes + (upper ? 8 : 0));
}
#define _mm512_extractf32x8_ps le_emu_mm512_extractf32x8_ps

#endif
