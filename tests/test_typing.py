"""Types: the package type-checks under mypy --strict (the configuration in pyproject.toml), the
compiled module's stub matches the module, and a user's script checked against the package under
test (installed or editable) sees precise types, not `Any`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PACKAGE, ROOT, needs_source

# mypy --strict over the sources, with the checkout's configuration.
source = needs_source("pyproject.toml", "lattice_embed/__init__.py")


@source
def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@source
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

    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "MYPYPATH": str(tmp_path / "stubs")},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _mypy_env() -> dict[str, str]:
    """The environment in which mypy, run from a folder of its own, finds the package under test
    as the interpreter does: an installed copy through site-packages (PEP 561: py.typed and the
    stub ship in the wheel); an editable install, whose import hook mypy cannot follow, through
    MYPYPATH."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "MYPYPATH"}}
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    if PACKAGE.parent not in site:
        env["MYPYPATH"] = str(PACKAGE.parent)
    return env


def _no_config(tmp_path: Path) -> str:
    """An empty mypy configuration: a user's defaults, not the checkout's pyproject.toml."""
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    return str(config)


def test_the_stub_matches_the_compiled_module(tmp_path: Path) -> None:
    """mypy's stubtest imports the extension and compares every name and signature (the Cython
    functions carry theirs) with lattice_embed/_kernels/_core.pyi."""
    allow = tmp_path / "allowlist.txt"
    allow.write_text("lattice_embed._kernels._core.__test__\n")  # Cython's doctest table
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "lattice_embed._kernels._core",
         "--allowlist", str(allow), "--mypy-config-file", _no_config(tmp_path)],
        cwd=tmp_path, env=_mypy_env(), capture_output=True, text=True, timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


USER_SCRIPT = """\
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

from lattice_embed import EmbeddingModel, simd

a = np.ones(8, np.float32)
m = np.ones((4, 8), np.float32)
assert_type(simd.dot_product(a, a), float)
assert_type(simd.cosine_similarity(a, [1.0] * 8), float)
assert_type(simd.euclidean_distance(a, a), float)
assert_type(simd.norm(a), float)
assert_type(simd.normalize(m), NDArray[np.float32])
assert_type(simd.similarity(a, m), NDArray[np.float32])
assert_type(simd.batch_cosine_similarity(m, m), NDArray[np.float32])
assert_type(simd.top_k(a, m, 2), tuple[NDArray[np.int64], NDArray[np.float32]])
assert_type(simd.dot_product_batch4(a, a, a, a, a), tuple[float, float, float, float])
stored = simd.quantize(m, simd.QuantizationTier.INT8)
assert_type(stored, simd.QuantizedMatrix)
assert_type(simd.similarity(a, stored, "dot"), NDArray[np.float32])
assert_type(simd.top_k(a, stored, 2, rescore=m), tuple[NDArray[np.int64], NDArray[np.float32]])
assert_type(simd.capabilities(), dict[str, Any])
assert_type(EmbeddingModel.parse("minilm"), EmbeddingModel)
indices, scores = simd.top_k(a, m, 2)
print(int(indices[0]), round(float(scores[0]), 3), round(simd.dot_product(a, a)))
"""

MISTAKES = """\
import numpy as np

from lattice_embed import simd

a = np.ones(8, np.float32)
label: str = simd.dot_product(a, a)
rows: list[int] = simd.top_k(a, np.ones((4, 8), np.float32), 2)[0]
"""


def test_a_users_script_sees_precise_types(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(USER_SCRIPT)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
            "--config-file", _no_config(tmp_path)]
    checked = subprocess.run([*mypy, str(user)], cwd=tmp_path, env=_mypy_env(),
                             capture_output=True, text=True, timeout=600, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = subprocess.run([sys.executable, str(user)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert ran.returncode == 0 and ran.stdout.split() == ["0", "1.0", "8"], ran.stderr

    # And the types are not Any: mistakes are caught, naming the real types.
    wrong = tmp_path / "mistakes.py"
    wrong.write_text(MISTAKES)
    caught = subprocess.run([*mypy, str(wrong)], cwd=tmp_path, env=_mypy_env(),
                            capture_output=True, text=True, timeout=600, check=False)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert ('mistakes.py:6: error: Incompatible types in assignment (expression has type '
            '"float", variable has type "str")') in caught.stdout, caught.stdout
    line7 = next(line for line in caught.stdout.splitlines() if "mistakes.py:7:" in line)
    assert 'Incompatible types in assignment (expression has type "ndarray[' in line7, line7
    assert "64Bit" in line7 and 'variable has type "list[int]"' in line7, line7


def test_the_package_under_test_carries_its_types() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_kernels" / "_core.pyi").is_file()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.assert_type needs Python 3.11")
def test_the_user_script_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(USER_SCRIPT).replace(
        "from typing_extensions import assert_type", "from typing import assert_type"))
    ran = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
