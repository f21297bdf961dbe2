"""Recall of the compressed tiers on clustered unit vectors, with and without rescoring.

    .venv/bin/python -m benchmarks.bench_recall --json benchmarks/results/recall.json

The wide sets: 50 random unit centres in 384 dimensions; each row is a centre plus Gaussian
noise of norm about `spread`, normalized; queries are drawn the same way (not rows of the
matrix). A larger spread makes the clusters wider, and more rows make them denser: either way
more rows score close to a query's 10th neighbour, so less quantization noise swaps them.
Spread 4 is hardly clustered at all (a row's cosine to its centre is ~0.24): the limit case.
Beside them, two sets whose neighbours stand further apart: the narrow clusters of the
tests (10,000 rows around 500 centres, spread 0.8, 64 queries) and real embeddings (the demo's
771 sentences by all-MiniLM-L6-v2, queries the first half of every tenth sentence; skipped
when the model is not installed).

For each set and tier it measures recall@10 against the exact float32 top 10:
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
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.rounds import interleaved
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
                  dims: int = DIMS, clusters: int = CLUSTERS) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, queries) of one seeded clustered set."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims), dtype=np.float32)
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


def stored_bytes_per_row(stored: simd.QuantizedMatrix) -> float:
    """Bytes a scan reads per row: values and per-row parameters."""
    return stored.nbytes / stored.rows


def minilm_set() -> tuple[np.ndarray, np.ndarray] | None:
    """(matrix, queries) of the demo's corpus embedded by all-MiniLM-L6-v2, as
    tests/service/test_quantized_recall.py builds them; None without the model."""
    try:
        from lattice_embed.service import NativeEmbeddingService
        from lattice_embed.service.demo import load_corpus

        corpus = load_corpus()
        queries = [" ".join(text.split()[: max(2, len(text.split()) // 2)])
                   for text in corpus[::10]]
        service = NativeEmbeddingService()
        return service.embed(corpus), service.embed(queries)
    except Exception as error:  # noqa: BLE001 - any missing piece means: no such set here
        print(f"all-MiniLM-L6-v2 set skipped: {error}")
        return None


def measure(name: str, x: np.ndarray, q: np.ndarray, timing: bool,
            **described: Any) -> dict[str, Any]:
    rows = len(x)
    exact, exact_scores = simd.top_k(q, x, K + 1, "cosine")
    result: dict[str, Any] = {
        "set": name, "rows": rows, "queries": len(q), **described,
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
        if timing:  # one query, one thread, interleaved rounds: best of each
            one = q[0]
            calls = {"seconds_plain": lambda: simd.top_k(one, stored, K, "cosine", threads=1),
                     "seconds_default_rescored": lambda: simd.top_k(
                         one, stored, K, "cosine", threads=1, rescore=x),
                     "seconds_float32_top_k": lambda: simd.top_k(one, x, K, "cosine",
                                                                 threads=1)}
            entry.update({name: min(seconds)
                          for name, seconds in interleaved(calls, rounds=15).items()})
        result["tiers"][tier] = entry
        print(f"{name} N={rows:,} {described} {tier:>6}: plain {plain:.3f}, default "
              f"(x{RESCORE_FACTORS[tier]}) {default:.3f}, by factor "
              + " ".join(f"{f}:{v:.3f}" for f, v in by_factor.items())
              + (f", asymmetric {entry['asymmetric_plain']:.3f}" if tier == "int4" else ""),
              flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 25_000, 5_000])
    parser.add_argument("--spreads", type=float, nargs="+", default=list(SPREADS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    sets = []
    for rows in args.rows:
        for spread in args.spreads:
            for seed in args.seeds:
                # one set is timed: the scan's time does not depend on the data
                timing = rows == args.rows[0] and seed == args.seeds[0] and spread == 1.0
                x, q = clustered_set(rows, spread, seed)
                sets.append(measure("wide", x, q, timing, spread=spread, seed=seed))
    for seed in args.seeds:
        x, q = clustered_set(10_000, 0.8, seed, queries=64, clusters=500)
        sets.append(measure("narrow", x, q, False, spread=0.8, seed=seed, clusters=500))
    embedded = minilm_set()
    if embedded is not None:
        sets.append(measure("all-MiniLM-L6-v2", *embedded, False))
    if args.json:
        from benchmarks.machine import results_header

        args.json.write_text(json.dumps({
            **results_header(Path(__file__).resolve().parents[1]), "dims": DIMS,
            "clusters": CLUSTERS, "queries": QUERIES, "k": K, "factors": list(FACTORS),
            "sets": sets}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
