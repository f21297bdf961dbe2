"""Data flows down: only lattice_embed.simd may import the compiled kernels."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PACKAGE  # the package under test, installed or in the checkout

ALLOWED = {PACKAGE / "simd", PACKAGE / "_kernels"}


def imported_modules(source: str, path: Path) -> set[str]:
    """Every module `source` (the text of the module at `path`) imports, relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join([*package, *filter(None, [base])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_only_simd_imports_the_kernels() -> None:
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if not any(parent in ALLOWED for parent in path.parents)
        and any(name.startswith("lattice_embed._kernels")
                for name in imported_modules(path.read_text(), path))
    ]
    assert offenders == []


def test_the_scan_sees_relative_and_absolute_imports() -> None:
    source = "from ._kernels import _core\nimport lattice_embed._kernels._core as k\n"
    names = imported_modules(source, PACKAGE / "model.py")
    assert "lattice_embed._kernels" in names and "lattice_embed._kernels._core" in names
    nested = imported_modules("from .. import _kernels\n", PACKAGE / "service" / "native.py")
    assert "lattice_embed._kernels" in nested
