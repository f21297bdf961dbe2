"""One query against 100,000 float32 rows, one thread unless a case says otherwise: our dot,
cosine, L2 and top-10 beside numpy, faiss and simsimd, and beside the machine's read floors,
in interleaved rounds (every case once, then the next round), so each ratio compares times
taken side by side.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_one_query \
        --json benchmarks/results/one_query.json
    python benchmarks/report.py --write

Floors (benchmarks/read_floor.c): the same bytes read once and nothing else, by one thread as
one sequential stream, by one thread walking several streams at once, and by two threads (the
best of 4 and 8 streams each). Ratios are medians over the rounds of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from benchmarks.conftest import optional  # noqa: E402
from benchmarks.read_floor import read_floor  # noqa: E402
from benchmarks.rounds import interleaved  # noqa: E402
from lattice_embed import simd  # noqa: E402

simsimd = optional("simsimd")
faiss = optional("faiss")
if faiss is not None:
    faiss.omp_set_num_threads(1)

ROWS, DIMS, K, ROUNDS = 100_000, (384, 768), 10, 25


def numpy_top_k(q: np.ndarray, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = x @ q
    part = np.argpartition(-scores, k)[:k]
    order = np.argsort(-scores[part])
    return part[order], scores[part[order]]


def faiss_scores(kernel: str, q: np.ndarray, x: np.ndarray) -> Callable[[], np.ndarray]:
    """faiss's own one-query kernels (fvec_inner_products_ny, fvec_L2sqr_ny): its
    `pairwise_distances` hands inner products to numpy."""
    out = np.empty(len(x), np.float32)
    function = getattr(faiss, kernel)
    pointers = faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(x)

    def run() -> np.ndarray:
        function(*pointers, x.shape[1], len(x))
        return out

    return run


def cases(q: np.ndarray, x: np.ndarray) -> dict[str, Callable[[], object]]:
    found: dict[str, Callable[[], object] | None] = {
        "floor: 1 stream": read_floor(x, 1, 1),
        "floor: 4 streams": read_floor(x, 1, 4),
        "floor: 8 streams": read_floor(x, 1, 8),
        "floor: 2 threads x 4 streams": read_floor(x, 2, 4),
        "floor: 2 threads x 8 streams": read_floor(x, 2, 8),
        "numpy M @ q": lambda: x @ q,
        "numpy top-10": lambda: numpy_top_k(q, x, K),
        "faiss inner products": faiss_scores("fvec_inner_products_ny", q, x) if faiss else None,
        "faiss L2 squared": faiss_scores("fvec_L2sqr_ny", q, x) if faiss else None,
        "faiss.knn top-10": (lambda: faiss.knn(q[None], x, K, metric=faiss.METRIC_INNER_PRODUCT))
        if faiss else None,
        "simsimd dot": (lambda: simsimd.cdist(q[None], x, metric="dot")) if simsimd else None,
        "simsimd cosine": (lambda: simsimd.cdist(q[None], x, metric="cosine"))
        if simsimd else None,
        "dot": lambda: simd.similarity(q, x, "dot", threads=1),
        "cosine": lambda: simd.similarity(q, x, "cosine", threads=1),
        "l2sq": lambda: simd.similarity(q, x, "l2sq", threads=1),
        "top-10 dot": lambda: simd.top_k(q, x, K, "dot", threads=1),
        "top-10 cosine": lambda: simd.top_k(q, x, K, "cosine", threads=1),
        "dot, 2 threads": lambda: simd.similarity(q, x, "dot", threads=2),
        "cosine, 2 threads": lambda: simd.similarity(q, x, "cosine", threads=2),
        "top-10 dot, 2 threads": lambda: simd.top_k(q, x, K, "dot", threads=2),
    }
    return {name: run for name, run in found.items() if run is not None}


def measure(dims: int, rounds: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(dims)
    x = rng.standard_normal((ROWS, dims), dtype=np.float32)
    q = rng.standard_normal(dims, dtype=np.float32)
    return interleaved(cases(q, x), rounds)  # the warm-up also builds the floor


def ratio(seconds: dict[str, list[float]], ours: str, theirs: str) -> float:
    """Median over the rounds of ours / theirs (below 1: ours is faster)."""
    return statistics.median(a / b for a, b in zip(seconds[ours], seconds[theirs], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description="one query against 100k rows, interleaved")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    results = {}
    for dims in DIMS:
        seconds = measure(dims, args.rounds)
        results[str(dims)] = seconds
        print(f"d = {dims}, {ROWS:,} rows, median of {args.rounds} interleaved rounds:")
        for name, values in seconds.items():
            print(f"  {name:30s} {statistics.median(values) * 1e3:8.2f} ms"
                  f"   {ratio(seconds, name, 'numpy M @ q'):.2f}x numpy M @ q")
    if args.json:
        from benchmarks.machine import results_header

        args.json.write_text(json.dumps({
            **results_header(Path(__file__).resolve().parents[1]), "rows": ROWS, "k": K,
            "rounds": args.rounds, "seconds": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
