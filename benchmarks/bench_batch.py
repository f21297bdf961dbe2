"""Queries against a matrix (d=768, N=100,000 float32 rows, k=10), and normalizing its rows:
lattice_embed beside numpy, simsimd and faiss, one thread unless the row says otherwise, with the
machine's memory floor.

    OPENBLAS_NUM_THREADS=1 pytest benchmarks/bench_batch.py \
        --benchmark-json=benchmarks/results/batch.json
    python benchmarks/report.py benchmarks/results/batch.json

"floor" streams the matrix once through the simplest kernel: for a scan, read-only (the norm of
the flattened matrix), the fastest any one-query scan can go on this machine; for normalize, one
read and one write in place (numpy's `X *= 1`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from benchmarks.conftest import optional
from lattice_embed import simd

simsimd = optional("simsimd")
faiss = optional("faiss")
if faiss is not None:
    faiss.omp_set_num_threads(1)

N, D, K, MANY = 100_000, 768, 10, 1_000
RNG = np.random.default_rng(0)
MATRIX = RNG.standard_normal((N, D), dtype=np.float32)
QUERY = RNG.standard_normal(D, dtype=np.float32)
QUERIES = RNG.standard_normal((MANY, D), dtype=np.float32)
SCORES = np.empty((MANY, N), np.float32)  # reused output of the many-query score cases
ROWS = MATRIX.copy()  # normalized in place, again and again (the cost does not change)


def numpy_top_k(q: np.ndarray, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.atleast_2d(q) @ x.T
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    top = np.take_along_axis(scores, part, 1)
    order = np.argsort(-top, axis=1)
    return np.take_along_axis(part, order, 1), np.take_along_axis(top, order, 1)


def numpy_cosine(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (x @ q) / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))


def numpy_normalize(x: np.ndarray) -> None:
    x /= np.linalg.norm(x, axis=1, keepdims=True)


CASES: dict[str, dict[str, Callable[[], object] | None]] = {
    "1 query vs N: dot scores": {
        "lattice_embed": lambda: simd.similarity(QUERY, MATRIX, "dot", threads=1),
        "lattice_embed 2 threads": lambda: simd.similarity(QUERY, MATRIX, "dot", threads=2),
        "floor": lambda: simd.norm(MATRIX.reshape(-1)),
        "numpy": lambda: MATRIX @ QUERY,
        "simsimd": (lambda: simsimd.cdist(QUERY[None], MATRIX, metric="dot")) if simsimd else None,
    },
    "1 query vs N: cosine scores": {
        "lattice_embed": lambda: simd.similarity(QUERY, MATRIX, "cosine", threads=1),
        "lattice_embed 2 threads": lambda: simd.similarity(QUERY, MATRIX, "cosine", threads=2),
        "floor": lambda: simd.norm(MATRIX.reshape(-1)),
        "numpy": lambda: numpy_cosine(QUERY, MATRIX),
        "simsimd": (lambda: simsimd.cdist(QUERY[None], MATRIX, metric="cosine")) if simsimd else None,
    },
    "1 query vs N: top-10 (cosine)": {
        "lattice_embed": lambda: simd.top_k(QUERY, MATRIX, K, "cosine", threads=1),
        "lattice_embed scores only": lambda: simd.similarity(QUERY, MATRIX, "cosine", threads=1),
        "lattice_embed 2 threads": lambda: simd.top_k(QUERY, MATRIX, K, "cosine", threads=2),
        "numpy": lambda: numpy_top_k(QUERY, MATRIX, K),
    },
    "1 query vs N: top-10 (dot)": {
        "lattice_embed": lambda: simd.top_k(QUERY, MATRIX, K, "dot", threads=1),
        "lattice_embed scores only": lambda: simd.similarity(QUERY, MATRIX, "dot", threads=1),
        "faiss.knn": (lambda: faiss.knn(QUERY[None], MATRIX, K, metric=faiss.METRIC_INNER_PRODUCT))
        if faiss else None,
        "numpy": lambda: numpy_top_k(QUERY, MATRIX, K),
    },
    "1,000 queries x N: dot scores": {
        "lattice_embed": lambda: simd.similarity(QUERIES, MATRIX, "dot", out=SCORES, threads=1),
        "lattice_embed 2 threads": lambda: simd.similarity(QUERIES, MATRIX, "dot", out=SCORES,
                                                           threads=2),
        "numpy sgemm": lambda: np.matmul(QUERIES, MATRIX.T, out=SCORES),
    },
    "normalize N rows in place": {
        "lattice_embed": lambda: simd.normalize(ROWS, out=ROWS),
        "floor": lambda: np.multiply(ROWS, np.float32(1), out=ROWS),
        "numpy": lambda: numpy_normalize(ROWS),
        "faiss.normalize_L2": (lambda: faiss.normalize_L2(ROWS)) if faiss else None,
    },
    "1,000 queries x N: top-10 (dot)": {
        "lattice_embed": lambda: simd.top_k(QUERIES, MATRIX, K, "dot", threads=1),
        "lattice_embed 2 threads": lambda: simd.top_k(QUERIES, MATRIX, K, "dot", threads=2),
        "faiss.knn": (lambda: faiss.knn(QUERIES, MATRIX, K, metric=faiss.METRIC_INNER_PRODUCT))
        if faiss else None,
    },
}


@pytest.mark.parametrize(("case", "impl"), [
    (case, impl) for case, impls in CASES.items() for impl, fn in impls.items() if fn is not None
])
def test_batch(benchmark, case: str, impl: str) -> None:
    benchmark.group = case
    fn = CASES[case][impl]
    assert fn is not None
    heavy = case.startswith("1,000")
    benchmark.pedantic(fn, rounds=3 if heavy else 15, iterations=1, warmup_rounds=1)
