"""A transformer encoder's row operations on SIMD kernels, in place (used by the native encoder).

Each works on a writable C-contiguous float32 array whose last axis is the width, row by row:
`bias_gelu_(x, bias=None)` (the exact erf GELU), `layer_norm_(x, gamma, beta, eps, *, bias=None,
residual=None)` (PyTorch's LayerNorm after adding a bias and a residual), `softmax_(x)`. Results
match PyTorch's float32 operators to within a few units in the last place: erf and exp are
evaluated with fixed polynomials (le/nn.h), the same on every CPU tier.
"""

from lattice_embed._kernels._core import bias_gelu_, layer_norm_, softmax_

__all__ = ["bias_gelu_", "layer_norm_", "softmax_"]
