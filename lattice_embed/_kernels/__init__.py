"""Compiled kernels (private). Only ``lattice_embed.simd`` imports this package."""

try:
    from lattice_embed._kernels import _core
except ImportError as exc:  # pragma: no cover - depends on how the package was installed
    raise ImportError(
        "lattice_embed's compiled kernels could not be imported "
        f"({exc}). If you are working from a source checkout, build them first with "
        "`pip install -e .` (or `python setup.py build_ext --inplace`)."
    ) from exc

__all__ = ["_core"]
