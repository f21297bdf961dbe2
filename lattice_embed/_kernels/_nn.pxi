# A transformer encoder's row operations, in place: the arrays are the encoder's own working
# buffers, so they must already be writable C-contiguous float32 (nothing is converted).

cdef cnp.ndarray _rows_in_place(object x, str name):
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or not x.flags.c_contiguous \
            or not x.flags.writeable or x.ndim == 0:
        raise TypeError(f"{name} must be a writable C-contiguous float32 array of rank >= 1, "
                        f"got {type(x).__name__}"
                        + (f" {x.dtype} {x.shape}" if isinstance(x, np.ndarray) else ""))
    return <cnp.ndarray>x


cdef const float *_row_vector(object v, size_t cols, str name) except? NULL:
    """A read-only float32 vector of `cols` values, or NULL for None."""
    if v is None:
        return NULL
    if not isinstance(v, np.ndarray) or v.dtype != np.float32 or v.ndim != 1 \
            or not v.flags.c_contiguous:
        raise TypeError(f"{name} must be a C-contiguous float32 vector")
    if <size_t>v.shape[0] != cols:
        raise ValueError(f"{name} has {v.shape[0]} values, the rows have {cols}")
    return <const float *>cnp.PyArray_DATA(<cnp.ndarray>v)


def bias_gelu_(x, bias=None):
    """bias_gelu_(x, bias=None): x = gelu(x + bias) in place, with the exact (erf) GELU.

    x: writable C-contiguous float32, the last axis the width; bias: (width,) or None.
    """
    cdef cnp.ndarray arr = _rows_in_place(x, "x")
    cdef size_t cols = <size_t>arr.shape[arr.ndim - 1]
    cdef size_t rows = <size_t>arr.size // cols if cols else 0
    cdef const float *pb = _row_vector(bias, cols, "bias")
    cdef float *px = <float *>cnp.PyArray_DATA(arr)
    with nogil:
        le_bias_gelu_f32(px, rows, cols, pb)


def layer_norm_(x, gamma, beta, float eps, *, bias=None, residual=None):
    """layer_norm_(x, gamma, beta, eps, *, bias=None, residual=None): each row of x becomes
    layer_norm(x + bias + residual) * gamma + beta, in place (biased variance, as PyTorch).

    x: writable C-contiguous float32, the last axis the width; gamma, beta, bias: (width,);
    residual: float32 of x's shape (C-contiguous), or None.
    """
    cdef cnp.ndarray arr = _rows_in_place(x, "x")
    cdef size_t cols = <size_t>arr.shape[arr.ndim - 1]
    cdef size_t rows = <size_t>arr.size // cols if cols else 0
    cdef const float *pg = _row_vector(gamma, cols, "gamma")
    cdef const float *pbeta = _row_vector(beta, cols, "beta")
    cdef const float *pb = _row_vector(bias, cols, "bias")
    cdef const float *pr = NULL
    if gamma is None or beta is None:
        raise TypeError("gamma and beta are required")
    if residual is not None:
        if not isinstance(residual, np.ndarray) or residual.dtype != np.float32 \
                or not residual.flags.c_contiguous or residual.shape != (<object>arr).shape:
            raise ValueError(f"residual must be C-contiguous float32 of shape {(<object>arr).shape}")
        pr = <const float *>cnp.PyArray_DATA(<cnp.ndarray>residual)
    cdef float *px = <float *>cnp.PyArray_DATA(arr)
    with nogil:
        le_layer_norm_f32(px, rows, cols, pb, pr, pg, pbeta, eps)


def softmax_(x):
    """softmax_(x): softmax over the last axis of x, in place (writable C-contiguous float32)."""
    cdef cnp.ndarray arr = _rows_in_place(x, "x")
    cdef size_t cols = <size_t>arr.shape[arr.ndim - 1]
    cdef size_t rows = <size_t>arr.size // cols if cols else 0
    cdef float *px = <float *>cnp.PyArray_DATA(arr)
    with nogil:
        le_softmax_f32(px, rows, cols)
