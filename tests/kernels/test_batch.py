"""Queries against a matrix: similarity and top-k on every tier, shape and metric, against the
float64 oracle; threads change nothing; the original crate's batch helpers."""

from __future__ import annotations

import numpy as np
import pytest

from lattice_embed import simd
from tests import oracle
from tests.oracle import METRICS


def data(m: int | None, n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Queries ((d,) when m is None, else (m, d)) and an (n, d) matrix."""
    rng = np.random.default_rng([m or 0, n, d, seed])
    q = rng.standard_normal(d if m is None else (m, d)).astype(np.float32)
    return q, rng.standard_normal((n, d)).astype(np.float32)


def as_2d(q: np.ndarray) -> np.ndarray:
    return q[None, :] if q.ndim == 1 else q


SHAPES = [(None, 1), (None, 131), (1, 5), (2, 131), (5, 1), (70, 37)]
DIMS = [1, 3, 8, 9, 17, 33, 65, 384, 1537]


@pytest.mark.parametrize("d", DIMS, ids=lambda d: f"d={d}")
@pytest.mark.parametrize(("m", "n"), SHAPES, ids=lambda v: f"{v}")
def test_similarity_matches_oracle(isa: str, m: int | None, n: int, d: int) -> None:
    q, x = data(m, n, d)
    q64, x64 = oracle.f64(as_2d(q)), oracle.f64(x)
    for metric in METRICS:
        got = simd.similarity(q, x, metric)
        assert got.dtype == np.float32
        assert got.shape == ((n,) if m is None else (m, n))
        exact = oracle.scores(q64, x64, metric)
        bound = oracle.score_bounds(q64, x64, metric)
        assert np.all(np.abs(as_2d(got) - exact) <= bound), metric


@pytest.mark.parametrize("d", [17, 768], ids=lambda d: f"d={d}")
def test_similarity_across_blocks(isa: str, d: int) -> None:
    """More rows than one L2 block and more queries than one query block."""
    q, x = data(130, 2600 if d == 17 else 300, d)
    q64, x64 = oracle.f64(q), oracle.f64(x)
    for metric in ("dot", "cosine", "l2"):
        got = simd.similarity(q, x, metric)
        assert np.all(np.abs(got - oracle.scores(q64, x64, metric))
                      <= oracle.score_bounds(q64, x64, metric)), metric


@pytest.mark.parametrize(("n", "d"), [(50, 300), (7, 33), (4099, 384)], ids=str)
def test_one_query_scores_equal_the_pair_ops_exactly(isa: str, n: int, d: int) -> None:
    """One query walks several rows at once (LE_STREAMS), each summed as the pair kernel sums it:
    the scores are the pair operations', bit for bit, on 1 thread or 2, across blocks of rows
    (4099 x 384 is several blocks, with rows left over after the streams)."""
    q, x = data(None, n, d)
    pairs = {"dot": [simd.dot_product(q, row) for row in x],
             "l2sq": [simd.squared_euclidean_distance(q, row) for row in x],
             "l1": [simd.manhattan_distance(q, row) for row in x]}
    for metric, expected in pairs.items():
        for threads in (1, 2):
            assert simd.similarity(q, x, metric, threads=threads).tolist() == expected, metric
    # cosine: the rows' norms come from the same pass (the fused dot-and-norm kernel)
    got = simd.similarity(q, x, "cosine", threads=1)
    assert np.array_equal(got, simd.similarity(q, x, "cosine", threads=2))
    q64, x64 = oracle.f64(q[None, :]), oracle.f64(x)
    assert np.all(np.abs(got - oracle.scores(q64, x64, "cosine")[0])
                  <= oracle.score_bounds(q64, x64, "cosine")[0])


@pytest.mark.parametrize(("m", "n"), SHAPES, ids=lambda v: f"{v}")
@pytest.mark.parametrize("k", [1, 3, 10])
def test_top_k_is_the_best_of_the_scores(isa: str, m: int | None, n: int, k: int) -> None:
    q, x = data(m, n, 65)
    for metric in METRICS:
        indices, scores = simd.top_k(q, x, k, metric)
        kk = min(k, n)
        assert indices.dtype == np.int64 and scores.dtype == np.float32
        assert indices.shape == scores.shape == ((kk,) if m is None else (m, kk))
        # exactly the kernel's own scores, ordered best first with ties to the lower index
        full = as_2d(simd.similarity(q, x, metric))
        expected = oracle.rank_order(full.astype(np.float64), metric)[:, :kk]
        assert np.array_equal(as_2d(indices), expected), metric
        assert np.array_equal(as_2d(scores), np.take_along_axis(full, expected, 1)), metric
        # and the best of the exact scores, up to reordering among near-ties
        exact = oracle.scores(oracle.f64(as_2d(q)), oracle.f64(x), metric)
        exact_best = np.take_along_axis(exact, oracle.rank_order(exact, metric)[:, :kk], 1)
        assert np.allclose(as_2d(scores), exact_best, rtol=0, atol=1e-3), metric


def test_top_k_ties_go_to_the_lower_index(isa: str) -> None:
    q, x = data(None, 6, 16)
    x[[1, 3, 4]] = x[0]  # four equal rows: 0, 1, 3, 4
    for metric in METRICS:
        indices, _ = simd.top_k(q, x, 6, metric)
        position = {int(i): r for r, i in enumerate(indices)}
        assert position[0] < position[1] < position[3] < position[4], metric


def test_top_k_nan_never_ranks_above_a_number(isa: str) -> None:
    q, x = data(None, 8, 16)
    x[[0, 5]] = np.nan
    for metric in METRICS:
        indices, scores = simd.top_k(q, x, 8, metric)
        assert indices[-2:].tolist() == [0, 5], metric
        assert np.isnan(scores[-2:]).all() and not np.isnan(scores[:-2]).any()
        assert set(simd.top_k(q, x, 6, metric)[0].tolist()) == {1, 2, 3, 4, 6, 7}


def test_top_k_edge_values_of_k(isa: str) -> None:
    q, x = data(3, 4, 9)
    indices, scores = simd.top_k(q, x, 10)
    assert indices.shape == (3, 4) and sorted(indices[0].tolist()) == [0, 1, 2, 3]
    for queries, shape in ((q, (3, 0)), (q[0], (0,))):
        indices, scores = simd.top_k(queries, x, 0)
        assert indices.shape == scores.shape == shape
    indices, scores = simd.top_k(q[0], x[:0], 5)
    assert indices.shape == (0,)


@pytest.mark.parametrize(("m", "n"), [(None, 1000), (3, 1000), (40, 300), (61, 90), (121, 20)],
                         ids=["one-query", "few-queries", "many-queries", "61-queries", "121-queries"])
def test_thread_count_changes_nothing(isa: str, m: int | None, n: int) -> None:
    q, x = data(m, n, 96)
    for metric in METRICS:
        one = simd.similarity(q, x, metric, threads=1)
        for threads in (2, 3, 7):
            assert np.array_equal(one, simd.similarity(q, x, metric, threads=threads)), metric
        idx1, sc1 = simd.top_k(q, x, 17, metric, threads=1)
        for threads in (2, 3, 7):
            idx, sc = simd.top_k(q, x, 17, metric, threads=threads)
            assert np.array_equal(idx1, idx) and np.array_equal(sc1, sc), (metric, threads)


def test_similarity_out_and_zero_vectors(isa: str) -> None:
    q, x = data(4, 10, 33)
    x[2] = 0.0
    q[1] = 0.0
    out = np.full((4, 10), 7.0, np.float32)
    assert simd.similarity(q, x, "cosine", out=out) is out
    assert np.all(out[:, 2] == 0.0) and np.all(out[1] == 0.0)
    assert np.array_equal(out, simd.similarity(q, x, "cosine"))


def test_empty_shapes(isa: str) -> None:
    q, x = data(3, 5, 0)
    assert np.array_equal(simd.similarity(q, x, "dot"), np.zeros((3, 5), np.float32))
    assert simd.similarity(q, x[:0], "cosine").shape == (3, 0)
    assert simd.similarity(q[:0], x, "l2").shape == (0, 5)


class TestOriginalBatchHelpers:
    def test_batch_cosine_one_vs_many(self, isa: str) -> None:
        q, x = data(None, 20, 40)
        assert np.array_equal(simd.batch_cosine_one_vs_many(q, x), simd.similarity(q, x, "cosine"))
        assert np.array_equal(simd.batch_cosine_one_vs_many(np.zeros(40), x), np.zeros(20))

    def test_row_wise_pairs(self, isa: str) -> None:
        a, b = data(12, 12, 65)
        dots = simd.batch_dot_product(a, b)
        cosines = simd.batch_cosine_similarity(a, b)
        assert dots.dtype == cosines.dtype == np.float32 and dots.shape == (12,)
        assert dots.tolist() == [simd.dot_product(x, y) for x, y in zip(a, b)]
        assert cosines.tolist() == pytest.approx([simd.cosine_similarity(x, y) for x, y in zip(a, b)],
                                                 abs=1e-6)

    @pytest.mark.parametrize("d", [1, 7, 8, 9, 33, 384, 1537])
    def test_dot_product_batch4(self, isa: str, d: int) -> None:
        q, x = data(None, 4, d)
        got = simd.dot_product_batch4(q, *x)
        assert isinstance(got, tuple) and len(got) == 4
        for value, row in zip(got, x):
            exact, terms = oracle.dot(oracle.f64(q), oracle.f64(row))
            assert oracle.close_to_sum(value, exact, terms)


class TestErrors:
    def test_dimension_mismatch_names_both(self) -> None:
        with pytest.raises(ValueError, match="dimension mismatch: queries have 3 dims, matrix rows have 4"):
            simd.similarity(np.ones(3), np.ones((5, 4)))
        with pytest.raises(ValueError, match="queries have 3 dims, matrix rows have 4"):
            simd.top_k(np.ones((2, 3)), np.ones((5, 4)), 1)

    def test_matrix_must_be_2d(self) -> None:
        with pytest.raises(ValueError, match=r"matrix must be a 2-D \(rows, dims\) matrix, got an array of shape \(4,\)"):
            simd.similarity(np.ones(4), np.ones(4))

    def test_queries_rank(self) -> None:
        with pytest.raises(ValueError, match=r"queries must be a 1-D vector or a 2-D"):
            simd.top_k(np.ones((2, 2, 2)), np.ones((3, 2)), 1)

    def test_k(self) -> None:
        with pytest.raises(ValueError, match="k must be >= 0, got -1"):
            simd.top_k(np.ones(2), np.ones((3, 2)), -1)
        with pytest.raises(TypeError, match="k must be an integer, got float"):
            simd.top_k(np.ones(2), np.ones((3, 2)), 2.5)
        assert simd.top_k(np.ones(2), np.ones((3, 2)), np.int64(2))[0].shape == (2,)

    @pytest.mark.parametrize("flag", [True, False, np.True_])
    def test_a_bool_is_not_a_count(self, flag: object) -> None:
        """bool is an int to Python, but k=True is a mistake, not k=1 (nor threads=True one
        thread): refused wherever a count is meant, for float32 and quantized matrices."""
        x = np.ones((3, 2), np.float32)
        for matrix in (x, simd.quantize(x, "int8")):
            with pytest.raises(TypeError, match=f"k must be an integer, got bool \\({flag}\\)"):
                simd.top_k(np.ones(2), matrix, flag)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="threads must be an integer or None, got bool"):
                simd.top_k(np.ones(2), matrix, 1, threads=flag)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="threads must be an integer or None, got bool"):
                simd.similarity(np.ones(2), matrix, threads=flag)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="candidates must be an integer, got bool"):
            simd.top_k(np.ones(2), simd.quantize(x, "int8"), 1, rescore=x,
                       candidates=flag)  # type: ignore[arg-type]

    def test_metric(self) -> None:
        with pytest.raises(ValueError, match="unknown metric 'cos'; valid metrics: dot, cosine, l2sq, l2, l1"):
            simd.similarity(np.ones(2), np.ones((3, 2)), "cos")

    def test_threads(self) -> None:
        with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
            simd.similarity(np.ones(2), np.ones((3, 2)), threads=0)
        with pytest.raises(TypeError, match="threads must be an integer or None, got str"):
            simd.top_k(np.ones(2), np.ones((3, 2)), 1, threads="2")

    def test_out(self) -> None:
        with pytest.raises(ValueError, match=r"out has shape \(3,\), the result has shape \(2, 3\)"):
            simd.similarity(np.ones((2, 2)), np.ones((3, 2)), out=np.empty(3, np.float32))

    def test_row_pairs_shapes(self) -> None:
        with pytest.raises(ValueError, match=r"shape mismatch: a_rows is \(2, 3\), b_rows is \(3, 3\)"):
            simd.batch_dot_product(np.ones((2, 3)), np.ones((3, 3)))

    def test_batch4_lengths(self) -> None:
        with pytest.raises(ValueError, match="q has 3 elements, c2 has 4"):
            simd.dot_product_batch4(np.ones(3), np.ones(3), np.ones(3), np.ones(4), np.ones(3))


@pytest.mark.parametrize("where", ["matrix", "queries", "both", "shifted"])
def test_similarity_out_overlapping_an_input_is_buffered(isa: str, where: str) -> None:
    """numpy's rule for out=: an output that overlaps an input gets the result via a temporary."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 300)).astype(np.float32)
    expected = oracle.f64(x) @ oracle.f64(x).T
    if where == "matrix":
        queries, matrix = x.copy(), x
        out = matrix
    elif where == "queries":
        queries, matrix = x, x.copy()
        out = queries
    elif where == "both":
        queries = matrix = out = x
    else:  # an output buffer starting one row into the matrix
        buffer = np.zeros((301, 300), np.float32)
        buffer[:300] = x
        queries, matrix, out = x.copy(), buffer[:300], buffer[1:]
    got = simd.similarity(queries, matrix, "dot", out=out)
    assert got is out
    bound = oracle.score_bounds(oracle.f64(x), oracle.f64(x), "dot")
    assert np.all(np.abs(got - expected) <= bound)
