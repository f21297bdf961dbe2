"""The quality gate: does the target retrieve like the source, before reads move to it?

Two measurements, both on the documents that have a vector in both spaces (so a partial
backfill is compared like for like):

* **overlap@k**: a sample of stored documents is used as queries (each document's own vector in
  each space); for each, the share of its k nearest neighbours (itself left out) that the two
  spaces agree on, averaged. It needs no labels and no re-embedding.
* **recall@k and nDCG@k** per space, when the operator supplies labelled queries (a query text
  and its relevant document ids, optionally with graded gains): recall@k is the share of a
  query's relevant documents in its top k, nDCG@k the discounted gain of the top k over the best
  possible. Relevant documents missing from either space are left out, and so are queries left
  with none.

A figure below its floor (`GateConfig`) fails the gate; a floor that is set on a figure that
cannot be measured (no common documents, no labels) fails it too, saying so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from .. import simd
from .records import GateConfig, GateReport, LabelledQuery, RetrievalScores
from .store import FloatMatrix

__all__ = ["SpaceView", "measure_gate"]

SpaceView = tuple[npt.NDArray[np.int64], list[str], FloatMatrix]
"""A space as the gate reads it: seqs, ids and vectors (`SpaceIndex.snapshot()`)."""

Embed = Callable[[list[str]], FloatMatrix]


def _common(source: SpaceView, target: SpaceView) -> tuple[list[str], FloatMatrix, FloatMatrix]:
    """The documents in both spaces, in one order, with their vectors in each."""
    _, src_rows, tgt_rows = np.intersect1d(source[0], target[0], return_indices=True)
    ids = [source[1][row] for row in src_rows.tolist()]
    return ids, source[2][src_rows], target[2][tgt_rows]


def _overlap(src: FloatMatrix, tgt: FloatMatrix, k: int, sample: int, seed: int) -> float | None:
    n = len(src)
    k = min(k, n - 1)
    if k < 1 or sample < 1:
        return None
    chosen = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    # k + 1 neighbours, then drop the query itself wherever it ranks (ties may move it).
    src_top, _ = simd.top_k(src[chosen], src, k + 1, "cosine")
    tgt_top, _ = simd.top_k(tgt[chosen], tgt, k + 1, "cosine")
    shares = []
    for query, a, b in zip(chosen.tolist(), src_top.tolist(), tgt_top.tolist()):
        near_a = [row for row in a if row != query][:k]
        near_b = [row for row in b if row != query][:k]
        shares.append(len(set(near_a) & set(near_b)) / k)
    return float(np.mean(shares))


def _retrieval(
    matrix: FloatMatrix, ids: list[str], labels: Sequence[LabelledQuery], embed: Embed, k: int
) -> RetrievalScores | None:
    present = set(ids)
    kept = [(label.query, {doc: gain for doc, gain in label.relevant.items()
                           if doc in present and gain > 0}) for label in labels]
    kept = [(query, relevant) for query, relevant in kept if relevant]
    if not kept or len(ids) == 0:
        return None
    k = min(k, len(ids))
    top, _ = simd.top_k(embed([query for query, _ in kept]), matrix, k, "cosine")
    recalls, ndcgs = [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for rows, (_, relevant) in zip(top.tolist(), kept):
        gains = np.array([relevant.get(ids[row], 0.0) for row in rows])
        ideal = np.sort(np.array(list(relevant.values())))[::-1][:k]
        recalls.append(sum(1 for row in rows if ids[row] in relevant) / len(relevant))
        ndcgs.append(float(gains @ discounts[: len(gains)]) / float(ideal @ discounts[: len(ideal)]))
    return RetrievalScores(float(np.mean(recalls)), float(np.mean(ndcgs)), len(kept))


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def measure_gate(
    source: SpaceView,
    target: SpaceView,
    config: GateConfig,
    *,
    labels: Sequence[LabelledQuery] = (),
    embed_source: Embed | None = None,
    embed_target: Embed | None = None,
    coverage: float,
    measured_at: str,
    seed_text: str,
) -> GateReport:
    """Measure the gate on two spaces (see the module docstring). `embed_*` embed query texts
    with each model; they are needed only with `labels`. The sample is drawn reproducibly from
    `seed_text` (the migration id)."""
    ids, src, tgt = _common(source, target)
    overlap = _overlap(src, tgt, config.k, config.sample, _seed(seed_text)) if ids else None
    source_scores = target_scores = None
    if labels and embed_source is not None and embed_target is not None:
        source_scores = _retrieval(src, ids, labels, embed_source, config.k)
        target_scores = _retrieval(tgt, ids, labels, embed_target, config.k)
    failures = []
    k = config.k
    for name, floor, value in (
        (f"overlap@{k}", config.min_overlap, overlap),
        (f"recall@{k}", config.min_recall, target_scores.recall if target_scores else None),
        (f"nDCG@{k}", config.min_ndcg, target_scores.ndcg if target_scores else None),
    ):
        if floor is None:
            continue
        if value is None:
            why = (f"{len(ids)} documents are in both spaces" if name.startswith("overlap")
                   else "no labelled query has a relevant document in both spaces")
            failures.append(f"{name} cannot be measured ({why}); the floor is {floor:.2f}")
        elif value < floor:
            failures.append(f"target {name} {value:.3f} is below the floor {floor:.2f}")
    return GateReport(
        measured_at=measured_at,
        coverage=coverage,
        k=k,
        sample=min(config.sample, len(ids)),
        overlap=overlap,
        source=source_scores,
        target=target_scores,
        passed=not failures,
        failures=failures,
    )
