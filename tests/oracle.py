"""float64 numpy references for the kernels, and the one tolerance table the tests use."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

#: Lengths that hit every tail of 4-, 8- and 16-lane loops unrolled up to 4 times.
TAIL_LENGTHS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 384, 768,
                1536, 1537]

#: f32 kernels sum in float32 with several accumulators. A sum of terms t_i is accepted when
#: |got - exact| <= F32_SUM_RTOL * sum |t_i| (bounds error by the size of what was added, not by
#: the result, which cancellation can make arbitrarily small). Results in [-1, 1] or unit vectors
#: use the absolute bounds.
TOLERANCE = {
    "f32_sum": 1e-5,  # dot, squared L2, L1, norm**2: relative to sum |t_i|
    "cosine": 1e-5,  # absolute
    "unit_vector": 2e-6,  # absolute, per element of a normalized vector
}


def f64(x: NDArray[np.float32]) -> F64:
    return np.asarray(x, dtype=np.float64)


def close_to_sum(got: float, exact: float, terms: F64) -> bool:
    bound = TOLERANCE["f32_sum"] * float(np.abs(terms).sum()) + 1e-30
    return abs(got - exact) <= bound


def dot(a: F64, b: F64) -> tuple[float, F64]:
    """The exact dot product and its terms."""
    terms = a * b
    return float(terms.sum()), terms


def l2sq(a: F64, b: F64) -> tuple[float, F64]:
    terms = (a - b) ** 2
    return float(terms.sum()), terms


def l1(a: F64, b: F64) -> tuple[float, F64]:
    terms = np.abs(a - b)
    return float(terms.sum()), terms


def cosine(a: F64, b: F64) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def normalize(x: F64) -> F64:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    keep = (norms == 0) | ~np.isfinite(norms)
    return np.where(keep, x, x / np.where(keep, 1.0, norms))
