/* The nn family's math, shared by every tier: erf as a rational minimax fit (the one Eigen and
 * XLA use for float32: a few ulp) and exp as 2^n * p(r) (Cephes' expf polynomial, about 1 ulp).
 * Vector tiers evaluate the same polynomials lane-wise, so tiers differ only in rounding. */
#ifndef LE_NN_H
#define LE_NN_H

#include <math.h>

/* erf(z) ~ z * P(z^2) / Q(z^2) on [-4, 4]; beyond it erf is +-1 in float32. Highest power first. */
#define LE_ERF_CLAMP 4.0f
#define LE_ERF_P0 -2.72614225801306e-10f
#define LE_ERF_P1 2.77068142495902e-08f
#define LE_ERF_P2 -2.10102402082508e-06f
#define LE_ERF_P3 -5.69250639462346e-05f
#define LE_ERF_P4 -7.34990630326855e-04f
#define LE_ERF_P5 -2.95459980854025e-03f
#define LE_ERF_P6 -1.60960333262415e-02f
#define LE_ERF_Q0 -1.45660718464996e-05f
#define LE_ERF_Q1 -2.13374055278905e-04f
#define LE_ERF_Q2 -1.68282697438203e-03f
#define LE_ERF_Q3 -7.37332916720468e-03f
#define LE_ERF_Q4 -1.42647390514189e-02f

/* exp(x) = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts), and
   e^r ~ 1 + r + r^2 P(r); below about -87.3 the result is 0, above 88.7 infinity. */
#define LE_EXP_HI 88.3762626647949f
#define LE_EXP_LO -87.3365447505531f
#define LE_LOG2E 1.44269504088896341f
#define LE_LN2_HI 0.693359375f
#define LE_LN2_LO -2.12194440e-4f
#define LE_EXP_P0 1.9875691500e-4f
#define LE_EXP_P1 1.3981999507e-3f
#define LE_EXP_P2 8.3334519073e-3f
#define LE_EXP_P3 4.1665795894e-2f
#define LE_EXP_P4 1.6666665459e-1f
#define LE_EXP_P5 5.0000001201e-1f

#define LE_INV_SQRT2 0.70710678118654752f

static inline float le_erf_scalar_(float z) {
    z = z < -LE_ERF_CLAMP ? -LE_ERF_CLAMP : z > LE_ERF_CLAMP ? LE_ERF_CLAMP : z;
    float z2 = z * z;
    float p = LE_ERF_P0;
    p = p * z2 + LE_ERF_P1, p = p * z2 + LE_ERF_P2, p = p * z2 + LE_ERF_P3;
    p = p * z2 + LE_ERF_P4, p = p * z2 + LE_ERF_P5, p = p * z2 + LE_ERF_P6;
    float q = LE_ERF_Q0;
    q = q * z2 + LE_ERF_Q1, q = q * z2 + LE_ERF_Q2, q = q * z2 + LE_ERF_Q3, q = q * z2 + LE_ERF_Q4;
    return z * p / q;
}

static inline float le_gelu_scalar_(float x) { return 0.5f * x * (1.0f + le_erf_scalar_(x * LE_INV_SQRT2)); }

#endif /* LE_NN_H */
