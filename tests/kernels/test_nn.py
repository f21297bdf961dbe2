"""The encoder's row operations on every tier, against float64 formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lattice_embed.simd import nn

erf = np.vectorize(math.erf)
WIDTHS = [1, 3, 8, 9, 17, 33, 384, 1537]


def rows(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng([*shape, seed]).standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("cols", WIDTHS, ids=lambda c: f"cols={c}")
class TestRowOps:
    def test_bias_gelu(self, isa: str, cols: int) -> None:
        x, bias = rows((4, cols), 0, 4.0), rows((cols,), 1)
        v = (x + bias).astype(np.float64)
        nn.bias_gelu_(x, bias)
        exact = 0.5 * v * (1 + erf(v / math.sqrt(2)))
        assert np.all(np.abs(x - exact) <= 5e-7 * np.abs(v) + 1e-7)

    def test_layer_norm_with_bias_and_residual(self, isa: str, cols: int) -> None:
        x, residual = rows((3, cols), 2, 5.0), rows((3, cols), 3)
        bias, gamma, beta = rows((cols,), 4), 1 + rows((cols,), 5, 0.1), rows((cols,), 6)
        v = x.astype(np.float64) + bias + residual
        nn.layer_norm_(x, gamma, beta, 1e-12, bias=bias, residual=residual)
        mean, var = v.mean(axis=1, keepdims=True), v.var(axis=1, keepdims=True)
        exact = (v - mean) / np.sqrt(var + 1e-12) * gamma + beta
        assert np.allclose(x, exact, rtol=1e-4, atol=1e-4)

    def test_softmax(self, isa: str, cols: int) -> None:
        x = rows((2, 3, cols), 7, 3.0)
        e = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
        nn.softmax_(x)
        assert np.allclose(x, e / e.sum(axis=-1, keepdims=True), rtol=2e-6, atol=1e-30)


def test_layer_norm_without_extras_and_softmax_underflow(isa: str) -> None:
    x = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)
    nn.layer_norm_(x, np.ones(4, np.float32), np.zeros(4, np.float32), 1e-5)
    assert np.allclose(x, [[-1.3416, -0.4472, 0.4472, 1.3416]], atol=1e-4)
    scores = np.array([[0.0, -200.0, 1.0]], np.float32)
    nn.softmax_(scores)
    assert scores[0, 1] == 0.0 and scores.sum() == pytest.approx(1.0)


def test_errors() -> None:
    with pytest.raises(TypeError, match="x must be a writable C-contiguous float32 array"):
        nn.softmax_(np.ones((2, 2)))
    read_only = np.ones((2, 2), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        nn.bias_gelu_(read_only)
    with pytest.raises(ValueError, match="bias has 3 values, the rows have 2"):
        nn.bias_gelu_(np.ones((2, 2), np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"residual must be C-contiguous float32 of shape \(2, 2\)"):
        nn.layer_norm_(np.ones((2, 2), np.float32), np.ones(2, np.float32), np.ones(2, np.float32), 1e-5,
                       residual=np.ones((2, 3), np.float32))
