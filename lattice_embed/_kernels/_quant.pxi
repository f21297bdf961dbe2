# Quantized storage: exact integer pair ops and search over stored matrices. The layouts and the
# arrays' meaning are lattice_embed.simd.quantized's; this layer checks shapes, dtypes and
# contiguity (a mistake there would read out of bounds) and calls the kernels.

I8_PANEL_ROWS = LE_I8_PANEL_ROWS
#: The longest int8 and int4 vectors (dimensions) the kernels sum exactly in 32 bits.
I8_MAX_DIMS = LE_I8_MAX_DIMS
U4_MAX_DIMS = LE_U4_MAX_DIMS

_STORES = {"int8": LE_STORE_I8, "int4": LE_STORE_U4, "binary": LE_STORE_B1, "bf16": LE_STORE_BF16}
_STORE_DTYPES = {"int8": np.int8, "int4": np.uint8, "binary": np.uint8, "bf16": np.uint16}
_QUANT_METRICS = {"dot": LE_METRIC_DOT, "cosine": LE_METRIC_COSINE, "hamming": LE_METRIC_HAMMING}


cdef int _check_dims(str store, size_t dims) except -1:
    """Refuse vectors longer than the kernels sum exactly (see LE_I8_MAX_DIMS in kernels.h)."""
    cdef size_t limit = LE_I8_MAX_DIMS if store == "int8" else LE_U4_MAX_DIMS
    if store in ("int8", "int4") and dims > limit:
        raise ValueError(f"{store} vectors are limited to {limit} dimensions, got {dims}")
    return 0


cdef cnp.ndarray _contiguous(object x, object dtype, int ndim, str name):
    if not isinstance(x, np.ndarray) or x.dtype != dtype or x.ndim != ndim or not x.flags.c_contiguous:
        raise TypeError(f"{name} must be a C-contiguous {np.dtype(dtype).name} array of rank {ndim}")
    return <cnp.ndarray>x


cdef const void *_optional(object x, object dtype, size_t length, str name) except? NULL:
    """A per-row parameter array of `length` items, or NULL for None."""
    if x is None:
        return NULL
    cdef cnp.ndarray arr = _contiguous(x, dtype, 1, name)
    if <size_t>arr.shape[0] < length:
        raise ValueError(f"{name} has {arr.shape[0]} entries, {length} needed")
    return cnp.PyArray_DATA(arr)


def dot_i8(a, b):
    """Exact integer dot product of two int8 arrays (values in [-127, 127]) -> int."""
    cdef cnp.ndarray va = _contiguous(a, np.int8, 1, "a"), vb = _contiguous(b, np.int8, 1, "b")
    cdef size_t n = _same_length(va, vb, "a", "b")
    _check_dims("int8", n)
    cdef const int8_t *pa = <const int8_t *>cnp.PyArray_DATA(va)
    cdef const int8_t *pb = <const int8_t *>cnp.PyArray_DATA(vb)
    cdef int64_t result
    with nogil:
        result = le_dot_i8(pa, pb, n)
    return result


def dot_u4(a, b):
    """Sum of products of the 4-bit values packed in two uint8 arrays (both nibbles) -> int."""
    cdef cnp.ndarray va = _contiguous(a, np.uint8, 1, "a"), vb = _contiguous(b, np.uint8, 1, "b")
    cdef size_t n = _same_length(va, vb, "a", "b")
    _check_dims("int4", 2 * n)
    cdef const uint8_t *pa = <const uint8_t *>cnp.PyArray_DATA(va)
    cdef const uint8_t *pb = <const uint8_t *>cnp.PyArray_DATA(vb)
    cdef int64_t result
    with nogil:
        result = le_dot_u4(pa, pb, n)
    return result


def hamming_b1(a, b):
    """Number of differing bits between two uint8 arrays -> int."""
    cdef cnp.ndarray va = _contiguous(a, np.uint8, 1, "a"), vb = _contiguous(b, np.uint8, 1, "b")
    cdef size_t n = _same_length(va, vb, "a", "b")
    cdef const uint8_t *pa = <const uint8_t *>cnp.PyArray_DATA(va)
    cdef const uint8_t *pb = <const uint8_t *>cnp.PyArray_DATA(vb)
    cdef uint64_t result
    with nogil:
        result = le_hamming_b1(pa, pb, n)
    return result


def dot_bf16(a, b):
    """Dot product of two bfloat16 arrays (stored as uint16), summed in float32 -> float."""
    cdef cnp.ndarray va = _contiguous(a, np.uint16, 1, "a"), vb = _contiguous(b, np.uint16, 1, "b")
    cdef size_t n = _same_length(va, vb, "a", "b")
    cdef const uint16_t *pa = <const uint16_t *>cnp.PyArray_DATA(va)
    cdef const uint16_t *pb = <const uint16_t *>cnp.PyArray_DATA(vb)
    cdef float result
    with nogil:
        result = le_dot_bf16(pa, pb, n)
    return result


cdef size_t _rows_of(str store, cnp.ndarray data, size_t dims, bint panels) except? 0:
    """Rows held by `data`, after checking its shape against the store's layout."""
    cdef size_t width = {"int8": (dims + 3) // 4 * 4, "int4": (dims + 1) // 2,
                         "binary": (dims + 7) // 8, "bf16": dims}[store]
    if panels:  # (panels, LE_I8_PANEL_ROWS * dp)
        if data.ndim != 2 or <size_t>data.shape[1] != LE_I8_PANEL_ROWS * width:
            raise ValueError(f"int8 panels must have shape (panels, {LE_I8_PANEL_ROWS * width})")
        return <size_t>data.shape[0] * LE_I8_PANEL_ROWS
    if data.ndim != 2 or <size_t>data.shape[1] != width:
        raise ValueError(f"{store} rows of {dims} dims must have shape (rows, {width}), got {(<object>data).shape}")
    return <size_t>data.shape[0]


cdef le_quant_rows_t _quant_rows(str store, tuple parts, size_t dims, bint panels, size_t *rows,
                                 size_t used) except *:
    """(data, scale, max_abs, norm, sums) as the kernels' struct, after checking them; `used` rows
    are read (the parameters of panel padding are never read, except int8 sums: whole panels)."""
    data, scale, max_abs, norm, sums = parts
    cdef cnp.ndarray arr = _contiguous(data, _STORE_DTYPES[store], 2, "data")
    rows[0] = _rows_of(store, arr, dims, panels)
    if used > rows[0]:
        raise ValueError(f"the matrix holds {rows[0]} rows, {used} asked for")
    cdef size_t summed = rows[0] if panels else used
    cdef le_quant_rows_t result
    result.data = cnp.PyArray_DATA(arr)
    result.stride = <size_t>arr.shape[1] // LE_I8_PANEL_ROWS if panels else <size_t>arr.strides[0]
    result.scale = <const float *>_optional(scale, np.float32, used, "scale")
    result.max_abs = <const float *>_optional(max_abs, np.float32, used, "max_abs")
    result.norm = <const float *>_optional(norm, np.float32, used, "norm")
    result.sums = <const int32_t *>_optional(sums, np.int32, summed, "sums")
    return result


def quant_search(str store, tuple queries, tuple matrix, size_t n, size_t dims, str metric, k=None,
                 threads=None):
    """Scores (k None: (m, n) float32) or top-k ((m, k) indices and scores) of prepared queries
    against a stored matrix. `queries` and `matrix` are (data, scale, max_abs, norm, sums) with
    None for parameters a store does not use; int8 matrices are in the panel layout."""
    if store not in _STORES:
        raise ValueError(f"unknown store {store!r}")
    _check_dims(store, dims)
    cdef le_store_t kind = _STORES[store]
    cdef le_metric_t how = _QUANT_METRICS[metric]
    cdef size_t m, held
    cdef bint panels = store == "int8"
    cdef cnp.ndarray query_data = _contiguous(queries[0], _STORE_DTYPES[store], 2, "queries")
    cdef le_quant_rows_t q = _quant_rows(store, queries, dims, False, &m, <size_t>query_data.shape[0])
    cdef le_quant_rows_t x = _quant_rows(store, matrix, dims, panels, &held, n)
    if (kind == LE_STORE_I8 and (q.scale == NULL or x.scale == NULL or x.sums == NULL)) or (
            kind == LE_STORE_U4 and (q.scale == NULL or x.scale == NULL or q.max_abs == NULL
                                     or x.max_abs == NULL or q.sums == NULL or x.sums == NULL)) or (
            how == LE_METRIC_COSINE and kind != LE_STORE_B1 and (q.norm == NULL or x.norm == NULL)):
        raise ValueError(f"missing per-row parameters for {store} {metric}")
    cdef size_t workers = _threads(threads, m * n * dims // 4)
    cdef int status
    cdef cnp.ndarray out, indices, scores
    cdef size_t kk
    if k is None:
        out = np.empty((m, n), np.float32)
        with nogil:
            status = le_similarity_quant(kind, &q, m, &x, n, dims, how, <float *>cnp.PyArray_DATA(out), workers)
        if status != 0:
            raise MemoryError("no memory for the search's scratch buffers")
        return out
    kk = min(operator.index(k), n)  # k may exceed size_t: compare as Python ints first
    indices = np.empty((m, kk), np.int64)
    scores = np.empty((m, kk), np.float32)
    with nogil:
        status = le_top_k_quant(kind, &q, m, &x, n, dims, how, kk, <int64_t *>cnp.PyArray_DATA(indices),
                                <float *>cnp.PyArray_DATA(scores), workers)
    if status != 0:
        raise MemoryError("no memory for the search's heaps and scratch buffers")
    return indices, scores


cdef inline void *_ptr(object arr):
    return cnp.PyArray_DATA(<cnp.ndarray>arr) if arr is not None else NULL


def quantize_rows(str store, x, double threshold=0.0):
    """Rows of a 2-D float32 array in a stored tier: (data, scale, max_abs, norm, sums), None where
    the tier has no such parameter. int8 rows are plain (dims bytes), not panels."""
    cdef cnp.ndarray rows = _matrix(x, "matrix")
    cdef size_t n = <size_t>rows.shape[0], d = <size_t>rows.shape[1]
    cdef const float *px = _data(rows)
    scale = max_abs = norm = sums = None
    if store == "int8":
        data = np.empty((n, d), np.int8)
        scale, norm, sums = np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.int32)
    elif store == "int4":
        data = np.empty((n, (d + 1) // 2), np.uint8)
        scale, max_abs, norm = np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32)
        sums = np.empty(n, np.int32)
    elif store == "binary":
        data = np.empty((n, (d + 7) // 8), np.uint8)
    elif store == "bf16":
        data = np.empty((n, d), np.uint16)
        norm = np.empty(n, np.float32)
    else:
        raise ValueError(f"unknown store {store!r}")
    cdef void *out = _ptr(data)
    cdef size_t ldo = <size_t>data.shape[1]
    cdef float *p_scale = <float *>_ptr(scale)
    cdef float *p_max_abs = <float *>_ptr(max_abs)
    cdef float *p_norm = <float *>_ptr(norm)
    cdef int32_t *p_sums = <int32_t *>_ptr(sums)
    cdef float cut = <float>threshold
    cdef le_store_t kind = _STORES[store]
    with nogil:
        if kind == LE_STORE_I8:
            le_quantize_i8_rows(px, n, d, <int8_t *>out, ldo, p_scale, p_norm, p_sums)
        elif kind == LE_STORE_U4:
            le_quantize_u4_rows(px, n, d, <uint8_t *>out, ldo, p_scale, p_max_abs, p_norm, p_sums)
        elif kind == LE_STORE_B1:
            le_quantize_b1_rows(px, n, d, <uint8_t *>out, ldo, cut)
        else:
            le_quantize_bf16_rows(px, n, d, <uint16_t *>out, ldo, p_norm)
    return data, scale, max_abs, norm, sums
