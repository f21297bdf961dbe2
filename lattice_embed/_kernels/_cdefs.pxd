# The C kernels and dispatch API, exactly as include/le/kernels.h declares them.
from libc.stdint cimport int64_t, uint32_t


cdef extern from "le/kernels.h" nogil:
    enum:
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
    enum:
        LE_SEARCH_BLOCK_QUERIES
    size_t le_search_block_rows(size_t d)
    int le_similarity_f32(const float *q, size_t m, const float *x, size_t n, size_t d,
                          le_metric_t metric, float *out, size_t threads)
    int le_top_k_f32(const float *q, size_t m, const float *x, size_t n, size_t d,
                     le_metric_t metric, size_t k, int64_t *idx, float *scores, size_t threads)
