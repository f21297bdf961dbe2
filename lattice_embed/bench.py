"""A quick, self-contained speed check against numpy (`lattice-embed bench`).

Each case is timed best-of-several in one process, lattice_embed and numpy side by side, and
reported as a ratio: absolute times on a shared machine drift, ratios measured together do not.
The full suites with peers (simsimd, faiss) live in the repository's benchmarks/ folder.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import numpy as np

from lattice_embed import simd


def best_seconds(call: Callable[[], object], budget: float, repeats: int = 5) -> float:
    """Best time of one call over `repeats` rounds that together take about `budget` seconds."""
    timer = timeit.Timer(call)
    once = timer.timeit(number=1)
    number = max(1, int(budget / repeats / max(once, 1e-9)))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def _cases(d: int) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    rng = np.random.default_rng(d)
    a, b = rng.standard_normal((2, d)).astype(np.float32)
    rows = rng.standard_normal((10_000, d)).astype(np.float32)
    out = np.empty_like(rows)
    return [
        ("dot_product", lambda: simd.dot_product(a, b), lambda: float(np.dot(a, b))),
        ("cosine_similarity", lambda: simd.cosine_similarity(a, b),
         lambda: float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))),
        ("euclidean_distance", lambda: simd.euclidean_distance(a, b),
         lambda: float(np.linalg.norm(a - b))),
        ("manhattan_distance", lambda: simd.manhattan_distance(a, b),
         lambda: float(np.abs(a - b).sum())),
        ("normalize 10k rows", lambda: simd.normalize(rows, out=out),
         lambda: np.divide(rows, np.linalg.norm(rows, axis=1, keepdims=True), out=out)),
    ]


def _format_time(seconds: float) -> str:
    for unit, scale in (("ns", 1e9), ("us", 1e6), ("ms", 1e3)):
        if seconds * scale < 10_000:
            return f"{seconds * scale:,.0f} {unit}"
    return f"{seconds:,.2f} s"


def run_quick_bench(dims: list[int], seconds: float = 0.2) -> str:
    """The table `lattice-embed bench` prints."""
    tier = simd.capabilities()["active"]
    header = f"{'operation':<20}{'d':>6}{'lattice_embed':>16}{'numpy':>14}{'speedup':>10}"
    lines = [f"lattice_embed kernels ({tier}) against numpy {np.__version__}, best of repeats",
             header, "-" * len(header)]
    for d in dims:
        for name, ours, theirs in _cases(d):
            t_ours, t_numpy = best_seconds(ours, seconds), best_seconds(theirs, seconds)
            lines.append(f"{name:<20}{d:>6}{_format_time(t_ours):>16}{_format_time(t_numpy):>14}"
                         f"{t_numpy / t_ours:>9.1f}x")
    return "\n".join(lines)
