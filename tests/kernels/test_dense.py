"""Dense f32 kernels against the float64 oracle, on every tier this CPU runs and every tail."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lattice_embed import simd
from tests import oracle
from tests.conftest import python_command
from tests.oracle import TAIL_LENGTHS, TOLERANCE


def pair(d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([d, seed])
    return rng.standard_normal(d).astype(np.float32), rng.standard_normal(d).astype(np.float32)


@pytest.mark.parametrize("d", TAIL_LENGTHS, ids=lambda d: f"d={d}")
class TestAgainstOracle:
    def test_dot_product(self, isa: str, d: int) -> None:
        a, b = pair(d)
        exact, terms = oracle.dot(oracle.f64(a), oracle.f64(b))
        got = simd.dot_product(a, b)
        assert isinstance(got, float)
        assert oracle.close_to_sum(got, exact, terms)

    def test_squared_euclidean_distance(self, isa: str, d: int) -> None:
        a, b = pair(d)
        exact, terms = oracle.l2sq(oracle.f64(a), oracle.f64(b))
        assert oracle.close_to_sum(simd.squared_euclidean_distance(a, b), exact, terms)

    def test_euclidean_distance(self, isa: str, d: int) -> None:
        a, b = pair(d)
        exact, terms = oracle.l2sq(oracle.f64(a), oracle.f64(b))
        got = simd.euclidean_distance(a, b)
        assert oracle.close_to_sum(got * got, exact, terms)
        assert got >= 0.0

    def test_manhattan_distance(self, isa: str, d: int) -> None:
        a, b = pair(d)
        exact, terms = oracle.l1(oracle.f64(a), oracle.f64(b))
        assert oracle.close_to_sum(simd.manhattan_distance(a, b), exact, terms)

    def test_cosine_similarity_and_distance(self, isa: str, d: int) -> None:
        a, b = pair(d)
        exact = oracle.cosine(oracle.f64(a), oracle.f64(b))
        assert simd.cosine_similarity(a, b) == pytest.approx(exact, abs=TOLERANCE["cosine"])
        assert simd.cosine_distance(a, b) == pytest.approx(1.0 - exact, abs=TOLERANCE["cosine"])

    def test_cosine_of_a_vector_with_itself_is_one(self, isa: str, d: int) -> None:
        a, _ = pair(d)
        expected = 1.0 if d else 0.0
        assert simd.cosine_similarity(a, a) == pytest.approx(expected, abs=TOLERANCE["cosine"])

    def test_norm(self, isa: str, d: int) -> None:
        a, _ = pair(d)
        exact, terms = oracle.dot(oracle.f64(a), oracle.f64(a))
        got = simd.norm(a)
        assert oracle.close_to_sum(got * got, exact, terms)
        assert simd.query_norm(a) == got

    def test_cosine_similarity_pre_normalized(self, isa: str, d: int) -> None:
        q, c = pair(d)
        exact = oracle.cosine(oracle.f64(q), oracle.f64(c))
        got = simd.cosine_similarity_pre_normalized(q, c, simd.norm(q))
        assert got == pytest.approx(exact, abs=TOLERANCE["cosine"])

    def test_normalize_vector(self, isa: str, d: int) -> None:
        a, _ = pair(d)
        got = simd.normalize(a)
        assert got.dtype == np.float32 and got.shape == a.shape and got is not a
        np.testing.assert_allclose(got, oracle.normalize(oracle.f64(a)), rtol=0,
                                   atol=TOLERANCE["unit_vector"])

    def test_normalize_rows_in_place(self, isa: str, d: int) -> None:
        rng = np.random.default_rng(d)
        x = rng.standard_normal((5, d)).astype(np.float32) * np.float32(3.0)
        x[2] = 0.0  # a zero row stays zero
        expected = oracle.normalize(oracle.f64(x))
        result = simd.normalize(x, out=x)
        assert result is x
        np.testing.assert_allclose(x, expected, rtol=0, atol=TOLERANCE["unit_vector"])


class TestDegenerateInputs:
    def test_empty_vectors(self, isa: str) -> None:
        empty = np.empty(0, np.float32)
        assert simd.dot_product(empty, empty) == 0.0
        assert simd.cosine_similarity(empty, empty) == 0.0
        assert simd.squared_euclidean_distance(empty, empty) == 0.0
        assert simd.euclidean_distance(empty, empty) == 0.0
        assert simd.manhattan_distance(empty, empty) == 0.0
        assert simd.norm(empty) == 0.0
        assert simd.normalize(empty).shape == (0,)

    @pytest.mark.parametrize("d", [1, 17, 768])
    def test_zero_vector(self, isa: str, d: int) -> None:
        zero, b = np.zeros(d, np.float32), pair(d)[1]
        assert simd.cosine_similarity(zero, b) == 0.0
        assert simd.cosine_similarity(b, zero) == 0.0
        assert simd.cosine_distance(zero, b) == 1.0
        assert simd.cosine_similarity_pre_normalized(b, zero, simd.norm(b)) == 0.0
        assert simd.cosine_similarity_pre_normalized(b, b, 0.0) == 0.0
        assert np.array_equal(simd.normalize(zero), zero)

    @pytest.mark.parametrize("d", [1, 9, 65, 1537])
    @pytest.mark.parametrize("position", ["first", "last"])
    def test_nan_propagates(self, isa: str, d: int, position: str) -> None:
        a, b = pair(d)
        a[0 if position == "first" else -1] = np.nan
        for op in (simd.dot_product, simd.cosine_similarity, simd.squared_euclidean_distance,
                   simd.euclidean_distance, simd.manhattan_distance):
            assert math.isnan(op(a, b)), op.__name__
        assert math.isnan(simd.norm(a))

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_normalize_leaves_non_finite_norm_unchanged(self, isa: str, bad: float) -> None:
        x = np.ones((2, 33), np.float32)
        x[0, 5] = bad
        got = simd.normalize(x)
        assert np.array_equal(got[0], x[0], equal_nan=True)
        np.testing.assert_allclose(got[1], np.full(33, 1 / math.sqrt(33)), atol=1e-7)

    def test_normalize_overflowing_norm_unchanged(self, isa: str) -> None:
        x = np.full(8, 3e38, np.float32)  # finite values whose squared norm overflows float32
        assert np.array_equal(simd.normalize(x), x)

    def test_unit_vectors_dot_equals_cosine(self, isa: str) -> None:
        a, b = (simd.normalize(v) for v in pair(768))
        assert simd.dot_product(a, b) == pytest.approx(simd.cosine_similarity(a, b), abs=1e-6)

    def test_opposite_vectors(self, isa: str) -> None:
        a, _ = pair(384)
        assert simd.cosine_similarity(a, -a) == pytest.approx(-1.0, abs=1e-6)
        assert simd.cosine_distance(a, -a) == pytest.approx(2.0, abs=1e-6)


class TestInputForms:
    """Everything that is not an exact aligned float32 array takes the general path once."""

    @pytest.mark.parametrize("offset", [1, 2, 3])
    def test_misaligned_views(self, isa: str, offset: int) -> None:
        a, b = pair(1537 + offset)
        av, bv = a[offset:], b[offset:]  # views starting off a 16/32/64-byte boundary
        exact, terms = oracle.dot(oracle.f64(av), oracle.f64(bv))
        assert oracle.close_to_sum(simd.dot_product(av, bv), exact, terms)

    def test_byte_misaligned_buffer(self, isa: str) -> None:
        a, b = pair(100)
        raw = bytearray(1 + a.nbytes)
        raw[1:] = a.tobytes()
        unaligned = np.frombuffer(raw, dtype=np.float32, offset=1)
        assert not unaligned.flags.aligned
        assert simd.dot_product(unaligned, b) == simd.dot_product(a, b)

    def test_read_only(self, isa: str) -> None:
        a, b = pair(384)
        expected = simd.dot_product(a, b)
        a.flags.writeable = b.flags.writeable = False
        assert simd.dot_product(a, b) == expected
        assert np.array_equal(simd.normalize(a), simd.normalize(a.copy()))

    def test_strided_input_is_copied(self, isa: str) -> None:
        a, b = pair(2 * 384)
        strided_a, strided_b = a[::2], b[::2]
        assert not strided_a.flags.c_contiguous
        assert simd.dot_product(strided_a, strided_b) == simd.dot_product(
            strided_a.copy(), strided_b.copy())
        column = np.asfortranarray(np.stack([a, b], axis=1))[:, 0]
        assert simd.norm(column) == simd.norm(a)

    @pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8, np.int64])
    def test_other_real_dtypes_are_converted(self, isa: str, dtype: type) -> None:
        a, b = (np.arange(1, 40) % 7).astype(dtype), (np.arange(39) % 5).astype(dtype)
        a32, b32 = a.astype(np.float32), b.astype(np.float32)
        assert simd.dot_product(a, b) == simd.dot_product(a32, b32)
        assert np.array_equal(simd.normalize(a), simd.normalize(a32))

    def test_big_endian_is_converted(self, isa: str) -> None:
        a, b = pair(65)
        assert simd.dot_product(a.astype(">f4"), b) == simd.dot_product(a, b)

    def test_lists_and_buffers(self, isa: str) -> None:
        import array

        assert simd.dot_product([1, 2, 3], (4.0, 5.0, 6.0)) == 32.0
        assert simd.dot_product(array.array("f", [1, 2]), memoryview(array.array("d", [3, 4]))) == 11.0

    def test_subclass_and_zero_stride(self, isa: str) -> None:
        broadcast = np.broadcast_to(np.float32(2.0), (10,))
        assert simd.dot_product(broadcast, np.ones(10, np.float32)) == 20.0
        assert simd.dot_product(np.ma.masked_array(np.ones(3)), np.ones(3)) == 3.0


class TestNormalizeOut:
    def test_out_receives_result_and_input_is_untouched(self, isa: str) -> None:
        x = pair(100)[0].reshape(4, 25)
        before = x.copy()
        out = np.empty_like(x)
        assert simd.normalize(x, out=out) is out
        assert np.array_equal(x, before)
        np.testing.assert_allclose(out, oracle.normalize(oracle.f64(x)), atol=2e-6)

    def test_converted_input_is_normalized_in_its_copy(self, isa: str) -> None:
        x = np.arange(1.0, 7.0).reshape(2, 3)  # float64
        got = simd.normalize(x)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, oracle.normalize(x), atol=2e-6)
        assert x[0, 0] == 1.0  # the caller's array is not modified

    def test_rows_of_zero_length(self, isa: str) -> None:
        assert simd.normalize(np.empty((3, 0), np.float32)).shape == (3, 0)
        assert simd.normalize(np.empty((0, 8), np.float32)).shape == (0, 8)


class TestNormalizeNeverWritesItsInput:
    """Only `out=` is written: a buffer the general path reads without copying is the caller's."""

    @staticmethod
    def buffers(tmp_path: object) -> list[tuple[str, object, object]]:
        """(name, input, a way to read its values back) for every kind of float32 buffer."""
        import array
        import warnings
        from pathlib import Path

        values = np.float32([3, 4, 0, 12])
        raw = bytearray(values.tobytes())
        arr = array.array("f", values.tolist())
        path = Path(str(tmp_path)) / "v.f32"
        values.tofile(path)
        writable_map = np.memmap(path, np.float32, mode="r+")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            matrix = np.matrix(values.reshape(2, 2))

        class Sub(np.ndarray):
            pass

        sub = values.copy().view(Sub)
        return [
            ("bytes", memoryview(values.tobytes()).cast("f"), None),
            ("bytearray", memoryview(raw).cast("f"), lambda: np.frombuffer(raw, np.float32)),
            ("array.array", arr, lambda: np.float32(arr.tolist())),
            ("memmap r+", writable_map, lambda: np.fromfile(path, np.float32)),
            ("ndarray subclass", sub, lambda: np.asarray(sub).copy()),
            ("np.matrix", matrix, lambda: np.asarray(matrix).reshape(-1).copy()),
        ]

    def test_buffers_keep_their_values(self, isa: str, tmp_path: object) -> None:
        import warnings

        expected = np.float32([3, 4, 0, 12])
        for name, x, read in self.buffers(tmp_path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.matrix
                got = simd.normalize(x)
            assert got.shape in ((4,), (2, 2)), name
            if read is not None:
                assert np.array_equal(read(), expected), f"{name} was written"

    def test_immutable_bytes_are_not_written(self, isa: str) -> None:
        raw = np.float32([3, 4]).tobytes()
        got = simd.normalize(memoryview(raw).cast("f"))
        assert np.array_equal(np.frombuffer(raw, np.float32), [3, 4])
        np.testing.assert_allclose(got, [0.6, 0.8], atol=1e-7)

    def test_read_only_memmap_does_not_crash(self, tmp_path: object) -> None:
        """Writing through a read-only mapping is a SIGSEGV: run it where that cannot kill
        pytest."""
        import subprocess
        from pathlib import Path

        path = Path(str(tmp_path)) / "v.f32"
        np.float32([3, 4]).tofile(path)
        code = ("import numpy as np, lattice_embed.simd as s, sys; "
                f"m = np.memmap(sys.argv[1], np.float32, mode='r'); print(list(s.normalize(m)))")
        run = subprocess.run([*python_command(), "-c", code, str(path)], capture_output=True,
                             text=True, timeout=120, check=False)
        assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
        assert np.array_equal(np.fromfile(path, np.float32), [3, 4])
        assert "0.6" in run.stdout and "0.8" in run.stdout

    @pytest.mark.parametrize("shift", [1, -1, 3])
    def test_out_overlapping_x_is_buffered(self, isa: str, shift: int) -> None:
        rng = np.random.default_rng(shift + 10)
        base = rng.standard_normal(70).astype(np.float32)
        x_at, out_at = (0, shift) if shift > 0 else (-shift, 0)
        x, out = base[x_at:x_at + 64], base[out_at:out_at + 64]
        expected = oracle.normalize(oracle.f64(x.copy()))
        assert simd.normalize(x, out=out) is out
        np.testing.assert_allclose(out, expected, rtol=0, atol=TOLERANCE["unit_vector"])

    def test_out_overlapping_rows_is_buffered(self, isa: str) -> None:
        base = np.random.default_rng(3).standard_normal((5, 33)).astype(np.float32) + 2
        x, out = base[:4], base[1:]
        expected = oracle.normalize(oracle.f64(x.copy()))
        simd.normalize(x, out=out)
        np.testing.assert_allclose(base[1:], expected, rtol=0, atol=TOLERANCE["unit_vector"])
