# Queries against a matrix: similarity scores, top-k, and the original crate's batch helpers.
import operator

_METRICS = {"dot": LE_METRIC_DOT, "cosine": LE_METRIC_COSINE, "l2sq": LE_METRIC_L2SQ,
            "l2": LE_METRIC_L2, "l1": LE_METRIC_L1}
METRIC_NAMES = tuple(_METRICS)

#: Work (queries x rows x dims multiply-adds) per thread for threads=None: a call takes one thread
#: per this much work, up to the cores (below it, starting a thread costs more than it saves).
PARALLEL_WORK = 1 << 22


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _threads_from_env():
    value = os.environ.get("LATTICE_EMBED_NUM_THREADS", "").strip()
    if not value:
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"LATTICE_EMBED_NUM_THREADS must be a positive integer, got {value!r}")
    return threads


#: LATTICE_EMBED_NUM_THREADS at import (the thread count for threads=None), else None.
ENV_THREADS = _threads_from_env()
CORES = _cores()


cdef size_t _threads(object threads, size_t work) except 0:
    """The threads a call runs on: `threads`, else LATTICE_EMBED_NUM_THREADS, else one per
    PARALLEL_WORK multiply-adds; never more than the cores this process may run on (a kernel is
    CPU-bound: more threads than cores only add thread starts, one per row at worst)."""
    if threads is None:
        if ENV_THREADS is not None:
            return min(ENV_THREADS, CORES)
        # a thread per PARALLEL_WORK of work, up to the cores: small calls stay on one thread
        return max(1, min(CORES, work // PARALLEL_WORK))
    if isinstance(threads, bool):  # an int to Python, but threads=True is a mistake
        raise TypeError(f"threads must be an integer or None, got bool ({threads})")
    try:
        count = operator.index(threads)
    except TypeError:
        raise TypeError(f"threads must be an integer or None, got {type(threads).__name__}") from None
    if count < 1:
        raise ValueError(f"threads must be at least 1, got {count}")
    return min(count, CORES)


def thread_count(threads, work):
    """How many threads a call given `threads=` with `work` multiply-adds runs on."""
    return _threads(threads, work)


cdef le_metric_t _metric(object metric) except *:
    try:
        return _METRICS[metric]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {metric!r}; valid metrics: {', '.join(METRIC_NAMES)}") from None


cdef cnp.ndarray _matrix(object x, str name):
    if _is_kernel_ready(x, 2):
        return <cnp.ndarray>x
    return _coerce(x, name, 2, 2)


cdef cnp.ndarray _queries(object q):
    if _is_kernel_ready(q, 1) or _is_kernel_ready(q, 2):
        return <cnp.ndarray>q
    return _coerce(q, "queries", 1, 2)


cdef size_t _dims(cnp.ndarray queries, cnp.ndarray matrix) except? 0:
    cdef size_t d = <size_t>queries.shape[queries.ndim - 1]
    if d != <size_t>matrix.shape[1]:
        raise ValueError(
            f"dimension mismatch: queries have {d} dims, matrix rows have {matrix.shape[1]}")
    return d


cdef tuple _result_shape(cnp.ndarray queries, size_t m, size_t columns):
    """(columns,) for one 1-D query, else (m, columns)."""
    if queries.ndim == 1:
        return (columns,)
    return (m, columns)


def similarity(queries, matrix, metric="cosine", *, out=None, threads=None):
    """similarity(queries, matrix, metric="cosine", *, out=None, threads=None) -> ndarray

    Scores of each query against every row of ``matrix`` (N, d): a 1-D query (d,) gives (N,)
    float32, a 2-D block (M, d) gives (M, N). ``metric`` is "dot" or "cosine" (similarities) or
    "l2sq", "l2", "l1" (distances). ``out``: a C-contiguous float32 array of the result's shape to
    write into (one that overlaps an input gets the result through a temporary). ``threads``:
    None takes a thread per 4M multiply-adds of work, up to the cores (``LATTICE_EMBED_NUM_THREADS``
    sets it instead); never more threads than cores. The result is identical whatever the thread
    count.
    """
    cdef cnp.ndarray q = _queries(queries)
    cdef cnp.ndarray x = _matrix(matrix, "matrix")
    cdef le_metric_t kind = _metric(metric)
    cdef size_t d = _dims(q, x)
    cdef size_t m = 1 if q.ndim == 1 else <size_t>q.shape[0]
    cdef size_t n = <size_t>x.shape[0]
    cdef tuple shape = _result_shape(q, m, n)
    cdef cnp.ndarray result, target = None
    if out is None:
        result = np.empty(shape, np.float32)
    else:
        result = _check_out(out, shape)
        if _overlaps(result, q) or _overlaps(result, x):  # scores would overwrite their inputs
            target, result = result, np.empty(shape, np.float32)
    cdef size_t workers = _threads(threads, m * n * d)
    cdef const float *pq = _data(q)
    cdef const float *px = _data(x)
    cdef float *pout = <float *>cnp.PyArray_DATA(result)
    cdef int status
    with nogil:
        status = le_similarity_f32(pq, m, px, n, d, kind, pout, workers)
    if status != 0:
        raise MemoryError("similarity: no memory for the per-thread scratch buffers")
    if target is not None:
        np.copyto(target, result)
        return target
    return result


def top_k(queries, matrix, k, metric="cosine", *, threads=None):
    """top_k(queries, matrix, k, metric="cosine", *, threads=None) -> (indices, scores)

    The k best rows of ``matrix`` for each query, best first: int64 indices and float32 scores,
    shape (k,) for a 1-D query and (M, k) for a 2-D block. Best is the largest similarity or the
    smallest distance; ties go to the lower index; a NaN score never ranks above a number. k > N
    returns N results, k = 0 empty arrays. The M x N scores are never held at once: rows are
    scored a block at a time, and extra memory is at most 256 KiB of scores per thread plus, when
    there are fewer than 4 queries per thread, (threads - 1) x M x k (index, score) pairs.
    """
    cdef cnp.ndarray q = _queries(queries)
    cdef cnp.ndarray x = _matrix(matrix, "matrix")
    if isinstance(k, bool):  # an int to Python, but k=True is a mistake, not k=1
        raise TypeError(f"k must be an integer, got bool ({k})")
    try:
        wanted = operator.index(k)
    except TypeError:
        raise TypeError(f"k must be an integer, got {type(k).__name__}") from None
    if wanted < 0:
        raise ValueError(f"k must be >= 0, got {wanted}")
    cdef le_metric_t kind = _metric(metric)
    cdef size_t d = _dims(q, x)
    cdef size_t m = 1 if q.ndim == 1 else <size_t>q.shape[0]
    cdef size_t n = <size_t>x.shape[0]
    cdef size_t kk = min(wanted, n)  # k may exceed size_t: compare as Python ints first
    cdef tuple shape = _result_shape(q, m, kk)
    cdef cnp.ndarray indices = np.empty(shape, np.int64)
    cdef cnp.ndarray scores = np.empty(shape, np.float32)
    cdef size_t workers = _threads(threads, m * n * d)
    cdef const float *pq = _data(q)
    cdef const float *px = _data(x)
    cdef int64_t *pidx = <int64_t *>cnp.PyArray_DATA(indices)
    cdef float *pscores = <float *>cnp.PyArray_DATA(scores)
    cdef int status
    with nogil:
        status = le_top_k_f32(pq, m, px, n, d, kind, kk, pidx, pscores, workers)
    if status != 0:
        raise MemoryError("top_k: no memory for the per-thread heaps and scratch buffers")
    return indices, scores


def batch_cosine_one_vs_many(query, matrix):
    """batch_cosine_one_vs_many(query, matrix) -> ndarray: cosine of a 1-D query with each row
    (the original crate's name for ``similarity(query, matrix, "cosine")``)."""
    if _is_kernel_ready(query, 1):
        return similarity(query, matrix, "cosine")
    return similarity(_vector(query, "query"), matrix, "cosine")


cdef cnp.ndarray _row_pairs(object a_rows, object b_rows, bint cosine):
    cdef cnp.ndarray a = _matrix(a_rows, "a_rows")
    cdef cnp.ndarray b = _matrix(b_rows, "b_rows")
    if (<object>a).shape != (<object>b).shape:
        raise ValueError(
            f"shape mismatch: a_rows is {(<object>a).shape}, b_rows is {(<object>b).shape}")
    cdef size_t rows = <size_t>a.shape[0], d = <size_t>a.shape[1]
    cdef cnp.ndarray result = np.empty(rows, np.float32)
    cdef const float *pa = _data(a)
    cdef const float *pb = _data(b)
    cdef float *pout = <float *>cnp.PyArray_DATA(result)
    with nogil:
        if cosine:
            le_cosine_rows_f32(pa, pb, rows, d, pout)
        else:
            le_dot_rows_f32(pa, pb, rows, d, pout)
    return result


def batch_cosine_similarity(a_rows, b_rows):
    """batch_cosine_similarity(a_rows, b_rows) -> ndarray: cosine_similarity(a_rows[i], b_rows[i])
    for two (n, d) matrices of the same shape, as float32 (n,)."""
    return _row_pairs(a_rows, b_rows, True)


def batch_dot_product(a_rows, b_rows):
    """batch_dot_product(a_rows, b_rows) -> ndarray: dot_product(a_rows[i], b_rows[i]) for two
    (n, d) matrices of the same shape, as float32 (n,)."""
    return _row_pairs(a_rows, b_rows, False)


def dot_product_batch4(q, c0, c1, c2, c3):
    """dot_product_batch4(q, c0, c1, c2, c3) -> (float, float, float, float): q against four
    candidates with the query read once."""
    cdef cnp.ndarray vq = _vector(q, "q")
    cdef list cs = [_vector(c, f"c{i}") for i, c in enumerate((c0, c1, c2, c3))]
    cdef size_t d = _length(vq)
    for i, c in enumerate(cs):
        _same_length(vq, c, "q", f"c{i}")
    cdef const float *ptrs[4]
    for i in range(4):
        ptrs[i] = _data(<cnp.ndarray>cs[i])
    cdef const float *pq = _data(vq)
    cdef float result[4]
    with nogil:
        le_dot_batch4_f32(pq, ptrs, d, result)
    return (result[0], result[1], result[2], result[3])
