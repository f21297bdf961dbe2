# Dense f32 operations on vectors: the public pair ops and normalize.
from libc.math cimport sqrt, sqrtf

cdef enum PairOp:
    PAIR_DOT
    PAIR_COSINE_SIMILARITY
    PAIR_COSINE_DISTANCE
    PAIR_L2SQ
    PAIR_L2
    PAIR_L1


cdef object _pair(object a, object b, PairOp op):
    cdef cnp.ndarray va = _vector(a, "a")
    cdef cnp.ndarray vb = _vector(b, "b")
    cdef size_t n = _same_length(va, vb, "a", "b")
    cdef const float *pa = _data(va)
    cdef const float *pb = _data(vb)
    cdef double result
    with nogil:
        if op == PAIR_DOT:
            result = le_dot_f32(pa, pb, n)
        elif op == PAIR_COSINE_SIMILARITY:
            result = le_cosine_f32(pa, pb, n)
        elif op == PAIR_COSINE_DISTANCE:
            result = 1.0 - <double>le_cosine_f32(pa, pb, n)
        elif op == PAIR_L2SQ:
            result = le_l2sq_f32(pa, pb, n)
        elif op == PAIR_L2:
            result = sqrtf(le_l2sq_f32(pa, pb, n))
        else:
            result = le_l1_f32(pa, pb, n)
    return result


def dot_product(a, b):
    """dot_product(a, b) -> float: the sum of a[i] * b[i].

    a, b: 1-D float32 arrays of equal length (see the input rules in ``lattice_embed.simd``).
    Empty vectors give 0.0; NaN propagates; a length mismatch raises ValueError.
    """
    return _pair(a, b, PAIR_DOT)


def cosine_similarity(a, b):
    """cosine_similarity(a, b) -> float: dot(a, b) / (|a| |b|), from one fused pass.

    0.0 when either vector is all zeros or empty (the original crate's contract); NaN propagates.
    """
    return _pair(a, b, PAIR_COSINE_SIMILARITY)


def cosine_distance(a, b):
    """cosine_distance(a, b) -> float: 1 - cosine_similarity(a, b), in [0, 2].

    So a zero or empty vector is at distance 1.0 from everything.
    """
    return _pair(a, b, PAIR_COSINE_DISTANCE)


def squared_euclidean_distance(a, b):
    """squared_euclidean_distance(a, b) -> float: the sum of (a[i] - b[i])**2.

    Ranks like euclidean_distance without the square root. Empty vectors give 0.0.
    """
    return _pair(a, b, PAIR_L2SQ)


def euclidean_distance(a, b):
    """euclidean_distance(a, b) -> float: sqrt(squared_euclidean_distance(a, b))."""
    return _pair(a, b, PAIR_L2)


def manhattan_distance(a, b):
    """manhattan_distance(a, b) -> float: the sum of |a[i] - b[i]| (L1). Empty vectors give 0.0."""
    return _pair(a, b, PAIR_L1)


def norm(v):
    """norm(v) -> float: the L2 norm sqrt(dot(v, v)), through the same dot kernel (also
    exported as ``query_norm``)."""
    cdef cnp.ndarray vv = _vector(v, "v")
    cdef size_t n = _length(vv)
    cdef const float *p = _data(vv)
    cdef float result
    with nogil:
        result = sqrtf(le_dot_f32(p, p, n))
    return result


def cosine_similarity_pre_normalized(q, c, query_norm):
    """cosine_similarity_pre_normalized(q, c, query_norm) -> float: dot(q, c) / (query_norm * |c|).

    Hoists the query's norm out of a loop over candidates: compute it once with ``norm(q)`` (or
    pass 1.0 for a unit query). 0.0 when query_norm or |c| is 0.
    """
    cdef cnp.ndarray vq = _vector(q, "q")
    cdef cnp.ndarray vc = _vector(c, "c")
    cdef size_t n = _same_length(vq, vc, "q", "c")
    cdef double q_norm = query_norm
    cdef const float *pq = _data(vq)
    cdef const float *pc = _data(vc)
    cdef float dot, c_norm2
    with nogil:
        dot = le_dot_norm_f32(pq, pc, n, &c_norm2)
    if q_norm == 0.0 or c_norm2 == 0.0:
        return 0.0
    return <double>dot / (q_norm * sqrt(<double>c_norm2))


def normalize(x, out=None):
    """normalize(x, out=None) -> ndarray: x scaled to unit L2 norm (1-D), or each row of x (2-D).

    Returns a new float32 array, or `out` when given (a writable C-contiguous float32 array of x's
    shape). `x` itself is never written, unless it is passed as `out` too: then it is normalized in
    place. An `out` that partly overlaps x gets the result through a temporary, as numpy does.
    A vector whose norm is zero or not finite (NaN, infinite, or overflowing float32) is returned
    unchanged.
    """
    cdef cnp.ndarray src
    if _is_kernel_ready(x, 1) or _is_kernel_ready(x, 2):
        src = <cnp.ndarray>x
    else:
        src = _coerce(x, "x", 1, 2)
    cdef cnp.ndarray dst, target = None
    if out is not None:
        dst = _check_out(out, (<object>src).shape)
        if _overlaps(dst, src) and not _same_memory(dst, src):
            target, dst = dst, np.empty_like(src)  # the kernel may write x[i] before reading it
    elif _is_private_copy(src, x):
        dst = src  # a conversion or copy made above: normalize it in place
    else:
        dst = np.empty_like(src)
    cdef size_t rows = 1 if src.ndim == 1 else <size_t>src.shape[0]
    cdef size_t d = <size_t>src.shape[src.ndim - 1]
    cdef const float *ps = _data(src)
    cdef float *pd = <float *>cnp.PyArray_DATA(dst)
    with nogil:
        le_normalize_f32(ps, pd, rows, d)
    if target is not None:
        np.copyto(target, dst)
        return target
    return dst
