"""The error contract: Python exceptions that say what was expected and what arrived."""

from __future__ import annotations

import numpy as np
import pytest

from lattice_embed import simd

PAIR_OPS = [simd.dot_product, simd.cosine_similarity, simd.cosine_distance,
            simd.squared_euclidean_distance, simd.euclidean_distance, simd.manhattan_distance]


@pytest.mark.parametrize("op", PAIR_OPS, ids=lambda op: op.__name__)
class TestPairOps:
    def test_length_mismatch_names_both_lengths(self, isa: str, op) -> None:
        with pytest.raises(ValueError, match="dimension mismatch: a has 384 elements, b has 768"):
            op(np.ones(384, np.float32), np.ones(768, np.float32))

    @pytest.mark.parametrize("shape", [(), (2, 3), (1, 1, 4)])
    def test_wrong_rank(self, op, shape: tuple[int, ...]) -> None:
        with pytest.raises(ValueError, match=r"a must be a 1-D vector, got an array of shape"):
            op(np.ones(shape, np.float32), np.ones(3, np.float32))

    @pytest.mark.parametrize("bad", [["x", "y"], np.array([1 + 2j, 3j]), np.array([True, False]),
                                     object(), None, "ab"])
    def test_non_numeric_input(self, op, bad: object) -> None:
        with pytest.raises(TypeError, match="b must hold real numbers"):
            op(np.ones(2, np.float32), bad)

    def test_ragged_input(self, op) -> None:
        with pytest.raises(ValueError, match="a is not a rectangular array of numbers"):
            op([[1.0, 2.0], [3.0]], [1.0, 2.0])


def test_pre_normalized_mismatch_names_q_and_c() -> None:
    with pytest.raises(ValueError, match="q has 3 elements, c has 4"):
        simd.cosine_similarity_pre_normalized(np.ones(3), np.ones(4), 1.0)


def test_pre_normalized_needs_a_number_for_the_norm() -> None:
    with pytest.raises(TypeError):
        simd.cosine_similarity_pre_normalized(np.ones(3), np.ones(3), "one")


class TestNormalizeErrors:
    def test_rank_three(self) -> None:
        with pytest.raises(ValueError, match=r"x must be a 1-D vector or a 2-D \(rows, dims\) matrix"):
            simd.normalize(np.ones((2, 2, 2), np.float32))

    def test_out_with_the_wrong_shape(self) -> None:
        with pytest.raises(ValueError, match=r"out has shape \(3,\), the result has shape \(4,\)"):
            simd.normalize(np.ones(4, np.float32), out=np.empty(3, np.float32))

    def test_out_with_the_wrong_dtype(self) -> None:
        with pytest.raises(TypeError, match="out must have dtype float32, got float64"):
            simd.normalize(np.ones(4), out=np.empty(4))

    def test_out_read_only(self) -> None:
        x = np.ones(4, np.float32)
        x.flags.writeable = False
        with pytest.raises(ValueError, match="out is read-only"):
            simd.normalize(x, out=x)

    def test_out_not_contiguous(self) -> None:
        with pytest.raises(ValueError, match="out must be C-contiguous"):
            simd.normalize(np.ones(4, np.float32), out=np.empty(8, np.float32)[::2])

    def test_out_not_an_array(self) -> None:
        with pytest.raises(TypeError, match="out must be a numpy float32 array, got list"):
            simd.normalize(np.ones(2, np.float32), out=[0.0, 0.0])
