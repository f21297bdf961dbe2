# Turning user input into arrays the kernels can read.
#
# Fast path: an exact float32 ndarray that is C-contiguous, aligned and in native byte order goes
# to the kernel as it is (a few flag checks). Anything else takes the general path once: buffers
# and sequences are read with numpy, float64 and integer dtypes are converted to float32, strided,
# misaligned or byte-swapped input is copied, and the wrong kind of input raises an error that says
# what was expected and what arrived.

cdef inline bint _is_kernel_ready(object x, int ndim):
    return (
        cnp.PyArray_CheckExact(x)
        and cnp.PyArray_TYPE(<cnp.ndarray>x) == cnp.NPY_FLOAT32
        and cnp.PyArray_NDIM(<cnp.ndarray>x) == ndim
        and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>x)
    )


cdef cnp.ndarray _coerce(object x, str name, int min_ndim, int max_ndim):
    """The general path: any real-valued array-like of an allowed rank, as C-contiguous float32."""
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} is not a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"{name} must hold real numbers (float32, or a float/int dtype to convert), "
            f"got {type(x).__name__} with dtype {arr.dtype}"
        )
    if not min_ndim <= arr.ndim <= max_ndim:
        expected = "a 1-D vector" if max_ndim == 1 else (
            "a 2-D (rows, dims) matrix" if min_ndim == 2 else "a 1-D vector or a 2-D (rows, dims) matrix")
        raise ValueError(f"{name} must be {expected}, got an array of shape {arr.shape}")
    return np.require(arr, np.float32, ("C_CONTIGUOUS", "ALIGNED"))


cdef inline cnp.ndarray _vector(object x, str name):
    """x as a 1-D float32 array the kernels can read."""
    if _is_kernel_ready(x, 1):
        return <cnp.ndarray>x
    return _coerce(x, name, 1, 1)


cdef inline size_t _length(cnp.ndarray v):
    return <size_t>cnp.PyArray_DIM(v, 0)


cdef inline size_t _same_length(cnp.ndarray a, cnp.ndarray b, str name_a, str name_b) except? 0:
    cdef size_t n = _length(a)
    if n != _length(b):
        raise ValueError(
            f"dimension mismatch: {name_a} has {n} elements, {name_b} has {_length(b)}")
    return n


cdef inline const float *_data(cnp.ndarray v):
    return <const float *>cnp.PyArray_DATA(v)


cdef cnp.ndarray _check_out(object out, tuple shape):
    """`out=` must be a writable float32 array of the result's shape that the kernels can write."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy float32 array, got {type(out).__name__}")
    if out.dtype != np.float32:
        raise TypeError(f"out must have dtype float32, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, the result has shape {shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if not cnp.PyArray_ISCARRAY(<cnp.ndarray>out):
        raise ValueError(
            "out must be C-contiguous, aligned and in native byte order; "
            "pass np.empty(shape, np.float32) or let the function allocate it")
    return <cnp.ndarray>out


cdef inline bint _is_private_copy(cnp.ndarray arr, object x):
    """True when `arr` is a fresh array the general path made from `x` (a conversion or a copy),
    so nothing else can see it: it owns its memory. A view of the caller's buffer (a memoryview,
    a memmap, an ndarray subclass, bytes) never does."""
    return arr is not x and cnp.PyArray_CHKFLAGS(arr, cnp.NPY_ARRAY_OWNDATA)


cdef inline bint _same_memory(cnp.ndarray a, cnp.ndarray b):
    """Both C-contiguous arrays span exactly the same bytes."""
    return (cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b)
            and cnp.PyArray_NBYTES(a) == cnp.PyArray_NBYTES(b))


cdef inline bint _overlaps(cnp.ndarray a, cnp.ndarray b):
    """The byte ranges of two C-contiguous arrays intersect (then a kernel writing one while
    reading the other would read what it already wrote)."""
    cdef const char *pa = <const char *>cnp.PyArray_DATA(a)
    cdef const char *pb = <const char *>cnp.PyArray_DATA(b)
    cdef size_t na = <size_t>cnp.PyArray_NBYTES(a), nb = <size_t>cnp.PyArray_NBYTES(b)
    return na != 0 and nb != 0 and pa < pb + nb and pb < pa + na
