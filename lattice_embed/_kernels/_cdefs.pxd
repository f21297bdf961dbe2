# The C kernels and dispatch API, exactly as include/le/kernels.h declares them.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "le/kernels.h" nogil:
    enum:
        LE_I8_PANEL_ROWS
        LE_I8_MAX_DIMS
        LE_U4_MAX_DIMS
        LE_ISA_COUNT
        LE_KERNEL_COUNT
        LE_CPU_FEATURE_COUNT

    # dispatched kernels
    float le_dot_f32(const float *a, const float *b, size_t n)
    float le_dot_norm_f32(const float *a, const float *b, size_t n, float *b_norm2)
    float le_cosine_f32(const float *a, const float *b, size_t n)
    float le_l2sq_f32(const float *a, const float *b, size_t n)
    float le_l1_f32(const float *a, const float *b, size_t n)
    size_t le_normalize_f32(const float *x, float *out, size_t rows, size_t d)
    void le_dot_rows_f32(const float *a, const float *b, size_t rows, size_t d, float *out)
    void le_cosine_rows_f32(const float *a, const float *b, size_t rows, size_t d, float *out)
    void le_dot_batch4_f32(const float *q, const float *const *c, size_t d, float *out)
    int64_t le_dot_i8(const int8_t *a, const int8_t *b, size_t n)
    int64_t le_dot_u4(const uint8_t *a, const uint8_t *b, size_t nbytes)
    uint64_t le_hamming_b1(const uint8_t *a, const uint8_t *b, size_t nbytes)
    float le_dot_bf16(const uint16_t *a, const uint16_t *b, size_t n)
    void le_bias_gelu_f32(float *x, size_t rows, size_t cols, const float *bias)
    void le_layer_norm_f32(float *x, size_t rows, size_t cols, const float *bias,
                           const float *residual, const float *gamma, const float *beta, float eps)
    void le_softmax_f32(float *x, size_t rows, size_t cols)

    # detection and dispatch
    uint32_t le_cpu_features()
    const char *le_cpu_feature_name(unsigned bit)
    const char *le_isa_name(int isa)
    uint32_t le_isa_features(int isa)
    int le_isa_compiled(int isa)
    int le_isa_best()
    int le_dispatch_cap()
    int le_dispatch_set_cap(int isa)
    int le_kernel_isa(int kernel)
    const char *le_kernel_name(int kernel)
    const char *le_build_info()


cdef extern from "le/search.h" nogil:
    ctypedef enum le_metric_t:
        LE_METRIC_DOT
        LE_METRIC_COSINE
        LE_METRIC_L2SQ
        LE_METRIC_L2
        LE_METRIC_L1
        LE_METRIC_HAMMING
    ctypedef enum le_store_t:
        LE_STORE_I8
        LE_STORE_U4
        LE_STORE_B1
        LE_STORE_BF16
    ctypedef struct le_quant_rows_t:
        const void *data
        size_t stride
        const float *scale
        const float *max_abs
        const float *norm
        const int32_t *sums
    enum:
        LE_SEARCH_BLOCK_QUERIES
    size_t le_search_block_rows(size_t d)
    int le_similarity_f32(const float *q, size_t m, const float *x, size_t n, size_t d,
                          le_metric_t metric, float *out, size_t threads)
    int le_top_k_f32(const float *q, size_t m, const float *x, size_t n, size_t d,
                     le_metric_t metric, size_t k, int64_t *idx, float *scores, size_t threads)
    int le_similarity_quant(le_store_t store, const le_quant_rows_t *queries, size_t m,
                            const le_quant_rows_t *matrix, size_t n, size_t dims,
                            le_metric_t metric, float *out, size_t threads)
    int le_top_k_quant(le_store_t store, const le_quant_rows_t *queries, size_t m,
                       const le_quant_rows_t *matrix, size_t n, size_t dims, le_metric_t metric,
                       size_t k, int64_t *idx, float *scores, size_t threads)
    void le_quantize_i8_rows(const float *x, size_t n, size_t d, int8_t *out, size_t ldo,
                             float *scale, float *norm, int32_t *sums)
    void le_quantize_u4_rows(const float *x, size_t n, size_t d, uint8_t *out, size_t ldo,
                             float *scale, float *max_abs, float *norm, int32_t *sums)
    void le_quantize_b1_rows(const float *x, size_t n, size_t d, uint8_t *out, size_t ldo,
                             float threshold)
    void le_quantize_bf16_rows(const float *x, size_t n, size_t d, uint16_t *out, size_t ldo,
                               float *norm)
