"""Quantized tiers: the original's per-vector types and layouts, exact integer kernels on every
tier, bf16 rounding and sums, matrix search with rescoring, and retrieval fidelity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lattice_embed import simd
from lattice_embed._kernels import _core
from tests import oracle
from tests.oracle import TAIL_LENGTHS

T = simd.QuantizationTier


def vectors(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng([n, d, seed]).standard_normal((n, d)).astype(np.float32)


def clustered(n: int, d: int, clusters: int, spread: float, rng: np.random.Generator,
              centers: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors scattered around `clusters` random unit centers."""
    if centers is None:
        centers = rng.standard_normal((clusters, d)).astype(np.float32)
        centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    noise = rng.standard_normal((n, d)).astype(np.float32) * np.float32(spread / math.sqrt(d))
    x = centers[rng.integers(0, len(centers), n)] + noise
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), centers


class TestInt8Vectors:
    def test_rounds_half_away_from_zero(self) -> None:
        v = np.array([127, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5], np.float32)  # scale = 1
        q = simd.QuantizedVector.from_f32(v)
        assert q.params.scale == 1.0
        assert q.data.tolist() == [127, 3, -3, 1, -1, 2, -127]

    def test_scale_norm_and_non_finite_values(self) -> None:
        v = np.array([0.5, -2.0, np.nan, np.inf, 1.0], np.float32)
        q = simd.QuantizedVector.from_f32(v)
        assert q.params.scale == pytest.approx(127 / 2.0)
        assert (q.params.min_val, q.params.max_val, q.params.zero_point) == (-2.0, 1.0, 0)
        assert q.data.tolist() == [32, -127, 0, 0, 64]
        assert q.norm == pytest.approx(math.sqrt(0.25 + 4 + 1))

    def test_all_zero_vector(self) -> None:
        q = simd.QuantizedVector.from_f32(np.zeros(5))
        assert q.params.scale == 1.0 and q.data.tolist() == [0] * 5 and q.norm == 0.0
        assert simd.cosine_similarity_i8(q, q) == 0.0

    @pytest.mark.parametrize("d", [1, 7, 384, 1536])
    def test_round_trip_and_products(self, d: int) -> None:
        a, b = vectors(2, d)
        qa, qb = simd.QuantizedVector.from_f32(a), simd.QuantizedVector.from_f32(b)
        assert len(qa) == d and qa.data.dtype == np.int8
        assert np.all(np.abs(qa.to_f32() - a) <= np.abs(a).max() / 254 * 1.0001)
        exact = float(a.astype(np.float64) @ b)
        scale = np.linalg.norm(a) * np.linalg.norm(b)
        assert abs(simd.dot_product_i8(qa, qb) - exact) / scale < 0.05
        assert qa.dot_product(qb) == simd.dot_product_i8(qa, qb)
        assert abs(qa.cosine_similarity(qb) - exact / scale) < 0.02

    def test_raw_dot_is_exact(self) -> None:
        rng = np.random.default_rng(1)
        a, b = rng.integers(-127, 128, (2, 5000)).astype(np.int8)
        assert simd.dot_product_i8_raw(a, b) == int(a.astype(np.int64) @ b.astype(np.int64))
        assert simd.dot_product_i8_raw(np.full(3, -127, np.int8), np.full(3, -127, np.int8)) == 3 * 127 * 127

    def test_raw_dot_refuses_minus_128_and_mismatch(self) -> None:
        with pytest.raises(ValueError, match=r"b\[1\] is -128"):
            simd.dot_product_i8_raw(np.zeros(3, np.int8), np.array([0, -128, 0], np.int8))
        with pytest.raises(ValueError, match="a has 2 dimensions, b has 3"):
            simd.dot_product_i8_raw(np.zeros(2, np.int8), np.zeros(3, np.int8))

    def test_dimension_mismatch(self) -> None:
        a, b = simd.QuantizedVector.from_f32(np.ones(3)), simd.QuantizedVector.from_f32(np.ones(4))
        with pytest.raises(ValueError, match="a has 3 dimensions, b has 4"):
            simd.dot_product_i8(a, b)


class TestInt4Vectors:
    def test_layout_even_index_in_the_high_nibble(self) -> None:
        v = np.array([-1.0, 1.0, 0.0], np.float32)  # max_abs 1, scale 7.5: q = 0, 15, round(7.5) = 8
        q = simd.Int4Vector.from_f32(v)
        assert q.params.scale == 7.5 and q.params.max_abs == 1.0 and q.dims == 3
        assert q.data.tolist() == [0x0F, 0x80]  # the odd tail's low nibble is padding (0)

    @pytest.mark.parametrize("d", [1, 2, 7, 384, 1537])
    def test_round_trip_and_products(self, d: int) -> None:
        a, b = vectors(2, d, 3)
        qa, qb = simd.Int4Vector.from_f32(a), simd.Int4Vector.from_f32(b)
        assert len(qa.data) == (d + 1) // 2
        assert np.all(np.abs(qa.to_f32() - a) <= np.abs(a).max() / 15 * 1.0001)
        # the corrected dot equals the dot of the dequantized vectors
        dequantized = float(qa.to_f32().astype(np.float64) @ qb.to_f32())
        assert qa.dot_product(qb) == pytest.approx(dequantized, rel=1e-4, abs=1e-4)
        cos = dequantized / (np.linalg.norm(a) * np.linalg.norm(b))
        assert qa.cosine_similarity(qb) == pytest.approx(cos, rel=1e-4, abs=1e-5)
        assert qa.cosine_distance(qb) == pytest.approx(1 - qa.cosine_similarity(qb))


class TestBinaryVectors:
    def test_bits_msb_first_threshold_and_non_finite(self) -> None:
        v = np.array([1, -1, 0, -0.5, np.nan, 2, -np.inf, 3, 0.1], np.float32)
        b = simd.BinaryVector.from_f32(v)
        assert b.dims == 9 and b.data.tolist() == [0b10101111, 0b10000000]
        assert simd.BinaryVector.from_f32(v, threshold=1.0).data.tolist() == [0b10000101, 0]
        assert b.to_f32().tolist() == [1, -1, 1, -1, 1, 1, 1, 1, 1]

    def test_from_packed_clears_padding_and_hamming_ignores_it(self) -> None:
        a = simd.BinaryVector.from_packed([0xFF, 0xFF], 10)
        b = simd.BinaryVector.from_packed([0x00, 0x00], 10)
        assert a.data.tolist() == [0xFF, 0xC0]
        assert simd.hamming_distance(a, b) == 10
        assert a.cosine_similarity_approx(b) == pytest.approx(1 - 2 * 10 / 10)
        assert a.cosine_distance_approx(a) == 0.0
        with pytest.raises(ValueError, match="10 dimensions need 2 bytes"):
            simd.BinaryVector.from_packed([0xFF], 10)

    def test_mismatch(self) -> None:
        with pytest.raises(ValueError, match="a has 8 dimensions, b has 9"):
            simd.hamming_distance(simd.BinaryVector.from_f32(np.ones(8)), simd.BinaryVector.from_f32(np.ones(9)))


class TestTiersAndPreparedQueries:
    def test_tier_sizes(self) -> None:
        assert [t.bytes_per_dim for t in T] == [4.0, 1.0, 0.5, 0.125]
        assert [t.compression_ratio for t in T] == [1, 4, 8, 32]
        assert [t.storage_bytes(384) for t in T] == [1536, 384, 192, 48]
        assert T.INT4.storage_bytes(7) == 4 and T.BINARY.storage_bytes(9) == 2
        assert [T.from_age_seconds(a) for a in (0, 3599, 3600, 86_399, 86_400, 604_800)] == [
            T.FULL, T.FULL, T.INT8, T.INT8, T.INT4, T.BINARY]

    @pytest.mark.parametrize("tier", list(T))
    def test_data_round_trip_and_ordering(self, tier: simd.QuantizationTier) -> None:
        a = vectors(1, 64, 5)[0]
        near = a + 0.1 * vectors(1, 64, 6)[0]
        far = vectors(1, 64, 7)[0]
        stored = {name: simd.QuantizedData.from_f32(v, tier) for name, v in (("near", near), ("far", far))}
        assert stored["near"].tier is tier and stored["near"].dims == 64
        assert stored["near"].storage_bytes == tier.storage_bytes(64)
        query = simd.prepare_query(a, tier)
        assert query.tier is tier and query.dims == 64
        d_near = simd.approximate_cosine_distance_prepared(query, stored["near"])
        d_far = simd.approximate_cosine_distance_prepared(query, stored["far"])
        assert 0 <= d_near < d_far <= 2
        assert simd.approximate_cosine_distance(a, stored["near"]) == d_near
        batch = simd.batch_approximate_cosine_distance_prepared(query, [stored["near"], stored["far"]])
        assert batch.tolist() == pytest.approx([d_near, d_far])
        meta = simd.prepare_query_with_norm(a, tier, simd.NormalizationHint.UNIT)
        assert simd.approximate_cosine_distance_prepared_with_meta(meta, stored["near"]) == d_near

    def test_full_tier_is_lossless(self) -> None:
        a = vectors(1, 33)[0]
        data = simd.QuantizedData.from_f32(a, T.FULL)
        assert np.array_equal(data.to_f32(), a)
        assert np.allclose(data.demote(T.INT8).promote(T.FULL).to_f32(), a, atol=np.abs(a).max() / 254 * 1.001)

    def test_tier_mismatch_and_binary_dot(self) -> None:
        query = simd.prepare_query(np.ones(8), T.INT8)
        stored = simd.QuantizedData.from_f32(np.ones(8), T.INT4)
        with pytest.raises(simd.TierMismatchError, match="tier mismatch in approximate_cosine_distance_prepared: expected INT8, got INT4"):
            simd.approximate_cosine_distance_prepared(query, stored)
        with pytest.raises(simd.TierMismatchError):
            simd.approximate_int4_batch_prepared(query, [stored.value])
        binary = simd.QuantizedData.from_f32(np.ones(8), T.BINARY)
        with pytest.raises(ValueError, match="binary vectors have no prepared dot product"):
            simd.approximate_dot_product_prepared(simd.prepare_query(np.ones(8), T.BINARY), binary)
        assert simd.approximate_dot_product(np.ones(8), binary) == 8.0

    def test_dot_products_per_tier(self) -> None:
        a, b = vectors(2, 128, 9)
        exact = float(a.astype(np.float64) @ b)
        for tier, tolerance in ((T.FULL, 1e-4), (T.INT8, 0.05), (T.INT4, 0.2)):
            got = simd.approximate_dot_product(a, simd.QuantizedData.from_f32(b, tier))
            assert abs(got - exact) <= tolerance * np.linalg.norm(a) * np.linalg.norm(b), tier
        q8 = simd.prepare_query(a, T.INT8)
        assert simd.approximate_int8_batch_prepared(q8, [simd.QuantizedVector.from_f32(b)])[0] == pytest.approx(
            1 - simd.cosine_similarity_i8(q8.data.value, simd.QuantizedVector.from_f32(b)))

    def test_unit_norm(self) -> None:
        assert simd.is_unit_norm(simd.normalize(vectors(1, 50)[0]))
        assert not simd.is_unit_norm(np.ones(4))


class TestKernelsAreExactOnEveryTier:
    """Integer and binary kernels give the same integers on every tier, at every tail length."""

    @pytest.mark.parametrize("n", TAIL_LENGTHS, ids=lambda n: f"n={n}")
    def test_integer_kernels(self, isa: str, n: int) -> None:
        rng = np.random.default_rng(n)
        a, b = rng.integers(-127, 128, (2, n)).astype(np.int8)
        exact = int(a.astype(np.int64) @ b.astype(np.int64))
        assert _core.dot_i8(a, b) == exact
        ua, ub = a.view(np.uint8), b.view(np.uint8)
        nibbles = lambda x: np.stack([x >> 4, x & 15]).astype(np.int64)
        assert _core.dot_u4(ua, ub) == int((nibbles(ua) * nibbles(ub)).sum())
        assert _core.hamming_b1(ua, ub) == int(np.unpackbits(ua ^ ub).sum())

    @pytest.mark.parametrize("n", TAIL_LENGTHS, ids=lambda n: f"n={n}")
    def test_bf16_dot(self, isa: str, n: int) -> None:
        a, b = (simd.quantize(v[None, :], "bf16").data[0] for v in vectors(2, n, 11))
        fa, fb = (a.astype(np.uint32) << 16).view(np.float32), (b.astype(np.uint32) << 16).view(np.float32)
        exact, terms = oracle.dot(oracle.f64(fa), oracle.f64(fb))
        assert oracle.close_to_sum(_core.dot_bf16(a, b), exact, terms)

    def test_quantized_search_is_identical_across_tiers(self) -> None:
        x = vectors(300, 97, 12)
        q = vectors(5, 97, 13)
        for tier in ("int8", "int4", "binary"):
            stored = simd.quantize(x, tier)
            metric = "hamming" if tier == "binary" else "dot"
            results = []
            for isa in simd.capabilities()["cpu"]:
                with simd.use_isa(isa):
                    results.append((simd.similarity(q, stored, metric), simd.top_k(q, stored, 7, metric)))
            for scores, (idx, top) in results[1:]:
                assert np.array_equal(scores, results[0][0]), tier
                assert np.array_equal(idx, results[0][1][0]) and np.array_equal(top, results[0][1][1])


class TestBf16Rounding:
    def test_round_to_nearest_even(self) -> None:
        one_ulp = 2.0**-7  # bf16 spacing at 1.0
        values = np.array([1.0, 1 + one_ulp / 2, 1 + 3 * one_ulp / 2, 1 + one_ulp / 2 + 2**-20,
                           np.inf, -np.inf, np.nan, -0.0, 3.4e38], np.float32)
        bits = simd.quantize(values[None, :], "bf16").data[0]
        back = (bits.astype(np.uint32) << 16).view(np.float32)
        assert back[0] == 1.0
        assert back[1] == 1.0  # a tie rounds to the even neighbour, down here
        assert back[2] == 1 + 2 * one_ulp  # and up here
        assert back[3] == 1 + one_ulp  # above the tie: up
        assert back[4] == np.inf and back[5] == -np.inf and np.isnan(back[6])
        assert bits[7] == 0x8000 and back[8] == np.inf  # -0 kept; beyond bf16's range: infinity


class TestMatrices:
    def test_layouts_and_per_row_parameters(self) -> None:
        x = vectors(37, 23, 14)
        int8 = simd.quantize(x, "int8")
        assert int8.shape == (37, 23) and len(int8) == 37 and int8.data.shape == (3, 16 * 24)
        for i in (0, 20, 36):
            row = simd.QuantizedVector.from_f32(x[i])
            assert np.array_equal(int8.int8_rows()[i], row.data)
            assert int8.scale[i] == np.float32(row.params.scale) and int8.norm[i] == pytest.approx(row.norm)
        int4 = simd.quantize(x, "int4")
        assert int4.data.shape == (37, 12)
        assert np.array_equal(int4.data[5], simd.Int4Vector.from_f32(x[5]).data)
        binary = simd.quantize(x, "binary")
        assert np.array_equal(binary.data[3], simd.BinaryVector.from_f32(x[3]).data)
        bf16 = simd.quantize(x, "bf16")
        assert np.allclose(bf16.to_f32(), x, rtol=2**-8)
        assert np.allclose(int8.to_f32(), x, atol=np.abs(x).max() / 254 * 1.001)
        assert int8.nbytes == 3 * 16 * 24 + 2 * 4 * 37 + 4 * 48  # panels, scale and norm, sums
        assert binary.nbytes == 37 * 3

    def test_scores_follow_the_per_vector_formulas(self, isa: str) -> None:
        x = vectors(40, 50, 15)
        q = vectors(1, 50, 16)[0]
        q8, q4 = simd.QuantizedVector.from_f32(q), simd.Int4Vector.from_f32(q)
        int8, int4 = simd.quantize(x, "int8"), simd.quantize(x, "int4")
        dots8 = simd.similarity(q, int8, "dot")
        cos4 = simd.similarity(q, int4, "cosine")
        for j in range(40):
            assert dots8[j] == pytest.approx(simd.dot_product_i8(q8, simd.QuantizedVector.from_f32(x[j])), rel=1e-6)
            assert cos4[j] == pytest.approx(q4.cosine_similarity(simd.Int4Vector.from_f32(x[j])), abs=1e-6)
        bits = simd.quantize(x, "binary")
        qb = simd.BinaryVector.from_f32(q)
        assert simd.similarity(q, bits, "hamming").tolist() == [
            qb.hamming_distance(simd.BinaryVector.from_f32(row)) for row in x]

    @pytest.mark.parametrize("tier", ["int8", "int4", "binary", "bf16"])
    def test_top_k_is_the_best_of_the_scores_and_threads_change_nothing(self, isa: str, tier: str) -> None:
        x = vectors(500, 77, 17)
        q = vectors(6, 77, 18)
        stored = simd.quantize(x, tier)
        scores = simd.similarity(q, stored, "cosine")
        idx, top = simd.top_k(q, stored, 9, "cosine", threads=1)
        expected = oracle.rank_order(scores.astype(np.float64), "cosine")[:, :9]
        assert np.array_equal(idx, expected)
        assert np.array_equal(top, np.take_along_axis(scores, expected, 1))
        for threads in (2, 3):
            i2, t2 = simd.top_k(q, stored, 9, "cosine", threads=threads)
            assert np.array_equal(i2, idx) and np.array_equal(t2, top)
            assert np.array_equal(simd.similarity(q, stored, "cosine", threads=threads), scores)
        one, _ = simd.top_k(q[0], stored, 9, "cosine")
        assert one.shape == (9,) and np.array_equal(one, idx[0])

    def test_rescore_returns_exact_scores(self) -> None:
        x = vectors(400, 64, 19)
        q = vectors(3, 64, 20)
        idx, scores = simd.top_k(q, simd.quantize(x, "int4"), 5, "cosine", rescore=x, candidates=50)
        for i in range(3):
            assert scores[i].tolist() == simd.similarity(q[i], x[idx[i]], "cosine").tolist()
            assert list(scores[i]) == sorted(scores[i], reverse=True)

    def test_a_tier_may_be_its_enum_or_its_name_in_any_case(self) -> None:
        x = vectors(40, 24, 3)
        q = vectors(1, 24, 4)[0]
        for enum, name in ((simd.QuantizationTier.INT8, "int8"), (simd.QuantizationTier.INT4,
                           "int4"), (simd.QuantizationTier.BINARY, "binary")):
            by_enum, by_name = simd.quantize(x, enum), simd.quantize(x, name.upper())
            assert by_enum.tier == by_name.tier == name
            assert np.array_equal(by_enum.data, by_name.data)
            metric = "cosine"
            assert np.array_equal(simd.similarity(q, by_enum, metric),
                                  simd.similarity(q, simd.quantize(x, name), metric))
            rebuilt = simd.QuantizedMatrix(enum, by_name.rows, by_name.dims, by_name.data,
                                           scale=by_name.scale, max_abs=by_name.max_abs,
                                           norm=by_name.norm, sums=by_name.sums)
            assert rebuilt.tier == name
        with pytest.raises(ValueError, match="QuantizationTier.FULL is float32 itself"):
            simd.quantize(x, simd.QuantizationTier.FULL)
        with pytest.raises(TypeError, match="tier must be a tier name or a QuantizationTier, "
                                            "got int"):
            simd.quantize(x, 8)  # type: ignore[arg-type]
        prepared = simd.prepare_query(q, "int8")  # the per-vector API takes names too
        assert prepared.tier is simd.QuantizationTier.INT8

    def test_repr_is_shape_tier_and_bytes(self) -> None:
        stored = simd.quantize(vectors(1000, 384, 5), "int8")
        assert repr(stored) == (f"QuantizedMatrix(tier='int8', rows=1000, dims=384, "
                                f"nbytes={stored.nbytes})")
        assert stored.nbytes == 1008 * 384 + 1000 * 4 * 2 + 1008 * 4  # panels, scale, norm, sums

    def test_errors(self) -> None:
        x = vectors(20, 8)
        with pytest.raises(ValueError, match="unknown tier 'fp8'; valid tiers: int8, int4, binary, bf16"):
            simd.quantize(x, "fp8")
        stored = simd.quantize(x, "int8")
        with pytest.raises(ValueError, match="metric 'l2' is not available for int8 matrices; use dot or cosine"):
            simd.similarity(x[0], stored, "l2")
        with pytest.raises(ValueError, match="queries have 9 dims, matrix rows have 8"):
            simd.top_k(np.ones(9), stored, 3)
        with pytest.raises(ValueError, match=r"rescore has shape \(19, 8\)"):
            simd.top_k(x[0], stored, 3, rescore=x[:19])
        with pytest.raises(ValueError, match=r"candidates \(2\) must be at least k \(3\)"):
            simd.top_k(x[0], stored, 3, rescore=x, candidates=2)
        with pytest.raises(TypeError, match="rescore and candidates apply to quantized matrices"):
            simd.top_k(x[0], x, 3, rescore=x)
        with pytest.raises(ValueError, match="hamming has no float32 counterpart"):
            simd.top_k(x[0], simd.quantize(x, "binary"), 3, "hamming", rescore=x)
        with pytest.raises(ValueError, match=r"matrix must be a 2-D"):
            simd.quantize(np.ones(3), "int8")


@pytest.mark.parametrize("d", [384, 768])
def test_retrieval_fidelity_on_clustered_unit_vectors(d: int) -> None:
    """recall@10 against exact float32: int8 >= 0.98, int4 >= 0.85, binary >= 0.30 without
    rescoring; every tier >= 0.99 with rescoring at its default candidates."""
    rng = np.random.default_rng(d)
    x, centers = clustered(10_000, d, 500, 0.8, rng)
    q, _ = clustered(64, d, 500, 0.8, rng, centers)
    exact, _ = simd.top_k(q, x, 10, "cosine")

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)]))

    floors = {"int8": (0.98, 0.99), "int4": (0.85, 0.99), "binary": (0.30, 0.99), "bf16": (0.98, 0.99)}
    for tier, (plain_floor, rescored_floor) in floors.items():
        stored = simd.quantize(x, tier)
        assert recall(simd.top_k(q, stored, 10, "cosine")[0]) >= plain_floor, tier
        if rescored_floor is not None:
            assert recall(simd.top_k(q, stored, 10, "cosine", rescore=x)[0]) >= rescored_floor, tier


class TestBf16ManyQueries:
    """Many queries against a bf16 matrix run through register tiles (dot_bf16_block): each score
    is the one-query path's, bit for bit, whatever the number of queries, the tile or query block
    a pair falls in, and the thread count."""

    @pytest.mark.parametrize("d", [1, 15, 33, 100, 768])
    @pytest.mark.parametrize("m", [2, 3, 5, 7, 17, 64])
    def test_each_query_scores_as_if_alone(self, isa: str, m: int, d: int) -> None:
        x = vectors(203, d, 30)
        q = vectors(m, d, 31)
        stored = simd.quantize(x, "bf16")
        for metric in ("dot", "cosine"):
            many = simd.similarity(q, stored, metric, threads=1)
            alone = np.stack([simd.similarity(q[i], stored, metric, threads=1) for i in range(m)])
            assert np.array_equal(many, alone)
            for threads in (2, 3):
                assert np.array_equal(simd.similarity(q, stored, metric, threads=threads), many)
            idx, top = simd.top_k(q, stored, 7, metric, threads=1)
            for threads in (2, 3):
                i2, t2 = simd.top_k(q, stored, 7, metric, threads=threads)
                assert np.array_equal(i2, idx) and np.array_equal(t2, top)
            for i in (0, m - 1):
                i1, t1 = simd.top_k(q[i], stored, 7, metric, threads=1)
                assert np.array_equal(i1, idx[i]) and np.array_equal(t1, top[i])

    @pytest.mark.parametrize("d", [17, 768, 1537])
    def test_dots_are_within_the_sum_tolerance_of_the_exact_products(self, isa: str, d: int) -> None:
        x, q = vectors(41, d, 32), vectors(13, d, 33)
        xb = simd.quantize(x, "bf16").to_f32().astype(np.float64)
        qb = simd.quantize(q, "bf16").to_f32().astype(np.float64)
        got = simd.similarity(q, simd.quantize(x, "bf16"), "dot")
        for i in range(len(q)):
            for j in range(len(x)):
                exact, terms = oracle.dot(qb[i], xb[j])
                assert oracle.close_to_sum(float(got[i, j]), exact, terms), (i, j)


class TestQuantizationMatchesTheReference:
    """The C quantizers against numpy references of the original's rules, bit for bit."""

    @staticmethod
    def awkward(d: int) -> np.ndarray:
        x = vectors(9, d, 21) * np.float32(3.0)
        x[1] = 0.0  # all zero
        x[2, :: max(1, d // 3)] = np.nan
        x[3, 0] = np.inf
        x[4] = np.float32(1e-12)  # below the original's 1e-10 guard: scaled like any other row
        x[7] = np.float32(1e-35)  # below 1e-30: the zero vector
        x[5, : min(d, 7)] = np.array([127, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5], np.float32)[: min(d, 7)]
        x[6] = np.float32(3.4e38)
        return x

    @pytest.mark.parametrize("d", [1, 2, 7, 8, 9, 63, 384, 1537])
    def test_every_tier(self, d: int) -> None:
        x = self.awkward(d)
        int8 = simd.quantize(x, "int8")
        values, scale = oracle.quantize_int8(x)
        assert np.array_equal(int8.int8_rows(), values) and np.array_equal(int8.scale, scale)
        assert np.array_equal(int8.sums[:9], values.sum(axis=1, dtype=np.int64))
        assert np.allclose(int8.norm, oracle.finite_norms(x), rtol=1e-6)
        int4 = simd.quantize(x, "int4")
        packed, scale4, max_abs = oracle.quantize_int4(x)
        assert np.array_equal(int4.data, packed) and np.array_equal(int4.scale, scale4)
        assert np.array_equal(int4.max_abs, max_abs)
        assert np.array_equal(simd.quantize(x, "binary").data, oracle.quantize_binary(x))
        assert np.array_equal(simd.quantize(x, "bf16").data, oracle.to_bf16(x))
        for row in range(9):  # the per-vector types quantize the same way
            assert np.array_equal(simd.QuantizedVector.from_f32(x[row]).data, values[row])
            assert np.array_equal(simd.Int4Vector.from_f32(x[row]).data, packed[row])


class TestSmallDefects:
    @pytest.mark.parametrize(("name", "kind"), [("int8", simd.QuantizedVector),
                                                ("INT4", simd.Int4Vector),
                                                ("binary", simd.BinaryVector),
                                                ("full", np.ndarray)])
    def test_a_tier_given_by_name_is_that_tier(self, name: str, kind: type) -> None:
        data = simd.QuantizedData.from_f32(np.ones(4, np.float32), name)  # type: ignore[arg-type]
        assert data.tier is T[name.upper()] and isinstance(data.value, kind)

    def test_an_unknown_tier_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown quantization tier 'int2'; valid tiers: "
                                             "FULL, INT8, INT4, BINARY"):
            simd.QuantizedData.from_f32(np.ones(4, np.float32), "int2")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="tier must be a QuantizationTier or its name, got int"):
            simd.QuantizedData.from_f32(np.ones(4, np.float32), 8)  # type: ignore[arg-type]

    @pytest.mark.parametrize("tier", ["int8", "int4", "binary", "bf16"])
    @pytest.mark.parametrize("rows", [0, 3, 17])
    def test_zero_dimension_matrices_round_trip(self, tier: str, rows: int) -> None:
        stored = simd.quantize(np.zeros((rows, 0), np.float32), tier)
        assert stored.to_f32().shape == (rows, 0) and stored.to_f32().dtype == np.float32
        if tier == "int8":
            assert stored.int8_rows().shape == (rows, 0)


class TestTinyNorms:
    """Quantized cosine does not depend on a vector's scale: a query or row of tiny (even
    subnormal) values scores finitely, as its rescaled self does, the same on every tier. A
    vector whose largest |value| is below 1e-30 is zero to float32 (its squared norm underflows)
    and scores 0, as on the float32 path."""

    ROWS = np.array([[1, 1], [1, 0], [-3, 1], [0.5, -0.25]], np.float32)

    @staticmethod
    def on_every_tier(call: object) -> list[np.ndarray]:
        results = []
        for tier in simd.capabilities()["cpu"]:
            with simd.use_isa(tier):
                results.append(call())  # type: ignore[operator]
        return results

    @pytest.mark.parametrize("tier", ["int8", "int4", "bf16"])
    @pytest.mark.parametrize("scale", [2.0**-90, 2.0**-60, 2.0**-20, 2.0**60, 2.0**100])
    def test_scaling_the_query_changes_no_score(self, tier: str, scale: float) -> None:
        stored = simd.quantize(self.ROWS, tier)
        q = np.array([1, 1], np.float32)
        plain = simd.similarity(q, stored, "cosine")
        for scores in self.on_every_tier(lambda: simd.similarity(q * np.float32(scale), stored,
                                                                 "cosine")):
            assert np.all(np.isfinite(scores))
            if tier == "bf16":
                np.testing.assert_allclose(scores, plain, rtol=0, atol=1e-6)
            else:
                assert np.array_equal(scores, plain), (scores, plain)
        exact = oracle.scores(oracle.f64(q[None]), oracle.f64(self.ROWS), "cosine")[0]
        assert np.all(np.abs(plain - exact) <= {"int8": 0.02, "int4": 0.1, "bf16": 0.01}[tier])

    @pytest.mark.parametrize("tier", ["int8", "int4", "bf16"])
    def test_the_issue_queries(self, tier: str) -> None:
        """bf16 [1e-30, 1e-30] scored inf (NaN on avx512bf16); int4 gave -0.80 for 0.707."""
        stored = simd.quantize(self.ROWS, tier)
        tiny = np.float32([1e-30, 1e-30])
        normal = simd.similarity(np.float32([1, 1]), stored, "cosine")
        results = self.on_every_tier(lambda: simd.similarity(tiny, stored, "cosine"))
        for scores in results:
            assert np.all(np.isfinite(scores))
            np.testing.assert_allclose(scores, normal, rtol=0, atol=1e-6)

    @pytest.mark.parametrize("tier", ["int8", "int4", "bf16"])
    @pytest.mark.parametrize("value", [1e-40, 1e-45, 1e-31, -5e-38])
    def test_rows_below_the_float32_floor_score_zero(self, tier: str, value: float) -> None:
        rows = np.vstack([np.full((2, 33), value, np.float32), np.ones((1, 33), np.float32)])
        stored = simd.quantize(rows, tier)
        q = np.linspace(-1, 1, 33).astype(np.float32) + np.float32(0.1)
        f32 = simd.similarity(q, rows, "cosine")
        for scores in self.on_every_tier(lambda: simd.similarity(q, stored, "cosine")):
            assert np.all(np.isfinite(scores)), scores
            assert scores[0] == scores[1] == 0.0 == f32[0] == f32[1]
            assert scores[2] == pytest.approx(f32[2], abs=0.02)
            tiny_query = simd.similarity(np.full(33, value, np.float32), stored, "cosine")
            assert np.array_equal(tiny_query, np.zeros(3, np.float32))

    def test_per_vector_types_too(self) -> None:
        rng = np.random.default_rng(3)
        a, b = rng.standard_normal((2, 300)).astype(np.float32)
        tiny = a * np.float32(2.0**-90)
        q8, t8, b8 = (simd.QuantizedVector.from_f32(v) for v in (a, tiny, b))
        assert simd.cosine_similarity_i8(t8, b8) == simd.cosine_similarity_i8(q8, b8)
        assert math.isfinite(simd.dot_product_i8(t8, b8))
        q4, t4, b4 = (simd.Int4Vector.from_f32(v) for v in (a, tiny, b))
        assert t4.cosine_similarity(b4) == pytest.approx(q4.cosine_similarity(b4), abs=1e-6)
        zero = simd.QuantizedVector.from_f32(np.full(300, 1e-40, np.float32))
        assert zero.norm == 0.0 and simd.cosine_similarity_i8(zero, b8) == 0.0
        zero4 = simd.Int4Vector.from_f32(np.full(300, 1e-40, np.float32))
        assert zero4.cosine_similarity(b4) == 0.0

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(exponent=st.integers(-100, 120), seed=st.integers(0, 2**16),
           tier=st.sampled_from(["int8", "int4", "bf16"]))
    def test_fuzz_finite_and_the_same_on_every_tier(self, exponent: int, seed: int,
                                                    tier: str) -> None:
        rng = np.random.default_rng(seed)
        rows = rng.standard_normal((9, 21)).astype(np.float32)
        rows[rng.integers(0, 9, 3)] *= np.float32(2.0 ** int(rng.integers(-140, 100)))
        q = rng.standard_normal((3, 21)).astype(np.float32) * np.float32(2.0**exponent)
        stored = simd.quantize(rows, tier)
        results = self.on_every_tier(lambda: simd.similarity(q, stored, "cosine"))
        for scores in results:
            assert np.all(np.isfinite(scores)) and np.all(np.abs(scores) <= 1.0 + 1e-5)
            if tier == "bf16":
                np.testing.assert_allclose(scores, results[0], rtol=0, atol=1e-5)
            else:
                assert np.array_equal(scores, results[0])
