"""Benchmark helpers: which tiers and peers exist here."""

from __future__ import annotations

import importlib
from types import ModuleType

from lattice_embed import simd

CPU_TIERS: list[str] = simd.capabilities()["cpu"]


def optional(name: str) -> ModuleType | None:
    """A peer library when installed (pip install -e '.[bench]'), else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
