"""The package type-checks under mypy --strict (the configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_with_sentence_transformers_typed(tmp_path: Path) -> None:
    """The same check when sentence-transformers is installed with its types (stubs of the two
    module layouts it has had): a `type: ignore` needed in one case is unused in the other, and
    `warn_unused_ignores` (strict) fails either way. The plain test covers this environment."""
    stubs = tmp_path / "stubs" / "sentence_transformers"
    (stubs / "sentence_transformer").mkdir(parents=True)
    classes = ("from typing import Any\n"
               "class Transformer:\n    def __init__(self, *a: Any, **k: Any) -> None: ...\n"
               "class Pooling:\n    def __init__(self, *a: Any, **k: Any) -> None: ...\n")
    (stubs / "__init__.pyi").write_text(
        "from typing import Any\nclass SentenceTransformer:\n"
        "    def __init__(self, *a: Any, **k: Any) -> None: ...\n"
        "    def __getattr__(self, name: str) -> Any: ...\n")
    (stubs / "models.pyi").write_text(classes)
    (stubs / "sentence_transformer" / "__init__.pyi").write_text("")
    (stubs / "sentence_transformer" / "modules.pyi").write_text(classes)
    import os

    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "MYPYPATH": str(tmp_path / "stubs")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
