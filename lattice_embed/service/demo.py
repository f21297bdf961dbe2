"""The README's main job: embed a small corpus with the default model, search it, time the search.

`run_demo()` (the `lattice-embed demo` command) embeds the 771 sentences of
`lattice_embed/data/corpus.txt` (20 topics, from cooking to chess) with
`NativeEmbeddingService` and all-MiniLM-L6-v2, with a progress bar on stderr; answers a few
queries with `lattice_embed.simd.top_k`; then tiles the vectors to 100,000 rows and times
`top_k` and `similarity` against the numpy way (`matrix @ q`, then `argpartition`), both on
one thread (numpy's BLAS is held to one thread with threadpoolctl when it is installed), and
ends with a headline that says how the two compared on this CPU, in words taken from the
measured ratios (`headline()`): faster, about the same, or slower.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import Any, TextIO

import numpy as np

from .. import simd
from ..bench import cpu_name
from ._bert import blas_limiter
from .base import FloatArray
from .native import NativeEmbeddingService

__all__ = ["QUERIES", "compare_to_numpy", "cpu_name", "headline", "load_corpus", "run_demo"]

QUERIES = (
    "How do I bake bread at home?",
    "distant galaxies and planets",
    "fixing bugs in software",
    "rising sea levels and global warming",
    "who won the game?",
)
BATCH = 32
#: Ratios of numpy's time to ours within this band of 1 read as "about the same": best-of
#: timings on a shared machine move by several percent from run to run.
SAME_SPEED_BAND = 0.10


def load_corpus() -> list[str]:
    """The demo's sentences, one per line of the packaged `data/corpus.txt`."""
    text = (resources.files("lattice_embed") / "data" / "corpus.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


class _Bar:
    """A one-line progress bar on stderr when it is a terminal: tqdm when installed, else a
    carriage-return line."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self._shown = sys.stderr.isatty()  # never into a log or a pipe
        if not self._shown:
            return
        try:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            self._tqdm: Any = None
        else:
            self._tqdm = tqdm(total=total, desc=label, unit="text", file=sys.stderr)

    def update(self, count: int) -> None:
        self.done += count
        if not self._shown:
            return
        if self._tqdm is not None:
            self._tqdm.update(count)
            return
        filled = 30 * self.done // max(self.total, 1)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{self.done}/{self.total}")
        sys.stderr.flush()

    def close(self) -> None:
        if not self._shown:
            return
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            sys.stderr.write("\n")


def _best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs, after one warm-up run."""
    run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _numpy_top_k(query: FloatArray, matrix: FloatArray, k: int) -> tuple[Any, Any]:
    scores = matrix @ query
    part = np.argpartition(-scores, k)[:k]
    order = np.argsort(-scores[part])
    return part[order], scores[part[order]]


def compare_to_numpy(ratio: float) -> str:
    """How one measured ratio (numpy's time over ours) reads: "2.1x faster than numpy", "about
    the same as numpy (1.03x)" within SAME_SPEED_BAND of 1, or "1.3x slower than numpy"."""
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"a time ratio must be a positive number, got {ratio}")
    if ratio >= 1 + SAME_SPEED_BAND:
        return f"{ratio:.1f}x faster than numpy"
    if ratio > 1 / (1 + SAME_SPEED_BAND):
        return f"about the same as numpy ({ratio:.2f}x)"
    return f"{1 / ratio:.1f}x slower than numpy"


def headline(ratios: dict[str, float], cpu: str) -> str:
    """The demo's last line: each case's comparison with numpy on the named CPU, e.g.
    "On AMD EPYC (avx2 kernels): top-10 1.9x faster than numpy; dot scores about the same as
    numpy (1.04x)." Only what was measured here: no speed-up the ratios do not show."""
    parts = [f"{case} {compare_to_numpy(ratio)}" for case, ratio in ratios.items()]
    return f"On {cpu}: " + "; ".join(parts) + "."


def run_demo(out: TextIO = sys.stdout, *, search_rows: int = 100_000, repeat: int = 20) -> int:
    """Embed the corpus, search it, and time the search; returns the exit status (0 = done,
    1 = the search's self-check against numpy failed). A model that cannot be loaded raises its
    EmbedError (the CLI prints it as one line and exits with status 2)."""
    corpus = load_corpus()
    service = NativeEmbeddingService()
    start = time.perf_counter()
    folder = service.ensure_loaded()
    print(f"model {service.config.model} ({service.source}: {folder}), "
          f"loaded in {time.perf_counter() - start:.2f} s", file=out)

    bar = _Bar(len(corpus), "embedding")
    start = time.perf_counter()
    parts = []
    for first in range(0, len(corpus), BATCH):
        batch = corpus[first:first + BATCH]
        parts.append(service.embed_passage(batch))
        bar.update(len(batch))
    bar.close()
    seconds = time.perf_counter() - start
    matrix = np.ascontiguousarray(np.concatenate(parts))
    print(f"embedded {len(corpus)} sentences into {matrix.shape[1]} dimensions in "
          f"{seconds:.2f} s ({len(corpus) / seconds:.0f} sentences/s)\n", file=out)

    queries = service.embed_query(list(QUERIES))
    for text, query in zip(QUERIES, queries):
        rows, scores = simd.top_k(query, matrix, 3, "dot")
        print(f"query: {text}", file=out)
        for row, score in zip(rows, scores):
            print(f"  {score:.3f}  {corpus[row]}", file=out)
    print(file=out)

    copies = -(-search_rows // len(corpus))
    tiled = np.ascontiguousarray(np.tile(matrix, (copies, 1))[:search_rows])
    query = queries[0]
    k = 10
    ours = simd.top_k(query, tiled, k, "dot", threads=1)
    theirs = _numpy_top_k(query, tiled, k)
    if not np.allclose(ours[1], theirs[1], atol=1e-5):
        print("lattice-embed demo: top-k scores differ from numpy's", file=sys.stderr)
        return 1
    print(f"search timing: 1 query against {tiled.shape[0]:,} x {tiled.shape[1]} float32 rows, "
          "one thread, best of "
          f"{repeat}", file=out)
    cases = [
        ("top-10", lambda: simd.top_k(query, tiled, k, "dot", threads=1),
         lambda: _numpy_top_k(query, tiled, k)),
        ("dot scores", lambda: simd.similarity(query, tiled, "dot", threads=1),
         lambda: tiled @ query),
    ]
    one_blas_thread = blas_limiter()
    ratios = {}
    for label, run_ours, run_numpy in cases:
        ours_s = _best_seconds(run_ours, repeat)
        with one_blas_thread():
            numpy_s = _best_seconds(run_numpy, repeat)
        ratios[label] = numpy_s / ours_s
        print(f"  {label:<10}  lattice_embed {ours_s * 1e3:7.2f} ms   numpy {numpy_s * 1e3:7.2f} ms"
              f"   numpy time / ours {ratios[label]:.2f}", file=out)
    print(headline(ratios, cpu_name()), file=out)
    return 0
