"""float64 numpy references for the kernels, and the one tolerance table the tests use."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

#: Lengths that hit every tail of 4-, 8- and 16-lane loops unrolled up to 4 times.
TAIL_LENGTHS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 384, 768,
                1536, 1537]

#: f32 kernels sum in float32 with several accumulators (the scalar tier in double). A sum of
#: terms t_i is accepted when |got - exact| <= F32_SUM_RTOL * sum |t_i| (bounds error by the size
#: of what was added, not by the result, which cancellation can make arbitrarily small). Results
#: in [-1, 1] or unit vectors use the absolute bounds. A float32 accumulator of k terms errs by up
#: to (k - 1) 2^-24 sum |t_i|, so the bound holds while no accumulator adds more than ~168 terms:
#: to 1537 dimensions on every tier, 4096 on x86 (tests/kernels/test_tolerances.py).
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


# ---- quantization references (numpy, the original crate's rules, written independently of the C) --

F32 = NDArray[np.float32]


def _finite(x: F32) -> F32:
    return np.where(np.isfinite(x), x, np.float32(0.0))


def _max_abs(x: F32) -> F32:
    if x.shape[-1] == 0:
        return np.zeros(x.shape[:-1], np.float32)
    return np.abs(_finite(x)).max(axis=-1).astype(np.float32)


def round_half_away(x: F32) -> F32:
    """Rust's f32::round, exactly in float32."""
    whole = np.trunc(x)
    return np.where(np.abs(x - whole) == np.float32(0.5), whole + np.sign(x), np.round(x))


#: Rows whose largest finite |value| is below this are stored as the zero vector (LE_QUANT_TINY).
QUANT_TINY = np.float32(1e-30)


def _zero_if_tiny(x: F32) -> F32:
    """x with the rows that quantize to the zero vector zeroed (their squares underflow float32)."""
    tiny = _max_abs(x) < QUANT_TINY
    return np.where(tiny[..., None], np.float32(0.0), x).astype(np.float32)


def finite_norms(x: F32) -> F32:
    """Norms of the finite values, as stored: 0 for a row that quantizes to the zero vector."""
    finite = _finite(_zero_if_tiny(x)).astype(np.float64)
    with np.errstate(over="ignore"):  # a norm beyond float32's range is infinite
        return np.sqrt((finite * finite).sum(axis=-1)).astype(np.float32)


def quantize_int8(x: F32) -> tuple[NDArray[np.int8], F32]:
    """(values, scale): scale = 127 / max|x| (1 for the zero vector, which a row below 1e-30 is),
    round(x * scale) in [-127, 127]."""
    x = _zero_if_tiny(x)
    max_abs = _max_abs(x)
    scale = np.where(max_abs > 0, np.float32(127.0) / np.where(max_abs > 0, max_abs, 1),
                     np.float32(1.0)).astype(np.float32)
    values = np.clip(round_half_away(_finite(x) * scale[..., None]), -127, 127).astype(np.int8)
    return values, scale


def quantize_int4(x: F32) -> tuple[NDArray[np.uint8], F32, F32]:
    """(packed nibbles, scale, max_abs): round((x + max_abs) * 15 / (2 max_abs)) in [0, 15], even
    index in the high nibble, an odd tail padded with 0; a row below 1e-30 is the zero vector
    (nibbles 0, scale 1, max_abs 0)."""
    x = _zero_if_tiny(x)
    max_abs = _max_abs(x)
    safe = np.where(max_abs > 0, max_abs, np.float32(1.0))
    # 15 / (2 max_abs), written as 7.5 / max_abs: the same float (doubling is exact), never overflowing
    scale = np.where(max_abs > 0, np.float32(7.5) / safe, np.float32(1.0)).astype(np.float32)
    with np.errstate(over="ignore"):  # x + max_abs may overflow to infinity: that is a 15
        shifted = np.minimum((_finite(x) + max_abs[..., None]) * scale[..., None], np.float32(15.5))
    values = np.clip(round_half_away(shifted), 0, 15).astype(np.uint8)
    if values.shape[-1] % 2:
        values = np.concatenate([values, np.zeros((*values.shape[:-1], 1), np.uint8)], axis=-1)
    return ((values[..., 0::2] << 4) | values[..., 1::2]).astype(np.uint8), scale, max_abs


def quantize_binary(x: F32, threshold: float = 0.0) -> NDArray[np.uint8]:
    return np.packbits(_finite(x) >= np.float32(threshold), axis=-1, bitorder="big")


def to_bf16(x: F32) -> NDArray[np.uint16]:
    """Round to nearest, ties to even; NaN stays NaN."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), rounded).astype(np.uint16)
