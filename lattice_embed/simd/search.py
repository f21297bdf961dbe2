"""Queries against a matrix: similarity scores and top-k, over float32 or quantized storage."""

from __future__ import annotations

import operator

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lattice_embed._kernels import _core
from lattice_embed.simd import quantized
from lattice_embed.simd.quantized import QuantizedMatrix

__all__ = ["similarity", "top_k"]

#: Candidates rescored per result, by tier, when top_k(rescore=...) is given no `candidates`.
#: The noisier a tier's scores, the more rows their exact float32 scores must decide among:
#: these kept recall@10 >= 0.99 on every clustered 384-d set of benchmarks/bench_recall.py
#: up to N = 100,000 (int8 and bf16 needed 2, int4 32, binary 512 on the widest clusters).
RESCORE_FACTORS: dict[str, int] = {"bf16": 4, "int8": 4, "int4": 64, "binary": 512}

#: Candidate pools larger than this are picked from the compressed scores by numpy's
#: introselect instead of the kernels' bounded heap, whose cost grows with its size (binary,
#: 100,000 x 384 rows, one query on Zen 3: the heap's best 5,120 took 3.7 ms, the scores and
#: argpartition 1.5 ms; at 640 the two were level).
HEAP_CANDIDATES = 512
#: The most compressed scores held at once while a large pool is picked (16 MiB of float32).
SCORES_PER_CHUNK = 1 << 22

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]


def similarity(
    queries: ArrayLike,
    matrix: ArrayLike | QuantizedMatrix,
    metric: str = "cosine",
    *,
    out: F32 | None = None,
    threads: int | None = None,
) -> F32:
    """Scores of each query against every row of `matrix`.

    A 1-D query (d,) gives (N,) float32; a 2-D block (M, d) gives (M, N). `matrix` is an (N, d)
    float32 array (other dtypes and layouts are read once, as the pair operations do), or a
    `QuantizedMatrix` from `quantize()`, for which the float32 queries are prepared once per call.

    metric: "dot" or "cosine" (similarities), "l2sq", "l2", "l1" (distances, float32 only),
    "hamming" (binary matrices only; "cosine" there is 1 - 2 h / d).
    out: a C-contiguous float32 array of the result's shape to write into (one that overlaps an
    input gets the result through a temporary, as numpy does).
    threads: None takes a thread per 4M multiply-adds of work, up to the cores;
    `LATTICE_EMBED_NUM_THREADS` sets it instead. Results are identical whatever the thread count.
    """
    if isinstance(matrix, QuantizedMatrix):
        scores: F32 = quantized.search(queries, matrix, metric, None, _threads(threads))
        if out is None:
            return scores
        target = np.asarray(out)
        if target.shape != scores.shape or target.dtype != np.float32:
            raise ValueError(f"out must be a float32 array of shape {scores.shape}")
        target[...] = scores
        return out
    return _core.similarity(queries, matrix, metric, out=out, threads=threads)


def top_k(
    queries: ArrayLike,
    matrix: ArrayLike | QuantizedMatrix,
    k: int,
    metric: str = "cosine",
    *,
    threads: int | None = None,
    rescore: ArrayLike | None = None,
    candidates: int | None = None,
) -> tuple[I64, F32]:
    """The k best rows of `matrix` for each query, best first: (int64 indices, float32 scores).

    Shapes (k,) for a 1-D query and (M, k) for a 2-D block. Best is the largest similarity or the
    smallest distance; ties go to the lower index; a NaN score never ranks above a number; k > N
    returns N results, k = 0 empty arrays. The M x N scores are never held at once (see the
    kernels' memory bound in the README).

    Quantized matrices: with `rescore` (the float32 matrix the rows came from), the compressed
    tier proposes `candidates` rows per query and their exact float32 scores decide the k
    returned, with those exact scores. The default is `RESCORE_FACTORS[tier] * k` (bf16 and
    int8 4 x k, int4 64 x k, binary 512 x k), capped at N: recall@10 >= 0.99 on clustered 384-d
    unit vectors up to N = 100,000 (benchmarks/bench_recall.py). Rows that are harder to tell
    apart (more near-ties, more rows) need more: pass `candidates` (>= k; more than N means
    every row). Bytes read per query: the compressed scan, N x the tier's bytes per row
    (d = 384: bf16 772, int8 396, int4 208, binary 48), plus candidates x d x 4 for the float32
    rows rescored (d = 384, k = 10: 61 KB at 4 x k, 0.98 MB at 64 x k, 7.9 MB at 512 x k; a
    float32 scan of 100,000 rows reads 154 MB).
    """
    wanted = _count(k, "k")
    if isinstance(matrix, QuantizedMatrix):
        if rescore is None:
            if candidates is not None:
                raise ValueError("candidates only applies together with rescore")
            result: tuple[I64, F32] = quantized.search(
                queries, matrix, metric, wanted, _threads(threads))
            return result
        return _rescored_top_k(
            queries, matrix, wanted, metric, _threads(threads), rescore, candidates)
    if rescore is not None or candidates is not None:
        raise TypeError("rescore and candidates apply to quantized matrices (see quantize())")
    return _core.top_k(queries, matrix, wanted, metric, threads=threads)


def _count(value: object, name: str) -> int:
    """A count given as an int (numpy integers included); bool is refused, though Python counts
    it as an int: `k=True` is a mistake, not k=1."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool ({value})")
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if count < 0:
        raise ValueError(f"{name} must be >= 0, got {count}")
    return count


def _threads(threads: int | None) -> int | None:
    """`threads=` as given (None or an int), bool refused; the kernels check the count."""
    if isinstance(threads, (bool, np.bool_)):
        raise TypeError(f"threads must be an integer or None, got bool ({threads})")
    return threads


def _rescored_top_k(
    queries: ArrayLike,
    matrix: QuantizedMatrix,
    k: int,
    metric: str,
    threads: int | None,
    rescore: ArrayLike,
    candidates: int | None,
) -> tuple[I64, F32]:
    if metric == "hamming":
        raise ValueError("hamming has no float32 counterpart to rescore with; use metric='cosine'")
    exact = np.asarray(rescore)
    if exact.shape != matrix.shape:
        raise ValueError(f"rescore has shape {exact.shape}, the quantized matrix {matrix.shape}")
    if candidates is None:
        pool = RESCORE_FACTORS[matrix.tier] * k
    else:
        pool = _count(candidates, "candidates")
        if pool < k:
            raise ValueError(f"candidates ({pool}) must be at least k ({k})")
    pool = min(pool, matrix.rows)  # more candidates than rows is every row
    q = np.asarray(queries)
    single = q.ndim == 1
    block = q[None, :] if single else q
    proposed = _candidates(block, matrix, metric, pool, threads)
    kk = min(k, proposed.shape[1])
    indices = np.empty((len(block), kk), np.int64)
    scores = np.empty((len(block), kk), np.float32)
    for i, (query, proposal) in enumerate(zip(block, proposed)):
        # in storage order: a faster gather, and ties stay by index. A stable sort: numpy's
        # AVX2 quicksort crashed QEMU 7.2's Haswell emulation here (CI), where this one runs
        rows = np.sort(proposal, kind="stable")
        exact_scores = _core.similarity(query, exact[rows], metric)
        order = np.argsort(-exact_scores, kind="stable")[:kk]  # best first, ties to lower index
        indices[i], scores[i] = rows[order], exact_scores[order]
    return (indices[0], scores[0]) if single else (indices, scores)


def _candidates(
    block: ArrayLike, matrix: QuantizedMatrix, metric: str, pool: int, threads: int | None
) -> I64:
    """The `pool` rows of best compressed score for each query of `block` (M, d), in no set
    order; which of several rows tied at the edge of the pool is taken is left open."""
    queries = np.asarray(block)
    if pool <= HEAP_CANDIDATES or len(queries) == 0:
        proposed: I64 = quantized.search(queries, matrix, metric, pool, threads)[0]
        return proposed
    chunk = max(1, SCORES_PER_CHUNK // matrix.rows)
    parts = []
    for first in range(0, len(queries), chunk):
        scores = quantized.search(queries[first:first + chunk], matrix, metric, None, threads)
        # similarities only (rescoring refuses hamming): the largest are best; NaN sorts last
        parts.append(np.argpartition(-scores, pool - 1, axis=1)[:, :pool])
    return np.concatenate(parts).astype(np.int64, copy=False)
