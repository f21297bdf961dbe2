"""The model, migration and backfill layers are pure Python over the standard library:
they never import the compiled kernels, the SIMD API or numpy."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import PACKAGE  # the package under test, installed or in the checkout

LAYER_FILES = sorted(
    [PACKAGE / "model.py", PACKAGE / "_serde.py"]
    + list((PACKAGE / "migration").glob("*.py"))
    + list((PACKAGE / "backfill").glob("*.py"))
)
# Relative imports may reach these modules of the package, nothing else.
OWN_MODULES = {"model", "_serde", "migration", "backfill"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(relative level, module) for every import in the file."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_the_layer_files_exist() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in LAYER_FILES}
    assert {"model.py", "migration/controller.py", "backfill/coordinator.py"} <= names


@pytest.mark.parametrize("path", LAYER_FILES, ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_layer_imports_only_the_standard_library_and_its_own_modules(path: Path) -> None:
    in_subpackage = path.parent != PACKAGE
    for level, module in imported_modules(path):
        if level == 0:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__", (path.name, module)
            continue
        # `from .x` inside a subpackage stays in it; `from ..x` (or `.x` at the top) must
        # name one of the pure-Python modules.
        if in_subpackage and level == 1:
            continue
        assert module.split(".")[0] in OWN_MODULES, (path.name, level, module)
