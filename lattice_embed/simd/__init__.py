"""Vector similarity on SIMD kernels picked for this CPU at import.

Inputs. Vectors are 1-D and matrices 2-D ``(rows, dims)`` arrays of float32. An exact float32
numpy array that is C-contiguous, aligned and in native byte order goes to the kernel as it is;
anything else is read once with numpy: float64, float16 and integer dtypes are converted to
float32, other buffers (``memoryview``, ``array.array``) and sequences are accepted, and strided,
misaligned or byte-swapped arrays are copied. Read-only arrays work. Non-numeric dtypes (bool,
complex, strings, objects) raise ``TypeError``; the wrong rank raises ``ValueError`` with the shape.

Results. Pair operations return a Python ``float`` computed in float32 (several independent
accumulators, so tiers differ only in summation order). Vector results are float32 arrays.

Numerics. Vectors of different lengths raise ``ValueError`` naming both lengths. Empty vectors give
0.0 for dot products, distances and cosine similarity. Cosine similarity with an all-zero vector
is 0.0. ``normalize`` leaves a vector whose norm is zero or not finite unchanged. NaN propagates.

Threads. Every kernel runs with the GIL released and keeps no state; a call never runs on more
threads than the cores this process may use, whatever ``threads=`` asks.

Dispatch. The best tier this CPU runs is chosen at import (see ``capabilities()``);
``LATTICE_EMBED_ISA=<tier>`` caps it at import and ``use_isa(tier)`` within a block.
"""

from lattice_embed._kernels._core import (
    batch_cosine_one_vs_many,
    batch_cosine_similarity,
    batch_dot_product,
    cosine_distance,
    cosine_similarity,
    cosine_similarity_pre_normalized,
    dot_product,
    dot_product_batch4,
    euclidean_distance,
    manhattan_distance,
    norm,
    normalize,
    squared_euclidean_distance,
)
from lattice_embed.simd._runtime import ISA_NAMES, capabilities, show_runtime, use_isa
from lattice_embed.simd.quantized import (
    MAX_INT4_DIMS,
    MAX_INT8_DIMS,
    BinaryVector,
    Int4Params,
    Int4Vector,
    NormalizationHint,
    PreparedQuery,
    PreparedQueryWithMeta,
    QuantizationParams,
    QuantizationTier,
    QuantizedData,
    QuantizedMatrix,
    QuantizedVector,
    TierMismatchError,
    approximate_cosine_distance,
    approximate_cosine_distance_prepared,
    approximate_cosine_distance_prepared_with_meta,
    approximate_dot_product,
    approximate_dot_product_prepared,
    approximate_int4_batch_prepared,
    approximate_int8_batch_prepared,
    batch_approximate_cosine_distance_prepared,
    cosine_similarity_i8,
    dot_product_i8,
    dot_product_i8_raw,
    hamming_distance,
    is_unit_norm,
    prepare_query,
    prepare_query_with_norm,
    quantize,
)
from lattice_embed.simd.search import similarity, top_k

#: The original crate's name for ``norm`` when it is hoisted out of a loop over candidates.
query_norm = norm

__all__ = [
    "ISA_NAMES",
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
    "batch_cosine_one_vs_many",
    "batch_cosine_similarity",
    "batch_dot_product",
    "capabilities",
    "cosine_distance",
    "cosine_similarity",
    "cosine_similarity_i8",
    "cosine_similarity_pre_normalized",
    "dot_product",
    "dot_product_batch4",
    "dot_product_i8",
    "dot_product_i8_raw",
    "euclidean_distance",
    "hamming_distance",
    "is_unit_norm",
    "manhattan_distance",
    "norm",
    "normalize",
    "prepare_query",
    "prepare_query_with_norm",
    "quantize",
    "query_norm",
    "show_runtime",
    "similarity",
    "squared_euclidean_distance",
    "top_k",
    "use_isa",
]
