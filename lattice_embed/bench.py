"""A quick, self-contained speed check against numpy (`lattice-embed bench`).

Each case is timed best-of-several in one process, lattice_embed and numpy side by side, and
reported as a ratio: absolute times on a shared machine drift, ratios measured together do not.
Both sides run on one thread (numpy's BLAS is held to one with threadpoolctl when it is
installed; the report says when it is not). Cases, for each vector length d:

* pair operations on two vectors (the Python call included);
* `normalize` of N rows;
* search of one query against N rows: dot and cosine scores, and the top 10 by dot;
* the quantized tiers (int8, int4, binary, bf16): one query's scores against the N rows stored
  at that tier, beside numpy's `M @ q` over the float32 rows (numpy has no compressed search).

The full suites with peers (simsimd, faiss, numkong) live in the repository's benchmarks/ folder.
"""

from __future__ import annotations

import contextlib
import platform
import timeit
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lattice_embed import __version__, simd

__all__ = ["BenchRow", "best_seconds", "cpu_name", "render_table", "report_json", "run_bench"]

K = 10
QUANTIZED_TIERS = ("int8", "int4", "binary", "bf16")

Case = tuple[str, str, Callable[[], object], Callable[[], object]]


@dataclass(frozen=True)
class BenchRow:
    """One case: best seconds per call of each side, and their ratio."""

    group: str
    case: str
    dims: int
    rows: int | None
    lattice_embed_s: float
    numpy_s: float

    @property
    def vs_numpy(self) -> float:
        """numpy's time over ours: above 1, lattice_embed is faster; below 1, numpy is."""
        return self.numpy_s / self.lattice_embed_s


def cpu_name() -> str:
    """This CPU as the OS names it (Linux's model name, else the platform's), and the kernel
    tier running on it."""
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            name = next((line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name")), "")
    except OSError:  # not Linux: the platform's name below
        pass
    name = name or platform.processor() or platform.machine() or "an unnamed CPU"
    return f"{name} ({simd.capabilities()['active']} kernels)"


def best_seconds(call: Callable[[], object], budget: float, repeats: int = 5) -> float:
    """Best time of one call over `repeats` rounds that together take about `budget` seconds."""
    timer = timeit.Timer(call)
    once = timer.timeit(number=1)
    number = max(1, int(budget / repeats / max(once, 1e-9)))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def _numpy_top_k(query: Any, matrix: Any, k: int) -> tuple[Any, Any]:
    scores = matrix @ query
    part = np.argpartition(-scores, k)[:k]
    order = np.argsort(-scores[part])
    return part[order], scores[part[order]]


def _cases(d: int, rows: int) -> list[Case]:
    rng = np.random.default_rng(d)
    a, b = rng.standard_normal((2, d), dtype=np.float32)
    matrix = rng.standard_normal((rows, d), dtype=np.float32)
    out = np.empty_like(matrix)
    k = min(K, rows - 1) if rows > 1 else 0
    cases: list[Case] = [
        ("pair", "dot_product", lambda: simd.dot_product(a, b), lambda: float(np.dot(a, b))),
        ("pair", "cosine_similarity", lambda: simd.cosine_similarity(a, b),
         lambda: float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))),
        ("pair", "euclidean_distance", lambda: simd.euclidean_distance(a, b),
         lambda: float(np.linalg.norm(a - b))),
        ("pair", "manhattan_distance", lambda: simd.manhattan_distance(a, b),
         lambda: float(np.abs(a - b).sum())),
        ("normalize", "normalize rows", lambda: simd.normalize(matrix, out=out),
         lambda: np.divide(matrix, np.linalg.norm(matrix, axis=1, keepdims=True), out=out)),
        ("search", "scores dot", lambda: simd.similarity(a, matrix, "dot", threads=1),
         lambda: matrix @ a),
        ("search", "scores cosine", lambda: simd.similarity(a, matrix, "cosine", threads=1),
         lambda: (matrix @ a) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(a))),
        ("top-k", f"top-{k} dot", lambda: simd.top_k(a, matrix, k, "dot", threads=1),
         lambda: _numpy_top_k(a, matrix, k)),
    ]
    for tier in QUANTIZED_TIERS:
        metric = "cosine" if tier == "binary" else "dot"
        cases.append(("quantized", f"scores {tier} {metric}",
                      _quantized_search(a, simd.quantize(matrix, tier), metric),
                      lambda: matrix @ a))
    return cases


def _quantized_search(
    query: NDArray[np.float32], stored: simd.QuantizedMatrix, metric: str
) -> Callable[[], object]:
    return lambda: simd.similarity(query, stored, metric, threads=1)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[bool]:
    """numpy's BLAS held to one thread while the block runs; yields whether that worked."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield True


def run_bench(
    dims: list[int], seconds: float = 0.2, rows: int = 10_000
) -> tuple[list[BenchRow], bool]:
    """Time every case at each length in `dims`: the rows, and whether numpy's BLAS was held to
    one thread."""
    results = []
    with _one_blas_thread() as one_thread:
        for d in dims:
            for group, name, ours, theirs in _cases(d, rows):
                t_ours, t_numpy = best_seconds(ours, seconds), best_seconds(theirs, seconds)
                results.append(BenchRow(group, name, d, None if group == "pair" else rows,
                                        t_ours, t_numpy))
    return results, one_thread


def _format_time(seconds: float) -> str:
    for unit, scale in (("ns", 1e9), ("us", 1e6), ("ms", 1e3)):
        if seconds * scale < 10_000:
            return f"{seconds * scale:,.0f} {unit}"
    return f"{seconds:,.2f} s"


def _blas_note(one_thread: bool) -> str:
    return ("numpy's BLAS on one thread" if one_thread
            else "numpy's BLAS on its default threads (threadpoolctl is not installed)")


def render_table(results: list[BenchRow], one_thread: bool, rows: int) -> str:
    """The table `lattice-embed bench` prints."""
    header = (f"{'group':<11}{'case':<22}{'d':>6}{'lattice_embed':>15}{'numpy':>12}"
              f"{'vs numpy':>10}")
    lines = [
        f"lattice_embed {__version__} against numpy {np.__version__}, best of repeats,",
        f"on {cpu_name()}, one thread ({_blas_note(one_thread)}); matrices of {rows:,} rows",
        "(vs numpy: numpy's time over lattice_embed's; above 1x lattice_embed is faster)",
        "(quantized: lattice_embed searches the compressed rows, numpy the float32 ones)",
        header, "-" * len(header),
    ]
    for row in results:
        lines.append(f"{row.group:<11}{row.case:<22}{row.dims:>6}"
                     f"{_format_time(row.lattice_embed_s):>15}{_format_time(row.numpy_s):>12}"
                     f"{row.vs_numpy:>9.2f}x")
    return "\n".join(lines)


def report_json(results: list[BenchRow], one_thread: bool, rows: int) -> dict[str, Any]:
    """The document `lattice-embed bench --json` prints."""
    return {
        "lattice_embed": __version__,
        "tier": simd.capabilities()["active"],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "threads": 1,
        "numpy_blas_one_thread": one_thread,
        "rows": rows,
        "results": [{**asdict(row), "vs_numpy": row.vs_numpy} for row in results],
    }
