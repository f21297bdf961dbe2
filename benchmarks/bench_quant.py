"""Quantized storage (d=768, N=100,000, one thread): one query against int8 and bf16 matrices with
their memory floors, and 1,000 queries against int8 and bf16, beside numkong (and simsimd for
one bf16 query; numpy's float32 sgemm for 1,000 queries, as the uncompressed reference).

    OPENBLAS_NUM_THREADS=1 pytest benchmarks/bench_quant.py \
        --benchmark-json=benchmarks/results/quant.json
    python benchmarks/report.py benchmarks/results/quant.json

lattice_embed's rows include preparing the float32 query and turning integer sums into scores;
the peers get pre-quantized queries and return raw sums. "floor" streams the stored bytes once
through the simplest read-only kernel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from benchmarks.conftest import optional
from lattice_embed import simd

numkong = optional("numkong")
simsimd = optional("simsimd")

N, D, K, MANY = 100_000, 768, 10, 1_000
RNG = np.random.default_rng(0)
MATRIX = RNG.standard_normal((N, D), dtype=np.float32)
QUERY = RNG.standard_normal(D, dtype=np.float32)
QUERIES = RNG.standard_normal((MANY, D), dtype=np.float32)

INT8 = simd.quantize(MATRIX, "int8")
BF16 = simd.quantize(MATRIX, "bf16")
INT8_ROWS = INT8.int8_rows()
QUERY_I8 = simd.QuantizedVector.from_f32(QUERY).data
QUERIES_I8 = np.stack([simd.QuantizedVector.from_f32(q).data for q in QUERIES])
QUERY_BF16 = simd.quantize(QUERY[None, :], "bf16").data
SCORES = np.empty((MANY, N), np.float32)  # numpy's output, reused


def floor(stored: np.ndarray) -> Callable[[], object]:
    flat = stored.view(np.float32).reshape(-1)
    return lambda: simd.norm(flat)


def numkong_cases() -> dict[str, Callable[[], object] | None]:
    if numkong is None:
        return {}
    packed_i8 = numkong.dots_pack(INT8_ROWS, dtype="int8")
    bf16 = numkong.astype(MATRIX, "bf16")
    packed_bf16 = numkong.dots_pack(bf16)
    query_bf16 = numkong.astype(QUERY[None, :], "bf16")
    queries_bf16 = numkong.astype(QUERIES, "bf16")
    return {
        "int8 cdist": lambda: numkong.cdist(QUERY_I8[None, :], INT8_ROWS, metric="dot"),
        "int8 dots_packed": lambda: numkong.dots_packed(QUERY_I8[None, :], packed_i8),
        "int8 many dots_packed": lambda: numkong.dots_packed(QUERIES_I8, packed_i8),
        "bf16 cdist": lambda: numkong.cdist(query_bf16, bf16, metric="dot"),
        "bf16 dots_packed": lambda: numkong.dots_packed(query_bf16, packed_bf16),
        "bf16 many dots_packed": lambda: numkong.dots_packed(queries_bf16, packed_bf16),
    }


NK = numkong_cases()

CASES: dict[str, dict[str, Callable[[], object] | None]] = {
    "1 query vs N: int8 stored (dot)": {
        "lattice_embed": lambda: simd.similarity(QUERY, INT8, "dot", threads=1),
        "lattice_embed cosine": lambda: simd.similarity(QUERY, INT8, "cosine", threads=1),
        "lattice_embed top-10 + rescore": lambda: simd.top_k(QUERY, INT8, K, "cosine", threads=1,
                                                            rescore=MATRIX),
        "floor": floor(INT8.data),
        "numpy": lambda: INT8_ROWS.astype(np.float32) @ QUERY,
        "numkong cdist": NK.get("int8 cdist"),
        "numkong dots_packed": NK.get("int8 dots_packed"),
    },
    "1 query vs N: bf16 stored (dot)": {
        "lattice_embed": lambda: simd.similarity(QUERY, BF16, "dot", threads=1),
        "lattice_embed cosine": lambda: simd.similarity(QUERY, BF16, "cosine", threads=1),
        "floor": floor(BF16.data),
        "numkong cdist": NK.get("bf16 cdist"),
        "numkong dots_packed": NK.get("bf16 dots_packed"),
        "simsimd": (lambda: simsimd.cdist(QUERY_BF16, BF16.data, metric="dot", dtype="bf16"))
        if simsimd else None,
    },
    "1,000 queries x N: int8 stored (dot)": {
        "lattice_embed": lambda: simd.similarity(QUERIES, INT8, "dot", threads=1),
        "lattice_embed top-10": lambda: simd.top_k(QUERIES, INT8, K, "dot", threads=1),
        "lattice_embed 2 threads": lambda: simd.similarity(QUERIES, INT8, "dot", threads=2),
        "numkong dots_packed": NK.get("int8 many dots_packed"),
    },
    "1,000 queries x N: bf16 stored (dot)": {
        "lattice_embed": lambda: simd.similarity(QUERIES, BF16, "dot", threads=1),
        "lattice_embed top-10": lambda: simd.top_k(QUERIES, BF16, K, "dot", threads=1),
        "lattice_embed 2 threads": lambda: simd.similarity(QUERIES, BF16, "dot", threads=2),
        # our own many-query rate on the same shape: the bf16 tile's target is a multiple of it
        "lattice_embed float32 rows": lambda: simd.similarity(QUERIES, MATRIX, "dot", threads=1),
        "numkong dots_packed": NK.get("bf16 many dots_packed"),
        "numpy sgemm (float32 rows)": lambda: np.matmul(QUERIES, MATRIX.T, out=SCORES),
    },
}


@pytest.mark.parametrize(("case", "impl"), [
    (case, impl) for case, impls in CASES.items() for impl, fn in impls.items() if fn is not None
])
def test_quant(benchmark, case: str, impl: str) -> None:
    benchmark.group = case
    fn = CASES[case][impl]
    assert fn is not None
    rounds = 3 if case.startswith("1,000") else 15
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
