"""Pair operations, one call at a time: lattice_embed (best tier, and each tier) beside numpy and
simsimd. At these sizes the call itself is most of the cost, so this measures the binding too.

    pytest benchmarks/bench_dense.py --benchmark-json=benchmarks/results/dense.json
    python benchmarks/report.py benchmarks/results/dense.json
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from benchmarks.conftest import CPU_TIERS, optional
from lattice_embed import simd

simsimd = optional("simsimd")
DIMS = [384, 768, 1536]

# operation -> {implementation: callable(a, b)}
IMPLEMENTATIONS: dict[str, dict[str, Callable[[np.ndarray, np.ndarray], object] | None]] = {
    "dot": {
        "lattice_embed": simd.dot_product,
        "numpy": np.dot,
        "simsimd": simsimd.dot if simsimd else None,
    },
    "cosine": {
        "lattice_embed": simd.cosine_similarity,
        "numpy": lambda a, b: np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)),
        "simsimd": simsimd.cosine if simsimd else None,  # returns the distance
    },
    "l2sq": {
        "lattice_embed": simd.squared_euclidean_distance,
        "numpy": lambda a, b: np.dot(a - b, a - b),
        "simsimd": simsimd.sqeuclidean if simsimd else None,
    },
}
LATTICE_OP = {"dot": simd.dot_product, "cosine": simd.cosine_similarity,
              "l2sq": simd.squared_euclidean_distance}


def cases() -> list[tuple[str, int, str]]:
    rows = []
    for op, impls in IMPLEMENTATIONS.items():
        for d in DIMS:
            rows += [(op, d, name) for name, fn in impls.items() if fn is not None]
            rows += [(op, d, f"lattice_embed[{tier}]") for tier in CPU_TIERS]
    return rows


@pytest.mark.parametrize(("op", "d", "impl"), cases())
def test_pair(benchmark, op: str, d: int, impl: str) -> None:
    benchmark.group = f"{op} f32 d={d}"
    rng = np.random.default_rng(d)
    a, b = rng.standard_normal((2, d)).astype(np.float32)
    if impl.startswith("lattice_embed["):
        with simd.use_isa(impl[len("lattice_embed["):-1]):
            benchmark(LATTICE_OP[op], a, b)
    else:
        fn = IMPLEMENTATIONS[op][impl]
        assert fn is not None
        benchmark(fn, a, b)
