"""The tolerance table (tests/oracle.py) on hostile inputs, on every tier: sums built to lose the
most a float32 accumulator can lose, and Hypothesis-drawn vectors of mixed magnitudes.

A float32 accumulator that adds k terms errs by up to (k - 1) 2^-24 of their magnitudes: past
about 168 terms it can miss the 1e-5 bound. The scalar tier once summed 1537 terms in one
accumulator per pair (batch) and 384 in each of four (pairs); both now sum in double. The vector
tiers' batch tiles sum at most 128 steps per accumulator before folding into the pair's total.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lattice_embed import simd
from tests import oracle
from tests.oracle import TAIL_LENGTHS, TOLERANCE

LONG = [384, 768, 1024, 1536, 1537, 2048, 4096]


def absorbing(d: int) -> tuple[np.ndarray, np.ndarray]:
    """One large term first, then ones the accumulator holding it rounds away (2^24 + 1 rounds
    to 2^24): the accumulator of the first lane loses every later term it adds, the worst case
    of absorption, (k - 1) 2^-24 of the magnitudes for k terms in that accumulator."""
    a = np.ones(d, np.float32)
    a[0] = np.float32(2.0**24)
    return a, np.ones(d, np.float32)


def within(got: np.ndarray | float, a: np.ndarray, b: np.ndarray, what: str) -> None:
    exact, terms = oracle.dot(oracle.f64(a), oracle.f64(b))
    error = np.max(np.abs(np.float64(got) - exact))
    bound = TOLERANCE["f32_sum"] * float(np.abs(terms).sum())
    assert error <= bound, f"{what}: error {error / np.abs(terms).sum():.2e} of sum |t|"


@pytest.mark.parametrize("d", LONG, ids=lambda d: f"d={d}")
class TestAbsorption:
    def test_dot_one_pair(self, isa: str, d: int) -> None:
        a, b = absorbing(d)
        within(simd.dot_product(a, b), a, b, "dot_product")
        within(simd.norm(a) ** 2, a, a, "norm")

    def test_one_query(self, isa: str, d: int) -> None:
        a, b = absorbing(d)
        within(simd.similarity(a, b[None, :], "dot"), a, b, "one query")

    def test_blocks_of_queries(self, isa: str, d: int) -> None:
        a, b = absorbing(d)
        scores = simd.similarity(np.stack([a] * 7), np.stack([b] * 5), "dot")
        within(scores, a, b, "tile")
        l1 = simd.similarity(np.stack([a] * 7), np.zeros((5, d), np.float32), "l1")
        within(l1, np.abs(a), np.ones(d, np.float32), "tile l1")

    def test_cosine_and_normalize(self, isa: str, d: int) -> None:
        a, b = absorbing(d)
        exact = oracle.cosine(oracle.f64(a), oracle.f64(b))
        assert abs(simd.cosine_similarity(a, b) - exact) <= TOLERANCE["cosine"]
        cos = simd.similarity(np.stack([a] * 4), np.stack([b] * 4), "cosine")
        assert np.all(np.abs(cos - exact) <= TOLERANCE["cosine"])
        np.testing.assert_allclose(simd.normalize(a), oracle.normalize(oracle.f64(a)), rtol=0,
                                   atol=TOLERANCE["unit_vector"])


def mixed(draw: st.DrawFn, d: int) -> np.ndarray:
    magnitudes = draw(hnp.arrays(np.float32, d, elements=st.floats(-6, 6, width=32)))
    signs = draw(hnp.arrays(np.int8, d, elements=st.sampled_from([-1, 1])))
    return (np.float32(10.0) ** magnitudes * signs).astype(np.float32)


@st.composite
def vector_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    d = draw(st.sampled_from(TAIL_LENGTHS[1:]))
    return mixed(draw, d), mixed(draw, d)


FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(pair=vector_pairs())
def test_fuzz_against_the_oracle(isa: str, pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    within(simd.dot_product(a, b), a, b, "dot_product")
    within(simd.similarity(np.stack([a] * 4), np.stack([b] * 5), "dot"), a, b, "tile")
    exact, terms = oracle.l2sq(oracle.f64(a), oracle.f64(b))
    assert oracle.close_to_sum(simd.squared_euclidean_distance(a, b), exact, terms)
    exact, terms = oracle.l1(oracle.f64(a), oracle.f64(b))
    assert oracle.close_to_sum(simd.manhattan_distance(a, b), exact, terms)
    cosine = oracle.cosine(oracle.f64(a), oracle.f64(b))
    assert abs(simd.cosine_similarity(a, b) - cosine) <= TOLERANCE["cosine"]
    np.testing.assert_allclose(simd.normalize(a), oracle.normalize(oracle.f64(a)), rtol=0,
                               atol=TOLERANCE["unit_vector"])
