"""Quantized and low-precision storage: int8, int4, binary and bf16.

Two levels:

* Per-vector types with the original crate's names, bit layouts and formulas
  (`QuantizedVector`, `Int4Vector`, `BinaryVector`, `QuantizedData`, `PreparedQuery`, ...):
  symmetric int8 (scale = 127 / max|v|), offset 4-bit (scale = 15 / (2 max|v|), even index in the
  high nibble), sign bits (MSB first), each built from finite values only.
* Matrices: `quantize(matrix, tier)` gives a `QuantizedMatrix` that `similarity()` and `top_k()`
  search directly, preparing the float32 query once per call; `top_k(..., rescore=...)` rescores
  a candidate pool exactly in float32.

Integer and binary kernels give bit-identical results on every CPU tier; bf16 dot products are
summed in float32 and differ between tiers only in summation order.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lattice_embed._kernels import _core

__all__ = [
    "MAX_INT4_DIMS",
    "MAX_INT8_DIMS",
    "BinaryVector",
    "Int4Params",
    "Int4Vector",
    "NormalizationHint",
    "PreparedQuery",
    "PreparedQueryWithMeta",
    "QuantizationParams",
    "QuantizationTier",
    "QuantizedData",
    "QuantizedMatrix",
    "QuantizedVector",
    "TierMismatchError",
    "approximate_cosine_distance",
    "approximate_cosine_distance_prepared",
    "approximate_cosine_distance_prepared_with_meta",
    "approximate_dot_product",
    "approximate_dot_product_prepared",
    "approximate_int4_batch_prepared",
    "approximate_int8_batch_prepared",
    "batch_approximate_cosine_distance_prepared",
    "cosine_similarity_i8",
    "dot_product_i8",
    "dot_product_i8_raw",
    "hamming_distance",
    "is_unit_norm",
    "prepare_query",
    "prepare_query_with_norm",
    "quantize",
]

F32 = NDArray[np.float32]

#: The longest int8 and int4 vectors (dimensions): the kernels sum products in 32-bit lanes, and
#: 127 * 127 * 131072 and 15 * 15 * 8388608 stay below 2**31. Longer ones are refused everywhere.
MAX_INT8_DIMS: int = _core.I8_MAX_DIMS
MAX_INT4_DIMS: int = _core.U4_MAX_DIMS


def _check_limit(tier: str, dims: int) -> None:
    limit = MAX_INT8_DIMS if tier == "int8" else MAX_INT4_DIMS
    if dims > limit:
        raise ValueError(f"{tier} vectors are limited to {limit} dimensions, got {dims}")


def _frozen(values: ArrayLike, dtype: type[np.generic], name: str) -> NDArray[Any]:
    """`values` as a read-only 1-D C-contiguous array of `dtype` that nothing else can write: a
    fresh array is frozen in place, anyone else's is copied first."""
    arr = np.asarray(values)
    if arr.dtype != dtype or arr.ndim != 1:
        raise TypeError(f"{name} must be a 1-D {np.dtype(dtype).name} array, got {arr.dtype} "
                        f"of shape {arr.shape}")
    if arr.flags.writeable or not arr.flags.c_contiguous or arr.base is not None:
        arr = np.array(arr, dtype, order="C")
    arr.flags.writeable = False
    return arr


def _refuse_minus_128(data: NDArray[np.int8], name: str) -> None:
    """-128 has no positive counterpart: the AVX2 sign trick would return the wrong product."""
    flat = data.reshape(-1)
    if flat.size and flat.min() == -128:  # one pass, no temporary as large as a matrix
        raise ValueError(f"{name}[{int(np.argmin(flat))}] is -128: int8 values must be in "
                         "[-127, 127]")


class TierMismatchError(ValueError):
    """An operation got data of one tier where it needs another (the original's TierMismatch)."""

    def __init__(self, op: str, expected: QuantizationTier, actual: QuantizationTier) -> None:
        super().__init__(f"tier mismatch in {op}: expected {expected.name}, got {actual.name}")
        self.op, self.expected, self.actual = op, expected, actual


# ---- quantization: one C routine per tier, for matrix rows and single vectors alike -------------


def _as_f32(values: ArrayLike, name: str, ndim: int) -> F32:
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        expected = "a 1-D vector" if ndim == 1 else "a 2-D (rows, dims) matrix"
        raise ValueError(f"{name} must be {expected}, got an array of shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _quantize(x: F32, tier: str, threshold: float = 0.0) -> tuple[Any, ...]:
    """Rows of x (2-D) at `tier`: (data, scale, max_abs, norm, sums), None where unused.

    The original's rules: non-finite values count as 0; int8 scale = 127 / max|x| and int4 scale =
    15 / (2 max|x|) over the finite values; round to nearest, halves away from zero; int8 clamped
    to [-127, 127], int4 to [0, 15] after adding max|x|; norms of the finite values (bf16: of the
    rounded values); bf16 rounds to nearest, ties to even. Not the original's: a row whose max|x|
    is below 1e-30 (zero to float32) is stored as the zero vector (norm 0, int4 max_abs 0, scale
    1), and above that the scale is 127 / max|x| however small (the original used 1 below 1e-10,
    which turned int4 cosines of small vectors into garbage).
    """
    result: tuple[Any, ...] = _core.quantize_rows(tier, x, threshold)
    return result


def _quantize_one(values: ArrayLike, tier: str, threshold: float = 0.0) -> tuple[Any, ...]:
    """A single vector's (data, scale, max_abs, norm, sums), each for that one row."""
    parts = _quantize(_as_f32(values, "values", 1)[None, :], tier, threshold)
    return tuple(None if part is None else part[0] for part in parts)


def _unpack_nibbles(packed: NDArray[np.uint8], dims: int) -> NDArray[np.uint8]:
    values = np.empty((*packed.shape[:-1], packed.shape[-1] * 2), np.uint8)
    values[..., 0::2], values[..., 1::2] = packed >> 4, packed & 15
    return values[..., :dims]


def _from_bf16(bits: NDArray[np.uint16]) -> F32:
    return (bits.astype(np.uint32) << 16).view(np.float32)


# ---- per-vector types (the original crate's API) ------------------------------------------------


@dataclass(frozen=True)
class QuantizationParams:
    """Symmetric int8 parameters: scale = 127 / max|v| over finite values (1 when that is ~0)."""

    scale: float
    zero_point: int
    min_val: float
    max_val: float

    @classmethod
    def from_vector(cls, values: ArrayLike) -> QuantizationParams:
        v = _as_f32(values, "values", 1)
        finite = v[np.isfinite(v)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
        return cls(float(_quantize_one(v, "int8")[1]), 0, lo, hi)


@dataclass(frozen=True, eq=False)
class QuantizedVector:
    """An int8 vector: values in [-127, 127], its scale, and the norm of its finite source values.

    At most `MAX_INT8_DIMS` values. `data` is read-only (a copy when the caller's array could
    change), so a vector checked once stays valid.
    """

    data: NDArray[np.int8]
    params: QuantizationParams
    norm: float

    def __post_init__(self) -> None:
        data = _frozen(self.data, np.int8, "QuantizedVector.data")
        _check_limit("int8", len(data))
        _refuse_minus_128(data, "QuantizedVector.data")
        object.__setattr__(self, "data", data)

    @classmethod
    def from_f32(cls, values: ArrayLike) -> QuantizedVector:
        v = _as_f32(values, "values", 1)
        _check_limit("int8", len(v))
        data, _, _, norm, _ = _quantize_one(v, "int8")
        return cls(data, QuantizationParams.from_vector(v), float(norm))

    def to_f32(self) -> F32:
        """q / scale: the step is max|v| / 127, so each value is within max|v| / 254."""
        return (self.data.astype(np.float32) / np.float32(self.params.scale)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.data)

    def dot_product(self, other: QuantizedVector) -> float:
        return dot_product_i8(self, other)

    def cosine_similarity(self, other: QuantizedVector) -> float:
        return cosine_similarity_i8(self, other)


def _check_dims(op: str, a: int, b: int) -> None:
    if a != b:
        raise ValueError(f"{op}: dimension mismatch: a has {a} dimensions, b has {b}")


def dot_product_i8_raw(a: ArrayLike, b: ArrayLike) -> int:
    """The exact integer dot product of two int8 arrays (values in [-127, 127])."""
    va, vb = np.ascontiguousarray(a, np.int8), np.ascontiguousarray(b, np.int8)
    if va.ndim != 1 or vb.ndim != 1:
        raise ValueError("dot_product_i8_raw takes two 1-D int8 arrays")
    _check_dims("dot_product_i8_raw", len(va), len(vb))
    _check_limit("int8", len(va))
    _refuse_minus_128(va, "a")
    _refuse_minus_128(vb, "b")
    return int(_core.dot_i8(va, vb))


def dot_product_i8(a: QuantizedVector, b: QuantizedVector) -> float:
    """raw integer dot / (scale_a * scale_b): the dot product of the dequantized vectors.

    Divided in double and rounded to float32 once (the scales of two tiny vectors multiply past
    float32's range)."""
    _check_dims("dot_product_i8", len(a), len(b))
    raw = _core.dot_i8(a.data, b.data)
    return float(np.float32(raw / (a.params.scale * b.params.scale)))


def cosine_similarity_i8(a: QuantizedVector, b: QuantizedVector) -> float:
    """dot_product_i8 / (norm_a * norm_b) with the source norms; 0 when that is 0 or not finite.

    As raw / ((scale_a norm_a) (scale_b norm_b)) in double: each factor is between 127 and
    127 sqrt(d) whatever the vector's magnitude, so a tiny vector scores as its rescaled self."""
    _check_dims("cosine_similarity_i8", len(a), len(b))
    denominator = (a.params.scale * a.norm) * (b.params.scale * b.norm)
    if denominator == 0 or not math.isfinite(denominator):
        return 0.0
    return float(np.float32(_core.dot_i8(a.data, b.data) / denominator))


@dataclass(frozen=True)
class Int4Params:
    """Offset 4-bit parameters: q = round((v + max_abs) * scale) in [0, 15], scale = 15 / (2 max_abs)."""

    scale: float
    max_abs: float


@dataclass(frozen=True, eq=False)
class Int4Vector:
    """A 4-bit vector: two values per byte, even index in the high nibble, an odd tail padded."""

    data: NDArray[np.uint8]
    dims: int
    params: Int4Params
    norm: float

    def __post_init__(self) -> None:
        data = _frozen(self.data, np.uint8, "Int4Vector.data")
        if isinstance(self.dims, bool) or not isinstance(self.dims, int) or self.dims < 0:
            raise ValueError(f"Int4Vector.dims must be a non-negative int, got {self.dims!r}")
        _check_limit("int4", self.dims)
        if len(data) != (self.dims + 1) // 2:
            raise ValueError(f"{self.dims} int4 dimensions take {(self.dims + 1) // 2} bytes, "
                             f"got {len(data)}")
        object.__setattr__(self, "data", data)

    @classmethod
    def from_f32(cls, values: ArrayLike) -> Int4Vector:
        v = _as_f32(values, "values", 1)
        _check_limit("int4", len(v))
        packed, scale, max_abs, norm, _ = _quantize_one(v, "int4")
        return cls(packed, len(v), Int4Params(float(scale), float(max_abs)), float(norm))

    def to_f32(self) -> F32:
        """q / scale - max_abs: the step is 2 max_abs / 15, so each value is within max_abs / 15."""
        q = _unpack_nibbles(self.data, self.dims).astype(np.float32)
        return (q / np.float32(self.params.scale) - np.float32(self.params.max_abs)).astype(np.float32)

    @property
    def nibble_sum(self) -> int:
        return int(_unpack_nibbles(self.data, self.dims).sum(dtype=np.int64))

    def _dot(self, other: Int4Vector, op: str) -> float:
        """The corrected dot product in double (rounded to float32 only at the end)."""
        _check_dims(op, self.dims, other.dims)
        raw = _core.dot_u4(self.data, other.data)
        sa, sb = self.params.scale, other.params.scale
        ma, mb = self.params.max_abs, other.params.max_abs
        return float(raw / (sa * sb) - mb * self.nibble_sum / sa - ma * other.nibble_sum / sb
                     + self.dims * ma * mb)

    def dot_product(self, other: Int4Vector) -> float:
        """The dot product of the dequantized vectors, from integer sums corrected for the
        offset."""
        return float(np.float32(self._dot(other, "Int4Vector.dot_product")))

    def cosine_similarity(self, other: Int4Vector) -> float:
        """dot_product / (norm_a * norm_b), in double; 0 when that is 0 or not finite."""
        dot = self._dot(other, "Int4Vector.cosine_similarity")
        denominator = self.norm * other.norm
        if denominator == 0 or not math.isfinite(denominator):
            return 0.0
        return float(np.float32(dot / denominator))

    def cosine_distance(self, other: Int4Vector) -> float:
        return 1.0 - self.cosine_similarity(other)


@dataclass(frozen=True, eq=False)
class BinaryVector:
    """One bit per dimension (set when value >= threshold), most significant bit first."""

    data: NDArray[np.uint8]
    dims: int
    norm: float

    @classmethod
    def from_f32(cls, values: ArrayLike, threshold: float = 0.0) -> BinaryVector:
        v = _as_f32(values, "values", 1)
        finite = np.where(np.isfinite(v), v, np.float32(0.0))
        return cls(_quantize_one(v, "binary", threshold)[0], len(v), float(np.linalg.norm(finite)))

    @classmethod
    def from_packed(cls, bits: ArrayLike, dims: int) -> BinaryVector:
        """Wrap packed bits; padding bits past `dims` are cleared so they never count."""
        packed = np.array(bits, dtype=np.uint8).reshape(-1)
        needed = (dims + 7) // 8
        if dims < 0 or len(packed) != needed:
            raise ValueError(f"{dims} dimensions need {needed} bytes of bits, got {len(packed)}")
        if dims % 8:
            packed[-1] &= np.uint8((0xFF << (8 - dims % 8)) & 0xFF)
        return cls(packed, dims, float(math.sqrt(dims)))

    def to_f32(self) -> F32:
        """+1.0 for a set bit, -1.0 for a clear one."""
        bits = np.unpackbits(self.data, bitorder="big")[: self.dims]
        return np.where(bits == 1, np.float32(1.0), np.float32(-1.0)).astype(np.float32)

    def hamming_distance(self, other: BinaryVector) -> int:
        return hamming_distance(self, other)

    def cosine_distance_approx(self, other: BinaryVector) -> float:
        """2 h / dims, in [0, 2] (0 when dims is 0)."""
        return 2.0 * self.hamming_distance(other) / self.dims if self.dims else 0.0

    def cosine_similarity_approx(self, other: BinaryVector) -> float:
        """1 - 2 h / dims."""
        return 1.0 - self.cosine_distance_approx(other)


def hamming_distance(a: BinaryVector, b: BinaryVector) -> int:
    """Number of differing bits (padding bits never count)."""
    _check_dims("hamming_distance", a.dims, b.dims)
    return int(_core.hamming_b1(a.data, b.data))


# ---- tiers, stored data and prepared queries -----------------------------------------------------


class QuantizationTier(enum.Enum):
    """Storage tiers of the original, largest first."""

    FULL = 4.0
    INT8 = 1.0
    INT4 = 0.5
    BINARY = 0.125

    @property
    def bytes_per_dim(self) -> float:
        return float(self.value)

    @property
    def compression_ratio(self) -> float:
        """Against float32: 1, 4, 8, 32."""
        return 4.0 / self.bytes_per_dim

    def storage_bytes(self, dims: int) -> int:
        """Bytes of the values of one vector (4d, d, ceil(d/2), ceil(d/8)); parameters not included."""
        return {
            QuantizationTier.FULL: 4 * dims,
            QuantizationTier.INT8: dims,
            QuantizationTier.INT4: (dims + 1) // 2,
            QuantizationTier.BINARY: (dims + 7) // 8,
        }[self]

    @classmethod
    def from_age_seconds(cls, age: float) -> QuantizationTier:
        """The original's placeholder recency rule (no retrieval-quality basis): under an hour FULL,
        under a day INT8, under a week INT4, else BINARY."""
        if age < 3600:
            return cls.FULL
        if age < 86_400:
            return cls.INT8
        if age < 604_800:
            return cls.INT4
        return cls.BINARY


Stored = F32 | QuantizedVector | Int4Vector | BinaryVector


def _tier(tier: object) -> QuantizationTier:
    """A QuantizationTier, or one named by a string in any case ("int8", "BINARY")."""
    if isinstance(tier, QuantizationTier):
        return tier
    if isinstance(tier, str):
        try:
            return QuantizationTier[tier.strip().upper()]
        except KeyError:
            names = ", ".join(member.name for member in QuantizationTier)
            raise ValueError(f"unknown quantization tier {tier!r}; valid tiers: {names}") from None
    raise TypeError(f"tier must be a QuantizationTier or its name, got {type(tier).__name__}")


@dataclass(frozen=True, eq=False)
class QuantizedData:
    """One vector at one tier: the original's `QuantizedData` (Full, Int8, Int4, Binary)."""

    tier: QuantizationTier
    value: Stored

    @classmethod
    def from_f32(cls, values: ArrayLike, tier: QuantizationTier | str) -> QuantizedData:
        """`values` at `tier` (a QuantizationTier, or its name in any case: "int8", "FULL")."""
        tier = _tier(tier)
        v = _as_f32(values, "values", 1)
        if tier is QuantizationTier.FULL:
            return cls(tier, v.copy())
        if tier is QuantizationTier.INT8:
            return cls(tier, QuantizedVector.from_f32(v))
        if tier is QuantizationTier.INT4:
            return cls(tier, Int4Vector.from_f32(v))
        if tier is QuantizationTier.BINARY:
            return cls(tier, BinaryVector.from_f32(v))
        raise AssertionError(f"unhandled tier {tier}")  # every member is handled above

    def to_f32(self) -> F32:
        if isinstance(self.value, np.ndarray):
            return self.value.copy()
        return self.value.to_f32()

    @property
    def dims(self) -> int:
        value = self.value
        if isinstance(value, (np.ndarray, QuantizedVector)):
            return len(value)
        return value.dims

    @property
    def storage_bytes(self) -> int:
        return self.tier.storage_bytes(self.dims)

    def promote(self, target: QuantizationTier) -> QuantizedData:
        """Re-quantized at a larger tier (from the dequantized values: nothing is recovered)."""
        return QuantizedData.from_f32(self.to_f32(), target)

    def demote(self, target: QuantizationTier) -> QuantizedData:
        """Re-quantized at a smaller tier."""
        return QuantizedData.from_f32(self.to_f32(), target)


@dataclass(frozen=True, eq=False)
class PreparedQuery:
    """A query quantized once to a tier, to be compared with many stored vectors of that tier."""

    data: QuantizedData

    @classmethod
    def from_f32(cls, query: ArrayLike, tier: QuantizationTier | str) -> PreparedQuery:
        return cls(QuantizedData.from_f32(query, tier))

    @property
    def tier(self) -> QuantizationTier:
        return self.data.tier

    @property
    def dims(self) -> int:
        return self.data.dims


def prepare_query(query: ArrayLike, tier: QuantizationTier | str) -> PreparedQuery:
    return PreparedQuery.from_f32(query, tier)


class NormalizationHint(enum.Enum):
    UNKNOWN = "unknown"
    UNIT = "unit"


def is_unit_norm(values: ArrayLike) -> bool:
    """|sum v^2 - 1| < 1e-4."""
    v = _as_f32(values, "values", 1)
    return abs(float(np.dot(v.astype(np.float64), v)) - 1.0) < 1e-4


@dataclass(frozen=True, eq=False)
class PreparedQueryWithMeta:
    """A prepared query and what is known of its norm (accepted, as in the original since 0.7:
    the unit-norm fast path was removed as slower and riskier than the fused cosine)."""

    query: PreparedQuery
    norm: NormalizationHint

    @classmethod
    def from_f32(
        cls, query: ArrayLike, tier: QuantizationTier | str, hint: NormalizationHint
    ) -> PreparedQueryWithMeta:
        return cls(PreparedQuery.from_f32(query, tier), hint)

    @property
    def tier(self) -> QuantizationTier:
        return self.query.tier

    @property
    def dims(self) -> int:
        return self.query.dims


def prepare_query_with_norm(
    query: ArrayLike,
    tier: QuantizationTier | str,
    hint: NormalizationHint = NormalizationHint.UNKNOWN,
) -> PreparedQueryWithMeta:
    return PreparedQueryWithMeta.from_f32(query, tier, hint)


def _require_tier(op: str, query: PreparedQuery, stored: QuantizedData) -> None:
    if query.tier is not stored.tier:
        raise TierMismatchError(op, query.tier, stored.tier)
    _check_dims(op, query.dims, stored.dims)


def approximate_cosine_distance_prepared(query: PreparedQuery, stored: QuantizedData) -> float:
    """Cosine distance in [0, 2] at the shared tier: 1 - cos (full, int8, int4), 2 h / d (binary)."""
    _require_tier("approximate_cosine_distance_prepared", query, stored)
    q, s = query.data.value, stored.value
    if isinstance(q, np.ndarray) and isinstance(s, np.ndarray):
        return 1.0 - float(_core.cosine_similarity(q, s))
    if isinstance(q, QuantizedVector) and isinstance(s, QuantizedVector):
        return 1.0 - cosine_similarity_i8(q, s)
    if isinstance(q, Int4Vector) and isinstance(s, Int4Vector):
        return q.cosine_distance(s)
    assert isinstance(q, BinaryVector) and isinstance(s, BinaryVector)
    return q.cosine_distance_approx(s)


def approximate_cosine_distance_prepared_with_meta(
    meta: PreparedQueryWithMeta, stored: QuantizedData, stored_hint: NormalizationHint = NormalizationHint.UNKNOWN
) -> float:
    """As approximate_cosine_distance_prepared; the hints are accepted and not used."""
    del stored_hint
    return approximate_cosine_distance_prepared(meta.query, stored)


def approximate_dot_product_prepared(query: PreparedQuery, stored: QuantizedData) -> float:
    """Dot product at the shared tier; binary has none (raises TierMismatchError's sibling)."""
    _require_tier("approximate_dot_product_prepared", query, stored)
    q, s = query.data.value, stored.value
    if isinstance(q, np.ndarray) and isinstance(s, np.ndarray):
        return float(_core.dot_product(q, s))
    if isinstance(q, QuantizedVector) and isinstance(s, QuantizedVector):
        return dot_product_i8(q, s)
    if isinstance(q, Int4Vector) and isinstance(s, Int4Vector):
        return q.dot_product(s)
    raise ValueError("binary vectors have no prepared dot product; use the cosine distance")


def batch_approximate_cosine_distance_prepared(query: PreparedQuery, stored: Sequence[QuantizedData]) -> F32:
    return np.array([approximate_cosine_distance_prepared(query, s) for s in stored], np.float32)


def approximate_int8_batch_prepared(query: PreparedQuery, vectors: Sequence[QuantizedVector]) -> F32:
    """Cosine distances of an INT8 prepared query to int8 vectors."""
    if query.tier is not QuantizationTier.INT8:
        raise TierMismatchError("approximate_int8_batch_prepared", QuantizationTier.INT8, query.tier)
    q = query.data.value
    assert isinstance(q, QuantizedVector)
    return np.array([1.0 - cosine_similarity_i8(q, v) for v in vectors], np.float32)


def approximate_int4_batch_prepared(query: PreparedQuery, vectors: Sequence[Int4Vector]) -> F32:
    """Cosine distances of an INT4 prepared query to int4 vectors."""
    if query.tier is not QuantizationTier.INT4:
        raise TierMismatchError("approximate_int4_batch_prepared", QuantizationTier.INT4, query.tier)
    q = query.data.value
    assert isinstance(q, Int4Vector)
    return np.array([q.cosine_distance(v) for v in vectors], np.float32)


def approximate_cosine_distance(query: ArrayLike, stored: QuantizedData) -> float:
    """Quantizes the float32 query to the stored tier on each call (see PreparedQuery to do it once)."""
    return approximate_cosine_distance_prepared(PreparedQuery.from_f32(query, stored.tier), stored)


def approximate_dot_product(query: ArrayLike, stored: QuantizedData) -> float:
    """Binary: the float32 query against the stored bits read as +1 / -1."""
    if stored.tier is QuantizationTier.BINARY:
        q = _as_f32(query, "query", 1)
        _check_dims("approximate_dot_product", len(q), stored.dims)
        return float(_core.dot_product(q, stored.to_f32()))
    return approximate_dot_product_prepared(PreparedQuery.from_f32(query, stored.tier), stored)


# ---- matrices -----------------------------------------------------------------------------------

#: Matrix tiers by name, and the metrics each can search.
MATRIX_TIERS = ("int8", "int4", "binary", "bf16")
TIER_METRICS = {"int8": ("dot", "cosine"), "int4": ("dot", "cosine"), "bf16": ("dot", "cosine"),
                "binary": ("cosine", "hamming")}
PANEL_ROWS = _core.I8_PANEL_ROWS


@dataclass(frozen=True, eq=False)
class QuantizedMatrix:
    """Rows of one tier and their per-row parameters, as `quantize()` lays them out.

    `data` is (panels, 16 * dp) int8 in the kernels' panel layout for "int8" (dp = dims rounded
    up to 4), (rows, ceil(dims / 2)) uint8 for "int4", (rows, ceil(dims / 8)) uint8 for "binary"
    and (rows, dims) uint16 bfloat16 bits for "bf16".
    """

    tier: str
    rows: int
    dims: int
    data: NDArray[Any]
    scale: F32 | None = None
    max_abs: F32 | None = None
    norm: F32 | None = None
    sums: NDArray[np.int32] | None = None
    _parts: tuple[Any, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", _matrix_tier(self.tier))
        if self.tier in ("int8", "int4"):
            _check_limit(self.tier, self.dims)
        if self.tier == "int8":
            _refuse_minus_128(np.asarray(self.data, np.int8), "QuantizedMatrix.data")
        object.__setattr__(self, "_parts", (self.data, self.scale, self.max_abs, self.norm, self.sums))

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        # Shape, tier and bytes: the arrays themselves run to megabytes of digits.
        return (f"QuantizedMatrix(tier={self.tier!r}, rows={self.rows}, dims={self.dims}, "
                f"nbytes={self.nbytes})")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.dims)

    @property
    def nbytes(self) -> int:
        """Bytes held: values (with the int8 panel padding) and per-row parameters."""
        return sum(part.nbytes for part in self._parts if part is not None)

    def to_f32(self) -> F32:
        """The dequantized rows (binary: +1 / -1)."""
        if self.tier == "int8":
            assert self.scale is not None
            return self.int8_rows().astype(np.float32) / self.scale[: self.rows, None]
        if self.tier == "int4":
            assert self.scale is not None and self.max_abs is not None
            q = _unpack_nibbles(self.data, self.dims).astype(np.float32)
            return (q / self.scale[:, None] - self.max_abs[:, None]).astype(np.float32)
        if self.tier == "binary":
            bits = np.unpackbits(self.data, axis=-1, bitorder="big")[:, : self.dims]
            return np.where(bits == 1, np.float32(1.0), np.float32(-1.0)).astype(np.float32)
        return _from_bf16(self.data)

    def int8_rows(self) -> NDArray[np.int8]:
        """The int8 values as plain (rows, dims) rows, out of the panel layout."""
        if self.tier != "int8":
            raise TierMismatchError("int8_rows", QuantizationTier.INT8, _TIER_OF.get(self.tier, QuantizationTier.FULL))
        dp = self.data.shape[1] // PANEL_ROWS
        if dp == 0:  # no dimensions: nothing to take out of the panels
            return np.zeros((self.rows, self.dims), np.int8)
        panels = self.data.reshape(-1, dp // 4, PANEL_ROWS, 4).transpose(0, 2, 1, 3)
        return np.ascontiguousarray(panels.reshape(-1, dp)[: self.rows, : self.dims])


_TIER_OF = {"int8": QuantizationTier.INT8, "int4": QuantizationTier.INT4, "binary": QuantizationTier.BINARY}


def _to_panels(values: NDArray[np.int8]) -> NDArray[np.int8]:
    """(rows, dims) int8 -> (panels, 16 * dp): rows padded to whole panels, dims to a multiple of 4."""
    rows, dims = values.shape
    dp = (dims + 3) // 4 * 4
    n_panels = (rows + PANEL_ROWS - 1) // PANEL_ROWS
    padded = np.zeros((n_panels * PANEL_ROWS, dp), np.int8)
    padded[:rows, :dims] = values
    panels = padded.reshape(n_panels, PANEL_ROWS, dp // 4, 4).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(panels.reshape(n_panels, PANEL_ROWS * dp))


def _pad_rows(values: NDArray[Any], rows: int) -> NDArray[Any]:
    padded = np.zeros(rows, values.dtype)
    padded[: len(values)] = values
    return padded


def _matrix_tier(tier: object) -> str:
    """A matrix tier's name from its name (any case) or its `QuantizationTier` (INT8, INT4,
    BINARY; bf16 has no member in the original's enum)."""
    if isinstance(tier, QuantizationTier):
        if tier is QuantizationTier.FULL:
            raise ValueError("QuantizationTier.FULL is float32 itself: search the float32 matrix "
                             f"(quantized tiers: {', '.join(MATRIX_TIERS)})")
        return tier.name.lower()
    if not isinstance(tier, str):
        raise TypeError(
            f"tier must be a tier name or a QuantizationTier, got {type(tier).__name__}")
    name = tier.strip().lower()
    if name not in MATRIX_TIERS:
        raise ValueError(f"unknown tier {tier!r}; valid tiers: {', '.join(MATRIX_TIERS)}")
    return name


def quantize(matrix: ArrayLike, tier: str | QuantizationTier) -> QuantizedMatrix:
    """Rows of `matrix` (N, d) stored at `tier`: "int8", "int4", "binary" or "bf16" (any case),
    or `QuantizationTier.INT8`, `INT4`, `BINARY`.

    Per-row parameters follow the per-vector types: int8 and int4 scales from the finite values'
    max |x|, norms of the finite source values (bf16: of the bf16 values), binary bits set for
    values >= 0. bf16 rounds to nearest, ties to even.
    """
    tier = _matrix_tier(tier)
    x = _as_f32(matrix, "matrix", 2)
    rows, dims = x.shape
    if tier in ("int8", "int4"):
        _check_limit(tier, dims)
    data, scale, max_abs, norm, sums = _quantize(x, tier)
    if tier == "int8":
        padded_rows = (rows + PANEL_ROWS - 1) // PANEL_ROWS * PANEL_ROWS
        data, sums = _to_panels(data), _pad_rows(sums, padded_rows)
    for part in (data, scale, max_abs, norm, sums):
        if part is not None:  # ours alone: frozen, so what was checked stays true
            part.flags.writeable = False
    return QuantizedMatrix(tier, rows, dims, data, scale=scale, max_abs=max_abs, norm=norm, sums=sums)


def _power_of_two_scaled(rows: F32) -> F32:
    """Each row times the power of two that brings its largest finite |value| into [1, 2):
    exact (only a row's exponents change), so a cosine is unchanged, and the products of a tiny
    query with a row stay clear of float32's subnormal range, which tiers treat differently
    (AVX-512 BF16 flushes subnormals to zero, FMA keeps them). A row below 1e-30, which the
    quantizer stores as the zero vector (cosine 0, as on the float32 path), is left as it is."""
    finite = np.where(np.isfinite(rows), np.abs(rows), np.float32(0))
    peak = finite.max(axis=1) if rows.shape[1] else np.zeros(len(rows), np.float32)
    _, exponents = np.frexp(np.where(peak >= np.float32(1e-30), peak, np.float32(1)))
    scaled: F32 = np.ldexp(rows, (1 - exponents)[:, None]).astype(np.float32)
    return scaled


def _prepare_queries(queries: F32, tier: str, metric: str) -> tuple[Any, ...]:
    """The float32 queries (M, d) in the matrix tier's query layout, as (data, scale, max_abs, norm, sums)."""
    if tier == "bf16" and metric == "cosine":  # the other tiers' scales already do this
        queries = _power_of_two_scaled(queries)
    data, scale, max_abs, norm, sums = _quantize(queries, tier)
    if tier == "int8":  # plain rows, padded like the panels' rows
        dp = (queries.shape[1] + 3) // 4 * 4
        padded = np.zeros((len(queries), dp), np.int8)
        padded[:, : queries.shape[1]] = data
        data = padded
    return data, scale, max_abs, norm, sums


def search(
    queries: ArrayLike,
    matrix: QuantizedMatrix,
    metric: str,
    k: int | None,
    threads: int | None,
) -> Any:
    """Scores (k None) or (indices, scores) of float32 queries against a quantized matrix."""
    allowed = TIER_METRICS[matrix.tier]
    if metric not in allowed:
        raise ValueError(f"metric {metric!r} is not available for {matrix.tier} matrices; use {' or '.join(allowed)}")
    q = np.asarray(queries)
    single = q.ndim == 1
    q2 = _as_f32(q[None, :] if single else q, "queries", 2)
    if q2.shape[1] != matrix.dims:
        raise ValueError(f"dimension mismatch: queries have {q2.shape[1]} dims, matrix rows have {matrix.dims}")
    prepared = _prepare_queries(q2, matrix.tier, metric)
    result = _core.quant_search(matrix.tier, prepared, matrix._parts, matrix.rows, matrix.dims, metric, k, threads)
    if k is None:
        return result[0] if single else result
    indices, scores = result
    return (indices[0], scores[0]) if single else (indices, scores)
