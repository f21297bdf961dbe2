# The C kernels and dispatch API, exactly as include/le/kernels.h declares them.
from libc.stdint cimport uint32_t


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
