"""Every documented limit of the vector API, at its value and one past it, on every tier.

The int8 and int4 limits come from 32-bit integer sums: 127 * 127 * 131072 and 15 * 15 * 8388608
are the largest sums the kernels hold, so a test at the limit fills every lane to its maximum.
(The VNNI int8 kernel once wrapped from about 66,000 dimensions: tests had stopped at 1,537.)
"""

from __future__ import annotations

import numpy as np
import pytest

from lattice_embed import simd
from lattice_embed._kernels import _core
from lattice_embed.simd.quantized import MAX_INT4_DIMS, MAX_INT8_DIMS

I8 = MAX_INT8_DIMS
U4 = MAX_INT4_DIMS
PARAMS = simd.QuantizationParams(1.0, 0, -127, 127)


def test_the_limits_are_the_documented_ones() -> None:
    assert (MAX_INT8_DIMS, MAX_INT4_DIMS) == (131_072, 8_388_608)
    assert 127 * 127 * MAX_INT8_DIMS < 2**31
    assert 15 * 15 * MAX_INT4_DIMS < 2**31


class TestInt8AtTheLimit:
    @pytest.mark.parametrize(("a", "b"), [(127, 127), (-127, -127), (127, -127), (-127, 127)])
    def test_raw_dot_is_exact_at_the_limit(self, isa: str, a: int, b: int) -> None:
        va, vb = np.full(I8, a, np.int8), np.full(I8, b, np.int8)
        assert simd.dot_product_i8_raw(va, vb) == a * b * I8
        assert _core.dot_i8(va, vb) == a * b * I8

    def test_raw_dot_below_the_limit_where_vnni_used_to_wrap(self, isa: str) -> None:
        a = np.full(70_000, 127, np.int8)
        assert simd.dot_product_i8_raw(a, a) == 1_129_030_000

    def test_vectors_at_the_limit(self, isa: str) -> None:
        q = simd.QuantizedVector.from_f32(np.ones(I8, np.float32))
        assert len(q) == I8
        assert simd.dot_product_i8(q, q) == pytest.approx(I8, rel=1e-6)
        assert simd.cosine_similarity_i8(q, q) == pytest.approx(1.0, abs=1e-6)
        neg = simd.QuantizedVector.from_f32(-np.ones(I8, np.float32))
        assert simd.cosine_similarity_i8(q, neg) == pytest.approx(-1.0, abs=1e-6)

    def test_matrix_at_the_limit(self, isa: str) -> None:
        x = np.ones((3, I8), np.float32)
        x[1] = -1.0
        stored = simd.quantize(x, "int8")
        scores = simd.similarity(np.ones(I8, np.float32), stored, "dot")
        np.testing.assert_allclose(scores, [I8, -I8, I8], rtol=1e-6)
        cosine = simd.similarity(x, stored, "cosine")
        np.testing.assert_allclose(cosine, [[1, -1, 1], [-1, 1, -1], [1, -1, 1]], atol=1e-6)

    def test_past_the_limit_is_refused_everywhere(self) -> None:
        message = f"int8 vectors are limited to {I8} dimensions, got {I8 + 1}"
        over = np.ones(I8 + 1, np.float32)
        with pytest.raises(ValueError, match=message):
            simd.QuantizedVector.from_f32(over)
        with pytest.raises(ValueError, match=message):
            simd.dot_product_i8_raw(np.ones(I8 + 1, np.int8), np.ones(I8 + 1, np.int8))
        with pytest.raises(ValueError, match=message):
            _core.dot_i8(np.ones(I8 + 1, np.int8), np.ones(I8 + 1, np.int8))
        with pytest.raises(ValueError, match=message):
            simd.QuantizedVector(np.ones(I8 + 1, np.int8), PARAMS, 1.0)
        with pytest.raises(ValueError, match=message):
            simd.quantize(over[None, :], "int8")
        with pytest.raises(ValueError, match=message):
            simd.QuantizedData.from_f32(over, simd.QuantizationTier.INT8)


class TestMinus128:
    """-128 has no positive counterpart in int8: the AVX2 sign trick and vpmaddubsw get it wrong,
    so it never reaches a kernel (the quantizers produce [-127, 127])."""

    def test_a_vector_holding_minus_128_is_refused(self) -> None:
        message = r"data\[0\] is -128: int8 values must be in \[-127, 127\]"
        with pytest.raises(ValueError, match=message):
            simd.QuantizedVector(np.full(64, -128, np.int8), PARAMS, 1.0)

    def test_data_cannot_be_changed_to_minus_128_later(self) -> None:
        v = simd.QuantizedVector.from_f32(np.ones(64, np.float32))
        with pytest.raises(ValueError, match="read-only"):
            v.data[0] = -128
        mine = np.ones(64, np.int8)
        w = simd.QuantizedVector(mine, simd.QuantizationParams(1.0, 0, 1, 1), 8.0)
        mine[:] = -128  # the caller's array is not the vector's
        assert simd.dot_product_i8(w, w) == 64.0

    def test_same_answer_on_every_tier(self, isa: str) -> None:
        v = simd.QuantizedVector(np.full(64, -127, np.int8), PARAMS, float(127 * 8))
        assert simd.dot_product_i8(v, v) == 64 * 127 * 127
        assert simd.cosine_similarity_i8(v, v) == pytest.approx(1.0, abs=1e-6)

    def test_matrix_holding_minus_128_is_refused(self) -> None:
        stored = simd.quantize(np.ones((3, 8), np.float32), "int8")
        data = stored.data.copy()
        data[0, 0] = -128
        with pytest.raises(ValueError, match=r"-128: int8 values must be in \[-127, 127\]"):
            simd.QuantizedMatrix("int8", 3, 8, data, scale=stored.scale, norm=stored.norm,
                                 sums=stored.sums)


class TestInt4AtTheLimit:
    def test_dot_at_the_limit(self, isa: str) -> None:
        """Every nibble 15: the largest raw sum, 225 * 8388608, one below 2**31 by 12 %."""
        ones = np.ones(U4, np.float32)
        q = simd.Int4Vector.from_f32(ones)
        assert q.data[0] == 0xFF and q.nibble_sum == 15 * U4
        assert _core.dot_u4(q.data, q.data) == 225 * U4
        assert q.dot_product(q) == pytest.approx(U4, rel=1e-6)
        assert q.cosine_similarity(q) == pytest.approx(1.0, abs=1e-6)
        stored = simd.quantize(ones[None, :], "int4")
        assert simd.similarity(ones, stored, "dot")[0] == pytest.approx(U4, rel=1e-6)
        assert simd.similarity(ones, stored, "cosine")[0] == pytest.approx(1.0, abs=1e-6)

    def test_past_the_limit_is_refused_everywhere(self) -> None:
        message = f"int4 vectors are limited to {U4} dimensions, got {U4 + 1}"
        over = np.ones(U4 + 1, np.float32)
        with pytest.raises(ValueError, match=message):
            simd.Int4Vector.from_f32(over)
        with pytest.raises(ValueError, match=message):
            simd.quantize(over[None, :], "int4")
        packed = np.zeros((U4 + 2) // 2, np.uint8)
        with pytest.raises(ValueError, match=message):
            simd.Int4Vector(packed, U4 + 1, simd.Int4Params(1.0, 1.0), 1.0)
        message = f"int4 vectors are limited to {U4} dimensions, got {U4 + 2}"
        with pytest.raises(ValueError, match=message):
            _core.dot_u4(packed, packed)


class TestLargestK:
    @pytest.mark.parametrize("k", [30, 31, 10**6, 2**64, 10**30])
    def test_k_at_and_past_the_rows(self, isa: str, k: int) -> None:
        rng = np.random.default_rng(1)
        x = rng.standard_normal((30, 16)).astype(np.float32)
        q = rng.standard_normal(16).astype(np.float32)
        exact = np.argsort(-simd.similarity(q, x, "dot"), kind="stable")
        idx, scores = simd.top_k(q, x, k, "dot")
        assert np.array_equal(idx, exact)
        for tier in ("int8", "int4", "binary", "bf16"):
            metric = "hamming" if tier == "binary" else "dot"
            stored = simd.quantize(x, tier)
            idx, _ = simd.top_k(q, stored, k, metric)
            assert len(idx) == 30
            assert sorted(idx.tolist()) == list(range(30))
        idx, _ = simd.top_k(q, simd.quantize(x, "int8"), k, "dot", rescore=x, candidates=k)
        assert np.array_equal(idx, exact)


class TestLargestThreads:
    @pytest.mark.parametrize("threads", [1, 2, 3, 64, 10**6, 2**63, 2**64 + 1])
    def test_thread_count_is_capped_at_the_cores(self, threads: int) -> None:
        cores = simd.capabilities()["threads"]["cores"]
        work = 200_000 * 8
        assert _core.thread_count(threads, work) == min(threads, cores)

    def test_default_is_capped_too(self) -> None:
        cores = simd.capabilities()["threads"]["cores"]
        assert _core.thread_count(None, 10**18) <= cores
        assert _core.thread_count(None, 1) == 1

    @pytest.mark.parametrize("threads", [10**6, 2**64 + 1])
    def test_huge_thread_counts_give_the_same_results(self, isa: str, threads: int) -> None:
        rng = np.random.default_rng(2)
        x = rng.standard_normal((20_000, 8)).astype(np.float32)
        q = rng.standard_normal((3, 8)).astype(np.float32)
        assert np.array_equal(simd.similarity(q, x, "dot", threads=threads),
                              simd.similarity(q, x, "dot", threads=1))
        one = simd.top_k(q, x, 5, "l2", threads=1)
        many = simd.top_k(q, x, 5, "l2", threads=threads)
        assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])
        stored = simd.quantize(x, "int8")
        assert np.array_equal(simd.similarity(q, stored, "dot", threads=threads),
                              simd.similarity(q, stored, "dot", threads=1))
