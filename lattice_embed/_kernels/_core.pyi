# Types of the compiled module (_core.pyx and its .pxi files), for type checkers: the extension
# itself carries none. tests/test_typing.py checks these against the module (mypy's stubtest) and
# type-checks a user's script against the installed package.
from typing import Final, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

_F32 = NDArray[np.float32]
_I64 = NDArray[np.int64]
_Parts = tuple[
    NDArray[np.generic],
    _F32 | None,
    _F32 | None,
    _F32 | None,
    NDArray[np.int32] | None,
]

# _runtime.pxi
ISA_NAMES: Final[tuple[str, ...]]
CPU_FEATURE_NAMES: Final[tuple[str, ...]]
KERNEL_NAMES: Final[tuple[str, ...]]
BUILD_INFO: Final[str]
ENV_ISA: Final[str | None]

def cpu_features() -> dict[str, bool]: ...
def compiled_isas() -> list[str]: ...
def cpu_isas() -> list[str]: ...
def isa_cap() -> str: ...
def kernel_isas() -> dict[str, str]: ...
def set_isa_cap(tier: str) -> None: ...

# _dense.pxi
def dot_product(a: ArrayLike, b: ArrayLike) -> float: ...
def cosine_similarity(a: ArrayLike, b: ArrayLike) -> float: ...
def cosine_distance(a: ArrayLike, b: ArrayLike) -> float: ...
def squared_euclidean_distance(a: ArrayLike, b: ArrayLike) -> float: ...
def euclidean_distance(a: ArrayLike, b: ArrayLike) -> float: ...
def manhattan_distance(a: ArrayLike, b: ArrayLike) -> float: ...
def norm(v: ArrayLike) -> float: ...
def cosine_similarity_pre_normalized(q: ArrayLike, c: ArrayLike, query_norm: float) -> float: ...
def normalize(x: ArrayLike, out: _F32 | None = None) -> _F32: ...

# _batch.pxi
METRIC_NAMES: Final[tuple[str, ...]]
PARALLEL_WORK: Final[int]
ENV_THREADS: Final[int | None]
CORES: Final[int]

def thread_count(threads: int | None, work: int) -> int: ...
def similarity(
    queries: ArrayLike,
    matrix: ArrayLike,
    metric: str = "cosine",
    *,
    out: _F32 | None = None,
    threads: int | None = None,
) -> _F32: ...
def top_k(
    queries: ArrayLike,
    matrix: ArrayLike,
    k: int,
    metric: str = "cosine",
    *,
    threads: int | None = None,
) -> tuple[_I64, _F32]: ...
def batch_cosine_one_vs_many(query: ArrayLike, matrix: ArrayLike) -> _F32: ...
def batch_cosine_similarity(a_rows: ArrayLike, b_rows: ArrayLike) -> _F32: ...
def batch_dot_product(a_rows: ArrayLike, b_rows: ArrayLike) -> _F32: ...
def dot_product_batch4(
    q: ArrayLike, c0: ArrayLike, c1: ArrayLike, c2: ArrayLike, c3: ArrayLike
) -> tuple[float, float, float, float]: ...

# _quant.pxi
I8_PANEL_ROWS: Final[int]
I8_MAX_DIMS: Final[int]
U4_MAX_DIMS: Final[int]

def dot_i8(a: NDArray[np.int8], b: NDArray[np.int8]) -> int: ...
def dot_u4(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> int: ...
def hamming_b1(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> int: ...
def dot_bf16(a: NDArray[np.uint16], b: NDArray[np.uint16]) -> float: ...
@overload
def quant_search(
    store: str,
    queries: _Parts,
    matrix: _Parts,
    n: int,
    dims: int,
    metric: str,
    k: None = None,
    threads: int | None = None,
) -> _F32: ...
@overload
def quant_search(
    store: str,
    queries: _Parts,
    matrix: _Parts,
    n: int,
    dims: int,
    metric: str,
    k: int,
    threads: int | None = None,
) -> tuple[_I64, _F32]: ...
def quantize_rows(store: str, x: ArrayLike, threshold: float = 0.0) -> _Parts: ...

# _nn.pxi
def bias_gelu_(x: _F32, bias: _F32 | None = None) -> None: ...
def layer_norm_(
    x: _F32,
    gamma: _F32,
    beta: _F32,
    eps: float,
    *,
    bias: _F32 | None = None,
    residual: _F32 | None = None,
) -> None: ...
def softmax_(x: _F32) -> None: ...
