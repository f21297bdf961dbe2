/* Intrinsics the kernels use that SIMDe 0.7 does not provide, written over SIMDe's public API.
 * Only for the C harness's emulated x86 build (LE_EMULATE_X86); never part of the extension.
 * Masked loads read only the selected lanes, like the hardware, so the guard-page checks of the
 * harness still catch a read past the end of an input. */
#ifndef LE_EMULATE_X86_EXTRA_H
#define LE_EMULATE_X86_EXTRA_H

#include <math.h>
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

#ifndef __mmask32
#define __mmask32 simde__mmask32
#endif
#ifndef __mmask64
#define __mmask64 simde__mmask64
#endif

static inline simde__m512i le_emu_mm512_maskz_loadu_epi8(simde__mmask64 k, const void *p) {
    const unsigned char *src = (const unsigned char *)p;
    unsigned char bytes[64] = {0};
    for (int i = 0; i < 64; i++)
        if ((k >> i) & 1) bytes[i] = src[i];
    return simde_mm512_loadu_si512(bytes);
}
#define _mm512_maskz_loadu_epi8 le_emu_mm512_maskz_loadu_epi8

static inline simde__m512i le_emu_mm512_maskz_loadu_epi16(simde__mmask32 k, const void *p) {
    const unsigned short *src = (const unsigned short *)p;
    unsigned short words[32] = {0};
    for (int i = 0; i < 32; i++)
        if ((k >> i) & 1) words[i] = src[i];
    return simde_mm512_loadu_si512(words);
}
#define _mm512_maskz_loadu_epi16 le_emu_mm512_maskz_loadu_epi16

static inline int le_emu_mm512_reduce_add_epi32(simde__m512i v) {
    int lanes[16], sum = 0;
    simde_mm512_storeu_si512(lanes, v);
    for (int i = 0; i < 16; i++) sum += lanes[i];
    return sum;
}
#define _mm512_reduce_add_epi32 le_emu_mm512_reduce_add_epi32

static inline long long le_emu_mm512_reduce_add_epi64(simde__m512i v) {
    long long lanes[8], sum = 0;
    simde_mm512_storeu_si512(lanes, v);
    for (int i = 0; i < 8; i++) sum += lanes[i];
    return sum;
}
#define _mm512_reduce_add_epi64 le_emu_mm512_reduce_add_epi64

#ifndef _MM_FROUND_NO_EXC
#define _MM_FROUND_NO_EXC SIMDE_MM_FROUND_NO_EXC
#endif
#ifndef _MM_FROUND_TO_NEAREST_INT
#define _MM_FROUND_TO_NEAREST_INT SIMDE_MM_FROUND_TO_NEAREST_INT
#endif

static inline simde__m512i le_emu_mm512_cvtps_epi32(simde__m512 v) { /* round to nearest even */
    float lanes[16];
    int out[16];
    simde_mm512_storeu_ps(lanes, v);
    for (int i = 0; i < 16; i++) out[i] = (int)nearbyintf(lanes[i]);
    return simde_mm512_loadu_si512(out);
}
#define _mm512_cvtps_epi32 le_emu_mm512_cvtps_epi32

static inline float le_emu_mm512_reduce_max_ps(simde__m512 v) {
    float lanes[16], best;
    simde_mm512_storeu_ps(lanes, v);
    best = lanes[0];
    for (int i = 1; i < 16; i++) best = lanes[i] > best ? lanes[i] : best;
    return best;
}
#define _mm512_reduce_max_ps le_emu_mm512_reduce_max_ps

static inline simde__m256 le_emu_mm512_extractf32x8_ps(simde__m512 v, int upper) {
    float lanes[16];
    simde_mm512_storeu_ps(lanes, v);
    return simde_mm256_loadu_ps(lanes + (upper ? 8 : 0));
}
#define _mm512_extractf32x8_ps le_emu_mm512_extractf32x8_ps

#endif
