"""Recall of the compressed tiers on clustered unit vectors, with and without rescoring.

    .venv/bin/python -m benchmarks.bench_recall --json benchmarks/results/recall.json

The data: 50 random unit centres in 384 dimensions; each row is a centre plus Gaussian noise
of norm about `spread`, normalized; queries are drawn the same way (not rows of the matrix).
A larger spread makes the clusters wider: the 10th and 11th neighbours of a query come closer
together (the "gap" below), so less quantization noise is needed to swap them. Spread 4 is
hardly clustered at all (a row's cosine to its centre is ~0.24): the limit case.

For each spread, N and tier it measures recall@10 against the exact float32 top 10:
* without rescoring, as `top_k(queries, quantize(x, tier), 10)` returns it;
* with `rescore=x` at `candidates = factor * 10` for a range of factors, and at the default;
* int4 scored asymmetrically (float query against the dequantized int4 rows, a numpy
  prototype: the same stored bytes, no query quantization) beside the symmetric int4 kernel;
and the time of one query's default rescored search against the exact float32 top_k (best of
repeats, one thread, interleaved), with the bytes each reads.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lattice_embed import simd
from lattice_embed.simd.search import RESCORE_FACTORS

TIERS = ("int8", "bf16", "int4", "binary")
DIMS = 384
CLUSTERS = 50
QUERIES = 32
K = 10
FACTORS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SPREADS = (0.5, 1.0, 2.0, 4.0)


def clustered(rows: int, centres: np.ndarray, spread: float,
              rng: np.random.Generator) -> np.ndarray:
    """Unit vectors: a random centre each, plus noise of norm about `spread`."""
    dims = centres.shape[1]
    noise = rng.standard_normal((rows, dims), dtype=np.float32)
    noise *= np.float32(spread / math.sqrt(dims))
    x = centres[rng.integers(0, len(centres), rows)] + noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def clustered_set(rows: int, spread: float, seed: int, queries: int = QUERIES,
                  dims: int = DIMS) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, queries) of one seeded clustered set."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, dims), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return clustered(rows, centres, spread, rng), clustered(queries, centres, spread, rng)


def recall(exact: np.ndarray, found: np.ndarray) -> float:
    """Mean share of each query's exact top k that `found` holds."""
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact, found)]))


def int4_asymmetric_top_k(queries: np.ndarray, stored: simd.QuantizedMatrix,
                          k: int) -> np.ndarray:
    """Top k by the float query against the dequantized int4 rows, divided by the rows' source
    norms (as the int4 kernel's cosine): what an asymmetric kernel would rank by."""
    assert stored.norm is not None
    scores = (stored.to_f32() @ queries.T).T / stored.norm[None, :]
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _best(call: Callable[[], object], repeats: int) -> float:
    call()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def stored_bytes_per_row(stored: simd.QuantizedMatrix) -> float:
    """Bytes a scan reads per row: values and per-row parameters."""
    return stored.nbytes / stored.rows


def measure(rows: int, spread: float, seed: int, timing: bool) -> dict[str, Any]:
    x, q = clustered_set(rows, spread, seed)
    exact, exact_scores = simd.top_k(q, x, K + 1, "cosine")
    result: dict[str, Any] = {
        "rows": rows, "spread": spread, "seed": seed,
        "top1_cosine": float(np.median(exact_scores[:, 0])),
        "gap_10_11": float(np.median(exact_scores[:, K - 1] - exact_scores[:, K])),
        "tiers": {},
    }
    exact = exact[:, :K]
    for tier in TIERS:
        stored = simd.quantize(x, tier)
        plain = recall(exact, simd.top_k(q, stored, K, "cosine")[0])
        by_factor = {str(f): recall(exact, simd.top_k(q, stored, K, "cosine", rescore=x,
                                                       candidates=min(f * K, rows))[0])
                     for f in FACTORS}
        default = recall(exact, simd.top_k(q, stored, K, "cosine", rescore=x)[0])
        entry: dict[str, Any] = {"plain": plain, "rescored": by_factor,
                                 "default_factor": RESCORE_FACTORS[tier],
                                 "default_rescored": default,
                                 "bytes_per_row": stored_bytes_per_row(stored)}
        if tier == "int4":
            entry["asymmetric_plain"] = recall(exact, int4_asymmetric_top_k(q, stored, K))
        if timing:
            one = q[0]
            ours = _best(lambda: simd.top_k(one, stored, K, "cosine", threads=1, rescore=x), 7)
            full = _best(lambda: simd.top_k(one, x, K, "cosine", threads=1), 7)
            entry["seconds_default_rescored"] = ours
            entry["seconds_float32_top_k"] = full
        result["tiers"][tier] = entry
        print(f"N={rows:,} spread={spread} {tier:>6}: plain {plain:.3f}, default "
              f"(x{RESCORE_FACTORS[tier]}) {default:.3f}, by factor "
              + " ".join(f"{f}:{v:.3f}" for f, v in by_factor.items())
              + (f", asymmetric {entry['asymmetric_plain']:.3f}" if tier == "int4" else ""),
              flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 25_000])
    parser.add_argument("--spreads", type=float, nargs="+", default=list(SPREADS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    sets = []
    for rows in args.rows:
        for spread in args.spreads:
            for seed in args.seeds:
                # one seed per set is timed: the times do not depend on the data's spread
                timing = rows == args.rows[0] and seed == args.seeds[0] and spread == 1.0
                sets.append(measure(rows, spread, seed, timing))
    if args.json:
        from benchmarks.machine import results_header

        args.json.write_text(json.dumps({
            **results_header(Path(__file__).resolve().parents[1]), "dims": DIMS,
            "clusters": CLUSTERS, "queries": QUERIES, "k": K, "factors": list(FACTORS),
            "sets": sets}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
