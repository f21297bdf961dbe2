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


def scores(q: F64, x: F64, metric: str) -> F64:
    """Exact metric(q_i, x_j) for every pair: (M, N) for 2-D q."""
    if metric in ("dot", "cosine"):
        s = q @ x.T
        if metric == "cosine":
            qn = np.linalg.norm(q, axis=1)[:, None]
            xn = np.linalg.norm(x, axis=1)[None, :]
            zero = (qn == 0) | (xn == 0)
            s = np.where(zero, 0.0, s / np.where(zero, 1.0, qn * xn))
        return s
    diff = q[:, None, :] - x[None, :, :]
    if metric == "l1":
        return np.abs(diff).sum(-1)
    l2sq = (diff**2).sum(-1)
    return np.sqrt(l2sq) if metric == "l2" else l2sq


def score_bounds(q: F64, x: F64, metric: str) -> F64:
    """The tolerance of each score in `scores`, from the TOLERANCE table."""
    if metric == "cosine":
        return np.full((len(q), len(x)), TOLERANCE["cosine"])
    if metric == "dot":
        terms = np.abs(q) @ np.abs(x).T
    elif metric == "l1":
        terms = np.abs(q[:, None, :] - x[None, :, :]).sum(-1)
    else:
        terms = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        if metric == "l2":  # |sqrt(a) - sqrt(b)| <= |a - b| / sqrt(b)
            return TOLERANCE["f32_sum"] * terms / np.maximum(np.sqrt(terms), 1e-30) + 1e-30
    return TOLERANCE["f32_sum"] * terms + 1e-30


SIMILARITIES = ("dot", "cosine")
METRICS = ("dot", "cosine", "l2sq", "l2", "l1")


def rank_order(s: F64, metric: str) -> NDArray[np.intp]:
    """Indices best first (largest similarity, smallest distance), ties to the lower index."""
    key = -s if metric in SIMILARITIES else s
    return np.argsort(key, axis=-1, kind="stable")
